"""Saved models and scoring one person on demand.

A saved model is two files: ``<name>.skops`` (the fitted estimator, serialised with skops, which
never executes code from the file) and ``<name>.skops.json``, its manifest: the covariate
reference and settings, the cohort definition, the extra study columns, a background mean for
linear explanations, a model-card reference, and SHA-256 hashes of the estimator file and of
the manifest content. Both files are created 0600.

The manifest is authenticated: ``signature`` is an HMAC-SHA256 of its content (which holds
the model file's SHA-256) under the deployment key ``MEDMINE_MODEL_KEY``. A self-hash alone
proves nothing, since whoever swaps the model can recompute it. When the variable is unset
(``make demo``), models are signed with a key made for this process only: they load in the
same run, and anywhere else they count as unauthenticated. `load_model` refuses a model whose
signature fails, and one it cannot authenticate (unsigned, signed by another run's ephemeral
key, or by a deployment key that is not set) unless ``trust_unsigned`` is given
(``medmine score --trust-unsigned``); it always checks both hashes and refuses estimator types
outside `ALLOWED_TYPES`. Scoring a person is a read of identified data: `score_person`
appends a ``score`` entry to the warehouse's audit log.

>>> path = save_model("m.skops", model, matrix=mat, definition=definition)  # doctest: +SKIP
>>> score_person(path, wh, person_id=42).risk  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import IntegrityError, MedmineError
from medmine.features.persons import select_persons
from medmine.privacy.keys import check_text_key
from medmine.warehouse.audit import append as audit_append
from medmine.warehouse.files import private_dir, private_open, private_umask

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
        # the decision tree of the prediction studies (DecisionTreeClassifier is a skops default)
        "sklearn.tree._tree.Tree",
    }
)

MANIFEST_SUFFIX = ".json"
FORMAT = "medmine-model/1"
#: Environment variable holding the deployment key that signs model manifests.
MODEL_KEY_ENV = "MEDMINE_MODEL_KEY"
#: Manifest fields outside the signed content.
_UNSIGNED_FIELDS = ("manifest_sha256", "signature")
_EPHEMERAL_KEY = secrets.token_bytes(32)


class ModelIntegrityError(IntegrityError):
    """A saved model failed its hash check or holds types outside the allow-list."""


@dataclass
class LoadedModel:
    """A verified saved model and its manifest."""

    model: Any
    manifest: dict[str, Any]
    path: Path
    #: How the manifest was authenticated: ``deployment key``, ``ephemeral key (this run)``,
    #: or ``not authenticated (trust_unsigned)``.
    authenticated_by: str = "deployment key"

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
    #: Out-of-domain warnings: features common in training but absent here, values outside
    #: the training range.
    warnings: list[str] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return json.dumps(body, sort_keys=True, default=str).encode()


def _signed_content(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k not in _UNSIGNED_FIELDS}
    return json.dumps(body, sort_keys=True, default=str).encode()


def signing_key() -> tuple[bytes, str]:
    """``(key, kind)``: `MEDMINE_MODEL_KEY` as ``deployment``, else this run's ``ephemeral`` key.

    The deployment key is checked for 256 bits of entropy (`medmine.privacy.keys`).
    """
    text = os.environ.get(MODEL_KEY_ENV, "")
    if text:
        return check_text_key(text, MODEL_KEY_ENV), "deployment"
    return _EPHEMERAL_KEY, "ephemeral"


def _mac(key: bytes, manifest: dict[str, Any]) -> str:
    return hmac.new(key, _signed_content(manifest), hashlib.sha256).hexdigest()


def _authenticate(mp: Path, manifest: dict[str, Any], trust_unsigned: bool) -> str:
    """Check the manifest's signature; returns how it was authenticated (see `LoadedModel`).

    Raises
    ------
    ModelIntegrityError
        The signature fails under the available key (even with `trust_unsigned`), or the
        manifest cannot be authenticated and `trust_unsigned` is false.
    """
    sig = manifest.get("signature")
    key, kind = signing_key()
    if isinstance(sig, dict) and sig.get("kind") == kind:
        if hmac.compare_digest(str(sig.get("hmac_sha256", "")), _mac(key, manifest)):
            return "deployment key" if kind == "deployment" else "ephemeral key (this run)"
        if kind == "deployment":
            raise ModelIntegrityError(
                f"{mp}: manifest signature does not verify under {MODEL_KEY_ENV}: the manifest "
                "was altered after signing, or it was signed with another deployment's key. "
                "Refusing to load; restore the original files or re-train."
            )
    if trust_unsigned:
        return "not authenticated (trust_unsigned)"
    if not isinstance(sig, dict):
        why = "it carries no signature (saved by an older medmine, or the signature was removed)"
    elif sig.get("kind") == "deployment":
        why = f"it is signed with a deployment key, but {MODEL_KEY_ENV} is not set here"
    elif kind == "deployment":
        why = f"it was signed with an ephemeral key ({MODEL_KEY_ENV} was not set when it was saved)"
    else:
        why = (
            "its signature does not match this run's ephemeral key: it was saved by another "
            f"run ({MODEL_KEY_ENV} is not set, so each run signs with a key of its own) or "
            "the manifest was altered"
        )
    raise ModelIntegrityError(
        f"{mp}: cannot authenticate this model: {why}. Set {MODEL_KEY_ENV} (see `medmine keys "
        "new`) and save the model again, or, if you know where the files came from, load it "
        "with --trust-unsigned"
    )


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
    training_domain: dict[str, list[float]] | None = None,
) -> Path:
    """Save `model` with skops and write its manifest; returns the model path.

    Parameters
    ----------
    matrix
        The `StudyMatrix` the model was trained on (reference, settings, extras, names).
    definition
        The `CohortDefinition` of the training cohort.
    training_domain
        Per feature, the training ``min``, ``max`` and ``present`` share (`training_domain`):
        scoring warns when a person falls outside it.
    """
    import skops.io as sio

    out = Path(path)
    private_dir(out.parent)
    with private_umask():
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
        "training_domain": training_domain,
        "model_card_ref": model_card_ref,
        "metrics": metrics or {},
    }
    key, kind = signing_key()
    manifest["signature"] = {"kind": kind, "hmac_sha256": _mac(key, manifest)}
    manifest["manifest_sha256"] = _sha256(_canonical(manifest))
    with private_open(manifest_path(out), "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=1, default=str))
    return out


def load_model(path: str | Path, *, trust_unsigned: bool = False) -> LoadedModel:
    """Load a saved model after checking its signature, both hashes and the allow-list of types.

    Parameters
    ----------
    trust_unsigned
        Load a model whose manifest cannot be authenticated (unsigned, or signed by a key
        not available here). A signature that *fails* under the available key is refused
        all the same, and the hashes and the type allow-list are always checked.

    Raises
    ------
    ModelIntegrityError
        The manifest is missing, cannot be authenticated, a hash does not match (the file was
        altered), or the file holds types outside `ALLOWED_TYPES`.
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
    authenticated_by = _authenticate(mp, manifest, trust_unsigned)
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
    return LoadedModel(model, manifest, p, authenticated_by)


