"""Study `readmission`: 30-day unplanned readmission after an inpatient stay, against LACE.

One row per discharge alive (transfers merged into one stay; planned readmissions, marked by an
elective PCI or CABG during the next stay, do not count). L1-logistic regression and LightGBM
use covariates from before the discharge date plus the length of the index stay; the LACE index
is computed from the same warehouse and evaluated on the same held-out persons: raw (as a score
for discrimination) and recalibrated monotonically on the training persons (for calibration), so
a score that ranks backwards is flagged, never inverted; the Charlson index likewise. Deaths
within 30 days are competing events (kept, not readmitted, counted on the page).

Published anchors: LACE c-statistic 0.684 in its derivation cohort (van Walraven et al., CMAJ
2010), HOSPITAL score 0.72 (Donzé et al., JAMA Intern Med 2013).

>>> from medmine.warehouse import Warehouse
>>> result = run(Warehouse("sim.duckdb"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medmine.features import ConceptSet
from medmine.features.tasks import readmission as readmission_definition
from medmine.studies._binary import (
    fit_binary,
    input_checks,
    report_binary,
    require_day_resolution,
)
from medmine.studies._matrix import build_matrix
from medmine.studies._notes import compare_note_features, notes_requested, with_notes
from medmine.studies.contract import FunctionStudy
from medmine.studies.lace import PLANNED_PROCEDURES, compute_lace
from medmine.studies.prediction import PredictionResult, StudyConfig, start_result

NAME = "readmission"
TITLE = "30-day readmission after an inpatient stay, with LACE"
CHARLSON_COLUMN = "Charlson comorbidity index [any,-1]"
EXTRAS = ("index stay length (days)",)


#: Planned procedures (PCI, CABG) as source codes, so the rule works without a vocabulary:
#: SNOMED (PCI, PTCA, coronary stent, CABG and its variants), ICD-10-PCS (021 = bypass of
#: coronary arteries, 0270-0273 = dilation of coronary arteries), CPT (92920-92944 PCI,
#: 33510-33536 CABG).
PLANNED_SOURCE_CODES = (
    "SNOMED:415070008",
    "SNOMED:11101003",
    "SNOMED:36969009",
    "SNOMED:232717009",
    "SNOMED:414089002",
    "SNOMED:10326007",
    "ICD10PCS:021*",
    "ICD10PCS:0270*",
    "ICD10PCS:0271*",
    "ICD10PCS:0272*",
    "ICD10PCS:0273*",
    *(f"CPT4:{c}" for c in range(92920, 92945)),
    *(f"CPT4:{c}" for c in range(33510, 33537)),
)


def planned_procedures() -> ConceptSet:
    """PCI and CABG, by OMOP concept id (with descendants) or by source code."""
    return ConceptSet(
        PLANNED_PROCEDURES,
        domain="procedure",
        name="planned procedures (PCI, CABG)",
        source_codes=PLANNED_SOURCE_CODES,
    )


def default_definition() -> Any:
    """30-day readmission; PCI/CABG during the next stay makes that readmission planned."""
    return readmission_definition(30, planned=planned_procedures())


def run(
    wh: Any,
    config: StudyConfig | None = None,
    *,
    definition: Any = None,
    data_source: str | None = None,
    truth: pd.DataFrame | None = None,
) -> PredictionResult:
    """Build the cohort, fit both models and LACE, evaluate on held-out persons.

    Parameters
    ----------
    truth
        Optional true risk per stay (``person_id``, ``index_date``, ``p_true``) from a
        simulator: evaluated on the same test set as "true risk (simulator)", the ceiling any
        model can reach on that data.
    """
    STUDY.check_data(wh)
    require_day_resolution(wh, NAME)
    config = config or StudyConfig()
    definition = definition or default_definition()
    result, cohort = start_result(wh, NAME, TITLE, config, definition, data_source)
    summary = result.cohort_summary
    input_checks(result, wh, cohort, definition.entry.stays.visit_concept_ids)
    deaths = summary.get("deaths_in_window", 0)
    if definition.time_at_risk.exclude_deaths:
        result.notes.append(
            "Deaths within 30 days of discharge without a readmission were EXCLUDED from the "
            "cohort (option exclude_deaths; see the attrition table)."
        )
    else:
        result.notes.append(
            f"Death is a competing event: {deaths} stays followed by death within 30 days "
            "without a readmission stay in the cohort, counted as not readmitted."
        )
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
    # with note features requested, the models see them and are compared without them
    config = with_notes(config)
    mat = build_matrix(wh, cohort, config.covariates, extras=EXTRAS)
    if CHARLSON_COLUMN in mat.names:
        charlson = np.asarray(mat.X[:, mat.names.index(CHARLSON_COLUMN)].todense()).ravel()
    else:
        charlson = np.zeros(len(frame))
        result.notes.append("Charlson index not among the covariates: LACE uses C = 0.")
    lace = compute_lace(wh, frame, charlson)
    refs: dict[str, tuple[np.ndarray, bool]] = {
        "LACE": (lace.parts["lace"].to_numpy(), False),
        "Charlson index": (charlson.astype(float), False),
    }
    if truth is not None:
        refs["true risk (simulator)"] = (_align_truth(frame, truth), True)
    out = fit_binary(mat.X, mat.names, frame, config, reference_scores=refs)
    if notes_requested(config):
        compare_note_features(result, out, mat, cohort, config, wh)
    lace_means = (
        lace.parts.iloc[out.split.test]
        .assign(emergent=lambda d: d["emergent"].astype(float))
        .mean()
        .to_frame("mean")
        .reset_index(names="component")
    )
    result.notes.append(f"LACE acuity: {lace.acuity_source}.")
    report_binary(
        result,
        out,
        mat,
        cohort,
        config,
        tables={"LACE components (test set means)": lace_means},
        intended_use=(
            "estimate at discharge the risk of unplanned readmission within 30 days, to "
            "prioritise transitional care; compared with the LACE index"
        ),
        wh=wh,
        baselines=("LACE", "Charlson index"),
        # Charlson and LACE read conditions; the planned-readmission rule reads procedures
        required_domains=("condition", "procedure"),
        limitations=[
            "Readmissions to hospitals outside the warehouse are not seen (under-count).",
            "Internal validation only; recalibrate before use at another site.",
            "Planned readmissions identified only by PCI/CABG procedures (simplified CMS rule), "
            "by OMOP concept or by SNOMED / ICD-10-PCS / CPT source code.",
            f"LACE acuity: {lace.acuity_source}.",
        ],
    )
    return result


def _align_truth(frame: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    t = truth.assign(index_date=pd.to_datetime(truth["index_date"]))
    t = t.drop_duplicates(["person_id", "index_date"])
    f = frame[["person_id", "index_date"]].assign(index_date=lambda d: pd.to_datetime(d.index_date))
    merged = f.merge(t[["person_id", "index_date", "p_true"]], how="left")
    p = merged["p_true"].to_numpy(dtype=float)
    return np.where(np.isnan(p), np.nanmean(p), p)


#: The registered study (`run` above is the Python API, with extras where it has them).
STUDY = FunctionStudy(
    NAME,
    TITLE,
    StudyConfig,
    run,
    requires=(("visit_occurrence", "load encounters, e.g. `medmine ingest fhir`"),),
)
