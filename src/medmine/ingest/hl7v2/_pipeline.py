"""Journal mode: acknowledge after a durable journal append, load the journal in batches.

The network side (`JournalPipeline.submit`, on the event loop) frames, parses and checks a
message (`triage`: ``AR``/``AE``/``AA`` against the patients and visits as of the last
journaled message, `Journaled`), appends it with that outcome to the `Journal` and answers
once the append is durable. A loader task
(`JournalPipeline._drainer`, one worker thread) applies the durable entries in sequence order,
many per transaction, through `JournalLoader`. The backlog (entries appended but not yet in
the warehouse) is bounded: at `max_backlog` the connections stop reading until the loader
catches up, so memory and lag stay bounded. A status file in the journal folder says how far
each side is (``status.json``: appended, durable and applied sequence numbers, backlog).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from medmine.errors import IntegrityError, WarehouseError
from medmine.ingest.hl7v2._ack import ACK_CODES
from medmine.ingest.hl7v2._drain import JournalLoader
from medmine.ingest.hl7v2._journal import Entry, Journal
from medmine.ingest.hl7v2._loadproc import ProcessLoader
from medmine.ingest.hl7v2._memory import Committed, Journaled, provenance_follows_rows
from medmine.ingest.hl7v2._mllp import Frame
from medmine.ingest.hl7v2._reader import Outcome
from medmine.ingest.hl7v2._settings import ListenerConfig, ListenerStats
from medmine.ingest.hl7v2._triage import triage
from medmine.warehouse import Warehouse

log = logging.getLogger("medmine.ingest.hl7v2")


class JournalPipeline:
    """The journal and its loader for one `Listener` run (see the module docstring)."""

    def __init__(
        self,
        wh: Warehouse,
        config: ListenerConfig,
        stats: ListenerStats,
        committed: Committed,
        journal_dir: Path,
    ) -> None:
        self.wh = wh
        self.config = config
        self.stats = stats
        self.journal = Journal(
            journal_dir,
            segment_bytes=config.journal_segment_bytes,
            flushers=config.journal_flushers,
        )
        self.loader: JournalLoader | ProcessLoader | None = None
        #: whether the loader runs in a child process (file warehouses; see `_loadproc`)
        self.separate_process = config.loader == "process" or (
            config.loader == "auto" and str(wh.path) != ":memory:"
        )
        self.provenance_follows_rows = False
        self.committed = committed
        #: the network side's patients and visits, as of the last journaled message
        self.known = Journaled()
        self.applied_seq = 0
        self.fatal: BaseException | None = None
        self._waiting: collections.deque[tuple[int, asyncio.Future[None], Entry]] = (
            collections.deque()
        )
        self._ready: collections.deque[Entry] = collections.deque()
        self._ready_event = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closing = False
        self._drainer_task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._status_path = journal_dir / "status.json"
        self._status_failed = False

    # ---- start and stop ----
    async def start(self, on_fatal: Any) -> None:
        """Recover the journal, queue what the warehouse lacks and start the loader."""
        loop = asyncio.get_running_loop()
        self._on_fatal = on_fatal
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="hl7-loader")
        try:
            journal_id = await loop.run_in_executor(self._executor, self.journal.read_id)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise
        in_process = JournalLoader(self.wh, journal_id, self.committed, self.config.max_frame_bytes)
        self.applied_seq = in_process.checkpoint()
        self.known.read(self.wh.con)
        if not self.separate_process:
            self._prepare(in_process)
        replay = await loop.run_in_executor(self._executor, self.journal.open, self.applied_seq)
        self.stats.replayed = len(replay)
        self.loader = in_process
        if self.separate_process:
            self.wh.con.close()  # the child is the only writer (DuckDB: one process per file)
            # started from the event loop's thread, which outlives it (see ProcessLoader)
            child = ProcessLoader(str(self.wh.path), journal_id, self.config.max_frame_bytes)
            try:
                applied = await loop.run_in_executor(self._executor, child.wait_ready)
                if applied != self.applied_seq:  # (cannot happen: nobody else writes)
                    raise IntegrityError(
                        f"the loader process sees checkpoint {applied}, the listener "
                        f"{self.applied_seq}; stop whatever else writes the warehouse"
                    )
                self.loader = child
                self.provenance_follows_rows = child.provenance_follows_rows
            except BaseException as exc:
                await loop.run_in_executor(self._executor, child.close)
                self._reopen()
                if self.config.loader == "process" or not isinstance(exc, WarehouseError):
                    await loop.run_in_executor(self._executor, self.journal.close)
                    self._executor.shutdown(wait=False)
                    raise
                # (auto) e.g. another connection of this process holds the file: DuckDB lets
                # no second process open it, but a thread of this one can load
                log.warning("the loader runs as a thread of the listener: %s", exc)
                self.separate_process = False
                self._prepare(in_process)
        self._know(replay)
        self._ready.extend(replay)
        if replay:
            self._ready_event.set()
        self._update_room()

        def durable(seq: int) -> None:
            loop.call_soon_threadsafe(self._durable, seq)

        def failed(exc: BaseException) -> None:
            loop.call_soon_threadsafe(self._fail, exc)

        self.journal.on_durable = durable
        self.journal.on_error = failed
        self._drainer_task = asyncio.create_task(self._drainer())

    async def finish(self) -> None:
        """After the connections are done: sync the journal, load every entry, stop."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: self.journal.close(release=False))
        self._closing = True
        self._ready_event.set()
        if self._drainer_task is not None:
            await self._drainer_task
        if isinstance(self.loader, ProcessLoader):
            await loop.run_in_executor(self._executor, self.loader.close)
            self._reopen()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._write_status()
        self.journal.release()

    def _prepare(self, loader: JournalLoader) -> None:
        """What a loader thread reads before it starts (a loader process reads its own)."""
        self.provenance_follows_rows = provenance_follows_rows(self.wh.con)
        loader.provenance_follows_rows = self.provenance_follows_rows
        self.committed.know_all(self.wh.con)

    def _reopen(self) -> None:
        """Open the caller's warehouse connection again once the loader process is gone."""
        self.wh.con = duckdb.connect(str(self.wh.path))

    def _know(self, replay: list[Entry]) -> None:
        """Bring `known` up to the end of the journal: the effect of each entry the
        warehouse lacks that its ACK said will load (checked again against the state).
        """
        for e in replay:
            outcome, effect = triage(
                Frame(e.data, e.size, e.oversize), self.config.max_frame_bytes, self.known
            )
            if e.status in ("loaded", "skipped") and outcome.status in ("loaded", "skipped"):
                effect.apply(self.known)
                e.parsed = outcome.msg if len(replay) <= self.config.drain_batch else None

    # ---- the network side ----
    async def room(self) -> None:
        """Wait while the backlog is at its bound (the connection reads nothing meanwhile)."""
        if not self._room.is_set():
            self.stats.backpressure_waits += 1
            await self._room.wait()

    async def submit(self, fr: Frame, source: str, number: int) -> Outcome:
        """Check, journal and wait until durable; returns the outcome the ACK must report.

        Raises
        ------
        ConnectionAbortedError
            The journal failed: the message is not durable and must not be acknowledged.
        """
        outcome, effect = triage(fr, self.config.max_frame_bytes, self.known)
        entry = Entry(0, source, number, outcome.status, outcome.reason, outcome.detail,
                      fr.data, fr.size, fr.oversize, parsed=outcome.msg)  # fmt: skip
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            seq = self.journal.append(entry)
        except Exception as exc:
            raise ConnectionAbortedError(f"journal append failed: {exc}") from None
        # journaled: later messages see its effect (no await between triage and here, so
        # the journal's order is the order of the checks)
        effect.apply(self.known)
        self._waiting.append((seq, fut, entry))
        self._update_room()
        await fut
        return outcome

    def _durable(self, seq: int) -> None:
        """Flusher report (on the loop): entries up to `seq` are durable."""
        while self._waiting and self._waiting[0][0] <= seq:
            _, fut, entry = self._waiting.popleft()
            if not fut.done():
                fut.set_result(None)
            if len(self._ready) >= self.config.drain_batch or self.separate_process:
                entry.parsed = None  # beyond the next batch: about 14 KB each, re-parsed later
            self._ready.append(entry)
        self._ready_event.set()

    def _fail(self, exc: BaseException) -> None:
        if self.fatal is None:
            self.fatal = exc
        while self._waiting:
            _, fut, _ = self._waiting.popleft()
            if not fut.done():
                fut.set_exception(ConnectionAbortedError("journal write failed"))
        self._room.set()
        self._on_fatal(exc)

    def backlog(self) -> int:
        """Entries appended but not yet in the warehouse."""
        return self.journal.next_seq - 1 - self.applied_seq

    def _update_room(self) -> None:
        if self.backlog() >= self.config.max_backlog and self.fatal is None:
            self._room.clear()
        else:
            self._room.set()

    # ---- the loader ----
    async def _drainer(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.loader is not None
        while True:
            if not self._ready:
                if self._closing or self.fatal is not None:
                    return
                self._ready_event.clear()
                await self._ready_event.wait()
                continue
            if self.fatal is not None:
                return
            await self._fill()
            n = min(len(self._ready), self.config.drain_batch)
            batch = [self._ready.popleft() for _ in range(n)]
            t0 = time.perf_counter()
            try:
                outcomes = await loop.run_in_executor(self._executor, self.loader.apply, batch)
            except Exception as exc:  # the warehouse failed: the journal keeps the entries
                self._fail(exc)
                return
            self.applied_seq = batch[-1].seq
            st = self.stats
            st.applied_at = time.time()  # committed: queryable from now on
            st.loader_busy_s += time.perf_counter() - t0
            st.applied += n
            st.drain_commits += 1
            st.retried_alone = self.loader.retried_alone
            for e, o in zip(batch, outcomes, strict=True):
                if ACK_CODES[e.status] == "AA" and ACK_CODES[o.status] != "AA":
                    self._late(e, o)
                e.parsed = None
            self._update_room()
            doc = self._status()
            await loop.run_in_executor(self._executor, self._after_commit, doc)

    def _late(self, e: Entry, o: Outcome) -> None:
        """An entry answered ``AA`` that loading quarantined (an internal error): counted,
        logged by sequence number and reason (never the message), kept in ``mm_quarantine``.
        """
        st = self.stats
        st.late_quarantined += 1
        st.late_reasons[o.reason] = st.late_reasons.get(o.reason, 0) + 1
        log.warning(
            "journal entry %d (%s message %d) was answered AA but quarantined while loading "
            "(%s); it is kept in mm_quarantine",
            e.seq, e.source, e.number, o.reason,
        )  # fmt: skip

    def _after_commit(self, doc: dict[str, Any]) -> None:
        """Loader thread: delete applied journal segments, write the status file."""
        self.journal.checkpoint(int(doc["applied_seq"]))
        self._write_status(doc)

    async def _fill(self) -> None:
        """Let a batch grow for up to `drain_wait_ms` before a transaction.

        Fewer, larger transactions cost less CPU per message; the wait adds to the visibility
        lag, never to the ACK latency.
        """
        deadline = time.monotonic() + self.config.drain_wait_ms / 1000
        while len(self._ready) < self.config.drain_batch and not self._closing:
            left = deadline - time.monotonic()
            if left <= 0 or self.fatal is not None or not self._room.is_set():
                return  # (at the backlog bound nothing more comes until this batch is in)
            self._ready_event.clear()
            try:
                await asyncio.wait_for(self._ready_event.wait(), left)
            except TimeoutError:
                return

    def _status(self) -> dict[str, Any]:
        return {
            "journal_id": self.journal.id,
            "appended_seq": self.journal.next_seq - 1,
            "durable_seq": self.journal.durable_seq,
            "applied_seq": self.applied_seq,
            "backlog": self.backlog(),
            "applied_at": self.stats.applied_at,
            "applied": self.stats.applied,
            "late_quarantined": self.stats.late_quarantined,
            "late_reasons": dict(self.stats.late_reasons),
            "alert": (
                f"{self.stats.late_quarantined} message(s) answered AA were quarantined while "
                "loading; see mm_quarantine"
                if self.stats.late_quarantined
                else None
            ),
            "drain_commits": self.stats.drain_commits,
            "loader_busy_s": round(self.stats.loader_busy_s, 3),
            "backpressure_waits": self.stats.backpressure_waits,
            "syncs": self.journal.syncs,
            "pid": os.getpid(),
        }

    def _write_status(self, doc: dict[str, Any] | None = None) -> None:
        """``status.json``: how far the journal and the warehouse are (for monitoring)."""
        doc = doc if doc is not None else self._status()
        tmp = self._status_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(doc) + "\n")
            os.replace(tmp, self._status_path)
        except OSError as exc:  # informational only: the listener goes on
            if not self._status_failed:  # once per run, not once per commit
                log.warning(
                    "cannot write the listener status file %s (%s); loading goes on",
                    self._status_path, exc.strerror or type(exc).__name__,
                )  # fmt: skip
            self._status_failed = True
        else:
            self._status_failed = False
