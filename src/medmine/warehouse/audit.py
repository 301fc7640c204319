"""The audit log's storage primitive: append one keyed, hash-chained entry to `mm_audit`.

Each entry's hash covers the canonical JSON of its fields and the previous entry's hash, so an
edited, deleted or reordered entry breaks the chain (`medmine.privacy.audit.verify` checks it).

* **Keyed** (``MEDMINE_AUDIT_KEY`` set): ``hash = "hmac-sha256:" + HMAC-SHA256(key, canonical
  JSON + prev_hash)``. Without the key nobody can write a matching hash, so an edited entry
  cannot be re-chained. The key lives in the environment only, never in the database.
* **Unkeyed** (variable unset, e.g. ``make demo``): ``hash = "sha256:" + SHA-256(...)``. The
  label says so, and `verify` reports the chain as unkeyed: it shows accidental damage, but
  anyone with write access can rewrite and re-chain it. Once a warehouse's log holds a keyed
  entry, appending without the key is refused (the chain never goes back to unkeyed).
* **Legacy**: entries written before keying carry a bare 64-hex SHA-256; they still verify
  ("legacy unkeyed chain"), and a keyed entry appended after them anchors them.

The head (newest seq and hash) is also appended to ``<warehouse>.audit-head``, a 0600 text
file next to the DuckDB file, so deleting the newest entries or rewriting the chain shows
against a record kept outside the database. ``medmine audit head`` prints the head for a
ticket or a signed log; ``medmine audit verify --expected-head`` checks it.

The actor is the operating-system account running medmine (its effective uid, not the
``USER`` variable); ``MEDMINE_ACTOR`` is recorded next to it as a claim, never instead of it.

>>> import duckdb
>>> from medmine.warehouse.schema import table
>>> con = duckdb.connect()
>>> _ = con.execute(table("mm_audit").ddl())
>>> e = append(con, None, "export", "person", 10, "research", {"files": 1})
>>> e.seq, e.prev_hash == GENESIS_HASH
(1, True)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import getpass
import hashlib
import hmac
import json
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from medmine.errors import ConfigError, IntegrityError, WarehouseError
from medmine.warehouse.files import private_open

#: Environment variable whose value is recorded as a claimed actor beside the OS account.
ACTOR_ENV = "MEDMINE_ACTOR"
#: Environment variable holding the audit key (hex or base64 of at least 32 random bytes).
KEY_ENV = "MEDMINE_AUDIT_KEY"
#: `prev_hash` of the first entry.
GENESIS_HASH = "0" * 64
#: Suffix of the head anchor file written next to a warehouse file.
HEAD_SUFFIX = ".audit-head"
KEYED_PREFIX = "hmac-sha256:"
UNKEYED_PREFIX = "sha256:"
#: Hash schemes, in the only order they may follow each other in one chain.
SCHEMES = ("legacy", "unkeyed", "keyed")
_MIN_KEY_BYTES = 32


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

    @property
    def scheme(self) -> str:
        """``keyed``, ``unkeyed`` or ``legacy`` (see the module docstring)."""
        return scheme_of(self.hash)


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def legacy_hash(payload: dict[str, Any], prev_hash: str) -> str:
    """The unlabelled SHA-256 written before the chain was keyed (still verifiable)."""
    return hashlib.sha256(_canonical(payload) + prev_hash.encode("utf-8")).hexdigest()


def entry_hash(payload: dict[str, Any], prev_hash: str, key: bytes | None = None) -> str:
    """The labelled hash of an entry: keyed HMAC-SHA256 with `key`, else unkeyed SHA-256."""
    data = _canonical(payload) + prev_hash.encode("utf-8")
    if key is None:
        return UNKEYED_PREFIX + hashlib.sha256(data).hexdigest()
    return KEYED_PREFIX + hmac.new(key, data, hashlib.sha256).hexdigest()


def scheme_of(stored_hash: str) -> str:
    """Which scheme wrote `stored_hash`: ``keyed``, ``unkeyed`` or ``legacy``."""
    if stored_hash.startswith(KEYED_PREFIX):
        return "keyed"
    if stored_hash.startswith(UNKEYED_PREFIX):
        return "unkeyed"
    return "legacy"


def _decode(text: str) -> bytes | None:
    s = text.strip()
    if s and len(s) % 2 == 0 and all(c in string.hexdigits for c in s):
        return bytes.fromhex(s)
    with contextlib.suppress(ValueError, binascii.Error):
        return base64.b64decode(s, validate=True)
    with contextlib.suppress(ValueError, binascii.Error):
        return base64.b64decode(s, altchars=b"-_", validate=True)
    return None


def _weakness(text: str) -> str | None:
    """Why `text` is not a 256-bit key, or ``None``; never quotes the value.

    The rules of `medmine.privacy.keys`, which sits above this layer and cannot be imported
    here; `tests/privacy/test_keys.py` keeps the two in agreement.
    """
    raw = _decode(text)
    if raw is None:
        n = len(text.strip())
        return f"is {n} characters of text that is neither hex nor base64 (a passphrase?)"
    if len(raw) < _MIN_KEY_BYTES:
        return f"decodes to {len(raw)} bytes; at least {_MIN_KEY_BYTES} random bytes are needed"
    if len(set(raw)) < 16:
        return f"decodes to {len(set(raw))} distinct byte values (all zero or a repeated pattern)"
    if all(32 <= b < 127 for b in raw):
        return "decodes to printable text (an encoded passphrase, not random bytes)"
    return None


def audit_key() -> bytes | None:
    """The audit key from `MEDMINE_AUDIT_KEY`, or ``None`` when unset (unkeyed mode).

    Raises
    ------
    ConfigError
        The value is set but is not hex or base64 of at least 32 random bytes.
    """
    text = os.environ.get(KEY_ENV, "")
    if not text.strip():
        return None
    weak = _weakness(text)
    if weak:
        raise ConfigError(
            f"{KEY_ENV} is too weak: it {weak}; generate a key with `medmine keys new` and "
            "export it (keep it outside the warehouse, e.g. in a secrets manager)"
        )
    return text.encode("utf-8")


def os_user() -> str:
    """The account running this process, from its effective uid (not from ``USER``)."""
    try:
        import pwd
    except ImportError:  # Windows: no uid database; getpass reads the environment
        return f"{getpass.getuser()} (unverified)"
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        return f"uid {os.geteuid()}"


def _clean(text: str) -> str:
    return "".join(c for c in text if c.isprintable())[:64]


def current_actor() -> str:
    """The actor for new entries: the OS account, with `MEDMINE_ACTOR` kept as a claim.

    >>> import os
    >>> os.environ["MEDMINE_ACTOR"] = "svc-deid"
    >>> current_actor().endswith("(claimed by MEDMINE_ACTOR: svc-deid)")
    True
    >>> del os.environ["MEDMINE_ACTOR"]
    """
    user = os_user()
    claimed = _clean(os.environ.get(ACTOR_ENV, ""))
    if claimed and claimed != user:
        return f"{user} (claimed by {ACTOR_ENV}: {claimed})"
    return user


def _actor(given: str | None) -> str:
    if given is None:
        return current_actor()
    user = os_user()
    given = _clean(given)
    return given if given == user else f"{given} (via OS user {user})"


def head_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The head anchor file of the connection's current database (``None`` in memory)."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not rows or not rows[0][0]:
        return None
    return Path(str(rows[0][0]) + HEAD_SUFFIX)


def read_head_file(path: Path) -> list[tuple[int, str]]:
    """The ``(seq, hash)`` lines of a head file, in the order they were appended."""
    out: list[tuple[int, str]] = []
    for n, line in enumerate(path.read_text(encoding="ascii").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[0].isdigit():
            raise IntegrityError(f"{path.name} line {n}: not '<seq> <hash>'; the file was edited")
        out.append((int(parts[0]), parts[1]))
    return out


def _canonical_detail(detail: Any) -> str | None:
    if detail is None or isinstance(detail, str):
        return detail
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


def _check_continuation(last: AuditEntry | None, key: bytes | None) -> None:
    """Refuse to append unkeyed after a keyed entry, or keyed with another key."""
    if last is None or last.scheme != "keyed":
        return
    if key is None:
        raise ConfigError(
            f"the audit log of this warehouse is keyed; set {KEY_ENV} to the key it was written "
            "with (medmine never appends unkeyed entries after keyed ones)"
        )
    if not hmac.compare_digest(entry_hash(last.payload(), last.prev_hash, key), last.hash):
        raise IntegrityError(
            f"the newest audit entry (seq {last.seq}) does not verify with {KEY_ENV}: the key "
            "differs from the one the log was written with, or the entry was altered; run "
            "`medmine audit verify`"
        )


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
        Who acted; ``None`` uses `current_actor`. A name given by code (an authenticated web
        user, say) that is not the OS account is recorded with the OS account beside it.
    action
        What was done (``load``, ``deid``, ``export``, ``consent.load``, ``score``...).
    detail
        A string or a JSON-serialisable value (stored as canonical JSON). Never put PHI here:
        counts and names of tables or files only.

    Raises
    ------
    ConfigError
        `MEDMINE_AUDIT_KEY` is weak, or unset while the log is already keyed.
    IntegrityError
        The key does not verify the newest entry (another key, or an altered entry).
    """
    return append_many(con, [(actor, action, object, row_count, purpose, detail)])[0]


