"""Saved models behind the scoring API and CDS Hooks: verified once, kept in memory.

A model is loaded by `medmine.studies.scoring.load_model` (signature, hashes, type allow-list)
the first time it is asked for, and again when its files change on disk; afterwards requests
reuse it. Scores come either from a person in the warehouse (`score_person`: covariates
recomputed exactly as in training; at the default index from `PrecomputedScores`, one batch
pass per model) or from feature vectors sent by the caller (`ScoringBatcher`: the vectors of
concurrent requests are scored in one pass).

Explanations are SHAP values in log-odds. For LightGBM models they come from the booster's own
TreeSHAP (``pred_contrib``), the path-dependent algorithm `shap.TreeExplainer` runs, about
twenty times faster per row and equal to it (tested); other models go through
`medmine.evaluate.explain.explain_rows`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from medmine.errors import MedmineError
from medmine.evaluate.explain import base_model, explain_rows
from medmine.mining.classify import LightGBMClassifier
from medmine.studies.scoring import (
    LoadedModel,
    load_model,
    manifest_path,
    out_of_domain,
    score_index_events,
)

#: Risk bands of a 30-day readmission probability: (upper bound, band, CDS card indicator).
BANDS: tuple[tuple[float, str, str], ...] = (
    (0.10, "low", "info"),
    (0.25, "moderate", "warning"),
    (1.01, "high", "critical"),
)
#: Contributions kept per precomputed person (a request for more is explained live).
PRECOMPUTED_TOP = 10
#: Contributions on a CDS Hooks card.
CDS_TOP = 3
#: Live outcomes kept per model (persons outside the precomputed set).
LIVE_CACHE = 100_000
#: Most feature vectors one `ScoringBatcher` pass scores: enough to merge hundreds of
#: one-vector requests; large requests are not merged further (that adds latency, not speed).
BATCH_ROWS = 512
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def band(risk: float) -> tuple[str, str]:
    """``(band, CDS indicator)`` of a probability."""
    return next((b, ind) for hi, b, ind in BANDS if risk < hi)


@dataclass(frozen=True)
class FeatureScore:
    """Score of one feature vector."""

    risk: float
    explanation: list[dict[str, Any]]


class ModelUnavailableError(MedmineError):
    """The model does not exist or cannot be loaded (its reason, never a stack trace)."""


def _dense(X: Any) -> np.ndarray:
    return np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)


def shap_matrix(loaded: LoadedModel, X: Any) -> np.ndarray | None:
    """SHAP values ``(rows, features)`` in log-odds from LightGBM's own TreeSHAP, or ``None``.

    ``None`` for models other than a binary `LightGBMClassifier` (explain those with
    `explain_rows`).
    """
    est = base_model(loaded.model)
    if not isinstance(est, LightGBMClassifier) or not hasattr(est, "booster_"):
        return None
    n_features = len(loaded.manifest.get("feature_names", []))
    # One thread: the server runs requests side by side; LightGBM's OpenMP threads spin after
    # each call, which cost 5.5 ms of CPU for one row against 0.43 ms single-threaded.
    vals = np.asarray(est.booster_.predict(_dense(X), pred_contrib=True, num_threads=1))
    if vals.ndim != 2 or vals.shape[1] != n_features + 1:
        return None  # multi-class or a feature count the manifest does not describe
    return vals[:, :-1]


def top_items(vals: np.ndarray, dense: np.ndarray, names: list[str], top: int) -> list[list[dict]]:
    """Per row the `top` largest |SHAP| as JSON-ready dicts (the ranking `explain_rows` uses)."""
    out = []
    for i in range(vals.shape[0]):
        order = np.argsort(-np.abs(vals[i]))[:top]
        out.append(
            [
                {
                    "feature": names[j],
                    "value": float(dense[i, j]),
                    "contribution": float(vals[i, j]),
                }
                for j in order
            ]
        )
    return out


def explain(loaded: LoadedModel, X: Any, top: int) -> list[list[dict[str, Any]]]:
    """Top-`top` SHAP contributions of each row of `X` (empty lists for unexplainable models)."""
    names = loaded.feature_names
    n = X.shape[0]
    if top <= 0 or n == 0:
        return [[] for _ in range(n)]
    vals = shap_matrix(loaded, X)
    if vals is not None:
        return top_items(vals, _dense(X), names, top)
    mean = loaded.manifest.get("background_mean")
    background = sp.csr_matrix(np.asarray([mean if mean else np.zeros(len(names))]))
    try:
        frames = explain_rows(loaded.model, sp.csr_matrix(X), names, background, top=top)
    except TypeError:  # a model SHAP cannot explain: no explanation
        return [[] for _ in range(n)]
    return [explanation_items(f) for f in frames]


class PrecomputedScores:
    """Risks of a model for every person at their default index (`score_index_events`).

    The top `PRECOMPUTED_TOP` contributions of every person are computed here too (in
    chunks), so a card or a score at the default index costs a dictionary look-up.
    """

    def __init__(self, loaded: LoadedModel, frame: Any, X: Any, *, chunk: int = 2000) -> None:
        self.loaded, self.frame, self.X = loaded, frame, sp.csr_matrix(X)
        self._row = {int(p): i for i, p in enumerate(frame["person_id"])}
        self._risk = frame["risk"].to_numpy(dtype=float)
        self._day = [str(d)[:10] for d in frame["index_date"]]
        self._top: list[list[dict[str, Any]]] = []
        for lo in range(0, self.X.shape[0], chunk):
            self._top.extend(explain(loaded, self.X[lo : lo + chunk], PRECOMPUTED_TOP))
        self._warnings: dict[int, list[str]] = {}
        #: Persons outside the precomputed set, scored live once: ``(person, top)`` -> the
        #: `person_score` dict or the `MedmineError` it raised (same warehouse, same model).
        self.live: dict[tuple[int, int], Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the model (the loading process sets its own verified copy)."""
        return {**self.__dict__, "loaded": None}

    def remember(self, person_id: int, top: int, outcome: Any) -> None:
        """Keep a live outcome (at most `LIVE_CACHE` of them; then start afresh)."""
        if len(self.live) >= LIVE_CACHE:
            self.live.clear()
        self.live[(int(person_id), int(top))] = outcome

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, person_id: int) -> bool:
        return int(person_id) in self._row

    def get(self, person_id: int, top: int = 5) -> dict[str, Any] | None:
        """The person's score in `score_person`'s shape, or ``None`` when not precomputed."""
        i = self._row.get(int(person_id))
        if i is None:
            return None
        if top <= PRECOMPUTED_TOP:
            explanation = [dict(e) for e in self._top[i][: max(top, 0)]]
        else:
            explanation = explain(self.loaded, self.X[i], top)[0]
        warnings = self._warnings.get(i)
        if warnings is None:
            x = np.asarray(self.X[i].todense()).ravel()
            domain = self.loaded.manifest.get("training_domain")
            warnings = self._warnings[i] = out_of_domain(x, self.loaded.feature_names, domain)
        day = self._day[i]
        return {
            "risk": float(self._risk[i]),
            "person_id": int(person_id),
            "index_date": day,
            "explanation": explanation,
            "notes": [f"index date = the person's last index event of the study ({day})"],
            "warnings": list(warnings),
        }


