"""Study runs started from the workspace: one background worker, progress by polling.

A job runs the registered study on its own connection to the warehouse, writes the page and
machine-readable outputs into the reports folder (`write_study`), and records the run in the
audit log. With one server process jobs live in memory: a restart forgets them (their
outputs stay on disk). With several worker processes a job runs in the worker that received
it and its record lives in the `SharedStore`, so any worker answers its progress page; a job
still running when the server stops is marked failed at the next start.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from medmine.errors import MedmineError
from medmine.serve.auth import Principal


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    """One study run."""

    id: str
    study: str
    user: str
    status: str = "queued"  # queued, running, done, failed
    created: str = field(default_factory=lambda: _now())
    #: Epoch seconds (wall clock: comparable between worker processes).
    started: float | None = None
    finished: float | None = None
    summary: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (elapsed seconds included)."""
        end = self.finished or time.time()
        return {
            "id": self.id,
            "study": self.study,
            "user": self.user,
            "status": self.status,
            "created": self.created,
            "elapsed_s": round(end - self.started, 1) if self.started else 0.0,
            "summary": self.summary,
            "error": self.error,
        }


class JobRunner:
    """Runs studies one at a time in a background thread."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.shared = getattr(state, "shared", None)
        self.jobs: dict[str, Job] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medmine-study")
        self._lock = threading.Lock()

    def submit(self, name: str, who: Principal) -> Job:
        """Queue study `name` (checked against the registry first)."""
        from medmine.studies import get_study

        get_study(name)  # ConfigError for an unknown name, before anything is queued
        job = Job(uuid.uuid4().hex, name, who.username)
        with self._lock:
            self.jobs[job.id] = job
        self._save(job)
        self._pool.submit(self._run, job, who)
        return job

    def get(self, job_id: str) -> Job | None:
        """Job `job_id` (started by any worker), or ``None``."""
        if self.shared is not None:
            record = self.shared.get_job(job_id)
            return Job(**record) if record else None
        return self.jobs.get(job_id)

    def _save(self, job: Job) -> None:
        if self.shared is not None:
            self.shared.put_job(dict(job.__dict__))

    def _run(self, job: Job, who: Principal) -> None:
        from medmine.report import page_context
        from medmine.report.study_pages import write_study
        from medmine.studies import get_study
        from medmine.warehouse import Warehouse

        job.status, job.started = "running", time.time()
        self._save(job)
        read_only = self.state.settings.read_only
        try:
            s = get_study(job.study)
            with Warehouse(self.state.settings.warehouse, read_only=read_only) as wh:
                result = s.run(wh, s.make_config({}))
                link = write_study(result, self.state.settings.reports, context=page_context(wh))
            job.summary, job.status = link.summary, "done"
            self.state.audit(who, "study", job.study, purpose="research", detail={"job": job.id})
        except MedmineError as exc:
            job.status, job.error = "failed", str(exc).splitlines()[0][:300]
        except Exception as exc:  # noqa: BLE001 - a failed job reports its type, never values
            job.status, job.error = "failed", f"internal error ({type(exc).__name__})"
        finally:
            job.finished = time.time()
            self._save(job)
            if job.status == "done" and not read_only:
                # The run may have written to the warehouse: drop scores computed from it.
                from medmine.serve.warm import warehouse_changed

                warehouse_changed(self.state)

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for the running one."""
        self._pool.shutdown(wait=True, cancel_futures=True)
