"""Malformed FHIR input: each bad record is quarantined with the right reason while the rest
of its file loads; nothing ever crashes the loader and every load reconciles.
"""

from __future__ import annotations

import base64
import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
GOOD_OBS = {
    "resourceType": "Observation",
    "id": "ok",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2020-01-01T10:00:00Z",
    "valueQuantity": {"value": 72, "code": "/min"},
}


def obs(**changes):
    r = {**GOOD_OBS, "id": "bad", **changes}
    return {k: v for k, v in r.items() if v is not None}


def note(data):
    return {
        "resourceType": "DocumentReference",
        "id": "bad",
        "subject": {"reference": "Patient/p1"},
        "date": "2020-01-01",
        "content": [{"attachment": {"contentType": "text/plain", "data": data}}],
    }


# (case id, bad line (dict or raw text), expected type, expected reason, a value that must not
# appear in the message)
CASES = [
    ("bad-json", '{"resourceType": "Observation", "id": "bad", "code": ', "Observation",
     "malformed", None),
    ("json-array", "[1, 2, 3]", "Unknown", "malformed", None),
    ("no-resource-type", {"id": "bad"}, "Unknown", "missing_field", None),
    ("unknown-resource-type", {"resourceType": "Spaceship", "id": "bad"}, "Spaceship",
     "unsupported_type", None),
    ("missing-id", obs(id=None), "Observation", "missing_field", None),
    ("missing-subject", obs(subject=None), "Observation", "missing_field", None),
    ("missing-code", obs(code=None), "Observation", "missing_field", None),
    ("missing-date", obs(effectiveDateTime=None), "Observation", "missing_field", None),
    ("invalid-date", obs(effectiveDateTime="2019-02-30T10:00:00Z"), "Observation",
     "invalid_date", "2019-02-30"),
    ("date-not-a-string", obs(effectiveDateTime=20190101), "Observation", "invalid_date", None),
    ("non-numeric-quantity", obs(valueQuantity={"value": "very high", "code": "/min"}),
     "Observation", "invalid_value", "very high"),
    ("quantity-not-an-object", obs(valueQuantity=[72]), "Observation", "invalid_value", None),
    ("dangling-subject", obs(subject={"reference": "Patient/nobody"}), "Observation",
     "dangling_reference", None),
    ("urn-subject-outside-bundle", obs(subject={"reference": "urn:uuid:1234"}), "Observation",
     "dangling_reference", None),
    ("unparseable-subject", obs(subject={"reference": "not a reference"}), "Observation",
     "dangling_reference", None),
    ("conditional-subject-matching-nothing",
     obs(subject={"reference": "Patient?identifier=http://x|123-45-6789"}), "Observation",
     "dangling_reference", "123-45-6789"),
    ("subject-of-wrong-type", obs(subject={"reference": "Group/g1"}), "Observation",
     "invalid_value", None),
    ("subject-not-an-object", obs(subject="Patient/p1"), "Observation", "missing_field", None),
    ("bad-base64", note("@@not base64@@"), "DocumentReference", "invalid_value", "@@"),
    ("base64-not-utf8", note(base64.b64encode(b"\xff\xfe\xfa").decode()), "DocumentReference",
     "invalid_value", None),
    ("patient-with-impossible-birthdate",
     {"resourceType": "Patient", "id": "bad", "gender": "male", "birthDate": "1970-02-30"},
     "Patient", "invalid_date", None),
    ("encounter-ends-before-start",
     {"resourceType": "Encounter", "id": "bad", "subject": {"reference": "Patient/p1"},
      "period": {"start": "2020-01-02", "end": "2020-01-01"}}, "Encounter", "invalid_date",
     None),
    ("component-not-an-object", obs(component=["x"]), "Observation", "invalid_value", None),
    ("claim-item-sequence-not-int",
     {"resourceType": "Claim", "id": "bad", "patient": {"reference": "Patient/p1"},
      "created": "2020-01-01", "item": [{"sequence": "one"}]}, "Claim", "invalid_value", None),
]  # fmt: skip


