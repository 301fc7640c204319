from __future__ import annotations

import codecs
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medmine.errors import SourceError
from medmine.ingest import hl7v2, notes
from medmine.warehouse import LoadSession, Reason, stable_id

from ..conftest import TEST_DATA

FIXTURES = TEST_DATA / "notes"
OPTS = dict(person_namespace="hl7v2:Patient", visit_namespace="hl7v2:Visit", language="en")


def _counts(report, rtype="Note"):
    c = report.counts[rtype]
    return (c.read, c.loaded, c.skipped, c.quarantined)


@pytest.fixture
def with_patients(wh):
    hl7v2.load(TEST_DATA / "hl7v2", wh)
    return wh


def test_fixture_folder_loads_and_reconciles(with_patients):
    wh = with_patients
    r = notes.load(FIXTURES, wh, **OPTS)
    assert r.reconciles
    assert _counts(r) == (12, 6, 0, 6)
    assert r.quarantine_reasons == {
        "invalid_date": 1,
        "malformed": 1,
        "missing_field": 3,
        "dangling_reference": 1,
    }
    assert r.warning_reasons == {"unresolved_reference": 1}
    rows = dict(
        wh.con.execute(
            "SELECT note_id, (note_date, note_datetime, note_source_value, visit_occurrence_id, "
            "person_id, language_concept_id) FROM note WHERE note_title IS DISTINCT FROM "
            "'Result comment (NTE)'"
        ).fetchall()
    )
    discharge = rows[stable_id("notes:Note", "discharge_100001.txt")]
    assert discharge == (
        dt.date(2023, 3, 5), None, "discharge summary",
        stable_id("hl7v2:Visit", "UMC|100001|V1001"), stable_id("hl7v2:Patient", "100001"), 4180186,
    )  # fmt: skip
    progress = rows[stable_id("notes:Note", "progress/2023-03-02_progress.txt")]
    assert progress[1] == dt.datetime(2023, 3, 2, 9, 15)
    phone = rows[stable_id("notes:Note", "100002_20230312_telephone_encounter.txt")]
    assert phone[:3] == (dt.date(2023, 3, 12), None, "telephone encounter")  # from the file name
    orphan = rows[stable_id("notes:Note", "orphan_visit.txt")]
    assert orphan[3] is None  # unknown encounter: reference dropped with a warning


@pytest.mark.parametrize(
    ("name", "start", "encoding"),
    [
        ("discharge_100001.txt", "DISCHARGE SUMMARY", 32678),
        ("progress/2023-03-02_progress.txt", "PROGRESS NOTE", 32678),  # BOM removed
        ("ed_note_cp1252.txt", "EMERGENCY DEPARTMENT NOTE", 0),
        ("utf16_note.txt", "CLINIC NOTE", 32678),
    ],
)
def test_encodings_are_detected(with_patients, name, start, encoding):
    wh = with_patients
    notes.load(FIXTURES, wh, **OPTS)
    text, enc = wh.con.execute(
        "SELECT note_text, encoding_concept_id FROM note WHERE note_id = ?",
        [stable_id("notes:Note", name)],
    ).fetchone()
    assert text.startswith(start) and enc == encoding
    if name == "ed_note_cp1252.txt":
        assert "38.4 °C" in text and "Patient’s" in text
    if name == "discharge_100001.txt":
        assert "réadaptation" in text


def test_reload_adds_nothing(with_patients):
    wh = with_patients
    notes.load(FIXTURES, wh, **OPTS)
    n = wh.count("note")
    r = notes.load(FIXTURES, wh, **OPTS)
    assert wh.count("note") == n
    assert _counts(r) == (12, 0, 6, 6)


PERSON = dict(gender_concept_id=0, year_of_birth=1970, race_concept_id=0, ethnicity_concept_id=0)


@pytest.fixture
def one_person(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient")
        s.add_record(
            "Patient", [("person", {**PERSON, "person_id": 42})], source_file="x", location="1"
        )
    return wh


BAD_CASES = [
    ("empty", b"", "42,2023-01-01", Reason.MISSING_FIELD),
    ("whitespace_only", b"  \n\t\n", "42,2023-01-01", Reason.MISSING_FIELD),
    ("binary", b"\x00\x01\x02abc", "42,2023-01-01", Reason.MALFORMED),
    ("unknown_person", b"text", "43,2023-01-01", Reason.DANGLING_REFERENCE),
    ("person_not_an_id", b"text", "MRN7,2023-01-01", Reason.INVALID_VALUE),
    ("person_empty", b"text", ",2023-01-01", Reason.MISSING_FIELD),
    ("date_empty", b"text", "42,", Reason.MISSING_FIELD),
    ("date_impossible", b"text", "42,2023-13-01", Reason.INVALID_DATE),
    ("datetime_bad", b"text", "42,2023-01-01T25:00", Reason.INVALID_DATE),
    ("metadata_row_too_long", b"text", "42,2023-01-01,x,extra", Reason.MALFORMED),
]


@pytest.mark.parametrize(
    ("name", "content", "meta", "reason"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_note_is_quarantined_rest_loads(one_person, tmp_path, name, content, meta, reason):
    wh = one_person
    (tmp_path / "good.txt").write_text("A good note.")
    (tmp_path / "bad.txt").write_bytes(content)
    (tmp_path / "metadata.csv").write_text(
        f"file,person,date,note_type\ngood.txt,42,2023-01-02,progress note\nbad.txt,{meta},x\n"
    )
    r = notes.load(tmp_path, wh)
    assert r.reconciles
    assert _counts(r) == (2, 1, 0, 1)
    assert r.quarantine_reasons == {str(reason): 1}
    message = wh.con.execute("SELECT message FROM mm_quarantine").fetchone()[0]
    assert "MRN7" not in message and "2023-13-01" not in message


def test_metadata_without_required_columns_is_source_error(one_person, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "metadata.csv").write_text("file,patient\na.txt,42\n")
    with pytest.raises(SourceError, match="lacks column"):
        notes.load(tmp_path, one_person)


def test_explicit_metadata_file_and_single_file(one_person, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    meta = tmp_path / "elsewhere.csv"
    meta.write_text("file,person,date\na.txt,42,2023-05-01\n")
    r = notes.load(tmp_path / "a.txt", one_person, metadata=meta)
    assert _counts(r) == (1, 1, 0, 0)


@given(st.binary(max_size=200))
def test_decode_text_never_crashes(data):
    try:
        text, enc = notes.decode_text(data)
    except ValueError:
        assert b"\x00" in data
    else:
        assert isinstance(text, str) and enc


@given(st.text(max_size=100).filter(lambda s: "\x00" not in s))
def test_utf8_text_round_trips(s):
    assert notes.decode_text(s.encode("utf-8"))[0] == s
    assert notes.decode_text(codecs.BOM_UTF8 + s.encode("utf-8")) == (s, "utf-8")
