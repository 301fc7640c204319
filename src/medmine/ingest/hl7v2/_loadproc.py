"""The journal's loader in a process of its own (journal mode, file warehouses).

The listener's network side (framing, checks, journal, ACKs) and the loader (`JournalLoader`,
parsing again and writing through `LoadSession` into DuckDB) each cost about half a
millisecond of Python per message; in one process they share one GIL, so neither can use a
second core. `ProcessLoader` runs the loader in a child process (``spawn``: no inherited
locks or DuckDB handles) that is the warehouse's only writer while the listener runs; the
parent closes its own connection first and opens it again when the child has stopped.

The parent sends batches of journal entries over a pipe (bytes and the few header fields;
the child parses them itself) and gets back each entry's outcome. Exactly-once is unchanged:
the child commits each batch with its sequence range in ``mm_load_file`` (see
`medmine.ingest.hl7v2._drain`), and the parent moves its checkpoint only after the child
reported the commit. The child dies with the parent (``PR_SET_PDEATHSIG`` on Linux), so after
a ``kill -9`` of the listener no orphan keeps the warehouse locked; a transaction it had
open is rolled back by DuckDB and replayed from the journal on restart.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import signal
from multiprocessing.connection import Connection
from typing import Any

from medmine.errors import WarehouseError
from medmine.ingest.hl7v2._drain import JournalLoader
from medmine.ingest.hl7v2._journal import Entry
from medmine.ingest.hl7v2._memory import Committed, provenance_follows_rows
from medmine.ingest.hl7v2._reader import Outcome

#: prctl option: a signal the kernel sends the child when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux; elsewhere a no-op:
    the child then stops when the pipe closes).
    """
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _warm_up() -> None:
    """Import now what the first batch would otherwise import (pyarrow converts Python lists
    through pandas when installed: 1.6 s of CPU measured on the first transaction), so the
    child reports ready only when it can load at full speed.
    """
    with contextlib.suppress(ImportError):
        import pandas  # noqa: F401


def _child(path: str, journal_id: str, max_frame_bytes: int, conn: Connection) -> None:
    """The loader process: open the warehouse, apply each batch sent, answer its outcomes."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    from medmine.warehouse import Warehouse

    try:
        wh = Warehouse(path)
        wh.con.execute("SET threads = 1")  # small transactions: see Listener.serve
        committed = Committed()
        committed.know_all(wh.con)
        loader = JournalLoader(wh, journal_id, committed, max_frame_bytes)
        loader.provenance_follows_rows = provenance_follows_rows(wh.con)
        _warm_up()
        conn.send(("ready", (loader.checkpoint(), loader.provenance_follows_rows)))
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    try:
        while True:
            try:
                batch = conn.recv()
            except EOFError:
                return  # the parent is gone
            if batch is None:
                conn.send(("bye", None))
                return
            entries = [Entry(*fields) for fields in batch]
            try:
                outcomes = loader.apply(entries)
            except Exception as exc:  # the warehouse cannot be written: nothing applied
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
                return
            conn.send(("ok", ([(o.status, o.reason) for o in outcomes], loader.retried_alone)))
    finally:
        wh.close()


class ProcessLoader:
    """`JournalLoader`'s `apply` in a child process holding the warehouse `path`.

    Create it in a thread that lives as long as the child (the kernel's parent-death signal
    follows the creating thread); the blocking calls (`wait_ready`, `apply`, `close`) may
    run in a worker thread, which waits without the GIL.
    """

    def __init__(self, path: str, journal_id: str, max_frame_bytes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child,
            args=(path, journal_id, max_frame_bytes, child),
            name="hl7-loader",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self.retried_alone = 0
        self.applied = -1
        #: whether the child writes new rows' provenance without a conflict check
        self.provenance_follows_rows = False

    def wait_ready(self) -> int:
        """Wait until the child opened the warehouse; returns its checkpoint.

        Raises
        ------
        WarehouseError
            The child could not open the warehouse (e.g. another process holds it).
        """
        self.applied, self.provenance_follows_rows = self._recv("ready")
        return int(self.applied)

    def _recv(self, want: str) -> Any:
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(5)
            raise WarehouseError(
                f"the listener's loader process stopped (exit code {self._proc.exitcode}); "
                "acknowledged messages stay in the journal and load on the next start"
            ) from None
        if kind == "error":
            raise WarehouseError(f"the listener's loader failed: {value}")
        assert kind == want, (kind, want)
        return value

    def apply(self, entries: list[Entry]) -> list[Outcome]:
        """Load `entries` in the child (see `JournalLoader.apply`)."""
        batch = [(e.seq, e.source, e.number, e.status, e.reason, e.detail, e.data, e.size,
                  e.oversize) for e in entries]  # fmt: skip
        with contextlib.suppress(OSError):  # the child is gone: _recv says so
            self._conn.send(batch)
        got, self.retried_alone = self._recv("ok")
        return [Outcome(status, reason=reason) for status, reason in got]

    def close(self) -> None:
        """Stop the child once it finished what it holds, and wait for it."""
        if self._proc.is_alive():
            with contextlib.suppress(Exception):
                self._conn.send(None)
                self._recv("bye")
        self._proc.join(30)
        if self._proc.is_alive():  # (cannot happen: it stops after its last batch)
            self._proc.kill()
            self._proc.join()
        self._conn.close()
