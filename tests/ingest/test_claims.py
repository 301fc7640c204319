from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmine.errors import SourceError
from medmine.ingest import claims
from medmine.warehouse import Reason

from ..conftest import TEST_DATA

GENERIC = TEST_DATA / "claims" / "claims_generic.csv"
SYNPUF = TEST_DATA / "synpuf"
BENE_2008 = SYNPUF / "DE1_0_2008_Beneficiary_Summary_File_Sample_1.csv"
CARRIER = SYNPUF / "DE1_0_2008_to_2010_Carrier_Claims_Sample_1A.csv"


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as f:
        r = csv.DictReader(f)
        return list(r.fieldnames or []), list(r)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, header)
        w.writeheader()
        w.writerows(rows)
    return path


def _counts(report, rtype):
    c = report.counts[rtype]
    return (c.read, c.loaded, c.skipped, c.quarantined)


# ---- generic contract ----
def test_generic_fixture_loads_and_reconciles(wh):
    r = claims.load(GENERIC, wh)
    assert r.reconciles and r.status == "committed"
    assert _counts(r, "ClaimLine") == (11, 8, 0, 3)
    assert _counts(r, "Claim") == (5, 4, 1, 0)
    assert _counts(r, "Patient") == (2, 2, 0, 0)
    assert r.quarantine_reasons == {"dangling_reference": 2, "invalid_code": 1}
    assert r.skip_reasons == {"no_valid_lines": 1}
    assert wh.count("mm_claim") == 4 and wh.count("mm_claim_line") == 8
    assert wh.count("person") == 2 and wh.count("mm_person_identity") == 2


def test_generic_claim_header_totals_and_codes(wh):
    claims.load(GENERIC, wh)
    row = wh.con.execute(
        "SELECT claim_type, billing_npi, place_of_service, dx_1, dx_2, total_billed, "
        "total_allowed, total_paid, patient_paid, claim_start_date::VARCHAR, dx_vocabulary_id "
        "FROM mm_claim WHERE claim_source_value = 'C1001'"
    ).fetchone()
    assert row == (
        "professional", "1234567893", "11", "E11.9", "I10", 240.0, 160.0, 128.0, 32.0,
        "2023-01-10", "ICD10CM",
    )  # fmt: skip
    # undotted input is stored in the dotted ICD-10-CM form
    assert wh.con.execute(
        "SELECT dx_1 FROM mm_claim WHERE claim_source_value = 'C1002'"
    ).fetchone() == ("R07.89",)
    inst = wh.con.execute(
        "SELECT admission_date::VARCHAR, discharge_date::VARCHAR, claim_end_date::VARCHAR "
        "FROM mm_claim WHERE claim_type = 'institutional'"
    ).fetchone()
    assert inst == ("2023-03-02", "2023-03-05", "2023-03-05")
    lines = wh.con.execute(
        "SELECT procedure_vocabulary_id, procedure_code, modifier_1, revenue_code, units "
        "FROM mm_claim_line ORDER BY procedure_code NULLS FIRST"
    ).fetchall()
    assert (None, None, None, "0120", 3.0) in lines
    assert ("HCPCS", "J1100", None, "0250", 2.0) in lines
    assert ("CPT4", "99284", "25", None, 1.0) in lines
    assert wh.con.execute(
        "SELECT display FROM mm_source_concept WHERE vocabulary_id = 'CPT4' AND code = '36415'"
    ).fetchone() == ("Venipuncture",)


def test_generic_messages_carry_no_phi(wh):
    claims.load(GENERIC, wh)
    messages = " ".join(
        m for (m,) in wh.con.execute("SELECT message FROM mm_quarantine").fetchall()
    )
    for value in ("P003", "1987654329", "1956-04-12"):
        assert value not in messages


def test_reload_is_idempotent(wh):
    claims.load([GENERIC, SYNPUF], wh)
    before = wh.counts()
    r = claims.load([GENERIC, SYNPUF], wh)
    after = wh.counts()
    changed = {t for t in before if before[t] != after[t]}
    assert changed <= {"mm_load", "mm_quarantine", "mm_audit"}  # per-load bookkeeping only
    assert r.reconciles and r.totals.loaded == 0
    assert r.skip_reasons["duplicate"] == 8 + 4 + 7 + 3 + 2 + 1 + 2


