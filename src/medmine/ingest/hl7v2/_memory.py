"""What a long-running listener remembers of the rows its committed transactions left behind.

The listener is the warehouse's only writer while it runs, so the patients, visits, source
codes and identifiers it has read or written cannot change behind its back: the next
transaction can take them from here instead of querying the warehouse (a point look-up costs
about as much CPU as parsing a message). Only committed state is learnt: a reader's look-ups
and final rows are handed over after its transaction committed, never before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from medmine.warehouse import table, table_names
from medmine.warehouse.sql import ident

Row = dict[str, Any]


class _Bounded(dict[Any, Any]):
    """A dict that forgets its oldest entries beyond `limit` (a memory, not a growing cache)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: Any, value: Any) -> None:
        self.pop(key, None)  # re-inserting keeps the recently used at the end
        self[key] = value
        if len(self) > self.limit:
            for old in list(self)[: max(1, self.limit // 4)]:
                del self[old]


class Committed:
    """Warehouse rows known to the listener: patients and visits by id (None: known absent).

    Parameters
    ----------
    limit
        Most patients, visits and identifier keys kept each (oldest forgotten first).
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        #: person_id -> (person row, mm_person_identity row or None), or None when absent
        self.persons: _Bounded = _Bounded(limit)
        #: visit_occurrence_id -> visit row, or None when absent
        self.visits: _Bounded = _Bounded(limit)
        #: (vocabulary_id, code) already in mm_source_concept
        self.concepts: set[tuple[str, str]] = set()
        #: mm_identifier keys already written
        self.identifiers: set[tuple[Any, ...]] = set()
        #: every HL7 patient and visit in the warehouse (see `know_all`), or None
        self.index: Journaled | None = None

    def know_all(self, con: Any) -> None:
        """Read the ids of every HL7 patient and visit in the warehouse (`Journaled`), so that
        one not there is known absent without a query; the writer keeps the index up to date
        with what its transactions commit (`learn`). A point look-up of a patient or visit
        that is not there cost about 0.45 ms of CPU; a feed's new patients and admissions
        each made one or two.
        """
        self.index = Journaled()
        self.index.read(con)

    def absent_person(self, person_id: int) -> bool:
        """Whether the patient is surely not in the warehouse (False: look it up)."""
        return self.index is not None and not self.index.has_person(person_id)

    def absent_visit(self, visit_id: int) -> bool:
        """Whether the visit is surely not in the warehouse (False: look it up)."""
        return self.index is not None and self.index.visit_start(visit_id) is None

    def learn(
        self,
        persons: dict[int, tuple[Row, Row | None] | None],
        visits: dict[int, Row | None],
        concepts: set[tuple[str, str]],
        identifiers: set[tuple[Any, ...]],
    ) -> None:
        """Take in what a committed transaction read and wrote (its final rows win)."""
        for pid, state in persons.items():
            self.persons.remember(pid, state)
            if state is not None and self.index is not None:
                self.index.add_person(pid)
        for vid, row in visits.items():
            self.visits.remember(vid, row)
            if self.index is not None:
                start = None
                if row is not None:
                    start = row.get("visit_start_datetime") or dt.datetime.combine(
                        row["visit_start_date"], dt.time()
                    )
                self.index.set_visit(vid, start)
        self.concepts |= concepts
        if len(self.identifiers) > self.limit:
            self.identifiers.clear()
        self.identifiers |= identifiers
        if len(self.concepts) > self.limit:
            self.concepts = set(concepts)


def provenance_follows_rows(con: Any) -> bool:
    """Whether every provenance row of a table keyed by one column has its row in that table.

    Checked once when the listener starts (one anti-join per table). While it runs it is the
    only writer and removes provenance with any row it deletes (A11), so the answer holds for
    the whole session and `LoadSession` may then write new rows' provenance with a plain
    ``INSERT`` (``provenance_follows_rows=True``).
    """
    names = {
        n for (n,) in con.execute("SELECT DISTINCT table_name FROM mm_source_record").fetchall()
    }
    for name in sorted(names & set(table_names())):
        pk = table(name).primary_key
        if len(pk) != 1:
            continue  # provenance of composite keys is never written that way
        orphan = con.execute(
            f"SELECT 1 FROM mm_source_record s WHERE s.table_name = ? AND NOT EXISTS "
            f"(SELECT 1 FROM {ident(name)} t WHERE t.{ident(pk[0])} = s.row_id) LIMIT 1",
            [name],
        ).fetchone()
        if orphan is not None:
            return False
    return True


class Journaled:
    """What the network side knows of patients and visits: the warehouse as the listener found
    it, plus every journaled message's effect, in journal order (journal mode).

    The loader applies the journal later and in order, so a message's outcome depends on
    exactly this state: it is what lets the ACK say ``AE`` for a patient first seen without a
    birth date, a new visit without a start, or a discharge before the stored admission,
    although the warehouse has not seen the earlier messages yet. The warehouse part is two
    sorted numpy arrays read once at start (HL7 patients' ids; their visits' ids and starts;
    about 24 bytes a visit); later changes go to dicts folded into the arrays every
    `fold_at` entries, so memory stays proportional to the patients and visits, not the
    messages. Used by the event loop only (no lock).
    """

    def __init__(self, fold_at: int = 100_000) -> None:
        self.fold_at = fold_at
        self._persons = np.empty(0, dtype=np.int64)
        self._visit_ids = np.empty(0, dtype=np.int64)
        self._visit_starts = np.empty(0, dtype="datetime64[us]")
        self._new_persons: set[int] = set()
        #: visit id -> start of the visit after the latest journaled message (None: cancelled)
        self._new_visits: dict[int, Any] = {}

    def read(self, con: Any) -> None:
        """Take in the warehouse's HL7 patients and visits (before anything is journaled)."""
        got = con.execute(
            "SELECT DISTINCT i.person_id FROM mm_person_identity i JOIN person p "
            "ON p.person_id = i.person_id WHERE i.source = 'hl7v2' ORDER BY 1"
        ).fetchnumpy()
        self._persons = np.asarray(got["person_id"], dtype=np.int64)
        got = con.execute(
            "SELECT v.visit_occurrence_id AS id, coalesce(v.visit_start_datetime, "
            "CAST(v.visit_start_date AS TIMESTAMP)) AS start FROM visit_occurrence v "
            "WHERE v.person_id IN (SELECT person_id FROM mm_person_identity "
            "WHERE source = 'hl7v2') ORDER BY 1"
        ).fetchnumpy()
        self._visit_ids = np.asarray(got["id"], dtype=np.int64)
        self._visit_starts = np.asarray(got["start"], dtype="datetime64[us]")
        self._new_persons.clear()
        self._new_visits.clear()

    def __len__(self) -> int:
        return (
            len(self._persons)
            + len(self._visit_ids)
            + len(self._new_persons)
            + len(self._new_visits)
        )

    def has_person(self, person_id: int) -> bool:
        """Whether the patient exists in the warehouse or a journaled message created it."""
        if person_id in self._new_persons:
            return True
        arr = self._persons
        i = int(np.searchsorted(arr, person_id))
        return i < len(arr) and int(arr[i]) == person_id

    def visit_start(self, visit_id: int) -> Any:
        """The visit's start (a naive UTC datetime), or None when it does not exist."""
        if visit_id in self._new_visits:
            return self._new_visits[visit_id]
        ids = self._visit_ids
        i = int(np.searchsorted(ids, visit_id))
        if i < len(ids) and int(ids[i]) == visit_id:
            return self._visit_starts[i].item()
        return None

    def add_person(self, person_id: int) -> None:
        """A journaled message created (or touched) the patient."""
        self._new_persons.add(person_id)
        self._maybe_fold()

    def set_visit(self, visit_id: int, start: Any) -> None:
        """A journaled message left the visit starting at `start` (None: cancelled)."""
        self._new_visits[visit_id] = start
        self._maybe_fold()

    def _maybe_fold(self) -> None:
        if len(self._new_persons) + len(self._new_visits) < self.fold_at:
            return
        if self._new_persons:
            new = np.fromiter(self._new_persons, dtype=np.int64, count=len(self._new_persons))
            self._persons = np.union1d(self._persons, new)
            self._new_persons.clear()
        if self._new_visits:
            ids = np.fromiter(self._new_visits, dtype=np.int64, count=len(self._new_visits))
            keep = ~np.isin(self._visit_ids, ids)
            live = [(k, v) for k, v in self._new_visits.items() if v is not None]
            add_ids = np.array([k for k, _ in live], dtype=np.int64)
            add_starts = np.array([v for _, v in live], dtype="datetime64[us]")
            all_ids = np.concatenate([self._visit_ids[keep], add_ids])
            all_starts = np.concatenate([self._visit_starts[keep], add_starts])
            order = np.argsort(all_ids, kind="stable")
            self._visit_ids, self._visit_starts = all_ids[order], all_starts[order]
            self._new_visits.clear()
