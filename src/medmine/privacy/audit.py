"""Audit trail: append hash-chained entries and verify that none was edited, deleted or moved.

Storage lives in `medmine.warehouse.audit` (loads audit too); this module re-exports it and
adds verification. DuckDB has no append-only tables: the chain makes tampering *evident*.
Deleting the newest entries leaves a valid shorter chain, so keep the head hash
(`head`) somewhere else (a ticket, a signed log) and pass it as `expected_head`.

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> _ = append(wh.con, "alice", "export", "person", 3)
>>> verify(wh).ok
True
"""

from __future__ import annotations

from dataclasses import dataclass

from medmine.warehouse.audit import (
    ACTOR_ENV,
    GENESIS_HASH,
    AuditEntry,
    append,
    current_actor,
    entries,
    entry_hash,
)

__all__ = [
    "ACTOR_ENV",
    "GENESIS_HASH",
    "AuditEntry",
    "AuditVerification",
    "append",
    "current_actor",
    "entries",
    "entry_hash",
    "head",
    "verify",
]


@dataclass(frozen=True)
class AuditVerification:
    """Result of `verify`: ``ok``, entries checked, first bad seq and why."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None


def head(wh: object) -> str:
    """Hash of the newest entry (the genesis hash for an empty log)."""
    con = wh.con if hasattr(wh, "con") else wh
    row = con.execute("SELECT hash FROM mm_audit ORDER BY seq DESC LIMIT 1").fetchone()
    return GENESIS_HASH if row is None else str(row[0])


def verify(wh: object, expected_head: str | None = None) -> AuditVerification:
    """Recompute the chain; report the first entry whose seq, link or hash is wrong.

    Detects edited fields (hash mismatch), deleted entries (seq gap or broken link),
    reordered entries (seq values swapped change their hashes) and, when `expected_head`
    is given, deletion of the newest entries.
    """
    con = wh.con if hasattr(wh, "con") else wh
    es = entries(con)
    prev = GENESIS_HASH
    for i, e in enumerate(es, start=1):
        bad = None
        if e.seq != i:
            bad = f"sequence gap or reorder: expected seq {i}, found {e.seq}"
        elif e.prev_hash != prev:
            bad = "prev_hash does not match the previous entry (entry deleted or moved)"
        elif entry_hash(e.payload(), e.prev_hash) != e.hash:
            bad = "hash does not match the entry's content (entry edited)"
        if bad:
            return AuditVerification(False, len(es), min(e.seq, i), bad, prev)
        prev = e.hash
    if expected_head is not None and expected_head != prev:
        return AuditVerification(
            False,
            len(es),
            len(es) + 1,
            "head hash differs from the expected head (newest entries deleted or replaced)",
            prev,
        )
    return AuditVerification(True, len(es), None, None, prev)