def _one_line(**changes: str) -> dict[str, str]:
    header, rows = _rows(GENERIC)
    row = dict(rows[0])
    row.update(claim_id="BAD1", line_number="1")
    row.update(changes)
    return row


GENERIC_CASES = [
    ("billing_npi_check_digit", {"billing_npi": "1234567890"}, Reason.INVALID_CODE),
    ("billing_npi_missing", {"billing_npi": ""}, Reason.MISSING_FIELD),
    ("rendering_npi_letters", {"rendering_npi": "12345A7893"}, Reason.INVALID_CODE),
    ("dx_not_icd10", {"dx_1": "4019"}, Reason.INVALID_CODE),
    ("dx_1_missing", {"dx_1": "", "dx_2": ""}, Reason.MISSING_FIELD),
    ("procedure_shape", {"procedure_code": "ABCDE"}, Reason.INVALID_CODE),
    ("modifier_shape", {"modifier_1": "ABC"}, Reason.INVALID_CODE),
    ("impossible_date", {"service_from_date": "2023-02-30"}, Reason.INVALID_DATE),
    ("end_before_start", {"service_to_date": "2023-01-01"}, Reason.INVALID_DATE),
    ("negative_billed", {"billed_amount": "-5.00"}, Reason.INVALID_VALUE),
    ("units_not_number", {"units": "two"}, Reason.INVALID_VALUE),
    ("claim_type_unknown", {"claim_type": "capitated"}, Reason.INVALID_VALUE),
    ("patient_missing", {"patient_id": ""}, Reason.MISSING_FIELD),
    ("patient_unknown", {"patient_id": "P999", "patient_birth_date": "", "patient_sex": ""},
     Reason.DANGLING_REFERENCE),
    ("patient_sex_bad", {"patient_id": "P998", "patient_sex": "X"}, Reason.INVALID_VALUE),
    ("birth_date_bad", {"patient_id": "P997", "patient_birth_date": "1956-13-01"},
     Reason.INVALID_DATE),
    ("place_of_service", {"place_of_service": "1"}, Reason.INVALID_CODE),
    ("ndc_shape", {"ndc_code": "12345"}, Reason.INVALID_CODE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "changes", "reason"), GENERIC_CASES, ids=[c[0] for c in GENERIC_CASES]
)
def test_generic_bad_line_is_quarantined_rest_loads(wh, tmp_path, name, changes, reason):
    header, rows = _rows(GENERIC)
    good = [r for r in rows if r["claim_id"] in ("C1001", "C1002")]
    path = _write(tmp_path / "c.csv", header, [*good, _one_line(**changes)])
    r = claims.load(path, wh)
    assert r.reconciles
    assert _counts(r, "ClaimLine") == (6, 5, 0, 1)
    assert r.quarantine_reasons == {str(reason): 1}
    q = wh.con.execute("SELECT location, resource_type, record FROM mm_quarantine").fetchone()
    assert q[0] == "line 7" and q[1] == "ClaimLine" and q[2].startswith("BAD1,1,")


def test_generic_header_conflict_and_non_contiguous_claim(wh, tmp_path):
    header, rows = _rows(GENERIC)
    c1 = [r for r in rows if r["claim_id"] == "C1001"]
    c2 = [r for r in rows if r["claim_id"] == "C1002"]
    conflicting = {**c1[1], "line_number": "9", "dx_1": "J45.909"}
    late = {**c1[2], "line_number": "10"}
    path = _write(tmp_path / "c.csv", header, [*c1[:2], conflicting, *c2, late])
    r = claims.load(path, wh)
    assert r.quarantine_reasons == {"conflict": 2}
    assert _counts(r, "ClaimLine") == (6, 4, 0, 2)


def test_generic_wrong_column_count_is_malformed(wh, tmp_path):
    text = GENERIC.read_text().splitlines()
    (tmp_path / "c.csv").write_text("\n".join([*text[:3], "C9,1,P001"]) + "\n")
    r = claims.load(tmp_path / "c.csv", wh)
    assert r.quarantine_reasons == {"malformed": 1}
    assert _counts(r, "ClaimLine") == (3, 2, 0, 1)


