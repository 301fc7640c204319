"""Saved models behind the scoring API and CDS Hooks: verified once, kept in memory.

A model is loaded by `medmine.studies.scoring.load_model` (signature, hashes, type allow-list)
the first time it is asked for; afterwards requests reuse it. Scores come either from a
person in the warehouse (`score_person`: covariates recomputed exactly as in training) or from
a feature vector sent by the caller.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from medmine.errors import MedmineError
from medmine.evaluate.explain import explain_rows
from medmine.studies.scoring import LoadedModel, load_model, out_of_domain, score_index_events

#: Risk bands of a 30-day readmission probability: (upper bound, band, CDS card indicator).
BANDS: tuple[tuple[float, str, str], ...] = (
    (0.10, "low", "info"),
    (0.25, "moderate", "warning"),
    (1.01, "high", "critical"),
)
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


class PrecomputedScores:
    """Risks of a model for every person at their default index (`score_index_events`)."""

    def __init__(self, loaded: LoadedModel, frame: Any, X: Any) -> None:
        self.loaded, self.frame, self.X = loaded, frame, X
        self._row = {int(p): i for i, p in enumerate(frame["person_id"])}

    def __len__(self) -> int:
        return len(self._row)

    def get(self, person_id: int, top: int = 5) -> dict[str, Any] | None:
        """The person's score in `score_person`'s shape, or ``None`` when not precomputed."""
        i = self._row.get(int(person_id))
        if i is None:
            return None
        names = self.loaded.feature_names
        x = self.X[i]
        explanation: list[dict[str, Any]] = []
        if top > 0:
            mean = self.loaded.manifest.get("background_mean")
            background = sp.csr_matrix(np.asarray([mean if mean else np.zeros(len(names))]))
            with contextlib.suppress(TypeError):
                explanation = explanation_items(
                    explain_rows(self.loaded.model, x, names, background, top=top)[0]
                )
        day = str(self.frame["index_date"].iloc[i])[:10]
        return {
            "risk": float(self.frame["risk"].iloc[i]),
            "person_id": int(person_id),
            "index_date": day,
            "explanation": explanation,
            "notes": [f"index date = the person's last index event of the study ({day})"],
            "warnings": out_of_domain(
                np.asarray(x.todense()).ravel(), names, self.loaded.manifest.get("training_domain")
            ),
        }


class ModelRegistry:
    """Models of one folder, by file stem (``readmission_lightgbm`` for ``….skops``)."""

    def __init__(self, folder: Path, *, trust_unsigned: bool = False) -> None:
        self.folder = Path(folder)
        self.trust_unsigned = trust_unsigned
        self._cache: dict[str, LoadedModel] = {}
        self._scores: dict[str, PrecomputedScores] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Stems of the saved models in the folder."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name[: -len(".skops")] for p in self.folder.glob("*.skops"))

    def get(self, name: str) -> LoadedModel:
        """The verified model `name` (`ModelUnavailableError` when missing or refused)."""
        if not _NAME.match(name) or name not in self.names():
            raise ModelUnavailableError(f"no saved model {name!r}; GET /api/v1/models lists them")
        with self._lock:
            if name not in self._cache:
                try:
                    self._cache[name] = load_model(
                        self.folder / f"{name}.skops", trust_unsigned=self.trust_unsigned
                    )
                except MedmineError as exc:
                    raise ModelUnavailableError(f"model {name!r} cannot be used: {exc}") from None
            return self._cache[name]

    def precomputed(self, name: str, wh: Any) -> PrecomputedScores:
        """Scores of every person at their default index for model `name` (built once).

        The server holds the warehouse open for writing, so no other process can load data
        while it runs: scores computed at first use stay current for the server's life.
        """
        loaded = self.get(name)
        with self._lock:
            if name not in self._scores:
                frame, X = score_index_events(loaded, wh)
                self._scores[name] = PrecomputedScores(loaded, frame, sp.csr_matrix(X))
            return self._scores[name]

    def default(self, study: str = "readmission") -> str | None:
        """The model used by CDS Hooks: the study's LightGBM model, else its first model."""
        names = [n for n in self.names() if n.startswith(study)]
        return next((n for n in names if "lightgbm" in n), names[0] if names else None)


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

    Raises
    ------
    ValueError
        A feature name the model does not know, or a value that is not a finite number.
    """
    names = loaded.feature_names
    index = {n: j for j, n in enumerate(names)}
    X = np.zeros((len(rows), len(names)))
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
    Xs = sp.csr_matrix(X)
    risk = loaded.model.predict_proba(Xs)[:, 1]
    mean = loaded.manifest.get("background_mean")
    background = sp.csr_matrix(np.asarray([mean if mean else np.zeros(len(names))]))
    expl: list[Any] = [None] * len(rows)
    if top > 0:  # top=0: probabilities only (SHAP costs more than the prediction)
        with contextlib.suppress(TypeError):  # a model SHAP cannot explain: no explanation
            expl = explain_rows(loaded.model, Xs, names, background, top=top)
    out = []
    for r, e in zip(risk, expl, strict=True):
        items = [] if e is None else explanation_items(e)
        out.append(FeatureScore(float(r), items))
    return out


def explanation_items(frame: Any) -> list[dict[str, Any]]:
    """SHAP rows as JSON-ready dicts (feature, value, contribution in log-odds)."""
    return [
        {"feature": str(r.feature), "value": float(r.value), "contribution": float(r.shap)}
        for r in frame.itertuples()
    ]