def training_domain(X: Any) -> dict[str, list[float]]:
    """Per column of training matrix `X`: minimum, maximum and share of non-zero rows."""
    import scipy.sparse as sp

    X = sp.csr_matrix(X)
    n = max(X.shape[0], 1)
    present = np.asarray((X != 0).sum(axis=0)).ravel() / n
    lo = np.asarray(X.min(axis=0).todense()).ravel()
    hi = np.asarray(X.max(axis=0).todense()).ravel()
    return {
        "min": [float(v) for v in lo],
        "max": [float(v) for v in hi],
        "present": [float(v) for v in present],
    }


def out_of_domain(
    values: np.ndarray, names: list[str], domain: dict[str, list[float]] | None
) -> list[str]:
    """Warnings for a person outside the training domain of a model.

    A feature present in at least 90% of training rows but absent here, and a value outside
    the training range (both listed by name, at most 5 each).
    """
    if not domain:
        return []
    v = np.asarray(values, dtype=float).ravel()
    lo, hi = np.asarray(domain["min"]), np.asarray(domain["max"])
    present = np.asarray(domain["present"])
    out = []
    missing = [names[j] for j in np.flatnonzero((present >= 0.9) & (v == 0))]
    if missing:
        out.append(
            f"outside the training domain: {len(missing)} feature(s) present in ≥ 90% of "
            f"training rows are missing here: {', '.join(missing[:5])}"
        )
    beyond = np.flatnonzero((v < lo - 1e-9) | (v > hi + 1e-9))
    if len(beyond):
        shown = ", ".join(
            f"{names[j]} = {v[j]:g} (training {lo[j]:g}–{hi[j]:g})" for j in beyond[:5]
        )
        out.append(f"outside the training domain: {len(beyond)} value(s) out of range: {shown}")
    return out