def test_person_namespace_links_claims_to_another_sources_patients(wh, tmp_path):
    from medmine.warehouse import LoadSession, stable_id

    pid = stable_id("hl7v2:Patient", "P003")
    with LoadSession(wh, "test") as s:
        s.read("Patient")
        s.add_record(
            "Patient",
            [("person", dict(person_id=pid, gender_concept_id=0, year_of_birth=1970,
                             race_concept_id=0, ethnicity_concept_id=0))],
            source_file="x", location="1",
        )  # fmt: skip
    r = claims.load(GENERIC, wh, person_namespace="hl7v2:Patient")
    # C1004's patient now resolves; P001/P002 carry demographics and are created in that namespace
    assert r.quarantine_reasons == {"invalid_code": 1}
    assert wh.con.execute(
        "SELECT count(*) FROM mm_claim WHERE person_id = ?", [pid]
    ).fetchone() == (1,)


# ---- DE-SynPUF ----
def test_synpuf_fixture_loads_and_reconciles(wh):
    r = claims.load(SYNPUF, wh)
    assert r.reconciles
    assert _counts(r, "Beneficiary") == (8, 7, 0, 1)
    assert _counts(r, "Person") == (4, 4, 0, 0)
    assert _counts(r, "CarrierClaim") == (5, 3, 0, 2)
    assert _counts(r, "InpatientClaim") == (3, 2, 0, 1)
    assert _counts(r, "OutpatientClaim") == (2, 1, 0, 1)
    assert _counts(r, "PrescriptionDrugEvent") == (3, 2, 0, 1)
    assert r.quarantine_reasons == {
        "invalid_value": 2,
        "dangling_reference": 1,
        "invalid_date": 2,
        "invalid_code": 1,
    }
    assert wh.count("person") == 4 and wh.count("death") == 1
    assert wh.count("payer_plan_period") == 7 and wh.count("drug_exposure") == 2


def test_synpuf_amounts_sum_correctly(wh):
    claims.load(SYNPUF, wh)
    carrier = wh.con.execute(
        "SELECT round(sum(total_paid), 2), round(sum(total_allowed), 2), "
        "round(sum(patient_paid), 2), count(*) FROM mm_claim "
        "WHERE claim_source_value LIKE 'carrier:%'"
    ).fetchone()
    assert carrier == (170.5, 208.6, 38.1, 3)
    lines = wh.con.execute(
        "SELECT round(sum(l.paid_amount), 2) FROM mm_claim_line l JOIN mm_claim c USING (claim_id) "
        "WHERE c.claim_source_value LIKE 'carrier:%'"
    ).fetchone()
    assert lines == (170.5,)
    ip = wh.con.execute(
        "SELECT total_paid, patient_paid, drg_code, admission_date::VARCHAR, dx_9 FROM mm_claim "
        "WHERE claim_source_value = 'inpatient:196661176988405:1'"
    ).fetchone()
    assert ip == (9000.0, 1024.0, "217", "2008-09-04", "V4581")
    pde = wh.con.execute(
        "SELECT total_billed, total_paid, patient_paid FROM mm_claim WHERE claim_type = 'pharmacy' "
        "ORDER BY total_billed"
    ).fetchall()
    assert pde == [(20.0, 20.0, 0.0), (40.0, 30.0, 10.0)]


def test_synpuf_persons_deaths_and_periods(wh):
    claims.load(SYNPUF, wh)
    people = wh.con.execute(
        "SELECT person_source_value, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id FROM person ORDER BY 1"
    ).fetchall()
    assert people[0] == ("00013D2EFD8E45D1", 8507, 1923, 8527, 38003564)
    assert people[2] == ("0001FDD721E223DC", 8532, 1936, 0, 38003563)
    death = wh.con.execute("SELECT death_date::VARCHAR FROM death").fetchone()
    assert death == ("2009-11-01",)
    end = wh.con.execute(
        "SELECT max(payer_plan_period_end_date)::VARCHAR FROM payer_plan_period p "
        "JOIN person USING (person_id) WHERE person_source_value = '00016F745862898F'"
    ).fetchone()
    assert end == ("2009-11-01",)
    # birth dates are direct identifiers: kept in mm_person_identity
    assert wh.count("mm_person_identity") == 4


