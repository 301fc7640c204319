"""The audit log of ``medmine serve --workers N``: one writer, a durable spool, merged at shutdown.

A DuckDB file admits one writing process, or any number of read-only ones, never both (a
read-only open fails while a writer holds the file, and the reverse). So with several worker
processes, every process opens the warehouse **read-only**, and the audit entries go to one
writer that does not touch the warehouse while they serve:

* `SpoolWriter` (in the supervising process) chains the entries exactly as
  `medmine.warehouse.audit.append_many` does (same hashes, keyed by ``MEDMINE_AUDIT_KEY``,
  continuing from the warehouse's newest entry) and commits each batch to
  ``<warehouse>.audit-spool.sqlite`` (SQLite, WAL, ``synchronous=FULL``: on disk before
  anyone is told it is written). Batches are group commits, as in `ServeState.audit`.
* `AuditServer` receives entries from the workers over a Unix socket
  (`multiprocessing.connection`, authenticated by a random key the supervisor hands its
  workers in the environment) and answers each with its committed `AuditEntry`.
* `RemoteAuditor` is the workers' end: ``submit(item)`` returns a future resolved once the
  entry is committed, so a request that reads PHI still answers only after its entry is on
  disk, as with one process.
* `merge_spool` moves the spooled entries into ``mm_audit`` once the workers have closed the
  file (at shutdown, and at the next start after a crash), same seq and hashes, and appends
  their head lines to ``<warehouse>.audit-head``; it is idempotent (an entry already merged is
  checked equal, never written twice).

While the workers serve, ``mm_audit`` and the head file end at the last merged entry and
`medmine audit verify` checks them as usual; the newer entries are in the spool, whose chain
`check_spool` verifies (the ``/audit`` page shows both).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import itertools
import logging
import os
import sqlite3
import threading
from concurrent.futures import Future
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

import duckdb

from medmine.errors import IntegrityError
from medmine.serve._group import GroupCommitWriter
from medmine.warehouse import Warehouse
from medmine.warehouse.audit import (
    GENESIS_HASH,
    AuditEntry,
    append_many,
    audit_key,
    entry_hash,
    head_path,
    read_head_file,
)
from medmine.warehouse.files import private_open

log = logging.getLogger("medmine.serve")
#: Suffix of the spool file written next to the warehouse file.
SPOOL_SUFFIX = ".audit-spool.sqlite"
#: Most entries committed in one spool transaction.
SPOOL_BATCH = 512
_FIELDS = ("seq", "ts", "actor", "action", "object", "row_count", "purpose", "detail",
           "prev_hash", "hash")  # fmt: skip
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entry (seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT, "
    "action TEXT, object TEXT, row_count INTEGER, purpose TEXT, detail TEXT, "
    "prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"
)


def spool_path(warehouse: str | Path) -> Path:
    """The audit spool of a warehouse (``<warehouse>.audit-spool.sqlite``)."""
    return Path(str(warehouse) + SPOOL_SUFFIX)


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute(_SCHEMA)
    return con


def _row(e: AuditEntry) -> tuple:
    return (e.seq, e.ts.isoformat(timespec="microseconds"), e.actor, e.action, e.object,
            e.row_count, e.purpose, e.detail, e.prev_hash, e.hash)  # fmt: skip


def _entry(row: tuple) -> AuditEntry:
    seq, ts, *rest = row
    return AuditEntry(int(seq), dt.datetime.fromisoformat(ts), *rest)


def spooled(path: Path, *, newest: int | None = None) -> list[AuditEntry]:
    """Entries in the spool `path`, oldest first (the `newest` ones only when given)."""
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        cols = ", ".join(_FIELDS)
        if newest is None:
            rows = con.execute(f"SELECT {cols} FROM entry ORDER BY seq").fetchall()
        else:
            rows = con.execute(
                f"SELECT {cols} FROM entry ORDER BY seq DESC LIMIT ?", (newest,)
            ).fetchall()[::-1]
    except sqlite3.OperationalError:  # created but its table not yet
        rows = []
    finally:
        con.close()
    return [_entry(r) for r in rows]


def newest_entry(con: duckdb.DuckDBPyConnection) -> AuditEntry | None:
    """The warehouse's newest audit entry, or ``None`` for an empty log."""
    rows = con.execute(
        f"SELECT {', '.join(_FIELDS)} FROM mm_audit ORDER BY seq DESC LIMIT 1"
    ).fetchall()
    return AuditEntry(*rows[0]) if rows else None


