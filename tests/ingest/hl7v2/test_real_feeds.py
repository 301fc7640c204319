"""What real feeds contain (issue 14, item 1): a fixture file per class in data/hl7v2_feeds."""

from __future__ import annotations

import datetime as dt

import pytest

from medmine.ingest import hl7v2
from medmine.ingest.hl7v2._fields import parse_ts
from medmine.warehouse import Rejected, Warehouse, stable_id

from ...conftest import TEST_DATA

FEEDS = TEST_DATA / "hl7v2_feeds"
T = dt.datetime


def _counts(report, rtype):
    c = report.counts[rtype]
    return (c.read, c.loaded, c.skipped, c.quarantined)


def _load(name: str):
    wh = Warehouse(":memory:")
    return wh, hl7v2.load(FEEDS / name, wh)


def _visit(key: str) -> int:
    return stable_id("hl7v2:Visit", key)


def _person(mrn: str) -> int:
    return stable_id("hl7v2:Patient", mrn)


def test_bom_blank_lines_and_mixed_segment_endings():
    wh, r = _load("01_bom_blank_lines_mixed_endings.hl7")
    assert r.reconciles and r.quarantine_reasons == {}
    assert _counts(r, "ADT^A01") == (1, 1, 0, 0)  # after a BOM and blank lines, CR endings
    assert _counts(r, "ADT^A04") == (1, 1, 0, 0)  # after whitespace, LF endings
    assert _counts(r, "ORU^R01") == (1, 1, 0, 0)  # CRLF, LF and CR inside one message
    assert wh.con.execute(
        "SELECT family_name, city FROM mm_person_identity WHERE mrn = 'PATID1234'"
    ).fetchone() == ("JONES", "GREENSBORO")
    assert wh.con.execute(
        "SELECT visit_start_datetime, visit_concept_id FROM visit_occurrence "
        "WHERE visit_occurrence_id = ?",
        [_visit("GOODHEALTH|PATID1234|VN0001")],
    ).fetchone() == (T(1998, 5, 28, 14, 0), 9201)
    assert wh.con.execute("SELECT value_as_number FROM measurement").fetchall() == [(182.0,)]


def test_one_bad_segment_costs_that_segment_only():
    wh, r = _load("02_bad_segments.hl7")
    assert r.reconciles
    assert _counts(r, "ORU^R01") == (1, 1, 0, 0)
    assert _counts(r, "ADT^A01") == (1, 1, 0, 0)
    assert _counts(r, "ADT OBX") == (1, 1, 0, 0)
    assert _counts(r, "Segment") == (4, 0, 0, 4)
    got = wh.con.execute(
        "SELECT location, reason_code, message, starts_with(record, 'OBX|') FROM mm_quarantine "
        "ORDER BY quarantine_id"
    ).fetchall()
    nan = "OBX-5 value is not a number (OBX-2 NM)"
    assert got == [
        ("message 1 (segment 8)", "missing_field", "OBX 2: OBX-3 observation identifier is empty",
         True),
        ("message 1 (segment 9)", "invalid_value", f"OBX 3: {nan}", True),
        ("message 1 (segment 12)", "invalid_date",
         "OBX 5: OBX-14 observation date/time is not a valid date", True),
        ("message 2 (segment 18)", "invalid_value", f"OBX 2: {nan}", True),
    ]  # fmt: skip
    # the patients, the visit and the other results load
    assert wh.count("person") == 2 and wh.count("visit_occurrence") == 1
    rows = wh.con.execute(
        "SELECT measurement_source_value, value_as_number, measurement_datetime, "
        "visit_occurrence_id FROM measurement ORDER BY 1"
    ).fetchall()
    adt_visit = _visit("MAINHOSP|E3301|H-9001")
    assert rows == [
        ("LOINC:2093-3", 196.0, T(2024, 3, 11, 13, 30), None),  # -0500 -> UTC
        ("LOINC:2571-8", 152.0, T(2024, 3, 11, 13, 30), None),
        ("LOINC:8302-2", 165.0, T(2024, 3, 12, 10, 15), adt_visit),  # ADT vitals: EVN-2 time
        ("LOINC:8867-4", 88.0, T(2024, 3, 12, 10, 15), adt_visit),
    ]
    # the NTE after the quarantined OBX 3 is not attached to another result
    assert wh.count("note") == 0
    # messages never hold values
    for (msg,) in wh.con.execute("SELECT message FROM mm_quarantine").fetchall():
        assert "see note" not in msg and "sixty" not in msg and "20241311" not in msg