def _index_event(wh: Any, person_id: int, definition: Any) -> tuple[Any, Any, Any, str]:
    """``(index, start, end, description)`` of the person's last index event of `definition`.

    Stays are merged exactly as in the cohort (`StaySettings.events_sql`); the index is the
    stay's end or start as the definition says. Raises `MedmineError` when there is none.
    """
    entry = definition.entry
    if entry.stays is not None:
        sql = entry.stays.events_sql()
        what = (
            f"inpatient stay (visit concepts {', '.join(map(str, entry.stays.visit_concept_ids))})"
        )
    elif entry.concept_set is not None:
        sql = entry.concept_set.events_sql()
        what = f"entry event ({entry.concept_set.name or 'concept set'})"
    else:
        sql = f"SELECT person_id, event_date, event_end_date FROM ({entry.sql}) q"
        what = "entry event"
    order = "event_date ASC" if entry.first_occurrence else "event_end_date DESC, event_date DESC"
    rows = wh.con.execute(
        f"SELECT event_date, event_end_date FROM ({sql}) s WHERE person_id = ? "
        f"ORDER BY {order} LIMIT 1",
        [int(person_id)],
    ).fetchall()
    if not rows:
        raise MedmineError(
            f"person {person_id} has no {what}, the index event of study "
            f"{definition.name!r}; nothing to score (pass --index-date to score at another date)"
        )
    start, end = pd.Timestamp(rows[0][0]), pd.Timestamp(rows[0][1])
    index = end if entry.index == "end" else start
    kind = "end" if entry.index == "end" else "start"
    return index, start, end, f"index date = {kind} of the person's last {what} ({index.date()})"


def _person_frame(
    wh: Any, person_id: int, index_date: Any, definition: Any = None
) -> tuple[pd.DataFrame, list[str]]:
    """A one-row cohort frame for `person_id` at `index_date`.

    Without an index date, the study's own index definition gives it (for readmission: the end
    of the last inpatient stay, merged like the cohort's stays).
    """
    notes: list[str] = []
    got = wh.con.execute(
        "SELECT gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id "
        "FROM person WHERE person_id = ?",
        [int(person_id)],
    ).fetchall()
    got = got[0] if got else None
    if got is None:
        raise MedmineError(f"person {person_id} is not in warehouse {wh.path}")
    if got[1] is None:
        raise MedmineError(
            f"person {person_id} has no year of birth (loaded without a birth date), so the "
            "model's age at index is unknown; record the birth date at the source and reload"
        )
    start = end = None
    if index_date is None and definition is not None:
        idx, start, end, note = _index_event(wh, person_id, definition)
        notes.append(note)
    elif index_date is None:
        last = wh.con.execute(
            "SELECT max(visit_end_date) FROM visit_occurrence WHERE person_id = ?",
            [int(person_id)],
        ).fetchall()[0][0]
        if last is None:
            raise MedmineError(
                f"person {person_id} has no visits; pass an index date (--index-date)"
            )
        idx = pd.Timestamp(last)
        notes.append(f"index date = end of the person's last visit ({last})")
    else:
        idx = pd.Timestamp(index_date)
    if start is None:
        stay = None
        if definition is not None and definition.entry.stays is not None:
            col = "event_end_date" if definition.entry.index == "end" else "event_date"
            stay = wh.con.execute(
                f"SELECT event_date, event_end_date FROM ({definition.entry.stays.events_sql()}) s "
                f"WHERE person_id = ? AND {col} = ? LIMIT 1",
                [int(person_id), idx.date()],
            ).fetchall()
        else:
            stay = wh.con.execute(
                "SELECT visit_start_date, visit_end_date FROM visit_occurrence WHERE "
                "person_id = ? AND visit_end_date = ? ORDER BY visit_start_date LIMIT 1",
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
    model_path: str | Path | LoadedModel,
    wh: Any,
    person_id: int,
    index_date: Any = None,
    *,
    top: int = 10,
    purpose: str = "research",
    trust_unsigned: bool = False,
    audit: bool = True,
) -> PersonScore:
    """Risk of one person from a saved model, with the top SHAP contributions.

    Covariates are recomputed in `wh` with exactly the saved reference columns. A person who
    has refused consent for `purpose` is refused. The read is recorded in the audit log
    (action ``score``: model file and purpose, never the person) when `wh` is open for
    writing; on a read-only warehouse the result says it was not audited.

    `model_path` may be a `LoadedModel` already verified by `load_model` (a server keeps one);
    ``audit=False`` is for callers that write their own audit entry for the read.
    """
    import scipy.sparse as sp

    from medmine.evaluate.explain import explain_rows
    from medmine.features import CovariateSettings
    from medmine.studies._matrix import build_matrix

    loaded = (
        model_path
        if isinstance(model_path, LoadedModel)
        else load_model(model_path, trust_unsigned=trust_unsigned)
    )
    select_persons(wh, purpose).require(wh, person_id)
    definition = None
    if loaded.manifest.get("cohort_definition"):
        from medmine.features import CohortDefinition

        definition = CohortDefinition.from_dict(loaded.manifest["cohort_definition"])
    frame, notes = _person_frame(wh, person_id, index_date, definition)
    if loaded.authenticated_by.startswith("not"):
        notes.append(f"model {loaded.authenticated_by}")
    if audit:
        notes.extend(_audit_score(wh, loaded, purpose))
    cohort = type("PersonCohort", (), {"frame": frame})()
    settings = CovariateSettings.from_dict(loaded.manifest["covariate_settings"])
    mat = build_matrix(
        wh, cohort, settings, extras=loaded.manifest["extras"], reference=loaded.reference
    )
    risk = float(loaded.model.predict_proba(mat.X)[0, 1])
    warnings = out_of_domain(
        np.asarray(mat.X.todense()).ravel(),
        loaded.feature_names,
        loaded.manifest.get("training_domain"),
    )
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
        warnings=warnings,
    )