def check_spool(entries: list[AuditEntry], after: AuditEntry | None) -> str | None:
    """Why the spooled `entries` do not chain on from `after`, or ``None`` when they do.

    Each entry's hash is recomputed (with ``MEDMINE_AUDIT_KEY`` for keyed entries) and its
    ``prev_hash`` compared with the entry before it.
    """
    prev_seq, prev_hash = (0, GENESIS_HASH) if after is None else (after.seq, after.hash)
    key = None
    for e in entries:
        if e.seq != prev_seq + 1 or e.prev_hash != prev_hash:
            return f"spooled entry seq {e.seq} does not follow seq {prev_seq}"
        if e.scheme == "keyed" and key is None:
            key = audit_key()
        want = entry_hash(e.payload(), e.prev_hash, key if e.scheme == "keyed" else None)
        if not hmac.compare_digest(want, e.hash):
            return f"spooled entry seq {e.seq}: hash does not match its content"
        prev_seq, prev_hash = e.seq, e.hash
    return None


def merge_spool(warehouse: str | Path, path: Path | None = None) -> int:
    """Move the spooled entries into the warehouse's ``mm_audit``; returns how many were added.

    Opens the warehouse for writing (no worker may hold it). Entries already in ``mm_audit``
    (an earlier merge that stopped before clearing the spool) must be identical and are
    skipped; the rest must continue the chain. Their head lines are appended to the head
    file, then the spool is emptied.

    Raises
    ------
    IntegrityError
        The spool disagrees with the warehouse's log (nothing is written).
    """
    path = path or spool_path(warehouse)
    entries = spooled(path)
    if not entries:
        return 0
    with Warehouse(warehouse) as wh:
        con = wh.con
        newest = newest_entry(con)
        top = newest.seq if newest else 0
        old = [e for e in entries if e.seq <= top]
        new = [e for e in entries if e.seq > top]
        if old:
            stored = dict(
                con.execute(
                    "SELECT seq, hash FROM mm_audit WHERE seq BETWEEN ? AND ?",
                    [old[0].seq, old[-1].seq],
                ).fetchall()
            )
            bad = next((e.seq for e in old if stored.get(e.seq) != e.hash), None)
            if bad is not None:
                raise IntegrityError(
                    f"audit spool {path.name}: entry seq {bad} differs from the warehouse's; "
                    "the spool is kept, nothing was merged (run `medmine audit verify`)"
                )
        why = check_spool(new, newest)
        if why:
            raise IntegrityError(f"audit spool {path.name}: {why}; nothing was merged")
        if new:
            con.execute("BEGIN TRANSACTION")
            try:
                for lo in range(0, len(new), 500):
                    part = new[lo : lo + 500]
                    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(part))
                    con.execute(
                        f"INSERT INTO mm_audit VALUES {values}",
                        [v for e in part for v in e.__dict__.values()],
                    ).fetchall()
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
        _anchor_missing(head_path(con), entries)
    sq = _connect(path)
    try:
        sq.execute("DELETE FROM entry WHERE seq <= ?", (entries[-1].seq,))
    finally:
        sq.close()
    log.info("audit: %d spooled entries merged into the warehouse", len(new))
    return len(new)


