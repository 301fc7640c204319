"""What one running server holds: settings, the warehouse connection, accounts, models, audit.

One read-write DuckDB connection is opened at start (the audit log is written through it);
each request works on its own cursor. The server holds the file open for writing, so no other
process can change the warehouse while it runs (DuckDB allows one writing process).

Audit entries are written by one thread, `AuditWriter`, by *group commit*: the entries of
requests arriving while a batch is being committed form the next batch, appended with one
chain lookup in one transaction (`medmine.warehouse.audit.append_many`). The guarantee is
unchanged from one append per request: a request waits until its own entry is committed
(the DuckDB commit, then the head file) before it returns anything, so no PHI leaves the
server unaudited, and a failed write fails the request. The chain stays linear because only
this thread appends.

With several worker processes (``medmine serve --workers N``, `medmine.serve.workers`) each
worker opens the warehouse read-only (`ServeSettings.read_only`) and sends its entries to the
supervisor's single writer (`medmine.serve.spool.RemoteAuditor`, same wait-for-commit rule);
JWT ids, failed logins and study jobs are kept in a `SharedStore` every worker reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from medmine.serve._group import GroupCommitWriter
from medmine.serve.auth import CdsClients, LoginThrottle, Principal
from medmine.serve.shared import SharedStore
from medmine.serve.spool import RemoteAuditor
from medmine.serve.users import UserStore, users_path
from medmine.warehouse import Warehouse
from medmine.warehouse.audit import AuditEntry, append_many, head_path

log = logging.getLogger("medmine.serve")
#: Environment variable carrying the audit socket's key (hex) from the supervisor to workers.
AUDIT_AUTHKEY_ENV = "MEDMINE_SERVE_AUDIT_AUTHKEY"
#: Most entries committed in one transaction.
AUDIT_BATCH = 512
_RETRIES = 3


@dataclass
class ServeSettings:
    """Configuration of `create_app` (secrets come from the environment, never from here).

    Parameters
    ----------
    warehouse
        DuckDB warehouse file.
    reports
        Folder of study outputs (``study_<name>.json`` and tables), as `medmine demo` writes.
    models
        Folder of saved models (default ``<reports>/models``).
    secure_cookies
        Mark cookies ``Secure`` (keep on; off only behind a TLS-terminating proxy test rig).
    trust_unsigned_models
        Load models whose manifest `MEDMINE_MODEL_KEY` cannot authenticate (as
        ``medmine score --trust-unsigned``).
    """

    warehouse: Path
    reports: Path = Path("reports")
    models: Path | None = None
    secure_cookies: bool = True
    trust_unsigned_models: bool = False
    users_file: Path | None = None
    cds_model: str | None = None
    #: Threads serving blocking requests (DuckDB queries, scoring).
    threads: int = 40
    #: Persons outside the CDS model's cohort scored live at start-up, in the background
    #: (about 0.1 CPU-s each; the rest are scored at their first request), see `serve.warm`.
    warm_outside: int = 2_000
    #: Worker processes of `medmine serve` (1: this process serves and writes the audit log).
    workers: int = 1
    #: Open the warehouse read-only and send audit entries to `audit_socket` (set by the
    #: supervisor of several workers, see `medmine.serve.workers`).
    read_only: bool = False
    #: Unix socket of the supervisor's audit writer (key in `AUDIT_AUTHKEY_ENV`).
    audit_socket: str | None = None
    #: SQLite file of the state the workers share (`medmine.serve.shared`); ``None``: memory.
    shared_state: Path | None = None

    @property
    def models_dir(self) -> Path:
        """Folder of saved models."""
        return self.models or self.reports / "models"


@dataclass
class WarehouseView:
    """A `Warehouse`-shaped handle on one cursor, for library code that takes ``wh``."""

    con: duckdb.DuckDBPyConnection
    path: str
    read_only: bool = False


@dataclass
class ServeState:
    """Everything the request handlers share."""

    settings: ServeSettings
    warehouse: Warehouse
    users: UserStore
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    cds_clients: CdsClients = field(default_factory=CdsClients)
    extra: dict[str, Any] = field(default_factory=dict)
    auditor: AuditWriter | RemoteAuditor | None = None
    #: State shared with the other worker processes (``None``: one process, all in memory).
    shared: SharedStore | None = None

    def __post_init__(self) -> None:
        if self.auditor is None:
            self.auditor = AuditWriter(self.warehouse.con)
        if self.shared is not None:
            self.cds_clients.shared = self.shared
            self.throttle.shared = self.shared

    @classmethod
    def open(cls, settings: ServeSettings, cds_clients: CdsClients | None = None) -> ServeState:
        """Open the warehouse and the account file.

        Read-write (the audit log is written through this connection), or read-only with the
        audit entries sent to the supervisor's writer when `settings.read_only`.
        """
        import os

        shared = SharedStore(settings.shared_state) if settings.shared_state else None
        auditor = None
        if settings.read_only:
            if not settings.audit_socket:
                raise ValueError("a read-only server needs the audit writer's socket")
            key = bytes.fromhex(os.environ.get(AUDIT_AUTHKEY_ENV, ""))
            auditor = RemoteAuditor(settings.audit_socket, key)
        wh = Warehouse(settings.warehouse, read_only=settings.read_only)
        users = UserStore(settings.users_file or users_path(settings.warehouse))
        return cls(settings, wh, users, cds_clients=cds_clients or CdsClients(),
                   auditor=auditor, shared=shared)  # fmt: skip

    def close(self) -> None:
        """Close the warehouse and the account file (after the last audit entry is written)."""
        self.auditor.close()
        self.users.close()
        self.warehouse.close()
        if self.shared is not None:
            self.shared.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one request (DuckDB connections are not shared by threads)."""
        return self.warehouse.con.cursor()

    def view(self) -> WarehouseView:
        """A `WarehouseView` on a fresh cursor."""
        return WarehouseView(self.cursor(), str(self.warehouse.path), self.settings.read_only)

    def audit(
        self,
        who: Principal,
        action: str,
        obj: str,
        *,
        person_id: int | None = None,
        rows: int | None = None,
        purpose: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry to the warehouse's hash-chained audit log: who, what, which person.

        Returns once the entry is committed (raises if it could not be). The person is
        recorded by its warehouse ``person_id`` (never a name or other value).
        """
        item = _entry(who, action, obj, person_id, rows, purpose, detail)
        return self.auditor.submit(item).result()

    async def audit_async(
        self,
        who: Principal,
        action: str,
        obj: str,
        *,
        person_id: int | None = None,
        rows: int | None = None,
        purpose: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """`audit` for async handlers: awaits the commit without holding a thread."""
        item = _entry(who, action, obj, person_id, rows, purpose, detail)
        return await asyncio.wrap_future(self.auditor.submit(item))


def _entry(
    who: Principal,
    action: str,
    obj: str,
    person_id: int | None,
    rows: int | None,
    purpose: str | None,
    detail: dict[str, Any] | None,
) -> tuple:
    body = {"via": who.via, "role": who.role, **(detail or {})}
    if person_id is not None:
        body["person_id"] = int(person_id)
    return (f"web:{who.username}", action, obj, rows, purpose, body)


class AuditWriter(GroupCommitWriter):
    """One thread appending audit entries by group commit (see the module docstring).

    Parameters
    ----------
    con
        The server's read-write connection (the writer works on a cursor of its own).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__("medmine-audit", AUDIT_BATCH)
        self._con = con

    def _open(self) -> None:
        self._cur = self._con.cursor()
        self._head = head_path(self._cur)
        self._last: AuditEntry | None = None

    def _close(self) -> None:
        self._cur.close()

    def _commit(self, batch: list[tuple[tuple, Future]]) -> None:
        cur = self._cur
        items = [item for item, _ in batch]
        for attempt in range(_RETRIES):
            try:
                cur.execute("BEGIN TRANSACTION")
                written = append_many(cur, items, last=self._last, head=self._head)
                cur.execute("COMMIT")
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                self._last = None
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                # Another connection of this process (a study run) appended at the same
                # time: read the chain again and retry.
                conflict = isinstance(exc, duckdb.ConstraintException | duckdb.TransactionException)
                if conflict and attempt + 1 < _RETRIES:
                    continue
                log.error("audit write failed for %d entries: %s", len(batch), type(exc).__name__)
                self._failed(batch, exc)
                return
            self._last = written[-1]
            self._resolved(batch, written)
            return
