"""What one running server holds: settings, the warehouse connection, accounts, models, audit.

One read-write DuckDB connection is opened at start (the audit log is written through it);
each request works on its own cursor. Audit entries are appended under one lock, so the hash
chain stays linear under concurrent requests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from medmine.serve.auth import CdsClients, LoginThrottle, Principal
from medmine.serve.users import UserStore, users_path
from medmine.warehouse import Warehouse
from medmine.warehouse.audit import append as audit_append


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
    audit_lock: threading.Lock = field(default_factory=threading.Lock)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: ServeSettings, cds_clients: CdsClients | None = None) -> ServeState:
        """Open the warehouse (read-write, for the audit log) and the account file."""
        wh = Warehouse(settings.warehouse)
        users = UserStore(settings.users_file or users_path(settings.warehouse))
        return cls(settings, wh, users, cds_clients=cds_clients or CdsClients())

    def close(self) -> None:
        """Close the warehouse and the account file."""
        self.users.close()
        self.warehouse.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one request (DuckDB connections are not shared by threads)."""
        return self.warehouse.con.cursor()

    def view(self) -> WarehouseView:
        """A `WarehouseView` on a fresh cursor."""
        return WarehouseView(self.cursor(), str(self.warehouse.path))

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
    ) -> None:
        """Append one entry to the warehouse's hash-chained audit log: who, what, which person.

        The person is recorded by its warehouse ``person_id`` (never a name or other value).
        """
        body = {"via": who.via, "role": who.role, **(detail or {})}
        if person_id is not None:
            body["person_id"] = int(person_id)
        cur = self.cursor()
        try:
            with self.audit_lock:
                audit_append(cur, f"web:{who.username}", action, obj, rows, purpose, body)
        finally:
            cur.close()
