"""Study `readmission`: 30-day unplanned readmission after an inpatient stay, against LACE.

One row per discharge alive (transfers merged into one stay; planned readmissions, marked by an
elective PCI or CABG during the next stay, do not count). L1-logistic regression and LightGBM
use covariates from before the discharge date plus the length of the index stay; the LACE index
is computed from the same warehouse and evaluated on the same held-out persons (as a score for
discrimination, and recalibrated on the training persons for calibration).

Published anchors: LACE c-statistic 0.684 in its derivation cohort (van Walraven et al., CMAJ
2010), HOSPITAL score 0.72 (Donzé et al., JAMA Intern Med 2013).

>>> from medmine.warehouse import Warehouse
>>> result = run(Warehouse("sim.duckdb"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.features import ConceptSet, build_cohort
from medmine.features.tasks import readmission as readmission_definition
from medmine.report import ReportLink
from medmine.studies._features import build_matrix
from medmine.studies._prediction import fit_binary
from medmine.studies._report import build_card, cohort_summary, link_for, write_page
from medmine.studies._result import StudyConfig, StudyResult
from medmine.studies.lace import PLANNED_PROCEDURES, compute_lace

NAME = "readmission"
TITLE = "30-day readmission after an inpatient stay, with LACE"
CHARLSON_COLUMN = "Charlson comorbidity index [any,-1]"
EXTRAS = ("index stay length (days)",)


def default_definition() -> Any:
    """30-day readmission; PCI/CABG during the next stay makes that readmission planned."""
    planned = ConceptSet(
        PLANNED_PROCEDURES, domain="procedure", name="planned procedures (PCI, CABG)"
    )
    return readmission_definition(30, planned=planned)


def run(
    wh: Any,
    config: StudyConfig | None = None,
    *,
    definition: Any = None,
    data_source: str | None = None,
    truth: pd.DataFrame | None = None,
) -> StudyResult:
    """Build the cohort, fit both models and LACE, evaluate on held-out persons.

    Parameters
    ----------
    truth
        Optional true risk per stay (``person_id``, ``index_date``, ``p_true``) from a
        simulator: evaluated on the same test set as "true risk (simulator)", the ceiling any
        model can reach on that data.
    """
    from medmine.studies.scoring import save_study_models

    config = config or StudyConfig()
    definition = definition or default_definition()
    cohort = build_cohort(wh, definition, purpose="research")
    summary = cohort_summary(cohort)
    source = data_source or f"warehouse {wh.path}"
    result = StudyResult(NAME, TITLE, source, summary, cohort.attrition, definition=definition)
    result.notes.append(
        "Published anchors: LACE c-statistic ≈ 0.68 (van Walraven 2010), HOSPITAL score "
        "≈ 0.72 (Donzé 2013)."
    )
    if summary["rows"] < config.min_rows or summary["outcomes"] < config.min_outcomes:
        result.notes.insert(
            0,
            f"Cohort too small to fit or validate a model: {summary['rows']} stays and "
            f"{summary['outcomes']} readmissions (need at least {config.min_rows} and "
            f"{config.min_outcomes}). Nothing was fitted; use a larger warehouse.",
        )
        result.status = "warn"
        return result
    frame = cohort.frame.reset_index(drop=True)
    mat = build_matrix(wh, cohort, config.covariates, extras=EXTRAS)
    if CHARLSON_COLUMN in mat.names:
        charlson = np.asarray(mat.X[:, mat.names.index(CHARLSON_COLUMN)].todense()).ravel()
    else:
        charlson = np.zeros(len(frame))
        result.notes.append("Charlson index not among the covariates: LACE uses C = 0.")
    lace = compute_lace(wh, frame, charlson)
    refs: dict[str, tuple[np.ndarray, bool]] = {"LACE": (lace.parts["lace"].to_numpy(), False)}
    if truth is not None:
        refs["true risk (simulator)"] = (_align_truth(frame, truth), True)
    out = fit_binary(mat.X, mat.names, frame, config, reference_scores=refs)
    result.metrics = out.metrics
    result.models = out.models
    result.figures = out.figures
    te = out.split.test
    result.tables = {
        "LACE components (test set means)": lace.parts.iloc[te]
        .assign(emergent=lambda d: d["emergent"].astype(float))
        .mean()
        .to_frame("mean")
        .reset_index(names="component"),
        "Metrics at risk thresholds": out.thresholds,
        f"Fairness audit ({out.fairness_model})": out.fairness.by_group,
        "Fairness disparities (min/max over groups of 20+)": out.fairness.disparities,
    }
    for label, e in out.explanations.items():
        result.tables[f"Top predictors: {label} (mean |SHAP|)"] = e.importance.head(15)
    result.notes.append(f"LACE acuity: {lace.acuity_source}.")
    result.model_card = build_card(
        name=NAME,
        title=TITLE,
        data_source=source,
        definition=definition,
        summary=summary,
        attrition=cohort.attrition,
        settings=config.covariates,
        n_covariates=len(mat.names),
        metrics=out.metrics,
        split_method=out.split.method,
        models=out.models,
        importance=out.explanations[out.fairness_model].importance,
        fairness={"model": out.fairness_model, "audit": out.fairness.to_dict()},
        intended_use=(
            "estimate at discharge the risk of unplanned readmission within 30 days, to "
            "prioritise transitional care; compared with the LACE index"
        ),
        limitations=[
            "Readmissions to hospitals outside the warehouse are not seen (under-count).",
            "Internal validation only; recalibrate before use at another site.",
            "Planned readmissions identified only by PCI/CABG procedures (simplified CMS rule).",
            f"LACE acuity: {lace.acuity_source}.",
        ],
    )
    if config.model_dir is not None:
        result.saved_models = save_study_models(result, out, mat, cohort, config.model_dir)
    return result


def _align_truth(frame: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    t = truth.assign(index_date=pd.to_datetime(truth["index_date"]))
    t = t.drop_duplicates(["person_id", "index_date"])
    f = frame[["person_id", "index_date"]].assign(index_date=lambda d: pd.to_datetime(d.index_date))
    merged = f.merge(t[["person_id", "index_date", "p_true"]], how="left")
    p = merged["p_true"].to_numpy(dtype=float)
    return np.where(np.isnan(p), np.nanmean(p), p)


def run_page(wh: Any, out_dir: Path, config: StudyConfig | None = None, **kw: Any) -> ReportLink:
    """Run the study and write ``study_readmission.html``; returns the index link."""
    result = run(wh, config, **kw)
    return link_for(result, write_page(result, out_dir))