class ScoringBatcher:
    """Scores the feature vectors of concurrent requests in one pass (dynamic batching).

    Requests queue their rows; one thread takes everything queued (up to `BATCH_ROWS` rows),
    predicts and explains it at once and hands each request its own rows. A row's score does
    not depend on the rows scored with it, so a request gets what `score_features` would give
    it alone (tested); one vector costs about as much as a batch of a hundred.
    """

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self._queue: deque[tuple[np.ndarray, int, Future]] = deque()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        #: Passes and rows scored (for the benchmark and the tests).
        self.passes = 0
        self.rows = 0

    def submit(self, X: np.ndarray, top: int) -> Future:
        """Queue rows `X` (from `vectorize`); the future resolves to their `FeatureScore` list."""
        fut: Future = Future()
        with self._cv:
            self._queue.append((X, top, fut))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="medmine-scoring", daemon=True
                )
                self._thread.start()
            self._cv.notify()
        return fut

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue:
                    self._cv.wait()
                batch = [self._queue.popleft()]
                rows = batch[0][0].shape[0]
                while self._queue and rows + self._queue[0][0].shape[0] <= BATCH_ROWS:
                    batch.append(self._queue.popleft())
                    rows += batch[-1][0].shape[0]
            try:
                results = score_many(self.loaded, [(X, top) for X, top, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
                for _, _, fut in batch:
                    fut.set_exception(exc)
                continue
            self.passes += 1
            self.rows += rows
            for (_, _, fut), res in zip(batch, results, strict=True):
                fut.set_result(res)


def score_many(
    loaded: LoadedModel, parts: list[tuple[np.ndarray, int]]
) -> list[list[FeatureScore]]:
    """`score_features` of several requests' rows in one prediction and one explanation pass."""
    X = np.vstack([x for x, _ in parts]) if len(parts) > 1 else parts[0][0]
    risk = loaded.model.predict_proba(sp.csr_matrix(X))[:, 1]
    want, lo = [], 0
    for x, top in parts:
        want.append((lo, lo + x.shape[0], top))
        lo += x.shape[0]
    explained = [lo + k for lo, hi, top in want if top > 0 for k in range(hi - lo)]
    most = max((top for _, top in parts), default=0)
    items = explain(loaded, X[explained], most) if explained else []
    by_row = dict(zip(explained, items, strict=True))
    return [
        [FeatureScore(float(risk[r]), by_row[r][:top] if top > 0 else []) for r in range(lo, hi)]
        for lo, hi, top in want
    ]


def vectorize(loaded: LoadedModel, rows: list[dict[str, float]]) -> np.ndarray:
    """Feature vectors as a dense matrix in the model's column order (absent features are 0).

    Raises
    ------
    ValueError
        A feature name the model does not know, or a value that is not a finite number.
    """
    index = _feature_index(loaded)
    X = np.zeros((len(rows), len(index)))
    for i, row in enumerate(rows):
        unknown = [k for k in row if k not in index]
        if unknown:
            raise ValueError(
                f"instance {i}: {len(unknown)} feature name(s) unknown to this model (first: "
                f"{unknown[0][:80]!r}); GET /api/v1/models/{{model}} lists its features"
            )
        for k, v in row.items():
            if not np.isfinite(v):
                raise ValueError(f"instance {i}: feature {k[:80]!r} is not a finite number")
            X[i, index[k]] = v
    return X


_INDEX: dict[int, tuple[Any, dict[str, int]]] = {}


def _feature_index(loaded: LoadedModel) -> dict[str, int]:
    hit = _INDEX.get(id(loaded))
    if hit is None or hit[0] is not loaded:
        hit = _INDEX[id(loaded)] = (loaded, {n: j for j, n in enumerate(loaded.feature_names)})
    return hit[1]


class ModelRegistry:
    """Models of one folder, by file stem (``readmission_lightgbm`` for ``….skops``).

    A model is reloaded (and its precomputed scores dropped) when its file or manifest
    changes on disk; `invalidate` drops every precomputed score (after the warehouse changed).
    """

    def __init__(self, folder: Path, *, trust_unsigned: bool = False) -> None:
        self.folder = Path(folder)
        self.trust_unsigned = trust_unsigned
        self._cache: dict[str, tuple[tuple, LoadedModel]] = {}
        self._scores: dict[str, PrecomputedScores] = {}
        self._batchers: dict[str, ScoringBatcher] = {}
        self._building: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._names: tuple[tuple, list[str]] | None = None

    def names(self) -> list[str]:
        """Stems of the saved models in the folder (listed again when the folder changes)."""
        try:
            st = os.stat(self.folder)
        except OSError:
            return []
        # Listed again when the folder's mtime moves, and at least once a second (a file
        # added within the file system's timestamp granularity leaves the mtime as it was).
        stamp = (st.st_mtime_ns, st.st_ino, int(time.monotonic()))
        if self._names is None or self._names[0] != stamp:
            found = sorted(p.name[: -len(".skops")] for p in self.folder.glob("*.skops"))
            self._names = (stamp, found)
        return list(self._names[1])

    def _stamp(self, name: str) -> tuple | None:
        path = self.folder / f"{name}.skops"
        try:
            a, b = os.stat(path), os.stat(manifest_path(path))
        except OSError:
            return None
        return (a.st_mtime_ns, a.st_size, b.st_mtime_ns, b.st_size)

    def get(self, name: str) -> LoadedModel:
        """The verified model `name` (`ModelUnavailableError` when missing or refused)."""
        stamp = self._stamp(name) if _NAME.match(name) else None
        if stamp is None:
            raise ModelUnavailableError(f"no saved model {name!r}; GET /api/v1/models lists them")
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            try:
                loaded = load_model(
                    self.folder / f"{name}.skops", trust_unsigned=self.trust_unsigned
                )
            except MedmineError as exc:
                raise ModelUnavailableError(f"model {name!r} cannot be used: {exc}") from None
            self._cache[name] = (stamp, loaded)
            self._scores.pop(name, None)  # scores of the former file
            self._batchers.pop(name, None)
            return loaded

    def cached(self, name: str) -> LoadedModel | None:
        """Model `name` when loaded from its current files, else ``None`` (never loads)."""
        hit = self._cache.get(name)
        if hit is None or hit[0] != self._stamp(name):
            return None
        return hit[1]

    def batcher(self, name: str) -> ScoringBatcher:
        """The `ScoringBatcher` of model `name` (of its current file)."""
        loaded = self.get(name)
        with self._lock:
            b = self._batchers.get(name)
            if b is None or b.loaded is not loaded:
                b = self._batchers[name] = ScoringBatcher(loaded)
            return b

    def ready(self, name: str) -> PrecomputedScores | None:
        """The precomputed scores of `name` when built for its current file, else ``None``."""
        pre = self._scores.get(name)
        if pre is None:
            return None
        hit = self._cache.get(name)
        if hit is None or hit[1] is not pre.loaded or hit[0] != self._stamp(name):
            return None
        return pre

    def precomputed(self, name: str, wh: Any) -> PrecomputedScores:
        """Scores of every person at their default index for model `name` (built once).

        The server holds the warehouse open for writing, so no other process can load data
        while it runs; a study run inside the server calls `invalidate` when it finishes.
        Building takes a per-model lock, so other models and other requests are not held up.
        """
        loaded = self.get(name)
        with self._lock:
            build = self._building.setdefault(name, threading.Lock())
        with build:
            pre = self._scores.get(name)
            if pre is not None and pre.loaded is loaded:
                return pre
            generation = self._generation
            frame, X = score_index_events(loaded, wh)
            pre = PrecomputedScores(loaded, frame, X)
            with self._lock:
                if generation == self._generation:
                    self._scores[name] = pre
            return pre

    def adopt(self, name: str, pre: PrecomputedScores) -> None:
        """Use `pre` (built by another worker for the same model file) as `name`'s scores."""
        with self._lock:
            hit = self._cache.get(name)
            if hit is None or hit[1] is not pre.loaded:
                raise ModelUnavailableError(f"model {name!r} changed while it was precomputed")
            self._scores[name] = pre

    def invalidate(self) -> None:
        """Drop every precomputed score (the warehouse changed); they are rebuilt on next use."""
        with self._lock:
            self._generation += 1
            self._scores.clear()

    def default(self, study: str = "readmission") -> str | None:
        """The model used by CDS Hooks: the study's LightGBM model, else its first model."""
        names = [n for n in self.names() if n.startswith(study)]
        return next((n for n in names if "lightgbm" in n), names[0] if names else None)


def index_persons(loaded: LoadedModel, wh: Any) -> list[int]:
    """Persons with an index event of the model's cohort entry (in or out of the cohort).

    The entry events `score_index_events` starts from, before the cohort's criteria: the
    persons it leaves out are the ones `score_person` has to score one at a time.
    """
    from medmine.features import CohortDefinition

    entry = CohortDefinition.from_dict(loaded.manifest["cohort_definition"]).entry
    if entry.stays is not None:
        sql = entry.stays.events_sql()
    elif entry.concept_set is not None:
        sql = entry.concept_set.events_sql()
    else:
        sql = f"SELECT person_id, event_date, event_end_date FROM ({entry.sql}) q"
    rows = wh.con.execute(f"SELECT DISTINCT person_id FROM ({sql}) s ORDER BY 1").fetchall()
    return [int(r[0]) for r in rows]


def describe(loaded: LoadedModel) -> dict[str, Any]:
    """Public facts of a model: study, estimator, features, metrics, how it was authenticated."""
    m = loaded.manifest
    return {
        "study": m.get("study"),
        "estimator": m.get("estimator"),
        "created": m.get("created"),
        "n_features": len(m.get("feature_names", [])),
        "feature_names": m.get("feature_names", []),
        "metrics": m.get("metrics", {}),
        "model_sha256": m.get("model_sha256"),
        "authenticated_by": loaded.authenticated_by,
        "model_card": m.get("model_card_ref"),
    }


def score_features(
    loaded: LoadedModel, rows: list[dict[str, float]], *, top: int = 5
) -> list[FeatureScore]:
    """Probabilities and top SHAP contributions of feature vectors (absent features are 0).

    ``top=0``: probabilities only (SHAP costs more than the prediction).

    Raises
    ------
    ValueError
        A feature name the model does not know, or a value that is not a finite number.
    """
    return score_many(loaded, [(vectorize(loaded, rows), top)])[0]


def explanation_items(frame: Any) -> list[dict[str, Any]]:
    """SHAP rows as JSON-ready dicts (feature, value, contribution in log-odds)."""
    return [
        {"feature": str(r.feature), "value": float(r.value), "contribution": float(r.shap)}
        for r in frame.itertuples()
    ]