def test_numeric_results_in_oru_and_adt():
    wh, r = _load("03_numeric_results.hl7")
    assert r.reconciles and r.quarantine_reasons == {}
    got = {
        src: rest
        for src, *rest in wh.con.execute(
            "SELECT measurement_source_value, value_as_number, operator_concept_id, "
            "value_source_value FROM measurement"
        ).fetchall()
    }
    assert got == {
        "LOINC:2345-7": [98.0, None, "98"],  # NM with blanks around
        "LOINC:1988-5": [0.5, 4171756, "<0.5"],  # NM with a comparator
        "LOINC:33914-3": [90.0, 4172704, ">90"],  # SN >^90
        "LOINC:5070-8": [None, None, "1:128"],  # SN ratio: kept as text
        "LOINC:2160-0": [1.1, 4172703, "1.1"],  # SN without comparator: "="
        "LOINC:2951-2": [139.0, None, "139"],  # ST holding a number
        "LOINC:5792-7": [None, None, "Negative"],  # ST holding text
        "LOINC:2823-3": [5.5, 4171755, ">= 5.5"],  # ST holding ">= 5.5"
        "LOINC:8251-1": [None, None, "12 samples pooled"],  # TX stays text
        "LOINC:8302-2": [172.5, None, "172.5"],  # ADT OBX, NM
        "LOINC:29463-7": [81.2, None, "81.2"],  # ADT OBX, ST holding a number
        "LOINC:8480-6": [142.0, None, "142"],
    }
    numeric = wh.con.execute(
        "SELECT count(*) FROM measurement WHERE value_as_number IS NOT NULL"
    ).fetchone()[0]
    assert numeric == 9
    adt = wh.con.execute(
        "SELECT measurement_datetime, visit_occurrence_id, unit_source_value FROM measurement "
        "WHERE measurement_source_value = 'LOINC:8302-2'"
    ).fetchone()
    assert adt == (T(2023, 10, 5, 14, 50), _visit("CITYHOSP|C-1001|V-555"), "cm")


def test_visit_key_is_facility_patient_and_number():
    wh, r = _load("04_visit_keys.hl7")
    assert r.reconciles and r.quarantine_reasons == {} and r.warning_reasons == {}
    rows = wh.con.execute(
        "SELECT visit_occurrence_id, person_id, visit_concept_id, visit_start_datetime, "
        "visit_end_datetime FROM visit_occurrence ORDER BY visit_start_datetime"
    ).fetchall()
    assert rows == [
        # visit number 1001 at NORTH for two patients and at SOUTH: three visits, no conflict
        (_visit("NORTH|N-1|1001"), _person("N-1"), 9201, T(2024, 1, 1, 7, 30),
         T(2024, 1, 3, 11, 30)),
        (_visit("SOUTH|S-7|1001"), _person("S-7"), 9203, T(2024, 1, 1, 8, 45), None),
        (_visit("NORTH|N-2|1001"), _person("N-2"), 9202, T(2024, 1, 1, 9, 55), None),
        # PV1-19 empty: facility + patient + PV1-44 admit time; the A03 finds the A01's visit
        (_visit("EAST|E-9|admit 20240105064500"), _person("E-9"), 9201, T(2024, 1, 5, 6, 45),
         T(2024, 1, 7, 15, 50)),
    ]  # fmt: skip
    ids = wh.con.execute(
        "SELECT system, value FROM mm_identifier WHERE table_name = 'visit_occurrence' ORDER BY 1"
    ).fetchall()
    assert ids == [("NORTH", "1001"), ("NORTH", "1001"), ("SOUTH", "1001")]


