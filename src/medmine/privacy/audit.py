"""Audit trail: append keyed, hash-chained entries and verify that none was edited, deleted
or moved, and that the newest ones are all there.

Storage lives in `medmine.warehouse.audit` (loads audit too); this module re-exports it and
adds verification. DuckDB has no append-only tables: the chain makes tampering *evident*, and
only a keyed chain (``MEDMINE_AUDIT_KEY``) resists someone who can write the database, since
re-chaining an edit needs the key. Deleting the newest entries leaves a valid shorter chain;
the head file next to the warehouse (``<warehouse>.audit-head``) and a head recorded elsewhere
(`head`, passed back as `expected_head`) catch that.

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> _ = append(wh.con, None, "export", "person", 3)
>>> v = verify(wh)
>>> v.ok, v.mode
(True, 'unkeyed')
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmine.errors import IntegrityError
from medmine.warehouse.audit import (
    ACTOR_ENV,
    GENESIS_HASH,
    HEAD_SUFFIX,
    KEY_ENV,
    SCHEMES,
    AuditEntry,
    append,
    audit_key,
    current_actor,
    entries,
    entry_hash,
    head_path,
    legacy_hash,
    read_head_file,
)

__all__ = [
    "ACTOR_ENV",
    "GENESIS_HASH",
    "HEAD_SUFFIX",
    "KEY_ENV",
    "AuditEntry",
    "AuditVerification",
    "append",
    "current_actor",
    "entries",
    "entry_hash",
    "head",
    "verify",
]

#: What `AuditVerification.mode` says about each kind of chain.
MODES = {
    "keyed": "keyed",
    "unkeyed": "unkeyed",
    "legacy": "legacy unkeyed chain",
    "empty": "empty",
}


@dataclass(frozen=True)
class AuditVerification:
    """Result of `verify`.

    ``ok``; entries checked; the first bad seq and why; the head hash; ``mode`` (``keyed``,
    ``unkeyed``, ``legacy unkeyed chain``, or ``keyed from seq N`` when older unkeyed entries
    precede keyed ones); ``anchor`` (what the tail was checked against: ``head file``,
    ``expected head``, both, or ``none``); and ``notes`` for a reader.
    """

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None
    mode: str = "empty"
    anchor: str = "none"
    notes: tuple[str, ...] = field(default=())

    @property
    def keyed(self) -> bool:
        """True when the newest entries are keyed (edits cannot be re-chained without it)."""
        return self.mode.startswith("keyed")


def _con(wh: Any) -> Any:
    return wh.con if hasattr(wh, "con") else wh


def head(wh: Any) -> str:
    """Hash of the newest entry (the genesis hash for an empty log)."""
    rows = _con(wh).execute("SELECT hash FROM mm_audit ORDER BY seq DESC LIMIT 1").fetchall()
    return GENESIS_HASH if not rows else str(rows[0][0])


def _mode(es: list[AuditEntry]) -> str:
    if not es:
        return MODES["empty"]
    first_keyed = next((e.seq for e in es if e.scheme == "keyed"), None)
    if first_keyed is None:
        return MODES[es[-1].scheme]
    return "keyed" if first_keyed == es[0].seq else f"keyed from seq {first_keyed}"


def _entry_problem(e: AuditEntry, i: int, prev: str, prev_scheme: str, key: bytes | None):
    """Why entry `e` (expected at position `i`) is wrong, or ``None``."""
    if e.seq != i:
        return f"sequence gap or reorder: expected seq {i}, found {e.seq}"
    if e.prev_hash != prev:
        return "prev_hash does not match the previous entry (entry deleted or moved)"
    if SCHEMES.index(e.scheme) < SCHEMES.index(prev_scheme):
        return (
            f"a {e.scheme} entry follows {prev_scheme} ones: the chain was rewritten without "
            f"the key (medmine never writes an unkeyed entry after a keyed one)"
        )
    if e.scheme == "keyed":
        if key is None:
            return f"the chain is keyed from here on; set {KEY_ENV} to verify it"
        expect = entry_hash(e.payload(), e.prev_hash, key)
    elif e.scheme == "unkeyed":
        expect = entry_hash(e.payload(), e.prev_hash)
    else:
        expect = legacy_hash(e.payload(), e.prev_hash)
    if not hmac.compare_digest(expect, e.hash):
        why = "entry edited"
        if e.scheme == "keyed":
            why += f", or {KEY_ENV} is not the key the log was written with"
        return f"hash does not match the entry's content ({why})"
    return None


def _latest_chain(lines: list[tuple[int, str]]) -> dict[int, str]:
    """``seq -> hash`` of the newest chain recorded in a head file.

    A later line for the same seq replaces an earlier one (that write was rolled back). A
    seq-1 line with a new hash starts a new chain: the warehouse file was created anew at the
    same path (a de-identification with ``overwrite``, a rebuilt demo).
    """
    chain: dict[int, str] = {}
    for seq, h in lines:
        if seq == 1 and chain.get(1, h) != h:
            chain = {}
        chain[seq] = h
    return chain


def _head_file_problem(path: Path, es: list[AuditEntry]) -> tuple[int, str] | None:
    """``(seq, why)`` where the chain disagrees with its head file, or ``None``."""
    try:
        lines = read_head_file(path)
    except IntegrityError as exc:
        return len(es) + 1, str(exc)
    anchored = _latest_chain(lines)
    for seq in sorted(anchored):
        if seq > len(es):
            return seq, (
                f"the head file {path.name} records seq {seq} but the chain ends at seq "
                f"{len(es)}: the newest entries were deleted (or the write of seq {seq} was "
                "rolled back after it was anchored; see `medmine warehouse loads`)"
            )
        if not hmac.compare_digest(anchored[seq], es[seq - 1].hash):
            return seq, (
                f"entry seq {seq} differs from the hash recorded in {path.name}: the chain was "
                "rewritten after that entry"
            )
    newest = max(anchored, default=0)
    unanchored = [e.seq for e in es if e.seq > newest and e.scheme != "legacy"]
    if unanchored:
        return unanchored[0], (
            f"entries from seq {unanchored[0]} on are not recorded in {path.name}: they were "
            "written by something other than medmine"
        )
    return None


def verify(
    wh: Any, expected_head: str | None = None, *, head_file: str | Path | None = None
) -> AuditVerification:
    """Recompute the chain; report the first entry whose seq, link, scheme or hash is wrong.

    Detects edited fields (hash mismatch), deleted entries (seq gap or broken link),
    reordered entries (seq is hashed), a keyed chain rewritten without the key (hash mismatch
    or a downgrade to unkeyed), an empty log, and a truncated or rewritten tail: against the
    head file next to the warehouse (or `head_file`) and against `expected_head`.

    Returns
    -------
    AuditVerification
        ``ok`` is false for an empty log (every warehouse logs its loads; an empty log means
        entries were deleted), for a keyed chain verified without ``MEDMINE_AUDIT_KEY``, and
        when a warehouse file's head file is missing while its chain has entries written by
        this version (unless `expected_head` is given and matches). An unkeyed or legacy
        chain can be ``ok``; `mode` says which it is.
    """
    con = _con(wh)
    es = entries(con)
    key = audit_key()
    mode = _mode(es)
    path = Path(head_file) if head_file is not None else head_path(con)

    def fail(seq: int, why: str, head_hash: str | None) -> AuditVerification:
        return AuditVerification(False, len(es), seq, why, head_hash, mode, anchor)

    anchor = "none"
    if not es:
        return fail(
            1,
            "the audit log is empty: every load, export and de-identification appends an entry, "
            "so its entries were deleted (or this warehouse never held data)",
            GENESIS_HASH,
        )
    prev, prev_scheme = GENESIS_HASH, SCHEMES[0]
    for i, e in enumerate(es, start=1):
        bad = _entry_problem(e, i, prev, prev_scheme, key)
        if bad:
            return fail(min(e.seq, i), bad, prev)
        prev, prev_scheme = e.hash, e.scheme
    notes: list[str] = []
    if path is not None and path.exists():
        anchor = "head file"
        problem = _head_file_problem(path, es)
        if problem:
            return fail(problem[0], problem[1], prev)
    elif path is not None and any(e.scheme != "legacy" for e in es):
        if expected_head is None:
            return fail(
                len(es) + 1,
                f"the head file {path.name} is missing: it is written with every entry, so it "
                "was removed or the warehouse was copied without it (copy it too, or pass the "
                "head you recorded as --expected-head)",
                prev,
            )
        notes.append(f"the head file {path.name} is missing; the expected head anchors the tail")
    if expected_head is not None:
        anchor = "expected head" if anchor == "none" else f"{anchor} and expected head"
        if not hmac.compare_digest(expected_head, prev):
            return fail(
                len(es) + 1,
                "head hash differs from the expected head (newest entries deleted or replaced)",
                prev,
            )
    if not mode.startswith("keyed"):
        notes.append(
            f"the chain is {mode}: it shows accidental damage, but anyone who can write the "
            f"warehouse could rewrite and re-chain it; set {KEY_ENV} to key new entries"
        )
    if anchor == "none":
        notes.append(
            "the newest entries are not anchored: record the head (`medmine audit head`) and "
            "pass it as --expected-head"
        )
    return AuditVerification(True, len(es), None, None, prev, mode, anchor, tuple(notes))
