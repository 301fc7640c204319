from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmine.ingest import hl7v2
from medmine.ingest.hl7v2._fields import Msg
from medmine.ingest.hl7v2._framing import iter_messages
from medmine.warehouse import Reason, Warehouse, stable_id

from ..conftest import TEST_DATA

FIXTURES = TEST_DATA / "hl7v2"
#: The vendor-style files at the top of the folder (feeds/ holds the real-feed classes).
FILES = sorted(p for p in FIXTURES.iterdir() if p.is_file() and p.suffix in (".hl7", ".mllp"))
P1 = stable_id("hl7v2:Patient", "100001")
V1001 = stable_id("hl7v2:Visit", "UMC|100001|V1001")


def _counts(report, rtype):
    c = report.counts[rtype]
    return (c.read, c.loaded, c.skipped, c.quarantined)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The fixtures loaded once per module (tests only read; reloads add no rows)."""
    w = Warehouse(tmp_path_factory.mktemp("wh") / "w.duckdb")
    yield w, hl7v2.load(FILES, w)
    w.close()


def test_fixtures_load_and_reconcile(loaded):
    wh, r = loaded
    assert r.reconciles and r.status == "committed"
    assert _counts(r, "ADT^A01") == (5, 2, 0, 3)
    # the A03 of a visit never admitted creates it, with a warning
    assert _counts(r, "ADT^A03") == (3, 3, 0, 0)
    assert _counts(r, "ADT^A04") == (1, 1, 0, 0)
    assert _counts(r, "ADT^A08") == (2, 2, 0, 0)
    assert _counts(r, "ADT^A02") == (1, 1, 0, 0)  # a transfer updates the visit
    # the ORU whose only OBX is bad loads its patient; the OBX is quarantined as a Segment
    assert _counts(r, "ORU^R01") == (4, 3, 1, 0)
    assert _counts(r, "Patient") == (3, 3, 0, 0)
    assert _counts(r, "Segment") == (2, 0, 0, 2)
    assert r.quarantine_reasons == {
        "malformed": 1,
        "invalid_value": 1,
        "missing_field": 2,
        "invalid_date": 1,
    }
    assert r.skip_reasons == {"no_results": 1}
    assert r.warning_reasons == {"unresolved_reference": 1, "visit_not_admitted": 1}
    counts = wh.counts()
    assert (counts["person"], counts["visit_occurrence"], counts["measurement"]) == (3, 4, 9)
    assert counts["note"] == 2 and counts["mm_person_identity"] == 3


def test_a03_closes_the_visit_created_by_a01(loaded):
    wh, _ = loaded
    row = wh.con.execute(
        "SELECT visit_concept_id, visit_start_datetime, visit_end_date, visit_end_datetime, "
        "discharged_to_source_value, admitted_from_source_value, person_id "
        "FROM visit_occurrence WHERE visit_occurrence_id = ?",
        [V1001],
    ).fetchone()
    assert row == (
        9201,
        dt.datetime(2023, 3, 1, 11, 45),
        dt.date(2023, 3, 5),
        dt.datetime(2023, 3, 5, 10, 30),
        "HL70112:01",
        "HL70023:7",
        P1,
    )
    # an A04 registration without A03 stays open: end date = start date, no end time
    open_visit = wh.con.execute(
        "SELECT visit_concept_id, visit_end_date, visit_end_datetime FROM visit_occurrence "
        "WHERE visit_occurrence_id = ?",
        [stable_id("hl7v2:Visit", "UMC|100002|V2001")],
    ).fetchone()
    assert open_visit == (9202, dt.date(2023, 3, 10), None)


def test_a08_changes_the_patients_address_and_phone(loaded):
    wh, _ = loaded
    ident = wh.con.execute(
        "SELECT address_line, zip, phone, family_name, given_name, name_prefix, ssn, mrn, "
        "birth_date FROM mm_person_identity WHERE person_id = ?",
        [P1],
    ).fetchone()
    assert ident == (
        "77 Elm Ave", "62704", "2175550199", "SMITH", "ANNA M", "MRS", "999-12-3456", "100001",
        dt.date(1956, 4, 12),
    )  # fmt: skip
    # the patient-only A08 (no PV1) updated patient 2's phone
    phone = wh.con.execute("SELECT phone FROM mm_person_identity WHERE mrn = '100002'").fetchone()
    assert phone == ("(217)555-0177",)


def test_person_demographics_and_identifiers(loaded):
    wh, _ = loaded
    p = wh.con.execute(
        "SELECT gender_concept_id, year_of_birth, month_of_birth, race_concept_id, "
        "ethnicity_concept_id, gender_source_value, person_source_value FROM person "
        "WHERE person_id = ?",
        [P1],
    ).fetchone()
    assert p == (8532, 1956, 4, 8527, 38003564, "HL70001:F", None)
    ids = wh.con.execute(
        "SELECT system, value, type_code FROM mm_identifier WHERE table_name = 'person' "
        "ORDER BY value"
    ).fetchall()
    # PID-3 repetitions: MRNs and a member id; the SSN repetition is kept only as identity
    assert ids == [
        ("UMC", "100001", "MR"),
        ("UMC", "100002", "MR"),
        ("CH", "300003", "MR"),
        ("ACMEHP", "A7788", "MB"),
    ]


def test_oru_values_units_ranges(loaded):
    wh, _ = loaded
    rows = {
        src: rest
        for src, *rest in wh.con.execute(
            "SELECT measurement_source_value, value_as_number, unit_source_value, range_low, "
            "range_high, operator_concept_id, value_source_value, visit_occurrence_id, "
            "measurement_datetime FROM measurement"
        ).fetchall()
    }
    assert rows["LOINC:2345-7"][:6] == [182.0, "mg/dL", 70.0, 99.0, None, "182"]
    assert rows["LOINC:2345-7"][6] == V1001
    assert rows["LOINC:2345-7"][7] == dt.datetime(2023, 3, 2, 6, 10)  # OBX-14 wins over OBR-7
    assert rows["LOINC:2823-3"][7] == dt.datetime(2023, 3, 2, 6, 0)  # OBR-7 fallback
    assert rows["LOINC:33914-3"][:5] == [60.0, "mL/min/{1.73_m2}", 60.0, None, 4172704]
    assert rows["LOINC:8310-5"][:4] == [38.4, "Cel", 36.1, 37.2]
    assert rows["LOINC:94500-6"][5] == "SNOMED:260373001"
    assert rows["LOINC:94309-2"][5] == "Positive"
    assert rows["LOINC:94309-2"][6] is None  # PV1-19 V2999 unknown: reference dropped, warned
    assert "LOINC:94746-5" not in rows  # OBX-11 X: result cannot be obtained
    concepts = dict(
        wh.con.execute(
            "SELECT vocabulary_id || ':' || code, display FROM mm_source_concept"
        ).fetchall()
    )
    assert concepts["LOINC:2345-7"] == "Glucose [Mass/volume] in Serum or Plasma"
    assert concepts["SNOMED:260373001"] == "Detected"
    assert concepts["UCUM:mg/dL"] == "mg/dL"


def test_escape_sequences_and_nte_comments(loaded):
    wh, _ = loaded
    text = wh.con.execute(
        "SELECT value_source_value FROM measurement WHERE measurement_source_value = 'LOINC:8251-1'"
    ).fetchone()[0]
    assert text == "Specimen slightly hemolyzed| repeat advised\nK^Na ratio&ok~\\ ref lab"
    notes = wh.con.execute(
        "SELECT n.note_text, n.note_event_id = m.measurement_id FROM note n "
        "JOIN measurement m ON m.measurement_id = n.note_event_id ORDER BY 1"
    ).fetchall()
    assert notes == [
        ("Patient febrile on arrival \\ triage", True),
        ("Verified by lab technologist\nCalled to ward at 0630", True),
    ]


def test_custom_delimiters_and_mllp_framing(loaded):
    wh, _ = loaded
    v = wh.con.execute(
        "SELECT visit_concept_id, visit_end_datetime FROM visit_occurrence "
        "WHERE visit_occurrence_id = ?",
        [stable_id("hl7v2:Visit", "CH|300003|V3001")],
    ).fetchone()
    assert v == (9203, dt.datetime(2023, 4, 1, 16, 0))
    city = wh.con.execute("SELECT city FROM mm_person_identity WHERE mrn = '300003'").fetchone()
    assert city == ("Capital City",)


def test_quarantine_messages_have_no_phi(loaded):
    wh, _ = loaded
    rows = wh.con.execute("SELECT message, record FROM mm_quarantine").fetchall()
    for message, record in rows:
        for phi in ("SMITH", "19801345", "400005", "ROE", "high"):
            assert phi not in message
        assert record  # the raw message is kept to fix and reload


def test_reload_adds_nothing(loaded):
    wh, _ = loaded
    before = wh.counts()
    r = hl7v2.load(FILES, wh)
    after = wh.counts()
    assert {t for t in before if before[t] != after[t]} <= {"mm_load", "mm_quarantine", "mm_audit"}
    assert r.reconciles and r.totals.loaded == 0
    assert _counts(r, "ADT^A08") == (2, 0, 2, 0)
    assert _counts(r, "Patient") == (3, 0, 3, 0)


def _split_epic(tmp_path):
    text = (FIXTURES / "01_epic_adt.hl7").read_bytes()
    parts = [b"MSH|" + m for m in text.split(b"MSH|")[1:]]
    (tmp_path / "a01.hl7").write_bytes(parts[0])
    (tmp_path / "a08_a03.hl7").write_bytes(parts[1] + parts[2])
    return tmp_path / "a01.hl7", tmp_path / "a08_a03.hl7"


def test_updates_in_a_later_load_modify_existing_rows(wh, tmp_path):
    a01, later = _split_epic(tmp_path)
    hl7v2.load(a01, wh)
    assert wh.con.execute("SELECT visit_end_datetime FROM visit_occurrence").fetchone() == (None,)
    r = hl7v2.load(later, wh)
    assert _counts(r, "ADT^A03") == (1, 1, 0, 0) and _counts(r, "ADT^A08") == (1, 1, 0, 0)
    assert _counts(r, "Patient") == (1, 0, 1, 0)  # already known: not created again
    assert wh.con.execute("SELECT visit_end_datetime FROM visit_occurrence").fetchone() == (
        dt.datetime(2023, 3, 5, 10, 30),
    )
    assert wh.con.execute("SELECT address_line FROM mm_person_identity").fetchone() == (
        "77 Elm Ave",
    )
    assert wh.count("visit_occurrence") == 1 and wh.count("person") == 1
    r = hl7v2.load(later, wh)  # the same updates again change nothing
    assert _counts(r, "ADT^A03") == (1, 0, 1, 0) and r.skip_reasons == {"duplicate": 3}


# ---- bad input case table ----
MSH = "MSH|^~\\&|APP|FAC|MEDMINE|FAC|202301011200||{type}|{ctl}|P|2.5.1"
PID = "PID|1||555^^^FAC^MR||DOE^JANE||19700101|F"
PV1 = "PV1|1|I|||||||||||||||||VN1|||||||||||||||||||||||||202301011100"
GOOD_A01 = "\r".join([MSH.format(type="ADT^A01", ctl="G1"), PID, PV1])
OBR = "OBR|1|||1234-5^Test^LN|||202301011000"


def _msg(type_, ctl, *segments):
    return "\r".join([MSH.format(type=type_, ctl=ctl), *segments])


BAD_CASES = [
    ("no_pid", _msg("ADT^A01", "B1", PV1), "ADT^A01", Reason.MISSING_FIELD),
    ("no_mrn", _msg("ADT^A01", "B1", "PID|1||||DOE^JANE||19700101|F", PV1), "ADT^A01",
     Reason.MISSING_FIELD),
    ("bad_birth_date", _msg("ADT^A01", "B1", PID.replace("19700101", "19701301"), PV1),
     "ADT^A01", Reason.INVALID_DATE),
    ("bad_sex", _msg("ADT^A01", "B1", PID.replace("|F", "|Q"), PV1), "ADT^A01",
     Reason.INVALID_VALUE),
    ("no_visit_key", _msg("ADT^A01", "B1", PID, PV1.replace("VN1", "").replace("202301011100", "")),
     "ADT^A01", Reason.MISSING_FIELD),
    ("bad_admit_time", _msg("ADT^A01", "B1", PID, PV1.replace("202301011100", "2023-01-01")),
     "ADT^A01", Reason.INVALID_DATE),
    ("discharge_before_admit",
     _msg("ADT^A03", "B1", PID, PV1 + "|202301010900"), "ADT^A03", Reason.INVALID_DATE),
    ("no_control_id", _msg("ADT^A01", "", PID, PV1), "ADT^A01", Reason.MISSING_FIELD),
    ("no_message_type", _msg("", "B1", PID, PV1), "Message", Reason.MISSING_FIELD),
    ("bad_segment_id", _msg("ADT^A01", "B1", PID, "pv1|1|I"), "Message", Reason.MALFORMED),
    ("oru_no_obx", _msg("ORU^R01", "B1", PID, OBR), "ORU^R01", Reason.MISSING_FIELD),
    ("oru_unknown_patient_no_birth",
     _msg("ORU^R01", "B1", "PID|1||777^^^FAC^MR||X^Y", OBR, "OBX|1|NM|1-1^T^LN||5||||||F"),
     "ORU^R01", Reason.MISSING_FIELD),
    ("dischargeless_a03", _msg("ADT^A03", "B1", PID, "PV1|1|I"), "ADT^A03", Reason.MISSING_FIELD),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "bad", "rtype", "reason"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_message_is_quarantined_rest_loads(wh, tmp_path, name, bad, rtype, reason):
    path = tmp_path / "m.hl7"
    path.write_text(GOOD_A01 + "\r" + bad + "\r")
    r = hl7v2.load(path, wh)
    assert r.reconciles
    assert r.quarantine_reasons == {str(reason): 1}
    assert r.counts[rtype].quarantined == 1
    assert wh.count("visit_occurrence") == 1  # the good A01 loaded
    loc = wh.con.execute("SELECT location FROM mm_quarantine").fetchone()[0]
    assert loc == "message 2 (segment 4)"


GOOD_OBX = "OBX|9|NM|2345-7^Glucose^LN||99|mg/dL^^UCUM|70-99|||F"
SEGMENT_CASES = [
    ("nm_not_number", "OBX|1|NM|1234-5^Test^LN||abc||||||F", Reason.INVALID_VALUE),
    ("sn_bad_comparator", "OBX|1|SN|1234-5^Test^LN||=>^5||||||F", Reason.INVALID_VALUE),
    ("sn_not_number", "OBX|1|SN|1234-5^Test^LN||>^five||||||F", Reason.INVALID_VALUE),
    ("obx_no_code", "OBX|1|NM|^Test^LN||5||||||F", Reason.MISSING_FIELD),
    ("obx_empty_code", "OBX|1|NM|||5||||||F", Reason.MISSING_FIELD),
    ("obx_bad_time", "OBX|1|NM|1-1^T^LN||5||||||F|||2023XX", Reason.INVALID_DATE),
    ("obx_impossible_time", "OBX|1|NM|1-1^T^LN||5||||||F|||20230230", Reason.INVALID_DATE),
]


@pytest.mark.parametrize(
    ("name", "obx", "reason"), SEGMENT_CASES, ids=[c[0] for c in SEGMENT_CASES]
)
def test_bad_obx_costs_only_that_segment(wh, tmp_path, name, obx, reason):
    path = tmp_path / "m.hl7"
    path.write_text(GOOD_A01 + "\r" + _msg("ORU^R01", "R1", PID, PV1, OBR, obx, GOOD_OBX) + "\r")
    r = hl7v2.load(path, wh)
    assert r.reconciles
    assert _counts(r, "ORU^R01") == (1, 1, 0, 0)
    assert _counts(r, "Segment") == (1, 0, 0, 1)
    assert r.quarantine_reasons == {str(reason): 1}
    row = wh.con.execute("SELECT location, resource_type, record FROM mm_quarantine").fetchone()
    assert row == ("message 2 (segment 8)", "Segment", obx)
    got = wh.con.execute(
        "SELECT measurement_source_value, value_as_number, visit_occurrence_id FROM measurement"
    ).fetchall()
    assert got == [("LOINC:2345-7", 99.0, stable_id("hl7v2:Visit", "FAC|555|VN1"))]
    assert wh.count("person") == 1 and wh.count("visit_occurrence") == 1


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_segment_terminators_are_equivalent(wh, tmp_path, terminator):
    (tmp_path / "m.hl7").write_text(GOOD_A01.replace("\r", terminator) + terminator, newline="")
    r = hl7v2.load(tmp_path / "m.hl7", wh)
    assert _counts(r, "ADT^A01") == (1, 1, 0, 0)


def test_latin1_feed_is_decoded(wh, tmp_path):
    msg = GOOD_A01.replace("DOE^JANE", "MÜLLER^JOSÉ")
    (tmp_path / "m.hl7").write_bytes(msg.encode("cp1252"))
    hl7v2.load(tmp_path / "m.hl7", wh)
    assert wh.con.execute("SELECT family_name FROM mm_person_identity").fetchone() == ("MÜLLER",)


def test_unescape_hex_and_unknown_sequences():
    m = Msg(GOOD_A01)
    assert m.unescape("a\\X41\\b\\H\\c\\N\\d\\Zfoo\\e") == "aAbcde"
    assert m.unescape("trailing \\F") == "trailing \\F"


def test_parse_range():
    assert hl7v2.parse_range("3.5 - 5.1") == (3.5, 5.1)
    assert hl7v2.parse_range("-2-2") == (-2.0, 2.0)
    assert hl7v2.parse_range("<=5") == (None, 5.0)
    assert hl7v2.parse_range("negative") == (None, None)


def test_framing_splits_batches_and_mllp():
    data = b"FHS|^~\\&\rBHS|^~\\&\r\x0bMSH|^~\\&|A\rPID|1\x1c\r\x0bMSH|^~\\&|B\rPID|2\x1c\rBTS|2\r"
    msgs = list(iter_messages(io.BytesIO(data)))
    assert [m.text for m in msgs] == ["MSH|^~\\&|A\rPID|1", "MSH|^~\\&|B\rPID|2"]
    assert [m.location for m in msgs] == ["message 1 (segment 3)", "message 2 (segment 5)"]


segment_text = st.text(
    alphabet=st.sampled_from(list("MSHPIDOBXV01|^~\\&*:\r\n\x0b\x1cAZ9 -.")), max_size=80
)


@pytest.fixture(scope="module")
def fuzz_wh():
    w = Warehouse(":memory:")
    yield w
    w.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            segment_text,
            segment_text.map(lambda s: "MSH|^~\\&|" + s),
            segment_text.map(lambda s: "MSH|^~\\&|A|B|C|D|2023||ADT^A01|X1|P|2.5\rPID|1||" + s),
            segment_text.map(lambda s: "OBX|1|NM|1^T^LN||" + s),
        ),
        max_size=6,
    )
)
def test_random_segments_never_crash_and_reconcile(fuzz_wh, tmp_path_factory, segments):
    path = tmp_path_factory.getbasetemp() / "fuzz.hl7"
    path.write_text(GOOD_A01 + "\r" + "\r".join(segments), newline="")
    r = hl7v2.load(path, fuzz_wh)
    assert r.reconciles and r.status == "committed"