def test_feed_starting_mid_stream_creates_visits_with_a_warning():
    wh, r = _load("05_mid_stream.hl7")
    assert r.reconciles and r.quarantine_reasons == {}
    assert _counts(r, "ADT^A03") == (2, 2, 0, 0) and _counts(r, "ADT^A08") == (1, 1, 0, 0)
    assert r.warning_reasons == {"visit_not_admitted": 3}
    assert _counts(r, "Patient") == (3, 3, 0, 0)  # no patient lost
    rows = wh.con.execute(
        "SELECT visit_occurrence_id, visit_concept_id, visit_start_datetime, visit_end_datetime, "
        "discharged_to_source_value FROM visit_occurrence ORDER BY visit_start_datetime"
    ).fetchall()
    assert rows == [
        # A03 with PV1-44: the stay from admission to discharge
        (_visit("WESTHOSP|W-100|W-V77"), 9201, T(2024, 2, 5, 22, 0), T(2024, 2, 10, 10, 45),
         "HL70112:02"),
        # A08: an open visit starting at the event time
        (_visit("WESTHOSP|W-200|W-V88"), 9203, T(2024, 2, 11, 9, 0), None, None),
        # A03 without PV1-44: starts and ends at the discharge
        (_visit("WESTHOSP|W-300|W-V99"), 9201, T(2024, 2, 11, 9, 20), T(2024, 2, 11, 9, 20),
         "HL70112:01"),
    ]  # fmt: skip


def test_adt_events_with_their_meaning():
    wh, r = _load("06_adt_events.hl7")
    assert r.reconciles and r.quarantine_reasons == {}
    assert _counts(r, "ADT^A02") == (1, 1, 0, 0)
    assert _counts(r, "ADT^A13") == (1, 1, 0, 0)
    assert _counts(r, "ADT^A01") == (1, 0, 1, 0)  # admitted, then cancelled by A11
    # admitted and cancelled in one load: both skipped; the other A11 has nothing to cancel
    assert _counts(r, "ADT^A11") == (2, 0, 2, 0)
    assert _counts(r, "ADT^A40") == (1, 0, 1, 0)  # merge: skipped by design, counted
    assert _counts(r, "ADT^A31") == (1, 1, 0, 0)
    assert _counts(r, "ADT^A28") == (1, 1, 0, 0)  # v2.2: trigger only in EVN-1
    assert r.skip_reasons == {"cancelled": 2, "nothing_to_cancel": 1, "merge_not_applied": 1}
    # A04 in the ED, A02 to a ward as inpatient, A03 discharged, A13 discharge cancelled
    assert wh.con.execute(
        "SELECT visit_occurrence_id, visit_concept_id, visit_source_value, visit_start_datetime, "
        "visit_end_date, visit_end_datetime, discharged_to_source_value FROM visit_occurrence"
    ).fetchall() == [
        (_visit("LAKE|L-1|LV-1"), 9201, "HL70004:I", T(2024, 3, 1, 7, 55), dt.date(2024, 3, 1),
         None, None),
    ]  # fmt: skip
    # A31 updated the address; A28 added a person
    assert wh.con.execute(
        "SELECT address_line, city FROM mm_person_identity WHERE mrn = 'L-1'"
    ).fetchone() == ("9 Shore Rd", "Lakeview")
    assert wh.count("person") == 3


