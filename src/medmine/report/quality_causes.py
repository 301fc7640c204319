"""Root causes of data-quality failures and a fix hint per check type, as data.

The quality page groups failing checks by the cause a data engineer would fix (a missing
vocabulary, records that do not link, wrong dates...) rather than by check name, and prints
under each check type what to do about it. A check type not listed here falls under "Other"
with a generic hint, so a new check type still shows up (and a test lists the registry's
types to keep this table complete).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RootCause:
    """A group of check types that usually fail for the same reason."""

    key: str
    title: str
    explanation: str


CAUSES: dict[str, RootCause] = {
    c.key: c
    for c in (
        RootCause(
            "vocabulary",
            "Vocabulary missing or codes not mapped",
            "Concept checks need the OHDSI vocabulary (concept table). Without it, or with "
            "codes of local systems, concept ids are 0 or unknown and these checks fail "
            "together.",
        ),
        RootCause(
            "linkage",
            "Records that do not link",
            "Rows refer to persons, visits or providers that are not in the warehouse, or "
            "persons have nothing linked to them: usually a file missing from the load or ids "
            "that differ between files.",
        ),
        RootCause(
            "dates",
            "Dates and timelines",
            "Dates in the wrong order, outside a person's life or observation, or in the "
            "future: typos, placeholders such as 9999-12-31, or records linked to the wrong "
            "person.",
        ),
        RootCause(
            "values",
            "Implausible values and units",
            "Values outside what is possible for the measure, in units that cannot be "
            "converted, or inconsistent with the person: unit errors and typos at the source.",
        ),
        RootCause(
            "codes",
            "Codes and formats",
            "Source codes that do not have the shape of their vocabulary, or fields that do "
            "not follow their format: a wrong coding-system label or truncated codes.",
        ),
        RootCause(
            "completeness",
            "Missing values",
            "Fields left empty by the source: results without values or units, source codes "
            "not kept.",
        ),
        RootCause(
            "duplicates",
            "Duplicates",
            "The same record or id twice: overlapping extracts loaded together, or a source "
            "that reuses ids.",
        ),
        RootCause(
            "structure",
            "Tables and columns",
            "The warehouse lacks a table or column, or a column has another type: it was "
            "built by another version or imported from an OMOP database of another version.",
        ),
        RootCause(
            "volume",
            "Unusual volumes",
            "A visit, a person-day or a person holds far more records than the others (robust "
            "z-score): a loop in the extract, records of many persons merged into one, or a "
            "default visit id given to unrelated events.",
        ),
        RootCause("other", "Other checks", "Checks without a grouping yet."),
    )
}

#: Check type -> root cause key.
CAUSE_OF: dict[str, str] = {
    "concept_in_vocabulary": "vocabulary",
    "standard_valid_concept": "vocabulary",
    "concept_domain": "vocabulary",
    "standard_concept_completeness": "vocabulary",
    "source_concept_completeness": "vocabulary",
    "is_foreign_key": "linkage",
    "person_without_events": "linkage",
    "person_without_observation_period": "linkage",
    "person_without_year_of_birth": "dates",
    "start_before_end": "dates",
    "death_after_birth": "dates",
    "after_birth": "dates",
    "before_death": "dates",
    "within_observation_period": "dates",
    "within_visit_dates": "dates",
    "future_date": "dates",
    "datetime_matches_date": "dates",
    "plausible_birth_date": "dates",
    "implausible_age": "dates",
    "plausible_lab_range": "values",
    "plausible_unit": "values",
    "plausible_sex": "values",
    "plausible_sex_concept": "values",
    "non_negative": "values",
    "paid_not_above_billed": "values",
    "unit_dimension": "values",
    "plausible_upper_bound": "values",
    "visit_same_person": "linkage",
    "likely_duplicate_person": "duplicates",
    "provider_completeness": "completeness",
    "events_per_visit_outlier": "volume",
    "events_per_person_day_outlier": "volume",
    "records_per_person_outlier": "volume",
    "format_conformance": "codes",
    "npi_check_digit": "codes",
    "source_value_completeness": "completeness",
    "value_completeness": "completeness",
    "unit_completeness": "completeness",
    "is_required": "completeness",
    "duplicate_rows": "duplicates",
    "repeated_measurement": "duplicates",
    "is_primary_key": "duplicates",
    "cdm_table": "structure",
    "cdm_field": "structure",
}

_CODE_SHAPE_HINT = (
    "Source codes do not have the shape of their vocabulary (length, check digit): the "
    "records may carry a local code under a standard system's label, or codes were "
    "truncated (e.g. leading zeros lost in a spreadsheet). Check the coding system of the "
    "example rows at the source."
)

#: Check type -> what to do when it fails.
HINTS: dict[str, str] = {
    "cdm_table": "A table is missing: rebuild the warehouse with this medmine (`medmine "
    "ingest` creates every table) or re-import the OMOP database.",
    "cdm_field": "A column is missing or of another type: the warehouse comes from another "
    "medmine or OMOP version; re-import it with this version.",
    "is_primary_key": "Two rows share an id: the source reuses ids, or two loads produced the "
    "same record; check the source's id column and load each extract once.",
    "is_required": "A required field is empty: fill it at the source or in the extract; the "
    "example rows give the load and record location.",
    "is_foreign_key": "Rows point to records that are not loaded: load the referenced file "
    "(persons, visits, providers) into the same warehouse, or check that ids match across "
    "files.",
    "concept_in_vocabulary": "Concept ids are not in the concept table: load the OHDSI "
    "vocabulary (Athena download) with `medmine vocab load ATHENA_DIR`.",
    "standard_valid_concept": "Non-standard or invalid concepts: map them to standard ones "
    "('Maps to' in CONCEPT_RELATIONSHIP); loading the Athena vocabulary lets medmine map them.",
    "concept_domain": "A concept sits in the table of another domain (e.g. a procedure in "
    "condition_occurrence): check the mapping of those source codes.",
    "datetime_matches_date": "Date and datetime disagree: the source gives them from different "
    "fields or time zones; check the timestamps of the example rows.",
    "format_conformance": "Values do not follow the expected format: correct them at the source "
    "(e.g. two-letter state codes, ZIP codes).",
    "plausible_birth_date": "Impossible birth dates: check the persons' birth dates at the "
    "source (placeholders such as 1900-01-01, swapped day and month).",
    "npi_check_digit": "Invalid NPIs: check provider identifiers at the source (10 digits with "
    "a Luhn check digit).",
    "standard_concept_completeness": "Rows without a standard concept (concept id 0): load the "
    "vocabulary with `medmine vocab load` so source codes map; local codes need a mapping "
    "table of your own.",
    "source_value_completeness": "Source codes are not kept: check the extract keeps the "
    "original code of each record.",
    "source_concept_completeness": "Informational: rows with a source value lack a source "
    "concept id; loading the vocabulary fills it.",
    "value_completeness": "Results without values: panels, pending or cancelled results; "
    "filter them at the source if they are not wanted.",
    "unit_completeness": "Numeric results without a unit: add units at the source; without "
    "them `medmine quality units` cannot convert values.",
    "person_without_events": "Persons with no clinical events: demographics-only records, or "
    "their events failed to link (see the foreign-key checks).",
    "person_without_year_of_birth": "Persons loaded without a birth date (year unknown): "
    "cohorts leave them out (attrition step 'year of birth known'); record the birth date at "
    "the source and reload.",
    "person_without_observation_period": "Persons without an observation period: they have no "
    "dated events from which one is derived; check their records.",
    "repeated_measurement": "The same value at the same time for the same person under another "
    "id: Synthea writes vital signs twice, interfaces resend results. Kept as the source says; "
    "covariate counts take each once. Ask the source why it repeats them if the share grows.",
    "duplicate_rows": "Identical rows loaded twice: the same record came in two files or under "
    "two ids; check for overlapping extracts.",
    "implausible_age": "Ages over 120: wrong birth year, or a death that was never recorded.",
    "plausible_lab_range": "Lab values outside the plausible range: usually unit errors (mmol/L "
    "sent as mg/dL) or typos; run `medmine quality units` and check the source units.",
    "plausible_unit": "Units that cannot be converted to the canonical unit: map the source "
    "unit to UCUM (`medmine quality units` lists the rows it could not convert).",
    "plausible_sex": "Sex-specific codes on persons of the other sex: check the recorded sex "
    "and the codes at the source.",
    "plausible_sex_concept": "Concepts specific to one sex (or their descendants in the "
    "vocabulary's hierarchy) on persons of the other sex: check the recorded sex and the "
    "mapping of the source codes.",
    "non_negative": "Negative amounts, quantities or days: credits or sign errors in the "
    "extract; check those columns.",
    "paid_not_above_billed": "Paid above billed: adjustments or swapped amount columns in the "
    "claims extract; check the column mapping.",
    "start_before_end": "End before start: swapped or mistyped dates at the source; swap or "
    "drop them.",
    "death_after_birth": "Death before birth: wrong birth or death date at the source.",
    "after_birth": "Events before birth: wrong dates, or records linked to the wrong person.",
    "before_death": "Events long after death: a wrong death date, or another person's records "
    "linked to this one.",
    "within_observation_period": "Events outside observation periods: the periods were derived "
    "from part of the sources, or the event dates are wrong.",
    "within_visit_dates": "Events dated away from their visit: the visit link or the event date "
    "is wrong at the source.",
    "future_date": "Dates in the future: placeholders (9999-12-31) or typos at the source.",
    "unit_dimension": "Results recorded in a unit of another dimension (glucose in kg, heart "
    "rate in cm): the unit and the test code do not belong together; correct the unit or the "
    "code at the source. No conversion can rescue these values.",
    "plausible_upper_bound": "Supplies, quantities or refills beyond their plausible maximum "
    "(DQD's 365 days, 1,095 units, 24 refills): usually a unit error (mL as units) or a typo; "
    "check the example rows at the source.",
    "visit_same_person": "Events point at a visit of another person: ids were reused across "
    "persons or the visit link was built from the wrong key; check the visit ids at the "
    "source.",
    "likely_duplicate_person": "The linkage model puts several person ids in one cluster: the "
    "same individual was registered twice (new MRN, typo in the name); merge them at the "
    "source or review the pairs with `medmine link` (mm_person_link_pair holds the scores).",
    "provider_completeness": "Providers without a specialty or NPI: the provider file lacks "
    "those columns or the extract dropped them; specialty-based analyses cannot use them.",
    "events_per_visit_outlier": "A visit holds far more events than others: a default or "
    "catch-all visit id, or a record duplicated in a loop; check the listed visit ids.",
    "events_per_person_day_outlier": "A person has far more events on one day than is usual: "
    "repeated loads of the same records or a day used as a placeholder; ids are the persons.",
    "records_per_person_outlier": "A person has far more records than others: records of "
    "several persons merged under one id (a test patient, an id of 0); check the listed ids.",
}


def cause_of(check_type: str) -> RootCause:
    """The root cause group of `check_type` ("Other checks" when not grouped yet)."""
    if check_type.startswith("code_shape_"):
        return CAUSES["codes"]
    return CAUSES[CAUSE_OF.get(check_type, "other")]


def hint_for(check_type: str) -> str:
    """What to do when a check of `check_type` fails."""
    if check_type.startswith("code_shape_"):
        return _CODE_SHAPE_HINT
    return HINTS.get(
        check_type,
        "Look at the example rows below (load and record location) and correct the source.",
    )
