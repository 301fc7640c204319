"""What a long-running listener remembers of the rows its committed transactions left behind.

The listener is the warehouse's only writer while it runs, so the patients, visits, source
codes and identifiers it has read or written cannot change behind its back: the next
transaction can take them from here instead of querying the warehouse (a point look-up costs
about as much CPU as parsing a message). Only committed state is learnt: a reader's look-ups
and final rows are handed over after its transaction committed, never before.
"""

from __future__ import annotations

from typing import Any

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
        for vid, row in visits.items():
            self.visits.remember(vid, row)
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
