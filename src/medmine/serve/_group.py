"""Group commit: one thread commits queued items in batches, each caller waits for its own.

Both audit writers of `medmine serve` (`medmine.serve.state.AuditWriter` on the warehouse,
`medmine.serve.spool.SpoolWriter` on the spool of ``--workers N``) work this way: requests
arriving while a batch is being committed form the next batch, and each request's future
resolves only once its own item is committed (or fails with the batch's exception). The queue,
the thread and the shutdown live here; a subclass says how one batch is committed.

Hand-rolled because `concurrent.futures` executors run one callable per item and have no notion
of draining a queue into one transaction.
"""

from __future__ import annotations

import abc
import threading
from collections import deque
from concurrent.futures import Future
from typing import Any


class GroupCommitWriter(abc.ABC):
    """Queue items and commit them in batches of at most `batch_size`, on one thread.

    Subclasses implement `_commit(batch)` (resolve every future of the batch, with a result or
    an exception) and may override `_open()`/`_close()`, run on the writer thread before the
    first and after the last batch.

    Parameters
    ----------
    name
        The thread's name.
    batch_size
        Most items committed in one batch.
    """

    def __init__(self, name: str, batch_size: int) -> None:
        self._name = name
        self._batch_size = batch_size
        self._queue: deque[tuple[Any, Future]] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        #: Batches and items committed (for the benchmarks and the tests).
        self.batches = 0
        self.entries = 0

    def submit(self, item: Any) -> Future:
        """Queue `item`; the future resolves once it is committed (the thread starts lazily)."""
        fut: Future = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            self._queue.append((item, fut))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cv.notify()
        return fut

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._cv:
            self._closed = True
            self._cv.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        self._open()
        try:
            while True:
                with self._cv:
                    while not self._queue and not self._closed:
                        self._cv.wait()
                    if not self._queue:
                        return
                    n = min(len(self._queue), self._batch_size)
                    batch = [self._queue.popleft() for _ in range(n)]
                self._commit(batch)
        finally:
            self._close()

    def _open(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Prepare the writer thread's resources (runs on that thread)."""

    def _close(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Release the writer thread's resources (runs on that thread)."""

    @abc.abstractmethod
    def _commit(self, batch: list[tuple[Any, Future]]) -> None:
        """Commit one batch and resolve each of its futures (`_resolved` or `_failed`)."""

    def _resolved(self, batch: list[tuple[Any, Future]], written: list[Any]) -> None:
        """Count a committed batch and hand each caller its committed entry."""
        self.batches += 1
        self.entries += len(written)
        for (_, fut), entry in zip(batch, written, strict=True):
            fut.set_result(entry)

    @staticmethod
    def _failed(batch: list[tuple[Any, Future]], exc: BaseException) -> None:
        """Fail every caller of a batch that could not be committed."""
        for _, fut in batch:
            fut.set_exception(exc)
