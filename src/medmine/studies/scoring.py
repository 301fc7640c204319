"""Saved models and scoring one person on demand.

A saved model is two files: ``<name>.skops`` (the fitted estimator, serialised with skops, which
never executes code from the file) and ``<name>.skops.json``, its manifest: the covariate
reference and settings, the cohort definition, the extra study columns, a background mean for
linear explanations, a model-card reference, and SHA-256 hashes of the estimator file and of
the manifest content. `load_model` refuses a file whose hashes do not match, and refuses
estimator types outside `ALLOWED_TYPES` even when the hashes match.

>>> path = save_model("m.skops", model, matrix=mat, definition=definition)  # doctest: +SKIP
>>> score_person(path, wh, person_id=42).risk  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import IntegrityError, MedmineError
from medmine.features.persons import select_persons

#: Types a saved model may contain beyond skops' own defaults (checked before loading).
ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "medmine.mining.classify._lightgbm.LightGBMClassifier",
        "medmine.mining.classify._logistic.L1LogisticClassifier",
        "medmine.mining.classify._search.PersonLevelSearchCV",
        "medmine.mining.regress._models.BaselineRegressor",
        "medmine.mining.regress._models.LogTargetLightGBMRegressor",
        "medmine.mining.regress._models.PoissonGLMRegressor",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.isotonic.IsotonicRegression",
        "sklearn.linear_model._glm.glm.TweedieRegressor",
        "sklearn._loss.link.LogLink",
        "sklearn._loss.loss.HalfTweedieLoss",
        "sklearn._loss.loss.HalfPoissonLoss",
    }
)

MANIFEST_SUFFIX = ".json"
FORMAT = "medmine-model/1"


class ModelIntegrityError(IntegrityError):
    """A saved model failed its hash check or holds types outside the allow-list."""


@dataclass
class LoadedModel:
    """A verified saved model and its manifest."""

    model: Any
    manifest: dict[str, Any]
    path: Path

    @property
    def reference(self) -> pd.DataFrame:
        """Covariate reference the model was trained with (exact columns, in order)."""
        ref = pd.DataFrame(self.manifest["covariate_reference"])
        for c in ("window_start", "window_end"):
            if c in ref:
                ref[c] = ref[c].astype("Int64")
        return ref

    @property
    def feature_names(self) -> list[str]:
        """Column names of the model's input."""
        return list(self.manifest["feature_names"])


@dataclass
class PersonScore:
    """The risk of one person at one index date, with its explanation."""

    person_id: int
    index_date: str
    risk: float
    explanation: pd.DataFrame  # feature, value, shap (log-odds), largest |shap| first
    model_card_ref: str | None
    model_sha256: str
    notes: list[str] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return json.dumps(body, sort_keys=True, default=str).encode()


def manifest_path(path: str | Path) -> Path:
    """Path of the manifest of a saved model."""
    p = Path(path)
    return p.with_name(p.name + MANIFEST_SUFFIX)


