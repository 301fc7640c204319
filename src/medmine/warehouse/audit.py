"""The audit log's storage primitive: append one hash-chained entry to `mm_audit`.

Each entry's hash is SHA-256 over the canonical JSON of its fields plus the previous entry's
hash, so an edited, deleted or reordered entry breaks the chain (see `medmine.privacy.audit`
for verification). DuckDB cannot enforce append-only tables; the chain makes tampering
evident, it does not prevent it.

>>> import duckdb
>>> from medmine.warehouse.schema import table
>>> con = duckdb.connect()
>>> _ = con.execute(table("mm_audit").ddl())
>>> e = append(con, "alice", "export", "person", 10, "research", {"files": 1})
>>> e.seq, e.prev_hash == GENESIS_HASH
(1, True)
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import duckdb

#: Environment variable naming the actor recorded in audit entries (default: the OS user).
ACTOR_ENV = "MEDMINE_ACTOR"
#: `prev_hash` of the first entry.
GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One audit log entry as stored in `mm_audit`."""

    seq: int
    ts: dt.datetime
    actor: str
    action: str
    object: str | None
    row_count: int | None
    purpose: str | None
    detail: str | None
    prev_hash: str
    hash: str

    def payload(self) -> dict[str, Any]:
        """The hashed fields (everything except the two hashes)."""
        return {
            "seq": self.seq,
            "ts": self.ts.isoformat(timespec="microseconds"),
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "row_count": self.row_count,
            "purpose": self.purpose,
            "detail": self.detail,
        }


def entry_hash(payload: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 hex digest of the canonical JSON of `payload` followed by `prev_hash`."""
    canon = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((canon + prev_hash).encode("utf-8")).hexdigest()


def current_actor() -> str:
    """The actor for new entries: `MEDMINE_ACTOR`, else the OS user name."""
    actor = os.environ.get(ACTOR_ENV)
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "unknown"


def _canonical_detail(detail: Any) -> str | None:
    if detail is None or isinstance(detail, str):
        return detail
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


def append(
    con: duckdb.DuckDBPyConnection,
    actor: str | None,
    action: str,
    object: str | None = None,  # noqa: A002 - the column is called `object`
    row_count: int | None = None,
    purpose: str | None = None,
    detail: Any = None,
) -> AuditEntry:
    """Append one entry to `mm_audit` on `con` (inside the caller's transaction if any).

    Parameters
    ----------
    actor
        Who acted; ``None`` uses `current_actor`.
    action
        What was done (``load``, ``deid``, ``export``, ``consent.load``...).
    detail
        A string or a JSON-serialisable value (stored as canonical JSON). Never put PHI here:
        counts and names of tables or files only.
    """
    last = con.execute("SELECT seq, hash FROM mm_audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS_HASH) if last is None else (int(last[0]) + 1, str(last[1]))
    ts = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    draft = AuditEntry(
        seq=seq,
        ts=ts,
        actor=actor or current_actor(),
        action=action,
        object=object,
        row_count=None if row_count is None else int(row_count),
        purpose=purpose,
        detail=_canonical_detail(detail),
        prev_hash=prev,
        hash="",
    )
    h = entry_hash(draft.payload(), prev)
    con.execute(
        "INSERT INTO mm_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            draft.seq,
            draft.ts,
            draft.actor,
            draft.action,
            draft.object,
            draft.row_count,
            draft.purpose,
            draft.detail,
            prev,
            h,
        ],
    )
    return AuditEntry(**{**draft.__dict__, "hash": h})


def entries(con: duckdb.DuckDBPyConnection) -> list[AuditEntry]:
    """All entries in stored `seq` order."""
    rows = con.execute(
        "SELECT seq, ts, actor, action, object, row_count, purpose, detail, prev_hash, hash "
        "FROM mm_audit ORDER BY seq"
    ).fetchall()
    return [AuditEntry(*r) for r in rows]
