"""Start-up work of `medmine serve`: what is computed from the warehouse before requests need it.

`warm` indexes the patients (`PatientIndex`), precomputes the CDS model's scores and
explanations, and scores once the persons the cohort leaves out; `warehouse_changed` drops all
of it and starts again (after a study run inside the server).
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any

from medmine.errors import MedmineError, PrivacyError
from medmine.serve.models import ModelUnavailableError
from medmine.serve.state import ServeState

log = logging.getLogger("medmine.serve")


def warm(st: ServeState) -> None:
    """Index the patients and precompute the CDS model's scores before the first hook arrives.

    ``/api/v1/health`` says ``"warm": "running"`` until this is done.
    """
    st.extra["warm"] = "running"
    try:
        _warm_all(st)
    finally:
        _freeze_heap()
        st.extra["warm"] = "done"


def _freeze_heap() -> None:
    """Move every object alive after start-up out of the garbage collector's sight.

    A warmed server holds about 220,000 tracked objects (libraries, model, precomputed
    scores); a full collection walks all of them: 50-500 ms during which the event loop
    answers nobody, measured, which is the latency tail of every request in flight. They
    live as long as the server, so after `gc.freeze` full collections only walk what
    requests left behind (`gc.freeze` is meant for this: objects kept for the process's
    life). Collected once first, so no garbage cycle is frozen.
    """
    gc.collect()
    gc.freeze()


def _warm_all(st: ServeState) -> None:
    from medmine.serve.data import PatientIndex

    t0 = time.perf_counter()
    cur = st.cursor()
    try:
        st.extra["patients"] = PatientIndex.build(cur)
    except Exception as exc:  # noqa: BLE001 - hooks then query the warehouse
        log.warning("patient index not built: %s", type(exc).__name__)
    finally:
        cur.close()
    models = st.extra["models"]
    name = st.settings.cds_model or models.default()
    if name is None:
        return
    shared = _shared_folder(st)
    if shared is not None:
        _warm_shared(st, name, shared)
        return
    try:
        pre = models.precomputed(name, st.view())
    except Exception as exc:  # noqa: BLE001 - reported on first use, with its reason
        log.warning("model %s not precomputed at start: %s", name, type(exc).__name__)
        return
    log.info("model %s: %d persons scored in %.1f s", name, len(pre), time.perf_counter() - t0)
    _warm_outside(st, name, pre)


def _shared_folder(st: ServeState) -> Path | None:
    """The supervisor's private folder when several workers serve (else ``None``)."""
    if not st.settings.read_only or not st.settings.audit_socket:
        return None
    return Path(st.settings.audit_socket).parent


def _warm_shared(st: ServeState, name: str, folder: Path) -> None:
    """Precompute once for all workers: the first builds and saves, the others load.

    The workers open the same read-only warehouse and the same model file, so their
    precomputed scores (and the live scores of the persons outside the cohort) would be
    identical; computing them in every worker cost N times the start-up CPU. A file lock
    makes the first worker build them and write a pickle into the supervisor's private
    (0700) folder, which goes away when the server stops; the others wait on the lock and
    load it. The pickle is keyed by the model's SHA-256 and holds no model (each worker
    keeps its own verified copy).
    """
    models = st.extra["models"]
    t0 = time.perf_counter()
    try:
        loaded = models.get(name)
    except ModelUnavailableError as exc:
        log.warning("model %s not precomputed at start: %s", name, type(exc).__name__)
        return
    key = str(loaded.manifest.get("model_sha256") or "unsigned")[:16]
    path = folder / f"precomputed-{name}-{key}.pkl"
    with (folder / f"precomputed-{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.exists():
            try:
                with path.open("rb") as f:
                    pre = pickle.load(f)  # written by a sibling worker, in a 0700 folder
                pre.loaded = loaded
                models.adopt(name, pre)
            except Exception as exc:  # noqa: BLE001 - then this worker builds its own
                log.warning("precomputed scores of the first worker not loaded: %s",
                            type(exc).__name__)  # fmt: skip
            else:
                log.info("model %s: %d precomputed persons loaded from the first worker in "
                         "%.1f s", name, len(pre), time.perf_counter() - t0)  # fmt: skip
                return
        try:
            pre = models.precomputed(name, st.view())
        except Exception as exc:  # noqa: BLE001 - reported on first use, with its reason
            log.warning("model %s not precomputed at start: %s", name, type(exc).__name__)
            return
        log.info("model %s: %d persons scored in %.1f s", name, len(pre),
                 time.perf_counter() - t0)  # fmt: skip
        _warm_outside(st, name, pre)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(pre, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)


def _warm_outside(st: ServeState, name: str, pre: Any) -> None:
    """Score live, once, the persons with an index event whom the cohort left out.

    `score_person` takes a hundred milliseconds or more for each; done here, a hook for
    such a patient is answered from memory like the others. At most
    ``settings.warm_outside`` persons (the rest are scored at their first request).
    """
    from medmine.serve.api import person_score
    from medmine.serve.models import PRECOMPUTED_TOP, index_persons

    limit = st.settings.warm_outside
    if limit <= 0:
        return
    t0 = time.perf_counter()
    models = st.extra["models"]
    try:
        persons = [p for p in index_persons(models.get(name), st.view()) if p not in pre]
    except Exception as exc:  # noqa: BLE001 - they are scored at first request instead
        log.warning("persons outside the cohort not listed: %s", type(exc).__name__)
        return
    done = 0
    for person_id in persons[:limit]:
        if models.ready(name) is not pre:
            return  # the model or the warehouse changed meanwhile
        try:
            outcome = person_score(st, None, name, person_id, top=PRECOMPUTED_TOP,
                                   audit_entry=False)  # fmt: skip
        except (ModelUnavailableError, PrivacyError):
            return
        except MedmineError as exc:
            outcome = exc
        pre.remember(person_id, PRECOMPUTED_TOP, outcome)
        done += 1
    log.info("model %s: %d persons outside the cohort scored in %.1f s", name, done,
             time.perf_counter() - t0)  # fmt: skip


def warehouse_changed(st: ServeState) -> None:
    """Drop what was computed from the warehouse (after a study run) and rebuild it."""
    st.extra.pop("patients", None)
    st.extra["models"].invalidate()
    threading.Thread(target=warm, args=(st,), daemon=True).start()
