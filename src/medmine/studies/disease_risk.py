"""Study `disease_risk`: GI hemorrhage within a year of starting celecoxib or diclofenac.

The OHDSI Eunomia example (PatientLevelPrediction's vignette): among new users of celecoxib or
diclofenac, predict gastrointestinal hemorrhage (concept 192671, with descendants) 1-365 days
after the first exposure. L1-logistic regression and LightGBM are tuned on person-level folds,
calibrated, and compared on the same held-out persons with bootstrap 95% CIs.

>>> from medmine.warehouse import Warehouse
>>> result = run(Warehouse("medmine.duckdb"))  # doctest: +SKIP
>>> result.metrics[["model", "auroc", "auroc_lower", "auroc_upper"]]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medmine.features import build_cohort
from medmine.features.tasks import disease_risk as disease_risk_definition
from medmine.report import ReportLink
from medmine.studies._features import build_matrix
from medmine.studies._prediction import fit_binary
from medmine.studies._report import build_card, cohort_summary, link_for, write_page
from medmine.studies._result import StudyConfig, StudyResult

NAME = "disease_risk"
TITLE = "GI hemorrhage after starting an NSAID (Eunomia)"


def run(wh: Any, config: StudyConfig | None = None, *, definition: Any = None) -> StudyResult:
    """Build the cohort, fit both models, evaluate on held-out persons, write nothing."""
    from medmine.studies.scoring import save_study_models

    config = config or StudyConfig()
    definition = definition or disease_risk_definition()
    cohort = build_cohort(wh, definition, purpose="research")
    summary = cohort_summary(cohort)
    source = f"warehouse {wh.path}"
    result = StudyResult(NAME, TITLE, source, summary, cohort.attrition, definition=definition)
    if summary["rows"] < config.min_rows or summary["outcomes"] < config.min_outcomes:
        result.notes.append(
            f"Cohort too small to fit a model: {summary['rows']} rows and "
            f"{summary['outcomes']} outcomes (need {config.min_rows} and {config.min_outcomes})."
        )
        result.status = "warn"
        return result
    mat = build_matrix(wh, cohort, config.covariates)
    out = fit_binary(mat.X, mat.names, cohort.frame, config)
    result.metrics = out.metrics
    result.models = out.models
    result.figures = out.figures
    result.tables = {
        "Metrics at risk thresholds": out.thresholds,
        f"Fairness audit ({out.fairness_model})": out.fairness.by_group,
        "Fairness disparities (min/max over groups of 20+)": out.fairness.disparities,
    }
    for label, e in out.explanations.items():
        result.tables[f"Top predictors: {label} (mean |SHAP|)"] = e.importance.head(15)
    result.notes.append(
        "Eunomia is a small synthetic sample (Synthea); the numbers show that the pipeline works, "
        "not how well GI bleeding can be predicted in real NSAID users."
    )
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
            "estimate, at the first prescription of celecoxib or diclofenac, the 1-year risk of "
            "gastrointestinal hemorrhage (methods demonstration on synthetic data)"
        ),
        limitations=[
            "Synthetic data (Eunomia / Synthea): associations need not resemble real practice.",
            "Internal validation only (held-out persons of the same database).",
            "Outcome from condition records; under-recording lowers apparent risk.",
        ],
    )
    if config.model_dir is not None:
        result.saved_models = save_study_models(result, out, mat, cohort, config.model_dir)
    return result


def run_page(wh: Any, out_dir: Path, config: StudyConfig | None = None) -> ReportLink:
    """Run the study and write ``study_disease_risk.html``; returns the index link."""
    result = run(wh, config)
    return link_for(result, write_page(result, out_dir))
