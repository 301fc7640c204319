"""State the worker processes of ``medmine serve --workers N`` share: one small SQLite file.

Several uvicorn worker processes answer requests from one listening socket, and the kernel
decides which worker gets a connection. Whatever one worker learns, the others must know:

* the **JWT ids** CDS clients have used (a token replayed to another worker must be refused),
* **failed logins** per user name and client address (else each worker adds 5 attempts),
* **study jobs** (started on one worker, polled on any).

They live in ``<warehouse>.serve-state.sqlite`` (created 0600), in WAL mode. SQLite rather
than shared memory because the three need atomic check-and-insert across processes (a
``PRIMARY KEY`` does that for the jti: of two workers inserting the same id, exactly one
succeeds), survive a worker being restarted by the supervisor (and a server restart: a jti
stays refused until its token has expired), and cost tens of microseconds per operation;
WAL lets readers go on while one process writes. Accounts and sessions are already in
their own SQLite file (`medmine.serve.users`), which every worker opens.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

#: Suffix of the shared-state file written next to the warehouse file.
STATE_SUFFIX = ".serve-state.sqlite"
#: Expired jti rows are deleted once every this many insertions.
_PURGE_EVERY = 2_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jti (id TEXT PRIMARY KEY, forget_after REAL NOT NULL);
CREATE TABLE IF NOT EXISTS login_failure (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failure_key ON login_failure (key, at);
CREATE TABLE IF NOT EXISTS job (
  id TEXT PRIMARY KEY, study TEXT NOT NULL, user TEXT NOT NULL, status TEXT NOT NULL,
  created TEXT NOT NULL, started REAL, finished REAL, summary TEXT, error TEXT);
"""
_JOB_FIELDS = ("id", "study", "user", "status", "created", "started", "finished", "summary",
               "error")  # fmt: skip


def state_path(warehouse: str | Path) -> Path:
    """The shared-state file of a warehouse (``<warehouse>.serve-state.sqlite``)."""
    return Path(str(warehouse) + STATE_SUFFIX)


class SharedStore:
    """JWT ids, failed logins and study jobs shared by the worker processes (see module doc).

    One connection per process, used under a lock (sqlite3 releases the GIL while it works).

    Parameters
    ----------
    path
        SQLite file (created 0600 when missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._con = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._con.execute("PRAGMA journal_mode = WAL")
        # NORMAL: a commit is durable once the WAL is checkpointed; losing the last jti rows
        # in a power cut only forgets ids whose tokens expire within minutes.
        self._con.execute("PRAGMA synchronous = NORMAL")
        self._con.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._inserts = 0

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            self._con.close()

    # ---- JWT replay cache ----
    def first_use(self, jti: str, forget_after: float) -> bool:
        """Record `jti` until `forget_after` (epoch s); ``False`` when any worker saw it before."""
        with self._lock:
            self._inserts += 1
            if self._inserts % _PURGE_EVERY == 0:
                self._con.execute("DELETE FROM jti WHERE forget_after < ?", (time.time(),))
            cur = self._con.execute(
                "INSERT OR IGNORE INTO jti (id, forget_after) VALUES (?, ?)", (jti, forget_after)
            )
            return cur.rowcount == 1

    # ---- failed logins ----
    def login_failures(self, key: str, since: float) -> list[float]:
        """Times (epoch s) of the failed logins of `key` after `since`, oldest first."""
        with self._lock:
            rows = self._con.execute(
                "SELECT at FROM login_failure WHERE key = ? AND at > ? ORDER BY at", (key, since)
            ).fetchall()
        return [r[0] for r in rows]

    def login_failed(self, keys: list[str], at: float, forget_before: float) -> None:
        """Count a failed login for each of `keys`; forget failures older than `forget_before`."""
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                self._con.execute("DELETE FROM login_failure WHERE at < ?", (forget_before,))
                self._con.executemany(
                    "INSERT INTO login_failure (key, at) VALUES (?, ?)", [(k, at) for k in keys]
                )
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    # ---- study jobs ----
    def put_job(self, job: dict[str, Any]) -> None:
        """Insert or replace a job record (`medmine.serve.jobs.Job` fields)."""
        values = tuple(job.get(k) for k in _JOB_FIELDS)
        marks = ", ".join("?" * len(_JOB_FIELDS))
        with self._lock:
            self._con.execute(f"INSERT OR REPLACE INTO job VALUES ({marks})", values)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """The job record `job_id`, or ``None``."""
        with self._lock:
            rows = self._con.execute(
                f"SELECT {', '.join(_JOB_FIELDS)} FROM job WHERE id = ?", (job_id,)
            ).fetchall()
        return dict(zip(_JOB_FIELDS, rows[0], strict=True)) if rows else None

    def abandon_jobs(self) -> int:
        """Mark jobs still queued or running as failed (at start: their server stopped)."""
        with self._lock:
            cur = self._con.execute(
                "UPDATE job SET status = 'failed', error = 'the server stopped during the run', "
                "finished = ? WHERE status IN ('queued', 'running')",
                (time.time(),),
            )
            return cur.rowcount
