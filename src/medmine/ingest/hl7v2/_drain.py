"""Loading frames into the warehouse: one frame in a session, and journal entries in batches.

`load_frame` is the one way a received frame enters a `LoadSession` (both listener modes).
`JournalLoader` applies journal entries in large transactions, each recording the range of
sequence numbers it applied in ``mm_load_file`` in the same transaction as its rows, so an
entry is applied exactly once whatever crashes when: on start-up, `JournalLoader.checkpoint`
says where the warehouse stands and the journal replays what lies above it.
"""

from __future__ import annotations

from typing import Any

from medmine.ingest._emit import SourceConcepts
from medmine.ingest.hl7v2._ack import read_header
from medmine.ingest.hl7v2._journal import Entry
from medmine.ingest.hl7v2._memory import Committed
from medmine.ingest.hl7v2._mllp import Frame
from medmine.ingest.hl7v2._reader import Hl7Reader, Outcome
from medmine.ingest.hl7v2._triage import split_frame
from medmine.warehouse import LoadSession, Warehouse

#: ``mm_load_file.source_file`` of a journal's checkpoints (``sha256`` holds the seq range).
_CHECKPOINT = "hl7-journal:{id}"


def refuse(
    s: LoadSession, source: str, where: str, reason: str, detail: str, data: bytes
) -> Outcome:
    """Quarantine a frame that is not a loadable message; the outcome is ``rejected`` (AR)."""
    s.read("Message")
    text = data.decode("utf-8", "replace")
    s.quarantine(source, where, "Message", reason, detail, record=text)
    return Outcome("rejected", read_header(text).get(10), reason, detail)


def load_frame(
    s: LoadSession,
    reader: Hl7Reader,
    source: str,
    number: int,
    fr: Frame,
    max_frame_bytes: int,
    parsed: Any = None,
    aside: tuple[str, str] | None = None,
) -> Outcome:
    """Read one received frame into `s`: loaded, skipped, quarantined or refused.

    `aside` is ``(reason, detail)`` of a message already answered ``AE``: it is quarantined
    with that reason whatever the reader would say.
    """
    where = f"message {number}"
    raw, problem = split_frame(fr, max_frame_bytes)
    if raw is None:
        assert problem is not None
        return refuse(s, source, where, *problem, fr.data)
    raw.number = number
    if aside is not None:
        return reader.set_aside(source, raw, *aside, parsed)
    return reader.message(source, raw, parsed)


def quarantine_failed(s: LoadSession, source: str, number: int, data: bytes) -> Outcome:
    """A message whose own transaction failed: kept in quarantine (``internal_error``)."""
    detail = "the message could not be loaded (internal error); kept in quarantine"
    out = refuse(s, source, f"message {number}", "internal_error", detail, data)
    out.status = "quarantined"
    return out


class JournalLoader:
    """Applies journal entries to `wh` (its only writer), in order, each exactly once.

    Parameters
    ----------
    wh
        The warehouse.
    journal_id
        The journal's id: checkpoints are kept per journal.
    committed
        The listener's memory of committed rows (see `Committed`).
    max_frame_bytes
        The listener's frame limit (for the reason of an oversized frame).
    """

    def __init__(
        self, wh: Warehouse, journal_id: str, committed: Committed, max_frame_bytes: int
    ) -> None:
        self.wh = wh
        self.journal_id = journal_id
        self.committed = committed
        self.max_frame_bytes = max_frame_bytes
        self.provenance_follows_rows = False
        self.retried_alone = 0

    def checkpoint(self) -> int:
        """The highest sequence number of this journal the warehouse holds (0: none)."""
        got = self.wh.con.execute(
            "SELECT max(sha256) FROM mm_load_file WHERE source_kind = 'hl7v2' AND source_file = ?",
            [_CHECKPOINT.format(id=self.journal_id)],
        ).fetchone()
        return int(got[0].split(":")[2]) if got and got[0] else 0

    def applied_ranges(self) -> list[tuple[int, int]]:
        """Every ``(first, last)`` sequence range applied from this journal, in order."""
        rows = self.wh.con.execute(
            "SELECT sha256 FROM mm_load_file WHERE source_kind = 'hl7v2' AND source_file = ? "
            "ORDER BY sha256",
            [_CHECKPOINT.format(id=self.journal_id)],
        ).fetchall()
        return [(int(k.split(":")[3]), int(k.split(":")[2])) for (k,) in rows]

    def apply(self, entries: list[Entry]) -> list[Outcome]:
        """Load `entries` (consecutive sequence numbers) in one transaction with their
        checkpoint; should that transaction fail, each entry in a transaction of its own
        (one that fails alone is kept in quarantine as ``internal_error``).

        Raises
        ------
        Exception
            The warehouse cannot be written at all: nothing of `entries` is applied.
        """
        try:
            return self._apply(entries)
        except Exception:
            if len(entries) == 1:
                self.retried_alone += 1
                with LoadSession(self.wh, "hl7v2") as s:
                    e = entries[0]
                    out = quarantine_failed(s, e.source, e.number, e.data)
                    self._record(s, entries)
                return [out]
        return [self.apply([e])[0] for e in entries]

    def _apply(self, entries: list[Entry]) -> list[Outcome]:
        outcomes = []
        with LoadSession(
            self.wh, "hl7v2", provenance_follows_rows=self.provenance_follows_rows
        ) as s:
            concepts = SourceConcepts(s)
            concepts.seen = set(self.committed.concepts)
            reader = Hl7Reader(s, concepts, committed=self.committed)
            for e in entries:
                fr = Frame(e.data, e.size, e.oversize)
                aside = (e.reason, e.detail) if e.status == "quarantined" else None
                outcomes.append(
                    load_frame(
                        s, reader, e.source, e.number, fr, self.max_frame_bytes, e.parsed, aside
                    )  # fmt: skip
                )
            reader.finish()
            self._record(s, entries)
        reader.remember(self.committed)
        return outcomes

    def _record(self, s: LoadSession, entries: list[Entry]) -> None:
        """The checkpoint, in the entries' own transaction."""
        first, last = entries[0].seq, entries[-1].seq
        s.register_file(
            _CHECKPOINT.format(id=self.journal_id),
            f"hl7-journal:{self.journal_id}:{last:020d}:{first:020d}",
            sum(len(e.data) for e in entries),
            len(entries),
        )