def _audit_score(wh: Any, loaded: LoadedModel, purpose: str) -> list[str]:
    """Append a ``score`` audit entry; returns a note when it could not be written."""
    if getattr(wh, "read_only", False):
        return [
            "not audited: the warehouse is open read-only (open it for writing so that "
            "scoring is recorded in the audit log)"
        ]
    audit_append(
        wh.con,
        None,
        "score",
        loaded.path.name,
        1,
        purpose,
        {"model_sha256": loaded.manifest.get("model_sha256"), "auth": loaded.authenticated_by},
    )
    return []


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
            training_domain=training_domain(matrix.X[outcome.split.train]),
            metrics={
                "auroc": float(row["auroc"]),
                "auroc_ci": [float(row["auroc_lower"]), float(row["auroc_upper"])],
            },
        )
    return saved


def score_index_events(loaded: LoadedModel, wh: Any) -> tuple[pd.DataFrame, Any]:
    """Risk of every person at the index `score_person` would use, in one pass over `wh`.

    The model's cohort is built once; each person keeps the row whose index date is the
    person's last index event (as `score_person` picks it without an index date). Persons whose
    last event is not a cohort row (excluded by the cohort's criteria) are left out: score them
    with `score_person`. Consent is not applied here (the caller decides the purpose).

    Returns
    -------
    frame, X
        ``person_id``, ``index_date``, ``risk`` (one row per person) and the feature matrix
        aligned with it (for explanations and domain checks).
    """
    from medmine.features import CohortDefinition, CovariateSettings, build_cohort
    from medmine.studies._matrix import build_matrix

    definition = CohortDefinition.from_dict(loaded.manifest["cohort_definition"])
    entry = definition.entry
    cohort = build_cohort(wh, definition)
    frame = cohort.frame
    if entry.stays is not None:
        sql = entry.stays.events_sql()
    elif entry.concept_set is not None:
        sql = entry.concept_set.events_sql()
    else:
        sql = f"SELECT person_id, event_date, event_end_date FROM ({entry.sql}) q"
    order = "event_date ASC" if entry.first_occurrence else "event_end_date DESC, event_date DESC"
    col = "event_end_date" if entry.index == "end" else "event_date"
    last = wh.con.execute(
        f"SELECT person_id, {col} FROM (SELECT *, row_number() OVER (PARTITION BY person_id "
        f"ORDER BY {order}) AS rn FROM ({sql}) s) WHERE rn = 1"
    ).fetchdf()
    last.columns = ["person_id", "last_index"]
    frame = frame.merge(last, on="person_id")
    keep = pd.to_datetime(frame["index_date"]) == pd.to_datetime(frame["last_index"])
    frame = frame[keep].drop(columns="last_index").drop_duplicates("person_id")
    frame = frame.reset_index(drop=True)
    subset = type("PersonsCohort", (), {"frame": frame})()
    settings = CovariateSettings.from_dict(loaded.manifest["covariate_settings"])
    mat = build_matrix(
        wh, subset, settings, extras=loaded.manifest["extras"], reference=loaded.reference
    )
    risk = loaded.model.predict_proba(mat.X)[:, 1] if len(frame) else np.zeros(0)
    out = pd.DataFrame(
        {"person_id": frame["person_id"].astype("int64"), "index_date": frame["index_date"]}
    )
    out["risk"] = risk
    return out, mat.X
