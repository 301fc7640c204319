"""``medmine serve --workers N``: N uvicorn worker processes over one read-only warehouse.

The supervising process (`run_workers`):

1. opens the warehouse for writing once, merges an audit spool a crash may have left
   (`medmine.serve.spool.merge_spool`), reads the newest audit entry, and closes it;
2. starts the single audit writer (`SpoolWriter` behind an `AuditServer` on a Unix socket in
   a private temporary folder, with a random key handed to the workers in the environment);
3. runs N workers with uvicorn's own supervisor (`uvicorn.supervisors.Multiprocess`: one
   listening socket shared by the workers, a dead worker is replaced). Each worker builds
   the app with `worker_app`: the warehouse read-only, audit entries to the writer, JWT ids,
   failed logins and study jobs in the `SharedStore`;
4. on SIGINT or SIGTERM, uvicorn stops the workers gracefully (requests in flight finish,
   each after its audit entry is committed), then the writer commits what is queued and
   the spool is merged into the warehouse's ``mm_audit``.

Each worker precomputes its own scores and patient index at start (N times the start-up
CPU of one process, and N copies in memory).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from medmine.serve.shared import SharedStore, state_path
from medmine.serve.spool import AuditServer, SpoolWriter, merge_spool, newest_entry, spool_path
from medmine.serve.state import AUDIT_AUTHKEY_ENV, ServeSettings
from medmine.warehouse import Warehouse

log = logging.getLogger("medmine.serve")
#: Environment variable carrying the workers' `ServeSettings` (JSON, no secrets).
SETTINGS_ENV = "MEDMINE_SERVE_SETTINGS"
_PATHS = ("warehouse", "reports", "models", "users_file", "shared_state")


def settings_to_json(settings: ServeSettings) -> str:
    """`settings` as JSON (paths as strings)."""
    doc = dataclasses.asdict(settings)
    return json.dumps({k: str(v) if k in _PATHS and v is not None else v for k, v in doc.items()})


def settings_from_json(text: str) -> ServeSettings:
    """The `ServeSettings` of `settings_to_json`."""
    doc: dict[str, Any] = json.loads(text)
    return ServeSettings(
        **{k: Path(v) if k in _PATHS and v is not None else v for k, v in doc.items()}
    )


def worker_app() -> Any:
    """The application of one worker process (a uvicorn factory; settings from the environment)."""
    from medmine.serve.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_from_json(os.environ[SETTINGS_ENV])
    return create_app(settings, close_on_shutdown=True)


def prepare(settings: ServeSettings) -> Any:
    """Merge a left-over audit spool and return the warehouse's newest audit entry.

    Also marks study jobs a stopped server left running as failed.
    """
    wh = settings.warehouse
    n = merge_spool(wh)
    if n:
        log.warning("audit: %d entries of an earlier run were still in the spool; merged", n)
    with Warehouse(wh) as w:
        last = newest_entry(w.con)
        w.con.execute("CHECKPOINT")
    shared = SharedStore(state_path(wh))
    try:
        if shared.abandon_jobs():
            log.warning("study jobs of an earlier run were marked failed (the server stopped)")
    finally:
        shared.close()
    return last


def run_workers(
    settings: ServeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 2,
    log_level: str = "info",
) -> int:
    """Serve with `workers` processes until SIGINT/SIGTERM; returns the audit entries merged."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    old_umask = os.umask(0o077)  # spool, shared state and outputs: owner only, as the warehouse
    folder = tempfile.mkdtemp(prefix="medmine-serve-")  # 0700
    try:
        last = prepare(settings)
        wh = settings.warehouse
        address = os.path.join(folder, "audit.sock")
        key = secrets.token_bytes(32)
        writer = SpoolWriter(spool_path(wh), last)
        server = AuditServer(writer, address, key)
        worker_settings = dataclasses.replace(
            settings, read_only=True, audit_socket=address, shared_state=state_path(wh),
            workers=workers,
        )  # fmt: skip
        os.environ[AUDIT_AUTHKEY_ENV] = key.hex()
        os.environ[SETTINGS_ENV] = settings_to_json(worker_settings)
        try:
            config = uvicorn.Config(
                "medmine.serve.workers:worker_app", factory=True, host=host, port=port,
                workers=workers, access_log=False, log_level=log_level,
                # a worker still warming up (precomputing scores) answers the supervisor's
                # health pings from a thread of its own; give slow machines time
                timeout_worker_healthcheck=30,
            )  # fmt: skip
            sock = config.bind_socket()
            try:
                Multiprocess(config, sockets=[sock]).run()
            finally:
                sock.close()
        finally:
            os.environ.pop(AUDIT_AUTHKEY_ENV, None)
            os.environ.pop(SETTINGS_ENV, None)
            server.close()
            writer.close()
            log.info("audit: %d entries written by the workers", writer.entries)
        return merge_spool(wh)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.umask(old_umask)