def write_ndjson(path: Path, lines: list) -> Path:
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("bad", "rtype", "reason", "secret"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_record_is_quarantined_and_the_rest_loads(tmp_path, bad, rtype, reason, secret):
    f = write_ndjson(tmp_path / "mixed.ndjson", [PATIENT, bad, GOOD_OBS])
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(f, wh)
        q = wh.con.execute(
            "SELECT source_file, location, resource_type, reason_code, message, record "
            "FROM mm_quarantine"
        ).fetchall()
        assert wh.count("person") == 1
        assert wh.count("measurement") == 1
    assert r.reconciles
    assert r.counts[rtype].quarantined == 1
    assert r.quarantine_reasons == {reason: 1}
    assert len(q) == 1
    source, location, qtype, qreason, message, record = q[0]
    assert (source, location, qtype, qreason) == (str(f.resolve()), "line 2", rtype, reason)
    assert message and record is not None
    if secret is not None:
        assert secret not in message  # messages name fields, never values
    if isinstance(bad, dict):
        assert json.loads(record) == bad


def test_unreadable_files_are_counted_and_other_files_load(tmp_path):
    (tmp_path / "broken.ndjson.gz").write_bytes(b"this is not gzip")
    (tmp_path / "broken.json").write_text("{ not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with gzip.open(tmp_path / "truncated.ndjson.gz", "wb") as g:
        g.write((json.dumps(GOOD_OBS) + "\n").encode() * 50)
    data = (tmp_path / "truncated.ndjson.gz").read_bytes()
    (tmp_path / "truncated.ndjson.gz").write_bytes(data[: len(data) // 2])
    write_ndjson(tmp_path / "Patient.ndjson", [PATIENT])
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path, wh)
        rows = wh.con.execute(
            "SELECT source_file, reason_code, message FROM mm_quarantine ORDER BY 1"
        ).fetchall()
        assert wh.count("person") == 1
    assert r.reconciles
    assert r.counts["File"].read == r.counts["File"].quarantined == 4
    names = [Path(s).name for s, _, _ in rows]
    assert names == ["broken.json", "broken.ndjson.gz", "list.json", "truncated.ndjson.gz"]
    assert all(reason == "malformed" for _, reason, _ in rows)
    assert "not a gzip file" in rows[1][2]


def test_requarantining_the_same_file_adds_nothing(tmp_path):
    f = write_ndjson(tmp_path / "x.ndjson", [PATIENT, "{oops", GOOD_OBS])
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load(f, wh)
        again = load(f, wh)
        assert wh.count("mm_quarantine") == 1
    assert again.totals.quarantined == 0 and again.reconciles
    assert again.skip_reasons == {"duplicate": 3}


def test_records_waiting_for_a_later_patient_are_loaded(tmp_path):
    f = write_ndjson(tmp_path / "mixed.ndjson", [GOOD_OBS, PATIENT])
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(f, wh)
        assert wh.count("measurement") == 1
    assert r.totals.loaded == 2 and r.totals.quarantined == 0


# ---- Hypothesis: arbitrary resources never crash the loader ----
FIELDS = [
    "id", "subject", "patient", "beneficiary", "code", "valueQuantity", "valueString",
    "valueCodeableConcept", "effectiveDateTime", "onsetDateTime", "period", "birthDate",
    "gender", "encounter", "component", "content", "item", "total", "claim", "identifier",
    "address", "deceasedDateTime", "category", "medicationCodeableConcept", "authoredOn",
    "vaccineCode", "occurrenceDateTime", "performedDateTime", "date", "presentedForm",
    "dispenseRequest", "diagnosis", "insurance", "extension", "name", "telecom", "class",
]  # fmt: skip
TYPES = [
    "Patient", "Encounter", "Condition", "Observation", "Procedure", "MedicationRequest",
    "MedicationAdministration", "MedicationStatement", "Immunization", "AllergyIntolerance",
    "DocumentReference", "DiagnosticReport", "Claim", "ExplanationOfBenefit", "Coverage",
    "Practitioner", "Organization", "Location", "Provenance", "Spaceship",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["Patient/p1", "urn:uuid:x", "2020-01-01", "2020-02-30", "1999",
                     "2020-01-01T10:00:00+02:00", "Practitioner?identifier=s|v", "aGk="]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "reference",
                    "coding",
                    "code",
                    "system",
                    "value",
                    "start",
                    "end",
                    "display",
                    "data",
                    "attachment",
                    "sequence",
                    "unit",
                ]
            ),
            inner,
            max_size=4,
        ),  # fmt: skip
    ),
    max_leaves=12,
)
resources = st.builds(
    lambda rtype, fields: {"resourceType": rtype, **fields},
    st.sampled_from(TYPES),
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=8),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.one_of(resources, st.just(PATIENT)), min_size=1, max_size=8))
def test_generated_resources_never_crash_and_always_reconcile(items):
    with tempfile.TemporaryDirectory() as d:
        f = write_ndjson(Path(d) / "gen.ndjson", items)
        with Warehouse(":memory:") as wh:
            r = load(f, wh)
            assert wh.count("mm_quarantine") == r.totals.quarantined
    assert r.reconciles
    assert r.totals.read == len(items)
