"""Do two warehouses of the same population agree? Row-for-row comparison across formats.

Each reader keys rows in its own id namespace, so rows are compared without their surrogate
keys, with every foreign key replaced by the natural key of the row it points at (the source
record, ``Patient/<id>``, ``Encounter/<id>``, a claim line as ``Claim/<id>#<line>``), and amounts
rounded to cents. What remains different between FHIR and a Synthea CSV export is listed here,
each with its reason: the same lists drive `tests/ingest/test_format_invariance.py` and the
demo's "Format agreement" page (docs/mapping.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from medmine.warehouse import Warehouse, table
from medmine.warehouse.sql import ident

__all__ = [
    "CSV_LACKS",
    "DISTINCT_IN_CSV",
    "FHIR_ONLY_ROWS",
    "FHIR_ONLY_TABLES",
    "PENDING_FHIR",
    "TABLES",
    "TableAgreement",
    "canonical",
    "compare",
    "csv_skip",
]

#: Tables compared, in the order the report lists them.
TABLES = (
    "person",
    "observation_period",
    "death",
    "location",
    "care_site",
    "provider",
    "payer_plan_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
    "note",
    "mm_claim",
    "mm_claim_line",
    "cost",
    "mm_person_identity",
)
#: Columns that say which load or reader wrote a row, not what the row says.
PROVENANCE = {("mm_person_identity", "source")}

#: (table, column) -> why Synthea's CSV layout cannot give it.
CSV_LACKS: dict[tuple[str, str], str] = {
    ("person", "birth_datetime"): "same date; kept (listed so a change shows)",
    ("death", "death_datetime"): "patients.csv DEATHDATE is a date: the time of death is lost",
    ("mm_person_identity", "deceased_datetime"): "patients.csv DEATHDATE is a date",
    ("location", "address_2"): "patients.csv ADDRESS is one line",
    ("location", "country_source_value"): "no country column in patients/organizations.csv",
    ("location", "latitude"): "organizations in FHIR have no geolocation; CSV rows do not "
    "round-trip the position of FHIR Location resources",
    ("location", "longitude"): "as latitude",
    ("care_site", "place_of_service_source_value"): "organizations.csv has no organization type",
    ("provider", "npi"): "providers.csv has no NPI column",
    ("provider", "specialty_source_value"): "SPECIALITY is free text; FHIR gives the role's "
    "text too but the FHIR reader copies it after the load from mm_provider_role",
    ("provider", "care_site_id"): "copied from PractitionerRole in FHIR (mm_provider_role)",
    ("condition_occurrence", "condition_start_datetime"): "conditions.csv START is a date",
    ("condition_occurrence", "condition_end_datetime"): "conditions.csv STOP is a date",
    ("drug_exposure", "days_supply"): "medications.csv has no supply duration (its STOP "
    "gives the end date instead)",
    ("drug_exposure", "drug_exposure_end_datetime"): "CSV STOP is a stop time; a FHIR "
    "MedicationRequest gives a supply duration (end date computed, no time)",
    ("drug_exposure", "sig"): "medications.csv has no dosage text",
    ("measurement", "range_low"): "observations.csv has no reference range",
    ("measurement", "range_high"): "observations.csv has no reference range",
    ("observation", "value_source_value"): "observations.csv VALUE holds a coded value's "
    "display text only, not its code; allergies.csv's reaction is not mapped from FHIR",
    ("observation", "observation_datetime"): "allergies.csv START is a date",
    ("observation", "qualifier_source_value"): "FHIR gives the allergy's criticality, "
    "allergies.csv the first reaction's severity (different facts)",
    ("payer_plan_period", "plan_source_value"): "payer_transitions.csv has no plan id",
    ("payer_plan_period", "payer_plan_period_start_date"): "same day; listed so a change shows",
    ("mm_claim", "claim_status"): "Claim.status (active) vs claims.csv STATUS1 (billing "
    "status CLOSED): different facts",
    ("mm_claim", "claim_end_date"): "claims.csv has one SERVICEDATE; FHIR Synthea gives no "
    "billable period end",
    ("mm_claim", "billing_provider_id"): "claims.csv names no billing organization",
    ("mm_claim_line", "service_end_date"): "every CSV transaction has a TODATE",
    ("cost", "paid_patient_coinsurance"): "CSV payment methods tell copay from other patient "
    "payments, not coinsurance from deductible",
    ("cost", "paid_patient_deductible"): "as paid_patient_coinsurance",
    ("cost", "payer_plan_period_id"): "transactions name the payer, not the coverage period",
    ("mm_person_identity", "phone"): "patients.csv has no phone",
    ("mm_person_identity", "email"): "patients.csv has no e-mail",
    ("mm_person_identity", "mrn"): "patients.csv has no medical record number",
}
#: Tables only FHIR fills: (table, reason).
FHIR_ONLY_TABLES = {
    "note": "clinical notes (DocumentReference) have no file in Synthea's CSV export",
}
#: Rows one format has and the other cannot, as a SQL filter on the canonical rows of the
#: FHIR side that selects them (compared FHIR vs NDJSON only).
FHIR_ONLY_ROWS: dict[str, tuple[str, str]] = {
    "location": (
        "location_source_value LIKE 'Location/%' OR location_source_value LIKE 'fhir:Location/%'",
        "FHIR Location resources; CSV addresses are those of patients and organizations",
    ),
}
#: Tables where CSV keeps byte-identical rows once: a CSV row has no id, so the same line twice
#: is one record (issue 13); FHIR keeps repeated measurements under their own ids. The
#: `repeated_measurement` quality check counts them and covariates count them once.
DISTINCT_IN_CSV = {
    "measurement": "Synthea repeats vital signs under new ids; CSV lines are identical",
    "observation": "as measurement",
    "procedure_occurrence": "Synthea repeats some procedures at the same time",
    "drug_exposure": "Synthea repeats some prescriptions and immunizations at the same time",
    "condition_occurrence": "Synthea records a few conditions twice in one encounter",
}
#: Decisions of docs/mapping.md the FHIR reader does not follow yet:
#: (table, column) -> request in /work/blind/fhir-requests.md.
#: Empty since R5 (value-less observations and panels) landed; R1, R3, R4 landed before it.
PENDING_FHIR: dict[tuple[str, str], str] = {}


def _natural_keys(wh: Warehouse) -> dict[tuple[str, int], str]:
    """(table, row id) -> the source key of the record it came from, normalised."""
    rows = wh.con.execute(
        "SELECT table_name, row_id, min(source_key) FROM mm_source_record GROUP BY ALL"
    ).fetchall()
    keys = {(t, rid): _norm(k) for t, rid, k in rows}
    # a claim line is known by its claim and line number (readers key its record differently)
    for line, claim, n in wh.con.execute(
        "SELECT claim_line_id, claim_id, line_number FROM mm_claim_line"
    ).fetchall():
        keys[("mm_claim_line", line)] = f"{keys.get(('mm_claim', claim), '?')}#{n}"
    return keys


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        for prefix in ("urn:uuid:", "fhir:"):
            if v.startswith(prefix):
                v = v[len(prefix) :]
    if isinstance(v, float):
        return round(v, 2)
    return v


def canonical(
    wh: Warehouse, name: str, *, skip: set[str] = frozenset(), where: str | None = None
) -> Counter:
    """The rows of `name` without surrogate keys, foreign keys as natural keys."""
    spec = table(name)
    keys = _natural_keys(wh)
    cols = [
        c
        for c in spec.column_names
        if c not in spec.primary_key or len(spec.primary_key) > 1
        if (name, c) not in PROVENANCE and c not in skip
    ]
    if name == "mm_person_identity":
        cols = [c for c in cols if c != "person_id"] + ["person_id"]
    fks = {c: spec.column(c).fk for c in cols}
    sql = f"SELECT {', '.join(map(ident, cols))} FROM {ident(name)}"
    sql += f" WHERE {where}" if where else ""  # `where` comes from FHIR_ONLY_ROWS only
    out: Counter = Counter()
    for row in wh.con.execute(sql).fetchall():
        vals = []
        for c, v in zip(cols, row, strict=True):
            fk = fks[c]
            if fk is not None and v is not None:
                v = keys.get((fk[0], v), f"{fk[0]}:?")
            elif c == "cost_event_id" and v is not None:
                v = keys.get(("mm_claim_line", v)) or keys.get(("mm_claim", v), "?")
            elif c == "observation_period_id" or c == "person_id" and name == "mm_person_identity":
                v = keys.get(("person", v), "?")
            vals.append(_norm(v))
        out[tuple(vals)] += 1
    return out


def diff(a: Counter, b: Counter) -> tuple[int, int, list]:
    only_a, only_b = a - b, b - a
    return sum(only_a.values()), sum(only_b.values()), list(only_a)[:3] + list(only_b)[:3]


def csv_skip(name: str) -> set[str]:
    """Columns of `name` left out of the FHIR-vs-CSV comparison (documented or pending)."""
    return {c for (t, c) in {**CSV_LACKS, **PENDING_FHIR} if t == name}


@dataclass(frozen=True)
class TableAgreement:
    """How one table of two warehouses compares."""

    table: str
    rows_a: int
    rows_b: int
    only_a: int
    only_b: int
    columns_left_out: tuple[str, ...]
    note: str = ""

    @property
    def agrees(self) -> bool:
        """Every compared row is in both warehouses."""
        return self.only_a == 0 and self.only_b == 0


def compare(a: Warehouse, b: Warehouse, *, csv: bool) -> list[TableAgreement]:
    """Compare every table of `TABLES` between `a` (FHIR) and `b` (NDJSON, or CSV if `csv`).

    With `csv`, the documented differences are left out (columns of `CSV_LACKS` and
    `PENDING_FHIR`, rows of `FHIR_ONLY_ROWS`, repetitions of `DISTINCT_IN_CSV`, tables of
    `FHIR_ONLY_TABLES` reported with their reason).
    """
    out = []
    for name in TABLES:
        pending = {c for (t, c) in PENDING_FHIR if t == name}
        skip = csv_skip(name) if csv else pending
        where = FHIR_ONLY_ROWS.get(name, (None,))[0] if csv else None
        if csv and name in FHIR_ONLY_TABLES:
            n = a.con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()[0]
            out.append(TableAgreement(name, n, 0, 0, 0, (), FHIR_ONLY_TABLES[name]))
            continue
        fa = canonical(a, name, skip=skip, where=f"NOT ({where})" if where else None)
        fb = canonical(b, name, skip=skip)
        note = ""
        if csv and name in DISTINCT_IN_CSV:
            fa, fb = Counter(set(fa)), Counter(set(fb))
            note = "repetitions counted once: " + DISTINCT_IN_CSV[name]
        only_a, only_b, _ = diff(fa, fb)
        if csv and (name, "*rows") in PENDING_FHIR:
            note = (note + "; " if note else "") + "pending FHIR " + PENDING_FHIR[(name, "*rows")]
        out.append(
            TableAgreement(
                name, sum(fa.values()), sum(fb.values()), only_a, only_b,
                tuple(sorted(skip - {"*rows"})), note,
            )
        )  # fmt: skip
    return out