def _anchor_missing(head: Path | None, entries: list[AuditEntry]) -> None:
    """Append ``seq hash`` lines for the entries newer than the head file's last line.

    The format `medmine.warehouse.audit` writes (its writer is private to that module).
    """
    if head is None:
        return
    lines = read_head_file(head) if head.exists() else []
    last = lines[-1][0] if lines else 0
    todo = [e for e in entries if e.seq > last]
    if todo:
        with private_open(head, "a", encoding="ascii") as f:
            f.write("".join(f"{e.seq} {e.hash}\n" for e in todo))


class SpoolWriter(GroupCommitWriter):
    """One thread chaining audit entries and committing them to the spool (group commit).

    Parameters
    ----------
    path
        The spool file (created 0600).
    last
        The newest entry of the warehouse's log (after `merge_spool`), or ``None``.
    """

    def __init__(self, path: Path, last: AuditEntry | None) -> None:
        super().__init__("medmine-spool", SPOOL_BATCH)
        self.path = path
        self._con = _connect(path)
        tail = spooled(path, newest=1)
        self._chain = _ChainTip(tail[-1] if tail else last)

    def close(self) -> None:
        """Commit what is queued, stop the thread and close the spool."""
        super().close()
        self._con.close()

    def _commit(self, batch: list[tuple[tuple, Future]]) -> None:
        items = [item for item, _ in batch]
        try:
            written = append_many(self._chain, items, last=self._chain.last)
            self._con.execute("BEGIN IMMEDIATE")
            try:
                self._con.executemany(
                    f"INSERT INTO entry VALUES ({', '.join('?' * len(_FIELDS))})",
                    [_row(e) for e in written],
                )
                self._con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._con.execute("ROLLBACK")
                raise
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            log.error("audit spool write failed for %d entries: %s", len(batch),
                      type(exc).__name__)  # fmt: skip
            self._failed(batch, exc)
            return
        self._chain.last = written[-1]
        self._resolved(batch, written)


class _ChainTip:
    """The newest entry, answering the three statements `append_many` runs on a connection.

    `append_many` computes the chain (key, continuation checks, actor, hashes) and runs:
    the highest ``seq``, the INSERT of the new entries and the head-file path. Answered here
    from memory (the highest seq is ours, the INSERT goes to the spool instead, no head file
    until the merge), the chain is exactly a direct write's, without three DuckDB round trips
    per batch (1.5-2 CPU-ms on an in-memory table, more than the rest of a hook). Any other
    statement raises, so a change in `append_many` shows in the tests instead of writing a
    wrong chain.
    """

    def __init__(self, last: AuditEntry | None) -> None:
        self.last = last
        self._rows: list[tuple] = []

    def execute(self, sql: str, params: Any = None) -> _ChainTip:
        """Answer one of `append_many`'s statements (see the class docstring)."""
        text = " ".join(sql.split())
        if text == "SELECT max(seq) FROM mm_audit":
            self._rows = [(self.last.seq if self.last else None,)]
        elif text.startswith("INSERT INTO mm_audit VALUES"):
            self._rows = []
        elif text.startswith("SELECT path FROM duckdb_databases()"):
            self._rows = []  # in memory: no head file
        else:
            raise NotImplementedError(f"audit spool: unexpected statement {text[:60]!r}")
        return self

    def fetchone(self) -> tuple | None:
        """First row of the last answer."""
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple]:
        """Rows of the last answer."""
        return list(self._rows)


