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

from typing import Any

from medmine.features.tasks import disease_risk as disease_risk_definition
from medmine.studies._binary import fit_binary, report_binary, require_day_resolution
from medmine.studies._matrix import build_matrix
from medmine.studies._notes import compare_note_features, notes_requested, with_notes
from medmine.studies.contract import FunctionStudy
from medmine.studies.prediction import PredictionResult, StudyConfig, start_result

#: SNOMED CT codes of the complications counted by `hypertension_complications`: chronic kidney
#: disease (stages 1-4, end-stage), heart failure, myocardial infarction, stroke.
COMPLICATION_CODES = (
    "SNOMED:431855005",
    "SNOMED:431856006",
    "SNOMED:433144002",
    "SNOMED:431857002",
    "SNOMED:46177005",
    "SNOMED:84114007",
    "SNOMED:88805009",
    "SNOMED:22298006",
    "SNOMED:401303003",
    "SNOMED:401314000",
    "SNOMED:230690007",
)

NAME = "disease_risk"
TITLE = "GI hemorrhage after starting an NSAID (Eunomia)"


def hypertension_complications(years: int = 5) -> Any:
    """A disease-risk task written in SNOMED CT source codes (works without a vocabulary).

    Entry: first diagnosis of essential hypertension (SNOMED 59621000), adults, with no prior
    complication; outcome: chronic kidney disease, heart failure, myocardial infarction or
    stroke 1 day to `years` years later; complete follow-up needed unless the outcome occurs
    (or death, a competing event).

    >>> hypertension_complications().entry.concept_set.source_codes
    ('SNOMED:59621000',)
    """
    from medmine.features import (
        CohortDefinition,
        ConceptSet,
        Criterion,
        EntryEvent,
        OutcomeDefinition,
        TimeAtRisk,
    )

    days = 365 * int(years)
    comp = ConceptSet(source_codes=COMPLICATION_CODES, name="renal or cardiovascular complication")
    return CohortDefinition(
        name="hypertension_complications",
        description=f"renal or cardiovascular complication within {years} years of a "
        "hypertension diagnosis",
        entry=EntryEvent(
            concept_set=ConceptSet(
                source_codes=("SNOMED:59621000",), name="essential hypertension"
            ),
            first_occurrence=True,
        ),
        exclusion=(Criterion(comp, start_day=None, end_day=0, name="prior complication"),),
        outcome=OutcomeDefinition(concept_set=comp, name="complication"),
        time_at_risk=TimeAtRisk(start_day=1, end_day=days, min_days=days - 1),
        min_age=18,
    )


def run(
    wh: Any,
    config: StudyConfig | None = None,
    *,
    definition: Any = None,
    title: str | None = None,
    data_source: str | None = None,
) -> PredictionResult:
    """Build the cohort, fit the models, evaluate on held-out persons, write nothing.

    `definition` replaces the Eunomia task (e.g. one written with SNOMED source codes for a
    warehouse without a vocabulary); `title` then names it on the page.
    """
    STUDY.check_data(wh)
    require_day_resolution(wh, NAME)
    config = config or StudyConfig()
    eunomia = definition is None
    definition = definition or disease_risk_definition()
    title = title or (TITLE if eunomia else definition.description or definition.name)
    result, cohort = start_result(wh, NAME, title, config, definition, data_source)
    summary = result.cohort_summary
    if summary["rows"] < config.min_rows or summary["outcomes"] < config.min_outcomes:
        result.notes.append(
            f"Cohort too small to fit a model: {summary['rows']} rows and "
            f"{summary['outcomes']} outcomes (need {config.min_rows} and {config.min_outcomes})."
        )
        result.status = "warn"
        return result
    # with note features requested, the models see them and are compared without them
    config = with_notes(config)
    mat = build_matrix(wh, cohort, config.covariates)
    out = fit_binary(mat.X, mat.names, cohort.frame, config)
    if notes_requested(config):
        compare_note_features(result, out, mat, cohort, config, wh)
    if eunomia:
        result.notes.append(
            "Eunomia is a small synthetic sample (Synthea); the numbers show that the pipeline "
            "works, not how well GI bleeding can be predicted in real NSAID users."
        )
    report_binary(
        result,
        out,
        mat,
        cohort,
        config,
        intended_use=(
            "estimate, at the first prescription of celecoxib or diclofenac, the 1-year risk of "
            "gastrointestinal hemorrhage (methods demonstration on synthetic data)"
        ),
        limitations=[
            "Synthetic data (Eunomia / Synthea): associations need not resemble real practice.",
            "Internal validation only (held-out persons of the same database).",
            "Outcome from condition records; under-recording lowers apparent risk.",
        ],
        wh=wh,
    )
    return result


#: The registered study (`run` above is the Python API, with extras where it has them).
STUDY = FunctionStudy(
    NAME,
    TITLE,
    StudyConfig,
    run,
    requires=(
        ("drug_exposure", "load drug exposures, e.g. `medmine ingest omop`"),
        ("condition_occurrence", "load conditions, e.g. `medmine ingest omop`"),
    ),
)