def append_many(
    con: duckdb.DuckDBPyConnection,
    items: list[tuple[str | None, str, str | None, int | None, str | None, Any]],
    *,
    last: AuditEntry | None = None,
    head: Path | None = None,
) -> list[AuditEntry]:
    """Append entries ``(actor, action, object, row_count, purpose, detail)`` in this order.

    The same chain as calling `append` once per item (each entry's hash covers the previous
    one), read once and written with one INSERT and one head-file write; a server batching
    the entries of concurrent requests (group commit) pays the chain lookup once per batch.
    Runs inside the caller's transaction if any, so the batch commits or fails as a whole.
    Raises as `append`.

    Parameters
    ----------
    last
        The newest entry as the caller last wrote it (a single writer's memory): used instead
        of reading the entry back when the log's highest ``seq`` is still its ``seq``;
        otherwise (someone else appended) the newest entry is read.
    head
        The head file (default: `head_path` of `con`, a catalog query).
    """
    if not items:
        return []
    key = audit_key()
    newest = con.execute("SELECT max(seq) FROM mm_audit").fetchone()[0]
    if newest is None:
        last = None
    elif last is None or last.seq != newest:
        rows = con.execute(
            "SELECT seq, ts, actor, action, object, row_count, purpose, detail, prev_hash, hash "
            "FROM mm_audit WHERE seq = ?",
            [newest],
        ).fetchall()
        last = AuditEntry(*rows[0])
    _check_continuation(last, key)
    seq, prev = (1, GENESIS_HASH) if last is None else (int(last.seq) + 1, str(last.hash))
    out: list[AuditEntry] = []
    for actor, action, obj, row_count, purpose, detail in items:
        draft = AuditEntry(
            seq=seq,
            ts=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            actor=_actor(actor),
            action=action,
            object=obj,
            row_count=None if row_count is None else int(row_count),
            purpose=purpose,
            detail=_canonical_detail(detail),
            prev_hash=prev,
            hash="",
        )
        h = entry_hash(draft.payload(), prev, key)
        out.append(AuditEntry(**{**draft.__dict__, "hash": h}))
        seq, prev = seq + 1, h
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(out))
    con.execute(  # the INSERT's result is fetched so the connection is free for the caller
        f"INSERT INTO mm_audit VALUES {values}",
        [v for e in out for v in e.__dict__.values()],  # fields in column order
    ).fetchall()
    _anchor(con, out, head)
    return out


def _anchor(
    con: duckdb.DuckDBPyConnection, written: list[AuditEntry], path: Path | None = None
) -> None:
    """Append ``seq hash`` of each written entry to the warehouse's head file (created 0600)."""
    path = path or head_path(con)
    if path is None:
        return
    try:
        with private_open(path, "a", encoding="ascii") as f:
            f.write("".join(f"{e.seq} {e.hash}\n" for e in written))
    except OSError as exc:
        raise WarehouseError(
            f"cannot append to the audit head file {path} ({exc.strerror or 'I/O error'}); "
            "make its folder writable"
        ) from None


def entries(con: duckdb.DuckDBPyConnection) -> list[AuditEntry]:
    """All entries in stored `seq` order."""
    rows = con.execute(
        "SELECT seq, ts, actor, action, object, row_count, purpose, detail, prev_hash, hash "
        "FROM mm_audit ORDER BY seq"
    ).fetchall()
    return [AuditEntry(*r) for r in rows]