def _synpuf_copy(tmp_path: Path) -> Path:
    out = tmp_path / "synpuf"
    out.mkdir()
    shutil.copy(BENE_2008, out / BENE_2008.name)
    return out


SYNPUF_CASES = [
    ("bene_birth_date", "bene", {"BENE_BIRTH_DT": "19231301"}, Reason.INVALID_DATE),
    ("bene_sex", "bene", {"BENE_SEX_IDENT_CD": "9"}, Reason.INVALID_VALUE),
    ("bene_months", "bene", {"PLAN_CVRG_MOS_NUM": "13"}, Reason.INVALID_VALUE),
    ("bene_id_missing", "bene", {"DESYNPUF_ID": ""}, Reason.MISSING_FIELD),
    ("carrier_hcpcs", "carrier", {"HCPCS_CD_1": "Z1"}, Reason.INVALID_CODE),
    ("carrier_negative", "carrier", {"LINE_NCH_PMT_AMT_1": "-3.00"}, Reason.INVALID_VALUE),
    ("carrier_dx", "carrier", {"ICD9_DGNS_CD_1": "E11.9"}, Reason.INVALID_CODE),
    ("carrier_bene_unknown", "carrier", {"DESYNPUF_ID": "0000000000000000"},
     Reason.DANGLING_REFERENCE),
    ("carrier_clm_id", "carrier", {"CLM_ID": ""}, Reason.MISSING_FIELD),
    ("carrier_thru_before_from", "carrier", {"CLM_THRU_DT": "20080101"}, Reason.INVALID_DATE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind", "changes", "reason"), SYNPUF_CASES, ids=[c[0] for c in SYNPUF_CASES]
)
def test_synpuf_bad_row_is_quarantined_rest_loads(wh, tmp_path, name, kind, changes, reason):
    folder = _synpuf_copy(tmp_path)
    if kind == "bene":
        header, rows = _rows(BENE_2008)
        rows[1].update(changes)
        _write(folder / BENE_2008.name, header, rows)
        rtype, expect = "Beneficiary", (4, 3, 0, 1)
    else:
        header, rows = _rows(CARRIER)
        rows = rows[:3]
        rows[0].update(changes)
        _write(folder / CARRIER.name, header, rows)
        rtype, expect = "CarrierClaim", (3, 2, 0, 1)
    r = claims.load(folder, wh)
    assert r.reconciles
    assert _counts(r, rtype) == expect
    assert r.quarantine_reasons == {str(reason): 1}


def test_unknown_layout_and_yearless_summary_are_file_quarantines(wh, tmp_path):
    (tmp_path / "other.csv").write_text("a,b,c\n1,2,3\n")
    shutil.copy(BENE_2008, tmp_path / "beneficiaries.csv")
    shutil.copy(GENERIC, tmp_path / "z_generic.csv")
    r = claims.load(tmp_path, wh)
    assert _counts(r, "File") == (2, 0, 0, 2)
    assert r.quarantine_reasons["malformed"] == 1 and r.quarantine_reasons["missing_field"] == 1
    assert _counts(r, "ClaimLine") == (11, 8, 0, 3)


def test_missing_path_is_source_error(wh, tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        claims.load(tmp_path / "nope.csv", wh)


def test_empty_and_non_utf8_files_are_file_quarantines(wh, tmp_path):
    (tmp_path / "a_empty.csv").write_text("")
    (tmp_path / "b_latin1.csv").write_bytes(
        GENERIC.read_bytes() + "C9,1,Jos\xe9\n".encode("latin-1")
    )
    shutil.copy(BENE_2008, tmp_path / BENE_2008.name)
    r = claims.load(tmp_path, wh)
    assert _counts(r, "Beneficiary") == (4, 4, 0, 0)
    assert _counts(r, "File") == (1, 0, 0, 1)
    assert _counts(r, "ClaimLine") == (12, 8, 0, 4)  # the undecodable row alone is set aside
    q = dict(wh.con.execute("SELECT message, record FROM mm_quarantine").fetchall())
    assert "empty file, no header line" in q
    assert q["row is not valid UTF-8"] == "C9,1,Jos\ufffd"


def test_cli_ingest_claims(tmp_path):
    from typer.testing import CliRunner

    from medmine.cli import app

    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["ingest", "claims", str(GENERIC), "-w", str(db)])
    assert result.exit_code == 0, result.output
    assert "ClaimLine" in result.output
    bad = CliRunner().invoke(app, ["ingest", "claims", str(tmp_path / "nope"), "-w", str(db)])
    assert bad.exit_code == 3  # an input that cannot be read


cell = st.text(alphabet=st.sampled_from(list('0123456789.-/ABEJZ$, "é')), max_size=12)
FUZZ_COLUMNS = ["patient_id", "claim_type", "billing_npi", "service_from_date", "service_to_date",
                "dx_1", "dx_2", "procedure_code", "modifier_1", "units", "billed_amount",
                "paid_amount", "place_of_service", "patient_birth_date", "patient_sex",
                "line_number", "claim_id"]  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_wh():
    from medmine.warehouse import Warehouse

    w = Warehouse(":memory:")
    yield w
    w.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(FUZZ_COLUMNS), cell, max_size=6), max_size=5))
