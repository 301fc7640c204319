"""Instance generators: expand each check type over `medmine.warehouse.schema.TABLES` and the
shipped reference data (lab ranges, sex-specific codes, format rules).

A generator yields parameter dicts; ``table`` and ``column`` name what is checked, ``key``
distinguishes several instances on the same column, ``threshold`` overrides the type's one,
every other key fills a placeholder of the type's SQL templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from medmine.quality import vocab
from medmine.quality._reference import format_rules, lab_ranges, sex_specific_codes
from medmine.quality._registry import BIRTH, DEATH_GRACE_DAYS, OUTLIER_MIN_EVENTS, OUTLIER_Z
from medmine.quality.units import accepted_units, linear_map, loinc_code_sql, wrong_dimension_units
from medmine.warehouse.schema import DOMAINS, TABLES, TableSpec, domain, table
from medmine.warehouse.sql import ident, literal

Params = dict[str, Any]

#: Tables whose rows are clinical events of a person (used by several checks): the tables of
#: the event domains declared on the schema, and the event tables outside those domains.
EVENT_TABLES = (
    *(d.table for d in DOMAINS.values()),
    "visit_detail",
    "note",
    "mm_claim",
    "mm_claim_line",
)
#: OMOP domain of the concept columns that are not the primary concept of an event domain
#: (the event domains' own columns come from the schema: ``condition`` -> ``Condition``).
OTHER_CONCEPT_DOMAINS = {
    ("person", "gender_concept_id"): "Gender",
    ("person", "race_concept_id"): "Race",
    ("person", "ethnicity_concept_id"): "Ethnicity",
    ("death", "cause_concept_id"): "Condition",
}
#: Vocabulary ids (as Athena spells them) -> the upper-cased spellings met in source values.
VOCAB_ALIASES = {
    "ICD10CM": ("ICD10CM",),
    "SNOMED": ("SNOMED", "SCT"),
    "LOINC": ("LOINC",),
    "NDC": ("NDC",),
    "RxNorm": ("RXNORM",),
    "CPT4": ("CPT4", "CPT"),
    "HCPCS": ("HCPCS",),
}
_NON_NEGATIVE = ("quantity", "days_supply", "refills", "units", "range_low", "range_high")
_MONEY_PREFIXES = ("total_", "paid_", "amount_")
_MONEY_SUFFIXES = ("_amount", "_paid", "_billed", "_allowed", "_charge", "_cost")
_DATA_ROLES = ("clinical", "derived", "claims", "identity", "privacy")


#: Kept for `medmine.quality.profile`, which still imports it from here; new code uses
#: `medmine.warehouse.sql.ident`.
q = ident


def _base(spec: TableSpec, column: str | None = None, **extra: Any) -> Params:
    p: Params = {"table": spec.name, "t": ident(spec.name), "id": ident(spec.primary_key[0])}
    if column is not None:
        p["column"] = column
        p["c"] = ident(column)
    p.update(extra)
    return p


def _has(spec: TableSpec, name: str) -> bool:
    return name in spec.column_names


def _keys(*cols: str) -> Params:
    """Placeholders for checks on the distinct values of `cols` joined back to the rows."""
    return {
        "cols": ", ".join(ident(c) for c in cols),
        "cols_s": ", ".join(f"s.{ident(c)}" for c in cols),
        "join": " AND ".join(f"r.{ident(c)} IS NOT DISTINCT FROM b.{ident(c)}" for c in cols),
    }


def _data_tables() -> list[TableSpec]:
    return [t for t in TABLES if t.role in _DATA_ROLES]


# ---- generators ----
def tables() -> Iterator[Params]:
    """Every declared table (cdm_table, cdm_field)."""
    for spec in TABLES:
        cols = ", ".join(f"({literal(c.name)}, {literal(c.sql_type)})" for c in spec.columns)
        yield {"table": spec.name, "table_name": literal(spec.name), "columns": cols,
               "ncolumns": len(spec.columns)}  # fmt: skip


def primary_keys() -> Iterator[Params]:
    """Single-column primary keys."""
    for spec in TABLES:
        if len(spec.primary_key) == 1:
            yield _base(spec, spec.primary_key[0])


def required_columns() -> Iterator[Params]:
    """Every NOT NULL column of every table."""
    for spec in TABLES:
        for c in spec.columns:
            if c.required:
                yield _base(spec, c.name)


def foreign_keys() -> Iterator[Params]:
    """Every declared foreign key."""
    for spec in TABLES:
        for c in spec.columns:
            if c.fk:
                ft, fc = c.fk
                # Optional references of 0 mean "unknown" in many OMOP ETLs: not a dangling id.
                zero = "" if c.required else f" AND s.{ident(c.name)} <> 0"
                text = "" if c.required else " (0 counts as no reference)"
                yield _base(spec, c.name, ftable=ft, fcolumn=fc, ft=ident(ft), fc=ident(fc),
                            zero=zero, zero_text=text)  # fmt: skip


def _concept_cols(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns if c.name.endswith("_concept_id") and c.type == "int"]


def concept_columns() -> Iterator[Params]:
    """Every ``*_concept_id`` column outside the vocabulary tables."""
    for spec in TABLES:
        if spec.role != "vocabulary":
            for name in _concept_cols(spec):
                yield _base(spec, name)


def standard_concept_columns() -> Iterator[Params]:
    """Concept columns that must hold standard concepts (not ``*_source_concept_id``)."""
    for spec in TABLES:
        if spec.role != "vocabulary":
            for name in _concept_cols(spec):
                if not name.endswith("_source_concept_id"):
                    yield _base(spec, name)


def domain_columns() -> Iterator[Params]:
    """Primary concept columns with their expected domain (``condition`` -> ``Condition``)."""
    for d in DOMAINS.values():
        omop_domain = d.name.capitalize()
        yield _base(table(d.table), d.concept_column, domain=omop_domain,
                    domain_id=literal(omop_domain))  # fmt: skip
    for (name, column), omop_domain in OTHER_CONCEPT_DOMAINS.items():
        yield _base(table(name), column, domain=omop_domain, domain_id=literal(omop_domain))


def _source_columns(spec: TableSpec, concept: str) -> tuple[str, str | None] | None:
    """(source value column, source concept column) of concept column `concept`, if coded."""
    d = spec.domain
    if d is not None and concept == d.concept_column:
        sv, sc = d.source_value_column, d.source_concept_column
    else:
        # Coded fields outside the event domains (gender, unit, route...) are not declared on
        # the specs; they follow OMOP's naming: X_concept_id, X_source_value, X_source_concept_id.
        prefix = concept.removesuffix("_concept_id")
        sv, sc = f"{prefix}_source_value", f"{prefix}_source_concept_id"
    if not _has(spec, sv):
        return None
    return sv, (sc if sc and _has(spec, sc) else None)


def _coded(spec: TableSpec) -> list[tuple[str, str, str | None, bool]]:
    """(concept column, source value column, source concept column, required) per coded field."""
    out = []
    for name in _concept_cols(spec):
        if name.endswith("_source_concept_id"):
            continue
        cols = _source_columns(spec, name)
        if cols is not None:
            out.append((name, *cols, spec.column(name).required))
    return out


def coded_columns() -> Iterator[tuple[TableSpec, str, str, str | None]]:
    """Coded fields of the data tables: (spec, concept, source value, source concept column)."""
    for spec in _data_tables():
        for cc, sv, sc, _required in _coded(spec):
            yield spec, cc, sv, sc


def coded_fields() -> Iterator[Params]:
    """Coded fields: a concept column with its source value column."""
    for spec in _data_tables():
        for cc, sv, _sc, required in _coded(spec):
            if required:
                scope, text = "TRUE", "in every row"
            else:
                scope = f"nullif(trim({ident(sv)}), '') IS NOT NULL"
                text = f"where {sv} is present"
            yield _base(spec, cc, scope=scope, scope_text=text)


def primary_source_values() -> Iterator[Params]:
    """Source value columns of required concept columns."""
    for spec in _data_tables():
        for _cc, sv, _sc, required in _coded(spec):
            if required:
                yield _base(spec, sv)


def source_concept_fields() -> Iterator[Params]:
    """Source concept columns paired with their source value column."""
    for spec in _data_tables():
        for _cc, sv, sc, _req in _coded(spec):
            if sc:
                yield _base(spec, sc, sv=ident(sv))


def value_tables() -> Iterator[Params]:
    """Tables holding results (measurement, observation)."""
    for name, cols in (
        (domain("measurement").table, ("value_as_number", "value_as_concept_id")),
        (
            domain("observation").table,
            ("value_as_number", "value_as_string", "value_as_concept_id"),
        ),
    ):
        spec = table(name)
        conds = [
            f"coalesce({ident(c)}, 0) = 0" if c.endswith("_concept_id") else f"{ident(c)} IS NULL"
            for c in cols
        ]
        yield _base(spec, "value_as_number", value_columns=", ".join(cols),
                    all_null=" AND ".join(conds))  # fmt: skip


def unit_tables() -> Iterator[Params]:
    """Tables with numeric results and units (measurement, observation)."""
    for spec in TABLES:
        if _has(spec, "value_as_number") and _has(spec, "unit_source_value"):
            yield _base(spec, "unit_source_value")


def person_only() -> Iterator[Params]:
    """The person table (checks written for it)."""
    present = [t for t in TABLES if t.name in EVENT_TABLES]
    no_events = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {ident(t.name)} e WHERE e.person_id = p.person_id)"
        for t in present
    )
    spec = table("person")
    yield _base(spec, event_tables=", ".join(t.name for t in present), no_events=no_events)


def death_only() -> Iterator[Params]:
    """The death table."""
    yield _base(table("death"), "death_date")


def event_tables() -> Iterator[Params]:
    """Clinical event tables with a single id column (duplicate rows)."""
    for spec in TABLES:
        if spec.name in EVENT_TABLES or spec.name == "observation_period":
            others = [c for c in spec.column_names if c != spec.primary_key[0]]
            yield _base(spec, others=", ".join(ident(c) for c in others))


def datetime_pairs() -> Iterator[Params]:
    """``X_datetime`` columns with their ``X_date`` column."""
    for spec in TABLES:
        for c in spec.columns:
            if c.type == "timestamp" and c.name.endswith("_datetime"):
                d = c.name.removesuffix("_datetime") + "_date"
                if _has(spec, d):
                    yield _base(spec, c.name, date_column=d, d=ident(d))


def format_rules_gen() -> Iterator[Params]:
    """Fields with a declared format (``data/format_rules.csv``)."""
    for r in format_rules():
        spec = table(r["table_name"])
        yield _base(spec, r["column_name"], pattern=literal(r["pattern"]),
                    format=r["description"])  # fmt: skip


def code_sources(vocabulary: str) -> Iterator[Params]:
    """Columns holding codes of `vocabulary`, with SQL for the code and its vocabulary."""
    vocabs = ", ".join(literal(v) for v in VOCAB_ALIASES[vocabulary])
    for spec in _data_tables():
        for _cc, sv, sc, required in _coded(spec):
            if not required:
                continue
            col = f"s.{ident(sv)}"
            code = f"trim(regexp_replace({col}, '^[A-Za-z0-9]+:', ''))"
            voc = f"coalesce(nullif(regexp_extract({col}, '^([A-Za-z0-9]+):', 1), ''), "
            voc += "sk.vocabulary_id)"
            keys = _keys(sv, sc) if sc else _keys(sv)
            yield _base(spec, sv, vocab=voc, vocabs=vocabs, **keys,
                        src_concept=f"s.{ident(sc)}" if sc else "NULL",
                        valid=vocab.sql_valid(vocabulary, code))  # fmt: skip
    by_name = {t.name: t for t in TABLES}
    extra: list[tuple[str, str, str, str, tuple[str, ...]]] = [
        ("concept", "concept_code", "s.vocabulary_id", "s.concept_code",
         ("concept_code", "vocabulary_id"))
    ]  # fmt: skip
    if vocabulary == "ICD10CM":
        for k in range(1, 13):
            col = f"s.dx_{k}"
            extra.append(
                ("mm_claim", f"dx_{k}",
                 f"CASE WHEN {col} IS NOT NULL THEN coalesce(s.dx_vocabulary_id, 'ICD10CM') END",
                 f"trim({col})", (f"dx_{k}", "dx_vocabulary_id"))
            )  # fmt: skip
    if vocabulary in ("CPT4", "HCPCS"):
        extra.append(
            ("mm_claim_line", "procedure_code", "s.procedure_vocabulary_id",
             "trim(s.procedure_code)", ("procedure_code", "procedure_vocabulary_id"))
        )  # fmt: skip
    if vocabulary == "NDC":
        extra.append(
            ("mm_claim_line", "ndc_code", "CASE WHEN s.ndc_code IS NOT NULL THEN 'NDC' END",
             "trim(s.ndc_code)", ("ndc_code",))
        )  # fmt: skip
    for tname, column, voc, code, cols in extra:
        yield _base(by_name[tname], column, vocab=voc, vocabs=vocabs, src_concept="NULL",
                    **_keys(*cols), valid=vocab.sql_valid(vocabulary, code))  # fmt: skip


def npi_columns() -> Iterator[Params]:
    """Columns holding NPIs."""
    for spec in TABLES:
        for c in spec.columns:
            if c.name == "npi" or c.name.endswith("_npi"):
                yield _base(spec, c.name, valid=vocab.sql_valid("NPI", ident(c.name)))


def non_negative_columns() -> Iterator[Params]:
    """Counts, supplies and money amounts."""
    for spec in _data_tables():
        for c in spec.columns:
            if c.type not in ("int", "double", "bigint"):
                continue
            n = c.name
            if (
                n in _NON_NEGATIVE
                or n.startswith(_MONEY_PREFIXES)
                or n.endswith(_MONEY_SUFFIXES)
                or n == "patient_paid"
            ):
                yield _base(spec, n)


def paid_billed() -> Iterator[Params]:
    """Paid amounts with the billed amount they must not exceed."""
    by_name = {t.name: t for t in TABLES}
    for tname, paid, billed in (
        ("mm_claim", "total_paid", "total_billed"),
        ("mm_claim", "total_allowed", "total_billed"),
        ("mm_claim_line", "paid_amount", "billed_amount"),
        ("mm_claim_line", "allowed_amount", "billed_amount"),
    ):
        yield _base(by_name[tname], paid, billed=billed, b=ident(billed))


def start_end_pairs() -> Iterator[Params]:
    """(start, end) date pairs of every table (``X_start_date``/``X_end_date`` and kin)."""
    for spec in TABLES:
        names = spec.column_names
        for n in names:
            t = spec.column(n).type
            if t not in ("date", "timestamp"):
                continue
            start = None
            if "_end_" in n or n.endswith("_end_date"):
                cand = n.replace("_end_", "_start_")
                if cand.endswith("_end_date"):
                    cand = cand.removesuffix("_end_date") + "_start_date"
                start = cand if cand in names else None
                if start is None:
                    plain = n.replace("_end", "")
                    start = plain if plain in names and plain != n else None
            elif n == "end_date" and "start_date" in names:
                start = "start_date"
            elif n == "discharge_date" and "admission_date" in names:
                start = "admission_date"
            if start and spec.column(start).type == t:
                yield _base(spec, n, start_column=start, s=ident(start))


def _person_tables() -> list[TableSpec]:
    return [t for t in _data_tables() if t.person_column and t.name != "person"]


def person_dates() -> Iterator[Params]:
    """Date columns of tables with a person (event dates versus birth and death)."""
    for spec in _person_tables():
        if spec.name in ("mm_person_identity", "death", "mm_consent"):
            continue
        for c in spec.columns:
            if c.type == "date":
                yield _base(spec, c.name, pc=ident(spec.person_column))


def person_event_dates() -> Iterator[Params]:
    """`person_dates` without planned ends (coverage to 2099-12-31 outlives a death)."""
    for p in person_dates():
        if (p["table"], p["column"]) not in FUTURE_OK:
            yield p


def _start_date(spec: TableSpec) -> str | None:
    for c in spec.columns:
        if c.type == "date" and c.required:
            return c.name
    return None


def event_start_dates() -> Iterator[Params]:
    """The first required date of each clinical event table."""
    for spec in _person_tables():
        if spec.name in EVENT_TABLES or spec.role == "derived":
            d = _start_date(spec)
            if d:
                yield _base(spec, d, pc=ident(spec.person_column))


def visit_event_dates() -> Iterator[Params]:
    """Event tables with a visit reference and a start date."""
    for spec in _person_tables():
        if spec.name != "visit_occurrence" and _has(spec, "visit_occurrence_id"):
            d = _start_date(spec)
            if d:
                yield _base(spec, d)


#: Dates that may lie in the future by design (planned ends of coverage, supply, consent).
FUTURE_OK = (
    ("payer_plan_period", "payer_plan_period_end_date"),
    ("drug_exposure", "drug_exposure_end_date"),
    ("drug_exposure", "drug_exposure_end_datetime"),
    ("drug_exposure", "verbatim_end_date"),
    ("mm_consent", "end_date"),
)


def data_dates() -> Iterator[Params]:
    """Every date and timestamp column of data tables (not system timestamps, not planned ends)."""
    for spec in _data_tables():
        for c in spec.columns:
            if c.type in ("date", "timestamp") and (spec.name, c.name) not in FUTURE_OK:
                yield _base(spec, c.name)


def _is_loinc(code: str) -> str:
    """SQL: the measurement row ``m`` is of LOINC `code` (by source value or concept)."""
    d = domain("measurement")
    concept = f"m.{ident(d.concept_column)}"
    c = literal(code)
    return (
        f"({loinc_code_sql('m')} = {c} OR {concept} IN (SELECT concept_id FROM "
        f"concept WHERE vocabulary_id = 'LOINC' AND concept_code = {c}))"
    )


def lab_ranges_gen() -> Iterator[Params]:
    """One instance per LOINC code with a plausible range, over every unit convertible to its
    canonical one (``value * factor + shift`` is the value in the canonical unit).
    """
    spec = table(domain("measurement").table)
    for r in lab_ranges():
        units = []
        for u in accepted_units()[r["loinc"]]:
            m = linear_map(r["loinc"], u)
            units.append(f"({literal(u)}, {m.factor!r}, {m.offset!r})")
        yield _base(spec, "value_as_number", key=r["loinc"], loinc=r["loinc"], name=r["name"],
                    unit=r["unit"], low=r["low"], high=r["high"], is_loinc=_is_loinc(r["loinc"]),
                    units=", ".join(units), n_units=len(units),
                    loinc_concept=r["loinc"])  # fmt: skip


def unit_dimensions() -> Iterator[Params]:
    """One instance per LOINC code: units that are of another dimension than its canonical one."""
    spec = table(domain("measurement").table)
    for r in lab_ranges():
        wrong = wrong_dimension_units(r["loinc"])
        if not wrong:
            continue
        yield _base(spec, "unit_source_value", key=r["loinc"], loinc=r["loinc"], name=r["name"],
                    unit=r["unit"], is_loinc=_is_loinc(r["loinc"]),
                    examples=", ".join(wrong[:3]),
                    wrong=", ".join(f"({literal(u)})" for u in wrong),
                    loinc_concept=r["loinc"])  # fmt: skip


#: Upper bounds of drug supply fields: OHDSI DataQualityDashboard's plausibleValueHigh.
UPPER_BOUNDS = (
    ("drug_exposure", "days_supply", 365, "a year's supply, DQD's plausibleValueHigh"),
    ("drug_exposure", "quantity", 1095, "three units a day for a year, DQD's plausibleValueHigh"),
    ("drug_exposure", "refills", 24, "two years of monthly refills, DQD's plausibleValueHigh"),
)


def upper_bounds() -> Iterator[Params]:
    """Fields with an upper plausible bound (`UPPER_BOUNDS`)."""
    for tname, column, high, why in UPPER_BOUNDS:
        yield _base(table(tname), column, high=high, why=why)


def visit_event_tables() -> Iterator[Params]:
    """Tables whose rows refer to a visit and a person (visit of the same person)."""
    for spec in _person_tables():
        if spec.name != "visit_occurrence" and _has(spec, "visit_occurrence_id"):
            yield _base(spec, "visit_occurrence_id", pc=ident(spec.person_column))


def provider_fields() -> Iterator[Params]:
    """What a provider row should carry: a specialty and an NPI."""
    spec = table("provider")
    yield _base(spec, "specialty_concept_id", key="specialty", what="a specialty",
                missing="coalesce(specialty_concept_id, 0) = 0 AND "
                "nullif(trim(specialty_source_value), '') IS NULL")  # fmt: skip
    yield _base(spec, "npi", key="npi", what="an NPI", missing="nullif(trim(npi), '') IS NULL")


def _source_group(entity_table: str, key: str) -> tuple[str, str]:
    """SQL join and expression giving the load that brought entity `key` (a visit, a person).

    Counts are compared within one source: a warehouse holding a sparse extract and full
    EHR histories has two populations, and neither is an outlier of the other.
    """
    join = (
        f"LEFT JOIN mm_source_record sr ON sr.table_name = {literal(entity_table)} "
        f"AND sr.row_id = {key}"
    )
    return join, "coalesce(sr.load_id, '')"


def _outlier(counts: str) -> Params:
    """SQL pieces of a robust z-score over the log counts ``ln n`` of `counts` (``k, grp, n``),
    within each source group ``grp``.

    The scale is MAD / 0.6745 (Iglewicz and Hoaglin's modified z-score); when more than half
    the log counts are equal (MAD = 0), the mean absolute deviation times 1.2533 stands in for
    it. Logarithms because event counts are heavy-tailed: a busy patient is not an error.
    """
    stats = (
        "SELECT grp, med, coalesce(nullif(mad, 0) / 0.6745, meanad * 1.2533) AS scale FROM "
        "(SELECT c.grp, m.med, median(abs(ln(c.n) - m.med)) AS mad, avg(abs(ln(c.n) - m.med)) "
        f"AS meanad FROM ({counts}) c JOIN (SELECT grp, median(ln(n)) AS med FROM ({counts}) c0 "
        "GROUP BY grp) m ON m.grp = c.grp GROUP BY c.grp, m.med) z"
    )
    outlier = (
        f"g.grp = st.grp AND g.n >= {OUTLIER_MIN_EVENTS} AND st.scale > 0 AND "
        f"(ln(g.n) - st.med) / st.scale > {OUTLIER_Z}"
    )
    return {"counts": counts, "stats": stats, "outlier": outlier}


def _event_tables_with(column: str) -> list[TableSpec]:
    return [
        t for t in _person_tables() if t.name in EVENT_TABLES and t.name != "visit_occurrence"
        and _has(t, column)
    ]  # fmt: skip


def visit_count_tables() -> Iterator[Params]:
    """Event tables with a visit: rows per visit (within the visit's source)."""
    join, grp = _source_group("visit_occurrence", "e.visit_occurrence_id")
    for spec in _event_tables_with("visit_occurrence_id"):
        counts = (
            f"SELECT e.visit_occurrence_id AS k, {grp} AS grp, count(*) AS n FROM "
            f"{ident(spec.name)} e {join} WHERE e.visit_occurrence_id IS NOT NULL GROUP BY 1, 2"
        )
        yield _base(spec, **_outlier(counts))


def person_day_tables() -> Iterator[Params]:
    """Event tables with a start date: rows per person and day (within the person's source)."""
    for spec in _person_tables():
        if spec.name not in EVENT_TABLES:
            continue
        d = _start_date(spec)
        if not d:
            continue
        pc, dc = ident(spec.person_column), ident(d)
        join, grp = _source_group("person", f"e.{pc}")
        # one row per person-day; its id is the person's (a date on the page would be PHI)
        counts = (
            f"SELECT e.{pc} AS k, e.{dc} AS d, {grp} AS grp, count(*) AS n FROM "
            f"{ident(spec.name)} e {join} WHERE e.{dc} IS NOT NULL GROUP BY 1, 2, 3"
        )
        yield _base(spec, **_outlier(counts))


def person_count_tables() -> Iterator[Params]:
    """Event tables: rows per person (within the person's source)."""
    for spec in _person_tables():
        if spec.name in EVENT_TABLES:
            pc = ident(spec.person_column)
            join, grp = _source_group("person", f"e.{pc}")
            counts = (
                f"SELECT e.{pc} AS k, {grp} AS grp, count(*) AS n FROM {ident(spec.name)} e "
                f"{join} GROUP BY 1, 2"
            )
            yield _base(spec, **_outlier(counts))


def unit_rules() -> Iterator[Params]:
    """Allowed units per listed LOINC code (canonical and convertible ones)."""
    spec = table(domain("measurement").table)
    pairs = [(code, u) for code, units in accepted_units().items() for u in units]
    yield _base(spec, "unit_source_value",
                loincs=", ".join(f"({literal(c)})" for c in accepted_units()),
                pairs=", ".join(f"({literal(c)}, {literal(u)})" for c, u in pairs),
                loinc_code=loinc_code_sql("m"))  # fmt: skip


def sex_specific() -> Iterator[Params]:
    """Tables with diagnoses or procedures, once per sex."""
    for d in (domain("condition"), domain("procedure"), domain("observation")):
        spec = table(d.table)
        sv = f"s.{ident(d.source_value_column)}"
        code = f"trim(regexp_replace({sv}, '^[A-Za-z0-9]+:', ''))"
        voc = f"upper(coalesce(nullif(regexp_extract({sv}, '^([A-Za-z0-9]+):', 1), ''), "
        voc += "sk.vocabulary_id))"
        for sex, other in (("male", 8532), ("female", 8507)):
            conds = []
            for r in sex_specific_codes():
                if r["sex"] != sex:
                    continue
                c = literal(r["code"])
                v = literal(r["vocabulary_id"].upper())
                if r["match"] == "prefix":
                    conds.append(f"({voc} = {v} AND replace({code}, '.', '') LIKE {c} || '%')")
                else:
                    conds.append(f"({voc} = {v} AND {code} = {c})")
            sc = d.source_concept_column
            yield _base(spec, d.source_value_column, key=sex, sex=sex, other_gender=other,
                        matches=" OR ".join(conds), src_concept=f"s.{ident(sc)}",
                        **_keys(d.source_value_column, sc))  # fmt: skip


def sex_specific_concepts() -> Iterator[Params]:
    """Concept columns of diagnoses and procedures, once per sex, with the concept set built
    from the vocabulary: the curated codes' concepts, their 'Maps to' targets, descendants.
    """
    for d in (domain("condition"), domain("procedure"), domain("observation")):
        spec = table(d.table)
        for sex, other in (("male", 8532), ("female", 8507)):
            conds = []
            for r in sex_specific_codes():
                if r["sex"] != sex:
                    continue
                v, c = literal(r["vocabulary_id"]), literal(r["code"])
                if r["match"] == "prefix":
                    conds.append(f"(vocabulary_id = {v} AND replace(concept_code, '.', '') "
                                 f"LIKE {c} || '%')")  # fmt: skip
                else:
                    conds.append(f"(vocabulary_id = {v} AND concept_code = {c})")
            seeds = "SELECT concept_id FROM concept WHERE " + " OR ".join(conds)
            std = (
                f"SELECT concept_id FROM ({seeds}) s0 UNION SELECT cr.concept_id_2 FROM "
                f"concept_relationship cr WHERE cr.relationship_id = 'Maps to' AND "
                f"cr.concept_id_1 IN ({seeds})"
            )
            concepts = (
                f"SELECT concept_id FROM ({std}) s1 UNION SELECT ca.descendant_concept_id FROM "
                f"concept_ancestor ca WHERE ca.ancestor_concept_id IN (SELECT concept_id FROM "
                f"({std}) s2)"
            )
            yield _base(spec, d.concept_column, key=sex, sex=sex, other_gender=other,
                        concepts=concepts)  # fmt: skip


def _events_after_impossible_death() -> str:
    """SQL: rows dated after the death of persons whose death precedes their birth."""
    parts = [
        f"SELECT count(*) AS n FROM {p['t']} s JOIN bad ON bad.person_id = s.{p['pc']} "
        f"WHERE s.{p['c']} > bad.dd + INTERVAL {DEATH_GRACE_DAYS} DAY"
        for p in person_event_dates()
    ]
    return (
        "WITH bad AS (SELECT d.person_id, d.dd FROM (SELECT person_id, min(death_date) AS dd "
        "FROM death GROUP BY person_id) d JOIN person p ON p.person_id = d.person_id "
        f"WHERE d.dd < {BIRTH}) SELECT coalesce(sum(n), 0) FROM ("
        + " UNION ALL ".join(parts)
        + ") x"
    )


#: Check types whose failure explains rows that other checks would report: the SQL counting
#: those downstream rows (the other checks leave them out and the page shows them here).
CONSEQUENCES: dict[str, Callable[[], str]] = {"death_after_birth": _events_after_impossible_death}


GENERATORS: dict[str, Callable[[], Iterator[Params]]] = {
    "tables": tables,
    "primary_keys": primary_keys,
    "required_columns": required_columns,
    "foreign_keys": foreign_keys,
    "concept_columns": concept_columns,
    "standard_concept_columns": standard_concept_columns,
    "domain_columns": domain_columns,
    "coded_fields": coded_fields,
    "primary_source_values": primary_source_values,
    "source_concept_fields": source_concept_fields,
    "value_tables": value_tables,
    "unit_tables": unit_tables,
    "person_only": person_only,
    "death_only": death_only,
    "event_tables": event_tables,
    "datetime_pairs": datetime_pairs,
    "format_rules": format_rules_gen,
    "npi_columns": npi_columns,
    "non_negative_columns": non_negative_columns,
    "paid_billed": paid_billed,
    "start_end_pairs": start_end_pairs,
    "person_dates": person_dates,
    "event_start_dates": event_start_dates,
    "visit_event_dates": visit_event_dates,
    "data_dates": data_dates,
    "lab_ranges": lab_ranges_gen,
    "unit_rules": unit_rules,
    "sex_specific": sex_specific,
    "unit_dimensions": unit_dimensions,
    "sex_specific_concepts": sex_specific_concepts,
    "upper_bounds": upper_bounds,
    "visit_event_tables": visit_event_tables,
    "provider_fields": provider_fields,
    "visit_count_tables": visit_count_tables,
    "person_day_tables": person_day_tables,
    "person_count_tables": person_count_tables,
    "person_event_dates": person_event_dates,
}


def generate(spec: str) -> Iterator[Params]:
    """Run the generator named `spec` (``name`` or ``name:argument``)."""
    name, _, arg = spec.partition(":")
    if name == "code_sources":
        return code_sources(arg)
    return GENERATORS[name]()
