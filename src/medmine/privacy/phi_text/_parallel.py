"""Scrub many texts on several processes, streaming and in input order."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator

from medmine.privacy.phi_text._model import NoteContext
from medmine.privacy.phi_text._scrubber import Scrubber, ScrubConfig, ScrubResult

_WORKER: Scrubber | None = None


def _init(config: ScrubConfig) -> None:
    global _WORKER  # noqa: PLW0603 - one scrubber per worker process
    _WORKER = Scrubber(config)


def _scrub(text: str) -> ScrubResult:
    assert _WORKER is not None
    return _WORKER.scrub(text, NoteContext())


def scrub_parallel(
    texts: Iterable[str],
    config: ScrubConfig | None = None,
    *,
    jobs: int = 0,
    chunksize: int = 32,
    batch: int = 4096,
) -> Iterator[ScrubResult]:
    """Scrub `texts` (no warehouse context) on `jobs` processes (0: one per CPU), yielding
    results in input order. Texts are read `batch` at a time, so memory stays bounded
    whatever the input size.

    >>> [r.text for r in scrub_parallel(["Seen by Dr. Jane Garcia."], jobs=1)]
    ['Seen by Dr. [NAME].']
    """
    config = config or ScrubConfig()
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    scrubber = Scrubber(config)
    scrubber.analyze("Warm up the word lists before the workers fork.")
    if jobs == 1:
        for t in texts:
            yield scrubber.scrub(t, NoteContext())
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else None)
    it = iter(texts)
    with ctx.Pool(jobs, initializer=_init, initargs=(config,)) as pool:
        while chunk := list(itertools.islice(it, batch)):
            yield from pool.imap(_scrub, chunk, chunksize=chunksize)