class AuditServer:
    """Serves a `SpoolWriter` to the worker processes over a Unix socket.

    Parameters
    ----------
    writer
        The spool writer.
    address
        Path of the Unix socket (in a private folder).
    authkey
        Shared secret: a client must prove it (HMAC challenge of `multiprocessing.connection`)
        before anything it sends is unpickled.
    """

    def __init__(self, writer: SpoolWriter, address: str, authkey: bytes) -> None:
        self.writer = writer
        self._listener = Listener(address, family="AF_UNIX", authkey=authkey)
        self._conns: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._stop = False
        self._accept = threading.Thread(target=self._serve, name="medmine-audit-accept",
                                        daemon=True)  # fmt: skip
        self._accept.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn = self._listener.accept()
            except (OSError, EOFError):
                if self._stop:
                    return
                continue  # a client that failed the key challenge
            except Exception as exc:  # noqa: BLE001 - AuthenticationError and the like
                log.warning("audit socket: refused a client (%s)", type(exc).__name__)
                continue
            self._conns.append(conn)
            t = threading.Thread(target=self._client, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _client(self, conn: Connection) -> None:
        send_lock = threading.Lock()

        def reply(msg_id: int, fut: Future) -> None:
            exc = fut.exception()
            msg = (msg_id, exc is None, fut.result() if exc is None else _portable(exc))
            with send_lock, contextlib.suppress(OSError, ValueError):
                conn.send(msg)

        while True:
            try:
                msg_id, item = conn.recv()
            except (EOFError, OSError):
                return
            try:
                fut = self.writer.submit(item)
            except RuntimeError as exc:
                with send_lock, contextlib.suppress(OSError, ValueError):
                    conn.send((msg_id, False, _portable(exc)))
                continue
            fut.add_done_callback(lambda f, i=msg_id: reply(i, f))

    def close(self) -> None:
        """Stop accepting; the connections end when their workers close them."""
        self._stop = True
        with contextlib.suppress(OSError):
            self._listener.close()
        for t in self._threads:
            t.join(timeout=30)


def _portable(exc: BaseException) -> BaseException:
    """`exc` if it pickles, else a `RuntimeError` naming its type."""
    import pickle

    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001
        return RuntimeError(f"audit write failed ({type(exc).__name__})")
    return exc


class RemoteAuditor:
    """A worker's end of the `AuditServer`: `submit` as `AuditWriter.submit`.

    Parameters
    ----------
    address, authkey
        The audit socket and its key.
    """

    def __init__(self, address: str, authkey: bytes) -> None:
        self._conn = Client(address, family="AF_UNIX", authkey=authkey)
        self._pending: dict[int, Future] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="medmine-audit-client",
                                        daemon=True)  # fmt: skip
        self._reader.start()

    def submit(self, item: tuple) -> Future:
        """Send entry `item`; the future resolves to its `AuditEntry` once it is committed."""
        fut: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            msg_id = next(self._ids)
            self._pending[msg_id] = fut
            try:
                self._conn.send((msg_id, item))
            except (OSError, ValueError) as exc:
                del self._pending[msg_id]
                raise RuntimeError("the audit writer is gone") from exc
        return fut

    def _read(self) -> None:
        while True:
            try:
                msg_id, ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                fut = self._pending.pop(msg_id, None)
            if fut is None:
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)
        with self._lock:
            self._closed = True
            pending, self._pending = list(self._pending.values()), {}
        for fut in pending:
            fut.set_exception(RuntimeError("the audit writer is gone"))

    def close(self) -> None:
        """Wait for the answers still due (the requests waiting on them), then disconnect."""
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
        for fut in pending:
            with contextlib.suppress(Exception):
                fut.exception(timeout=60)
        with contextlib.suppress(OSError):
            self._conn.close()
        self._reader.join(timeout=5)


def pending(warehouse: str | Path, con: duckdb.DuckDBPyConnection, limit: int) -> dict[str, Any]:
    """The spooled entries not yet merged: the newest `limit` (newest first) and their check.

    ``{"count": n, "problem": why or None, "entries": [...]}`` for the ``/audit`` views.
    """
    entries = spooled(spool_path(warehouse))
    problem = check_spool(entries, newest_entry(con)) if entries else None
    keep = ("seq", "ts", "actor", "action", "object", "row_count", "purpose", "detail")
    rows = [{k: getattr(e, k) for k in keep} for e in reversed(entries[-limit:])]
    return {"count": len(entries), "problem": problem, "entries": rows}