def test_random_cells_never_crash_and_reconcile(fuzz_wh, tmp_path_factory, changes):
    header, rows = _rows(GENERIC)
    mutated = [{**rows[i % len(rows)], **c} for i, c in enumerate(changes)]
    path = _write(tmp_path_factory.getbasetemp() / "fuzz_claims.csv", header, rows[:3] + mutated)
    r = claims.load(path, fuzz_wh)
    assert r.reconciles and r.status == "committed"


def test_synpuf_extension_column_and_short_beneficiary_extract(wh, tmp_path):
    """A carrier file with RFR_PHYSN_NPI after the codebook's columns and a beneficiary file
    with the core columns only are read; billing organisation = TAX_NUM_1."""
    folder = tmp_path / "ext"
    folder.mkdir()
    header, rows = _rows(BENE_2008)
    core = ["DESYNPUF_ID", "BENE_BIRTH_DT", "BENE_DEATH_DT", "BENE_SEX_IDENT_CD", "BENE_RACE_CD"]
    _write(folder / BENE_2008.name, core, [{k: r[k] for k in core} for r in rows])
    header, rows = _rows(CARRIER)
    rows = rows[:3]
    for r in rows:
        r["RFR_PHYSN_NPI"] = "1234567893"
    rows[1]["RFR_PHYSN_NPI"] = ""
    _write(folder / CARRIER.name, [*header, "RFR_PHYSN_NPI"], rows)
    r = claims.load(folder, wh)
    assert r.reconciles and _counts(r, "CarrierClaim") == (3, 3, 0, 0)
    assert _counts(r, "Beneficiary")[1] == len(_rows(BENE_2008)[1])
    got = wh.con.execute(
        "SELECT claim_source_value, billing_source_value, referring_npi FROM mm_claim "
        "ORDER BY claim_source_value"
    ).fetchall()
    want = sorted((f"carrier:{x['CLM_ID']}", x["TAX_NUM_1"] or None, x["RFR_PHYSN_NPI"] or None)
                  for x in rows)  # fmt: skip
    assert got == want and any(x[2] is None for x in got) and any(x[2] for x in got)


def test_synpuf_header_with_a_codebook_column_missing_is_refused(wh, tmp_path):
    header, rows = _rows(CARRIER)
    short = [h for h in header if h != "TAX_NUM_13"]
    _write(tmp_path / CARRIER.name, short, [{k: r[k] for k in short} for r in rows[:2]])
    r = claims.load(tmp_path, wh)
    assert _counts(r, "File") == (1, 0, 0, 1) and r.quarantine_reasons == {"malformed": 1}


def test_a_claim_whose_first_line_fails_a_line_only_header_field_loses_every_line(wh, tmp_path):
    """Found by the random-cells test: referring_npi is read with the header but is not one of
    the fields compared across lines, so a claim's second line could pass the header check that
    its first line failed. Every line of that claim is quarantined, none crashes the load."""
    header, rows = _rows(GENERIC)
    if "referring_npi" not in header:
        header = [*header, "referring_npi"]
    first = _one_line(referring_npi="12345")
    second = {**_one_line(referring_npi=""), "line_number": "2"}
    path = _write(tmp_path / "c.csv", header, [first, second])
    r = claims.load(path, wh)
    assert r.reconciles
    assert _counts(r, "ClaimLine") == (2, 0, 0, 2)
