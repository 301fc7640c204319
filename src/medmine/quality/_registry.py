"""The registry of check types, declared once as data: Kahn category, threshold and SQL templates.

Each check type names an instance generator (`medmine.quality._instances`) that expands it over
the warehouse schema, and two SQL templates (DuckDB dialect, SQLGlot-transpilable):
``violated`` selects the ids of violating rows as ``row_id``; ``denominator`` counts the rows
the check applies to. `medmine.quality.checks` wraps both into one query per check instance.

A check applies only when every table in its ``requires`` has rows; otherwise it is *not
applicable*, with the reason declared for that table in `NOT_APPLICABLE_REASONS` (checks that
need a vocabulary require ``concept``, so a warehouse without one does not fail them on every
row but says to load one).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Birth date of person ``p`` (lenient: 1 January of the birth year when no datetime is known).
BIRTH = (
    "coalesce(CAST(p.birth_datetime AS DATE), "
    "CASE WHEN p.year_of_birth BETWEEN 1 AND 9999 THEN make_date(p.year_of_birth, 1, 1) END)"
)
#: Days of grace after death for events recorded late (as in OHDSI's DataQualityDashboard).
DEATH_GRACE_DAYS = 60
#: Days of grace around a visit for events linked to it.
VISIT_GRACE_DAYS = 7
#: Oldest plausible age in years.
MAX_AGE = 120
#: Robust z-score of the log count (``0.6745 (ln x - median) / MAD`` over the log counts)
#: above which a count of events is an outlier. Counts per person or visit are heavy-tailed,
#: so the score is taken on logarithms: on Eunomia's 2,694 persons the largest is about 4;
#: 6 means about e^6 = 400 times the median when the log counts spread by one unit.
OUTLIER_Z = 6.0
#: Fewest events for a person-day, visit or person to be called an outlier (small counts are
#: never outliers, whatever their z-score, so a sparse table does not flag its busiest day).
OUTLIER_MIN_EVENTS = 50

#: Severity of a check type. ``error``: a single violating row is impossible data (negative
#: durations, death before birth, values beyond physiological limits, units of the wrong
#: dimension), so the check fails whatever the share of violating rows. ``rate``: a rate to
#: watch, failing when the violated percentage exceeds the threshold.
ERROR = "error"
RATE = "rate"


#: Why a check does not apply when a table it requires is empty, by table; a table not listed
#: here gives "no rows in <table>".
NOT_APPLICABLE_REASONS: dict[str, str] = {
    "concept": "no concept table loaded: run `medmine vocab load ATHENA_DIR`",
    "mm_person_link": "no linkage run: run `medmine link` (its model finds likely duplicate "
    "persons)",
}
#: Why a check does not apply when its tables have rows but none is in its scope.
NOTHING_TO_CHECK = "no rows to check (the denominator is 0)"


@dataclass(frozen=True)
class CheckType:
    """One kind of check; `instances` names the generator that expands it over the schema."""

    name: str
    level: str  # table | field | concept
    category: str  # conformance | completeness | plausibility
    subcategory: str  # value | relational | computational | atemporal | temporal | uniqueness
    context: str  # verification | validation
    threshold_pct: float
    description: str
    violated: str
    denominator: str
    instances: str
    requires: tuple[str, ...] = ("{table}",)
    severity: str = RATE


def _t(*args, **kwargs) -> CheckType:
    return CheckType(*args, **kwargs)


_CNT = "SELECT count(*) FROM {t}"
#: What makes two numeric rows the same measurement (`medmine.quality.repeated`).
SAME_MEASUREMENT = (
    "person_id, {table}_source_value, {table}_datetime, {table}_date, value_as_number, {c}"
)
_CNT_NN = "SELECT count(*) FROM {t} WHERE {c} IS NOT NULL"
# Code checks work on the distinct key columns of a table (source value, source concept...),
# so regular expressions and check digits run once per distinct code, then join back to rows.
# The LIMIT is an optimisation barrier: without it the engine pushes the (costly) validity
# filter below the DISTINCT and evaluates it on every row (24 s instead of 0.4 s on 650k rows).
_KEYS = "SELECT DISTINCT {cols} FROM {t} LIMIT 2147483647"
_CODED_KEYS = (
    f"SELECT {{cols_s}} FROM ({_KEYS}) s LEFT JOIN concept sk ON sk.concept_id = {{src_concept}} "
    f"WHERE upper({{vocab}}) IN ({{vocabs}})"
)
_CODED = f"SELECT count(*) FROM {{t}} r JOIN ({_CODED_KEYS}) b ON {{join}}"
_SHAPE = (
    f"SELECT r.{{id}} AS row_id FROM {{t}} r JOIN ({_CODED_KEYS} AND NOT coalesce({{valid}}, "
    f"FALSE)) b ON {{join}}"
)


def _shape(name: str, vocab: str, description: str) -> CheckType:
    return _t(
        f"code_shape_{name}",
        "field",
        "conformance",
        "value",
        "verification",
        0.0,
        description,
        _SHAPE,
        _CODED,
        f"code_sources:{vocab}",
    )


_SEX_KEYS = (
    f"SELECT {{cols_s}} FROM ({_KEYS}) s LEFT JOIN concept sk ON sk.concept_id = {{src_concept}} "
    f"WHERE {{matches}}"
)

CHECK_TYPES: tuple[CheckType, ...] = (
    # ---- conformance: relational ----
    _t(
        "cdm_table", "table", "conformance", "relational", "verification", 0.0,
        "Table {table} exists in the warehouse.",
        "SELECT {table_name} AS row_id FROM (SELECT 1 AS one) x WHERE NOT EXISTS (SELECT 1 FROM "
        "information_schema.tables WHERE table_schema = 'main' AND table_name = {table_name})",
        "SELECT 1", "tables", requires=(),
    ),
    _t(
        "cdm_field", "table", "conformance", "relational", "verification", 0.0,
        "Every declared column of {table} exists with its declared type (ids are column names).",
        "SELECT d.col AS row_id FROM (VALUES {columns}) AS d(col, typ) WHERE NOT EXISTS ("
        "SELECT 1 FROM information_schema.columns i WHERE i.table_schema = 'main' AND "
        "i.table_name = {table_name} AND i.column_name = d.col AND i.data_type = d.typ)",
        "SELECT {ncolumns}", "tables", requires=(),
    ),
    _t(
        "is_primary_key", "field", "conformance", "relational", "verification", 0.0,
        "{table}.{column} identifies each row (no id used twice).",
        "SELECT {c} AS row_id FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} HAVING count(*) > 1",
        _CNT, "primary_keys",
    ),
    _t(
        "is_required", "field", "conformance", "relational", "verification", 0.0,
        "Required field {table}.{column} is present.",
        "SELECT {id} AS row_id FROM {t} WHERE {c} IS NULL", _CNT, "required_columns",
    ),
    _t(
        "is_foreign_key", "field", "conformance", "relational", "verification", 0.0,
        "{table}.{column} refers to an existing {ftable}.{fcolumn}{zero_text}.",
        "SELECT s.{id} AS row_id FROM {t} s WHERE s.{c} IS NOT NULL{zero} AND NOT EXISTS ("
        "SELECT 1 FROM {ft} f WHERE f.{fc} = s.{c})",
        "SELECT count(*) FROM {t} s WHERE s.{c} IS NOT NULL{zero}", "foreign_keys",
    ),
    _t(
        "concept_in_vocabulary", "field", "conformance", "relational", "verification", 0.0,
        "Non-zero {table}.{column} is a concept of the loaded vocabulary (concept table).",
        "SELECT s.{id} AS row_id FROM {t} s WHERE s.{c} IS NOT NULL AND s.{c} <> 0 AND NOT "
        "EXISTS (SELECT 1 FROM concept k WHERE k.concept_id = s.{c})",
        "SELECT count(*) FROM {t} WHERE {c} IS NOT NULL AND {c} <> 0",
        "concept_columns", requires=("{table}", "concept"),
    ),
    _t(
        "standard_valid_concept", "field", "conformance", "relational", "verification", 0.0,
        "{table}.{column} holds standard, valid concepts (standard_concept 'S', not invalid).",
        "SELECT s.{id} AS row_id FROM {t} s JOIN concept k ON k.concept_id = s.{c} "
        "WHERE s.{c} <> 0 AND (k.standard_concept IS NULL OR k.standard_concept <> 'S' "
        "OR k.invalid_reason IS NOT NULL)",
        "SELECT count(*) FROM {t} s JOIN concept k ON k.concept_id = s.{c} WHERE s.{c} <> 0",
        "standard_concept_columns", requires=("{table}", "concept"),
    ),
    # ---- conformance: value and computational ----
    _t(
        "concept_domain", "field", "conformance", "value", "verification", 0.0,
        "Concepts in {table}.{column} belong to the {domain} domain.",
        "SELECT s.{id} AS row_id FROM {t} s JOIN concept k ON k.concept_id = s.{c} "
        "WHERE s.{c} <> 0 AND k.domain_id <> {domain_id}",
        "SELECT count(*) FROM {t} s JOIN concept k ON k.concept_id = s.{c} WHERE s.{c} <> 0",
        "domain_columns", requires=("{table}", "concept"),
    ),
    _t(
        "datetime_matches_date", "field", "conformance", "computational", "verification", 0.0,
        "{table}.{column} falls on the same day as {date_column}.",
        "SELECT {id} AS row_id FROM {t} WHERE {c} IS NOT NULL AND {d} IS NOT NULL "
        "AND CAST({c} AS DATE) <> {d}",
        "SELECT count(*) FROM {t} WHERE {c} IS NOT NULL AND {d} IS NOT NULL",
        "datetime_pairs",
    ),
    _t(
        "format_conformance", "field", "conformance", "value", "verification", 0.0,
        "{table}.{column} matches its format ({format}).",
        "SELECT {id} AS row_id FROM {t} WHERE {c} IS NOT NULL AND NOT regexp_matches({c}, "
        "{pattern})",
        _CNT_NN, "format_rules",
    ),
    _t(
        "plausible_birth_date", "field", "conformance", "value", "verification", 0.0,
        "Birth year, month and day of each person are valid (year 1850 to this year).",
        "SELECT person_id AS row_id FROM person WHERE year_of_birth < 1850 "
        "OR year_of_birth > year(current_date) OR month_of_birth NOT BETWEEN 1 AND 12 "
        "OR day_of_birth NOT BETWEEN 1 AND 31 "
        "OR (birth_datetime IS NOT NULL AND year(birth_datetime) <> year_of_birth)",
        "SELECT count(*) FROM person", "person_only",
    ),
    _shape("icd10cm", "ICD10CM", "{table}.{column} codes of ICD10CM are ICD-10-CM shaped."),
    _shape(
        "snomed", "SNOMED",
        "{table}.{column} codes of SNOMED are SCTIDs (Verhoeff check digit, concept partition).",
    ),
    _shape("loinc", "LOINC", "{table}.{column} codes of LOINC have a valid mod-10 check digit."),
    _shape("ndc", "NDC", "{table}.{column} codes of NDC are 11-digit or hyphenated 10-digit."),
    _shape("rxnorm", "RxNorm", "{table}.{column} codes of RxNorm are RxCUIs (1-9 digits)."),
    _shape("cpt4", "CPT4", "{table}.{column} codes of CPT4 are CPT shaped."),
    _shape("hcpcs", "HCPCS", "{table}.{column} codes of HCPCS are HCPCS Level II shaped."),
    _t(
        "npi_check_digit", "field", "conformance", "value", "verification", 0.0,
        "{table}.{column} holds valid NPIs (10 digits, Luhn check digit over 80840 prefix).",
        "SELECT {id} AS row_id FROM {t} s WHERE {c} IS NOT NULL AND NOT coalesce({valid}, FALSE)",
        _CNT_NN, "npi_columns",
    ),
    # ---- completeness ----
    _t(
        "standard_concept_completeness", "field", "completeness", "", "verification", 5.0,
        "{table}.{column} is mapped to a standard concept (not 0) {scope_text}.",
        "SELECT {id} AS row_id FROM {t} WHERE coalesce({c}, 0) = 0 AND {scope}",
        "SELECT count(*) FROM {t} WHERE {scope}", "coded_fields",
        requires=("{table}", "concept"),
    ),
    _t(
        "source_value_completeness", "field", "completeness", "", "verification", 10.0,
        "{table}.{column} keeps the source value of each row.",
        "SELECT {id} AS row_id FROM {t} WHERE nullif(trim({c}), '') IS NULL",
        _CNT, "primary_source_values",
    ),
    _t(
        "source_concept_completeness", "field", "completeness", "", "verification", 100.0,
        "{table}.{column} is set for rows with a source value (informational).",
        "SELECT {id} AS row_id FROM {t} WHERE coalesce({c}, 0) = 0 AND "
        "nullif(trim({sv}), '') IS NOT NULL",
        "SELECT count(*) FROM {t} WHERE nullif(trim({sv}), '') IS NOT NULL",
        "source_concept_fields", requires=("{table}", "concept"),
    ),
    _t(
        "value_completeness", "field", "completeness", "", "validation", 10.0,
        "Rows of {table} carry a result ({value_columns}).",
        "SELECT {id} AS row_id FROM {t} WHERE {all_null}", _CNT, "value_tables",
    ),
    _t(
        "unit_completeness", "field", "completeness", "", "validation", 5.0,
        "Numeric results in {table} carry a unit.",
        "SELECT {id} AS row_id FROM {t} WHERE value_as_number IS NOT NULL AND "
        "coalesce(unit_concept_id, 0) = 0 AND nullif(trim(unit_source_value), '') IS NULL",
        "SELECT count(*) FROM {t} WHERE value_as_number IS NOT NULL", "unit_tables",
    ),
    _t(
        "person_without_events", "table", "completeness", "", "validation", 5.0,
        "Persons have at least one clinical event ({event_tables}).",
        "SELECT p.person_id AS row_id FROM person p WHERE {no_events}",
        "SELECT count(*) FROM person", "person_only",
    ),
    _t(
        "person_without_observation_period", "table", "completeness", "", "verification", 0.0,
        "Persons have an observation period.",
        "SELECT p.person_id AS row_id FROM person p WHERE NOT EXISTS (SELECT 1 FROM "
        "observation_period o WHERE o.person_id = p.person_id)",
        "SELECT count(*) FROM person", "person_only",
    ),
    _t(
        "person_without_year_of_birth", "table", "completeness", "", "verification", 0.0,
        "Persons have a year of birth (a person whose source gave no birth date is loaded "
        "with the year unknown, a deviation from OMOP's NOT NULL; age-based analyses leave "
        "them out).",
        "SELECT person_id AS row_id FROM person WHERE year_of_birth IS NULL",
        "SELECT count(*) FROM person", "person_only",
    ),
    # ---- plausibility: uniqueness and atemporal ----
    _t(
        "duplicate_rows", "table", "plausibility", "uniqueness", "validation", 5.0,
        "Rows of {table} are not repeated (same values in every column but the id).",
        "SELECT {id} AS row_id FROM (SELECT {id}, row_number() OVER (PARTITION BY {others} "
        "ORDER BY {id}) AS copy_no FROM {t}) x WHERE copy_no > 1",
        _CNT, "event_tables",
    ),
    _t(
        "repeated_measurement", "table", "plausibility", "uniqueness", "validation", 5.0,
        "Numeric {table} rows are not repeated (same person, code, time, value and unit under "
        "another id); repetitions are loaded as the source says and should be counted once.",
        "SELECT {id} AS row_id FROM (SELECT {id}, row_number() OVER (PARTITION BY "
        + SAME_MEASUREMENT
        + " ORDER BY {id}) AS copy_no FROM {t} WHERE value_as_number IS NOT NULL) x "
        "WHERE copy_no > 1",
        "SELECT count(*) FROM {t} WHERE value_as_number IS NOT NULL", "unit_tables",
    ),
    _t(
        "implausible_age", "table", "plausibility", "atemporal", "validation", 0.0,
        f"No person is older than {MAX_AGE} years at death or at the end of their record.",
        "SELECT p.person_id AS row_id FROM person p LEFT JOIN (SELECT person_id, "
        "max(observation_period_end_date) AS last_date FROM observation_period GROUP BY "
        "person_id) o ON o.person_id = p.person_id LEFT JOIN (SELECT person_id, "
        "min(death_date) AS death_date FROM death GROUP BY person_id) d ON d.person_id = "
        f"p.person_id WHERE year(coalesce(d.death_date, o.last_date, current_date)) - "
        f"p.year_of_birth > {MAX_AGE}",
        "SELECT count(*) FROM person", "person_only",
    ),
    _t(
        "plausible_lab_range", "concept", "plausibility", "atemporal", "validation", 0.0,
        "{name} ({loinc}) lies in [{low}, {high}] {unit} after conversion to {unit} (rows in "
        "{n_units} convertible units are checked).",
        "SELECT m.measurement_id AS row_id FROM measurement m JOIN (VALUES {units}) AS "
        "u(unit, factor, shift) ON u.unit = m.unit_source_value WHERE {is_loinc} AND "
        "m.value_as_number IS NOT NULL AND (m.value_as_number * u.factor + u.shift < {low} "
        "OR m.value_as_number * u.factor + u.shift > {high})",
        "SELECT count(*) FROM measurement m JOIN (VALUES {units}) AS u(unit, factor, shift) "
        "ON u.unit = m.unit_source_value WHERE {is_loinc} AND m.value_as_number IS NOT NULL",
        "lab_ranges", requires=("measurement",),
    ),
    _t(
        "unit_dimension", "concept", "conformance", "value", "verification", 0.0,
        "Numeric results of {name} ({loinc}) are not in a unit of another dimension than "
        "{unit} (such as {examples}).",
        "SELECT m.measurement_id AS row_id FROM measurement m JOIN (VALUES {wrong}) AS "
        "u(unit) ON u.unit = lower(trim(m.unit_source_value)) WHERE {is_loinc} AND "
        "m.value_as_number IS NOT NULL",
        "SELECT count(*) FROM measurement m WHERE {is_loinc} AND m.value_as_number IS NOT NULL",
        "unit_dimensions", requires=("measurement",),
    ),
    _t(
        "plausible_unit", "field", "plausibility", "atemporal", "validation", 5.0,
        "Numeric results of listed LOINC codes use their canonical unit or one convertible to "
        "it.",
        "SELECT m.measurement_id AS row_id FROM measurement m JOIN (VALUES {loincs}) AS l(code) "
        "ON l.code = {loinc_code} WHERE m.value_as_number IS NOT NULL AND NOT EXISTS (SELECT 1 "
        "FROM (VALUES {pairs}) AS u(code, unit) WHERE u.code = l.code AND "
        "u.unit = coalesce(m.unit_source_value, ''))",
        "SELECT count(*) FROM measurement m JOIN (VALUES {loincs}) AS l(code) ON l.code = "
        "{loinc_code} WHERE m.value_as_number IS NOT NULL",
        "unit_rules", requires=("measurement",),
    ),
    _t(
        "plausible_sex", "concept", "plausibility", "atemporal", "validation", 0.0,
        "{table} rows with {sex}-specific codes belong to {sex} persons.",
        f"SELECT r.{{id}} AS row_id FROM {{t}} r JOIN person p ON p.person_id = r.person_id "
        f"JOIN ({_SEX_KEYS}) b ON {{join}} WHERE p.gender_concept_id = {{other_gender}}",
        f"SELECT count(*) FROM {{t}} r JOIN person p ON p.person_id = r.person_id "
        f"JOIN ({_SEX_KEYS}) b ON {{join}} WHERE p.gender_concept_id IN (8507, 8532)",
        "sex_specific", requires=("{table}", "person"),
    ),
    _t(
        "plausible_sex_concept", "concept", "plausibility", "atemporal", "validation", 0.0,
        "{table} rows whose concept is (or descends from) a {sex}-specific concept belong to "
        "{sex} persons (concepts from the curated codes, their 'Maps to' targets and "
        "descendants in concept_ancestor).",
        "SELECT r.{id} AS row_id FROM {t} r JOIN person p ON p.person_id = r.person_id "
        "JOIN ({concepts}) k ON k.concept_id = r.{c} WHERE p.gender_concept_id = {other_gender}",
        "SELECT count(*) FROM {t} r JOIN person p ON p.person_id = r.person_id "
        "JOIN ({concepts}) k ON k.concept_id = r.{c} WHERE p.gender_concept_id IN (8507, 8532)",
        "sex_specific_concepts", requires=("{table}", "person", "concept"),
    ),
    _t(
        "non_negative", "field", "plausibility", "atemporal", "validation", 0.0,
        "{table}.{column} is not negative.",
        "SELECT {id} AS row_id FROM {t} WHERE {c} < 0", _CNT_NN, "non_negative_columns",
    ),
    _t(
        "plausible_upper_bound", "field", "plausibility", "atemporal", "validation", 0.0,
        "{table}.{column} is at most {high} ({why}).",
        "SELECT {id} AS row_id FROM {t} WHERE {c} > {high}", _CNT_NN, "upper_bounds",
    ),
    _t(
        "visit_same_person", "field", "conformance", "relational", "verification", 0.0,
        "The visit of each {table} row belongs to the row's own person.",
        "SELECT s.{id} AS row_id FROM {t} s JOIN visit_occurrence v ON v.visit_occurrence_id = "
        "s.visit_occurrence_id WHERE v.person_id <> s.{pc}",
        "SELECT count(*) FROM {t} s JOIN visit_occurrence v ON v.visit_occurrence_id = "
        "s.visit_occurrence_id",
        "visit_event_tables", requires=("{table}", "visit_occurrence"),
    ),
    _t(
        "provider_completeness", "field", "completeness", "", "validation", 5.0,
        "Providers carry {what} ({column}).",
        "SELECT provider_id AS row_id FROM provider WHERE {missing}", "SELECT count(*) FROM "
        "provider", "provider_fields",
    ),
    _t(
        "likely_duplicate_person", "table", "plausibility", "uniqueness", "validation", 0.0,
        "No two persons are the same individual according to the linkage model "
        "(mm_person_link, written by `medmine link`; ids are the persons after the first of "
        "each cluster).",
        "SELECT l.person_id AS row_id FROM (SELECT DISTINCT cluster_id, person_id FROM "
        "mm_person_link) l JOIN person p ON p.person_id = l.person_id WHERE l.person_id > "
        "(SELECT min(l2.person_id) FROM mm_person_link l2 JOIN person p2 ON p2.person_id = "
        "l2.person_id WHERE l2.cluster_id = l.cluster_id)",
        "SELECT count(DISTINCT l.person_id) FROM mm_person_link l JOIN person p ON "
        "p.person_id = l.person_id", "person_only", requires=("person", "mm_person_link"),
    ),
    _t(
        "events_per_visit_outlier", "table", "plausibility", "atemporal", "validation", 0.0,
        f"No visit holds an outlying number of {{table}} rows (robust z of the log count over "
        f"{OUTLIER_Z:g} among visits of the same source, at least {OUTLIER_MIN_EVENTS} rows; ids "
        "are visit ids).",
        "SELECT g.k AS row_id FROM ({counts}) g, ({stats}) st WHERE {outlier}",
        "SELECT count(*) FROM ({counts}) g", "visit_count_tables",
    ),
    _t(
        "events_per_person_day_outlier", "table", "plausibility", "atemporal", "validation", 0.0,
        f"No person has an outlying number of {{table}} rows on one day (robust z of the log "
        f"count over {OUTLIER_Z:g} among persons of the same source, at least "
        f"{OUTLIER_MIN_EVENTS} rows; ids are the persons, once per outlying day).",
        "SELECT g.k AS row_id FROM ({counts}) g, ({stats}) st WHERE {outlier}",
        "SELECT count(*) FROM ({counts}) g", "person_day_tables",
    ),
    _t(
        "records_per_person_outlier", "table", "plausibility", "atemporal", "validation", 0.0,
        f"No person has an outlying number of {{table}} rows (robust z of the log count over "
        f"{OUTLIER_Z:g} among persons of the same source, at least {OUTLIER_MIN_EVENTS} rows; "
        "ids are person ids).",
        "SELECT g.k AS row_id FROM ({counts}) g, ({stats}) st WHERE {outlier}",
        "SELECT count(*) FROM ({counts}) g", "person_count_tables",
    ),
    _t(
        "paid_not_above_billed", "field", "plausibility", "atemporal", "validation", 1.0,
        "{table}.{column} does not exceed {billed}.",
        "SELECT {id} AS row_id FROM {t} WHERE {c} > {b} + 0.005",
        "SELECT count(*) FROM {t} WHERE {c} IS NOT NULL AND {b} IS NOT NULL", "paid_billed",
    ),
    # ---- plausibility: temporal ----
    _t(
        "start_before_end", "field", "plausibility", "temporal", "verification", 0.0,
        "{table}.{column} is not before {start_column}.",
        "SELECT {id} AS row_id FROM {t} WHERE {c} < {s}",
        "SELECT count(*) FROM {t} WHERE {c} IS NOT NULL AND {s} IS NOT NULL", "start_end_pairs",
    ),
    _t(
        "death_after_birth", "table", "plausibility", "temporal", "verification", 0.0,
        "Death is not before birth.",
        f"SELECT d.person_id AS row_id FROM death d JOIN person p ON p.person_id = d.person_id "
        f"WHERE d.death_date < {BIRTH}",
        "SELECT count(*) FROM death d JOIN person p ON p.person_id = d.person_id",
        "death_only", requires=("death", "person"),
    ),
    _t(
        "after_birth", "field", "plausibility", "temporal", "validation", 1.0,
        "{table}.{column} is not before the person's birth.",
        f"SELECT s.{{id}} AS row_id FROM {{t}} s JOIN person p ON p.person_id = s.{{pc}} "
        f"WHERE s.{{c}} < {BIRTH}",
        "SELECT count(*) FROM {t} s JOIN person p ON p.person_id = s.{pc} WHERE s.{c} IS NOT "
        "NULL",
        "person_dates", requires=("{table}", "person"),
    ),
    _t(
        "before_death", "field", "plausibility", "temporal", "validation", 1.0,
        f"{{table}}.{{column}} is at most {DEATH_GRACE_DAYS} days after the person's death "
        "(persons whose death precedes their birth are counted under death_after_birth).",
        f"SELECT s.{{id}} AS row_id FROM {{t}} s JOIN (SELECT person_id, min(death_date) AS dd "
        f"FROM death GROUP BY person_id) d ON d.person_id = s.{{pc}} "
        f"WHERE s.{{c}} > d.dd + INTERVAL {DEATH_GRACE_DAYS} DAY AND NOT EXISTS (SELECT 1 "
        f"FROM person p WHERE p.person_id = d.person_id AND d.dd < {BIRTH})",
        "SELECT count(*) FROM {t} s JOIN (SELECT DISTINCT person_id FROM death) d "
        "ON d.person_id = s.{pc} WHERE s.{c} IS NOT NULL",
        "person_event_dates", requires=("{table}", "death"),
    ),
    _t(
        "within_observation_period", "field", "plausibility", "temporal", "validation", 5.0,
        "{table}.{column} falls inside one of the person's observation periods.",
        "SELECT s.{id} AS row_id FROM {t} s WHERE s.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 "
        "FROM observation_period o WHERE o.person_id = s.{pc} AND "
        "s.{c} BETWEEN o.observation_period_start_date AND o.observation_period_end_date)",
        "SELECT count(*) FROM {t} WHERE {c} IS NOT NULL",
        "event_start_dates", requires=("{table}", "observation_period"),
    ),
    _t(
        "within_visit_dates", "field", "plausibility", "temporal", "validation", 5.0,
        f"{{table}}.{{column}} falls within {VISIT_GRACE_DAYS} days of its visit.",
        f"SELECT s.{{id}} AS row_id FROM {{t}} s JOIN visit_occurrence v ON "
        f"v.visit_occurrence_id = s.visit_occurrence_id WHERE s.{{c}} < v.visit_start_date - "
        f"INTERVAL {VISIT_GRACE_DAYS} DAY OR s.{{c}} > v.visit_end_date + "
        f"INTERVAL {VISIT_GRACE_DAYS} DAY",
        "SELECT count(*) FROM {t} s JOIN visit_occurrence v ON v.visit_occurrence_id = "
        "s.visit_occurrence_id WHERE s.{c} IS NOT NULL",
        "visit_event_dates", requires=("{table}", "visit_occurrence"),
    ),
    _t(
        "future_date", "field", "plausibility", "temporal", "verification", 0.0,
        "{table}.{column} is not in the future.",
        "SELECT {id} AS row_id FROM {t} WHERE CAST({c} AS DATE) > current_date",
        _CNT_NN, "data_dates",
    ),
)  # fmt: skip

#: Check types whose every violating row is impossible data: they fail on a single row.
IMPOSSIBLE: frozenset[str] = frozenset(
    {
        "cdm_table", "cdm_field", "is_primary_key", "is_required", "is_foreign_key",
        "visit_same_person", "unit_dimension", "plausible_birth_date", "implausible_age",
        "plausible_lab_range", "plausible_upper_bound", "plausible_sex", "plausible_sex_concept",
        "non_negative",
        "start_before_end", "death_after_birth", "after_birth", "before_death", "future_date",
        "datetime_matches_date", "npi_check_digit", "format_conformance",
        "concept_in_vocabulary", "concept_domain",
        "code_shape_icd10cm", "code_shape_snomed", "code_shape_loinc", "code_shape_ndc",
        "code_shape_rxnorm", "code_shape_cpt4", "code_shape_hcpcs",
    }
)  # fmt: skip
CHECK_TYPES = tuple(
    replace(ct, severity=ERROR) if ct.name in IMPOSSIBLE else ct for ct in CHECK_TYPES
)

REGISTRY: dict[str, CheckType] = {}
for _ct in CHECK_TYPES:
    if _ct.name in REGISTRY:
        raise ValueError(f"check type {_ct.name!r} declared twice")
    REGISTRY[_ct.name] = _ct