def test_cancel_admit_of_an_earlier_load_removes_the_visit(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    a01 = (
        "MSH|^~\\&|ADT|LAKE|MM|LAKE|20240305080000||ADT^A01|C-1|P|2.5.1\r"
        "PID|1||L-2^^^LAKE^MR||Ito^Ken||19880808|M\r"
        "PV1|1|I|||||||||||||||||LV-2^^^LAKE^VN|||||||||||||||||||||||||20240305075000\r"
        "OBX|1|NM|8867-4^Heart rate^LN||72|/min^^UCUM|||||F\r"
    )
    (tmp_path / "a.hl7").write_text(a01, newline="")
    hl7v2.load(tmp_path / "a.hl7", wh)
    assert wh.count("visit_occurrence") == 1
    a11 = a01.replace("ADT^A01|C-1", "ADT^A11|C-2").split("OBX")[0]
    (tmp_path / "b.hl7").write_text(a11, newline="")
    r = hl7v2.load(tmp_path / "b.hl7", wh)
    assert _counts(r, "ADT^A11") == (1, 1, 0, 0)
    assert wh.count("visit_occurrence") == 0
    # the heart rate stays with the patient, without the cancelled visit
    assert wh.con.execute("SELECT person_id, visit_occurrence_id FROM measurement").fetchall() == [
        (_person("L-2"), None)
    ]
    assert wh.con.execute(
        "SELECT count(*) FROM mm_source_record WHERE table_name = 'visit_occurrence'"
    ).fetchone() == (0,)
    # re-sending the admission creates it again
    r = hl7v2.load(tmp_path / "a.hl7", wh)
    assert _counts(r, "ADT^A01") == (1, 1, 0, 0) and wh.count("visit_occurrence") == 1


def test_dates_precisions_fractions_zones_and_invalid_birth_date():
    wh, r = _load("07_dates.hl7")
    assert r.reconciles
    assert r.quarantine_reasons == {"invalid_date": 1}
    q = wh.con.execute("SELECT location, message FROM mm_quarantine").fetchone()
    assert q == ("message 4 (segment 10)", "PID-7 birth date is not a valid date")
    births = wh.con.execute(
        "SELECT i.mrn, year_of_birth, month_of_birth, day_of_birth FROM person p "
        "JOIN mm_person_identity i USING (person_id) ORDER BY 1"
    ).fetchall()
    assert births == [("H-1", 1948, 1, 1), ("H-2", 1973, 11, 1), ("H-3", 1964, 2, 29)]
    starts = dict(
        wh.con.execute(
            "SELECT i.value, visit_start_datetime FROM visit_occurrence v JOIN mm_identifier i "
            "ON i.row_id = v.visit_occurrence_id"
        ).fetchall()
    )
    assert starts == {
        "HV-1": T(2024, 4, 1, 9, 30),  # no seconds
        "HV-2": T(2024, 4, 2, 10, 15, 30),  # seconds
        "HV-3": T(2024, 4, 3, 17, 0, 0, 500000),  # fraction and -0500 -> UTC
    }
    times = wh.con.execute(
        "SELECT measurement_datetime FROM measurement ORDER BY value_as_number DESC"
    ).fetchall()
    assert times == [(T(2024, 4, 5, 6, 15, 9, 750000),), (T(2024, 4, 5, 8, 0),)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", T(2024, 1, 1)),
        ("202402", T(2024, 2, 1)),
        ("20240229", T(2024, 2, 29)),
        ("2024022913", T(2024, 2, 29, 13)),
        ("202402291305", T(2024, 2, 29, 13, 5)),
        ("20240229130507", T(2024, 2, 29, 13, 5, 7)),
        ("20240229130507.1", T(2024, 2, 29, 13, 5, 7, 100000)),
        ("20240229130507.1234", T(2024, 2, 29, 13, 5, 7, 123400)),
        ("20240229130507+0130", T(2024, 2, 29, 11, 35, 7)),
        ("202402291305-0800", T(2024, 2, 29, 21, 5)),
        (" 20240229 ", T(2024, 2, 29)),
    ],
)
def test_timestamp_precisions(text, expected):
    assert parse_ts(text, "X-1") == expected


@pytest.mark.parametrize(
    "text", ["20230229", "2024-02-29", "20241301", "202402291360", "24", "20240229+5", "1700"]
)
def test_invalid_timestamps_are_refused_without_the_value(text):
    with pytest.raises(Rejected) as err:
        parse_ts(text, "PID-7 birth date")
    assert text.strip() not in err.value.detail and "PID-7" in err.value.detail


def test_reloading_the_feeds_adds_nothing():
    wh = Warehouse(":memory:")
    hl7v2.load(FEEDS, wh)
    before = wh.counts()
    r = hl7v2.load(FEEDS, wh)
    after = wh.counts()
    assert {t for t in before if before[t] != after[t]} <= {"mm_load", "mm_quarantine", "mm_audit"}
    assert r.reconciles and r.totals.loaded == 0