def save_model(
    path: str | Path,
    model: Any,
    *,
    matrix: Any,
    definition: Any,
    study: str = "",
    background_mean: np.ndarray | None = None,
    model_card_ref: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Save `model` with skops and write its manifest; returns the model path.

    Parameters
    ----------
    matrix
        The `StudyMatrix` the model was trained on (reference, settings, extras, names).
    definition
        The `CohortDefinition` of the training cohort.
    """
    import skops.io as sio

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, out)
    ref = matrix.reference.astype(object).where(matrix.reference.notna(), None)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "study": study,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_file": out.name,
        "model_sha256": _sha256(out.read_bytes()),
        "estimator": type(model).__name__,
        "feature_names": list(matrix.names),
        "covariate_reference": ref.to_dict("records"),
        "covariate_settings": matrix.settings.to_dict(),
        "extras": list(matrix.extras),
        "cohort_definition": definition.to_dict(),
        "background_mean": None if background_mean is None else [float(v) for v in background_mean],
        "model_card_ref": model_card_ref,
        "metrics": metrics or {},
    }
    manifest["manifest_sha256"] = _sha256(_canonical(manifest))
    manifest_path(out).write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
    return out


def load_model(path: str | Path) -> LoadedModel:
    """Load a saved model after checking both hashes and the allow-list of types.

    Raises
    ------
    ModelIntegrityError
        The manifest is missing, a hash does not match (the file was altered), or the file
        holds types outside `ALLOWED_TYPES`.
    """
    import skops.io as sio

    p = Path(path)
    if not p.exists():
        raise MedmineError(f"model file {p} does not exist; save one with `medmine study`")
    mp = manifest_path(p)
    if not mp.exists():
        raise ModelIntegrityError(
            f"{p}: no manifest {mp.name}; refusing to load a model of unknown origin"
        )
    try:
        manifest = json.loads(mp.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelIntegrityError(f"{mp}: manifest is not valid JSON ({exc.msg})") from None
    if manifest.get("format") != FORMAT:
        raise ModelIntegrityError(f"{mp}: not a medmine model manifest ({FORMAT})")
    if _sha256(_canonical(manifest)) != manifest.get("manifest_sha256"):
        raise ModelIntegrityError(
            f"{mp}: manifest content hash does not match; the manifest was altered. "
            "Refusing to load; re-train or restore the original files."
        )
    if _sha256(p.read_bytes()) != manifest.get("model_sha256"):
        raise ModelIntegrityError(
            f"{p}: SHA-256 of the model file does not match its manifest; the file was altered "
            "or replaced. Refusing to load; re-train or restore the original file."
        )
    try:
        untrusted = sio.get_untrusted_types(file=p)
    except Exception as exc:  # skops raises several types on a corrupt archive
        raise ModelIntegrityError(f"{p}: not a readable skops file ({exc})") from None
    bad = sorted(set(untrusted) - ALLOWED_TYPES)
    if bad:
        raise ModelIntegrityError(
            f"{p}: holds types outside the allow-list: {', '.join(bad)}; refusing to load"
        )
    model = sio.load(p, trusted=list(untrusted))
    return LoadedModel(model, manifest, p)


def _person_frame(wh: Any, person_id: int, index_date: Any) -> tuple[pd.DataFrame, list[str]]:
    """A one-row cohort frame for `person_id` at `index_date` (default: last visit end)."""
    notes: list[str] = []
    got = wh.con.execute(
        "SELECT gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id "
        "FROM person WHERE person_id = ?",
        [int(person_id)],
    ).fetchall()
    got = got[0] if got else None
    if got is None:
        raise MedmineError(f"person {person_id} is not in warehouse {wh.path}")
    if index_date is None:
        last = wh.con.execute(
            "SELECT max(visit_end_date) FROM visit_occurrence WHERE person_id = ?",
            [int(person_id)],
        ).fetchall()[0][0]
        if last is None:
            raise MedmineError(
                f"person {person_id} has no visits; pass an index date (--index-date)"
            )
        index_date = last
        notes.append(f"index date = end of the person's last visit ({last})")
    idx = pd.Timestamp(index_date)
    stay = wh.con.execute(
        "SELECT visit_start_date, visit_end_date FROM visit_occurrence WHERE person_id = ? "
        "AND visit_end_date = ? ORDER BY visit_start_date LIMIT 1",
        [int(person_id), idx.date()],
    ).fetchall()
    stay = stay[0] if stay else None
    start, end = (pd.Timestamp(stay[0]), pd.Timestamp(stay[1])) if stay else (idx, idx)
    frame = pd.DataFrame(
        {
            "row_id": [1],
            "person_id": [int(person_id)],
            "index_date": [idx],
            "gender_concept_id": [got[0]],
            "year_of_birth": [got[1]],
            "race_concept_id": [got[2]],
            "ethnicity_concept_id": [got[3]],
            "age_at_index": [idx.year - int(got[1])],
            "entry_start_date": [start],
            "entry_end_date": [end],
            "outcome": [0],
        }
    )
    return frame, notes


def score_person(
    model_path: str | Path,
    wh: Any,
    person_id: int,
    index_date: Any = None,
    *,
    top: int = 10,
    purpose: str = "research",
) -> PersonScore:
    """Risk of one person from a saved model, with the top SHAP contributions.

    Covariates are recomputed in `wh` with exactly the saved reference columns. A person who
    has refused consent for `purpose` is refused.
    """
    import scipy.sparse as sp

    from medmine.evaluate.explain import explain_rows
    from medmine.features import CovariateSettings
    from medmine.studies._matrix import build_matrix

    loaded = load_model(model_path)
    select_persons(wh, purpose).require(wh, person_id)
    frame, notes = _person_frame(wh, person_id, index_date)
    cohort = type("PersonCohort", (), {"frame": frame})()
    settings = CovariateSettings.from_dict(loaded.manifest["covariate_settings"])
    mat = build_matrix(
        wh, cohort, settings, extras=loaded.manifest["extras"], reference=loaded.reference
    )
    risk = float(loaded.model.predict_proba(mat.X)[0, 1])
    mean = loaded.manifest.get("background_mean")
    background = sp.csr_matrix(np.asarray([mean if mean else np.zeros(mat.X.shape[1])]))
    try:
        expl = explain_rows(loaded.model, mat.X, loaded.feature_names, background, top=top)[0]
    except TypeError as exc:
        expl = pd.DataFrame(columns=["feature", "value", "shap"])
        notes.append(str(exc))
    return PersonScore(
        person_id=int(person_id),
        index_date=str(pd.Timestamp(frame["index_date"].iloc[0]).date()),
        risk=risk,
        explanation=expl,
        model_card_ref=loaded.manifest.get("model_card_ref"),
        model_sha256=loaded.manifest["model_sha256"],
        notes=notes,
    )


def save_study_models(result: Any, outcome: Any, matrix: Any, cohort: Any, model_dir: Path) -> dict:
    """Save every fitted model of a binary study; returns label -> path."""
    saved = {}
    for label, model in outcome.models.items():
        slug = label.lower().replace("-", "_").replace(" ", "_")
        row = result.metrics.set_index("model").loc[label]
        saved[label] = save_model(
            Path(model_dir) / f"{result.name}_{slug}.skops",
            model,
            matrix=matrix,
            definition=cohort.definition,
            study=result.name,
            background_mean=outcome.background.get("mean"),
            model_card_ref=f"study_{result.name}_model_card.json",
            metrics={
                "auroc": float(row["auroc"]),
                "auroc_ci": [float(row["auroc_lower"]), float(row["auroc_upper"])],
            },
        )
    return saved
