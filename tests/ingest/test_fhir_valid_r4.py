"""Valid R4 is read, and invalid input costs only its own resource (issue 12, item 5).

Each class of wrongful loss has its tests here; the fuzz test mutates real resources at random
and checks that nothing crashes the load and every resource is accounted for.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
import re
from pathlib import Path

import orjson
import pytest

from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse
from tests.conftest import FHIR_SAMPLES, TEST_DATA

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
OBS = {
    "resourceType": "Observation",
    "id": "ok",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2020-01-01T10:00:00Z",
    "valueQuantity": {"value": 72, "unit": "/min", "code": "/min"},
}


def write_ndjson(path: Path, lines: list) -> Path:
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    path.write_text(text)
    return path


def load_lines(tmp_path: Path, lines: list):
    f = write_ndjson(tmp_path / "x.ndjson", lines)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(f, wh)
        q = wh.con.execute(
            "SELECT location, resource_type, reason_code, message FROM mm_quarantine ORDER BY 1"
        ).fetchall()
        n = wh.count("measurement") + wh.count("observation")
    assert r.reconciles
    return r, q, n


# ---- 2. a primitive of the wrong JSON type quarantines its resource (invalid_value) ----
def _code(**coding):
    return {"coding": [{"system": "http://loinc.org", "code": "8867-4", **coding}]}


WRONG_TYPES = [
    ("display-object", {"code": _code(display={"text": "Heart rate"})}),
    ("display-list", {"code": _code(display=["Heart rate"])}),
    ("code-object", {"code": _code(code={"c": 1})}),
    ("system-list", {"code": _code(system=["http://loinc.org"])}),
    ("unit-list", {"valueQuantity": {"value": 72, "unit": ["/min"]}}),
    ("unit-object", {"valueQuantity": {"value": 72, "unit": {"u": "/min"}}}),
    ("value-string-object", {"valueQuantity": None, "valueString": {"s": "x"}}),
    ("text-list", {"code": {"coding": [{"system": "http://loinc.org", "code": "1"}], "text": [1]}}),
]


@pytest.mark.parametrize("change", [c[1] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES])
def test_wrong_json_type_quarantines_only_that_resource(tmp_path, change):
    bad = {k: v for k, v in {**OBS, "id": "bad", **change}.items() if v is not None}
    r, q, n = load_lines(tmp_path, [PATIENT, bad, OBS])
    assert n == 1
    assert [(loc, t, reason) for loc, t, reason, _ in q] == [
        ("line 2", "Observation", "invalid_value")
    ]
    assert r.counts["Observation"].loaded == 1


def test_wrong_json_type_in_a_bundle_does_not_abort_the_load(tmp_path):
    bad = {**OBS, "id": "bad", "code": _code(display={"x": 1})}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": PATIENT}, {"resource": bad}, {"resource": OBS}],
    }
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path / "b.json", wh)
        assert wh.count("measurement") == 1
    assert r.reconciles and r.quarantine_reasons == {"invalid_value": 1}


# ---- fuzz: random mutations of real resources never crash the load ----
_URN = re.compile(rb'"urn:uuid:([0-9a-fA-F-]{36})"')
_PATIENT_REF = re.compile(r'"Patient/([^"]+)"')


def _corpus(minimum: int) -> list[dict]:
    """Resources of the sample bundles (references made `Type/id`) and the bulk fixtures."""
    out: list[dict] = []
    for f in sorted((TEST_DATA / "fhir" / "bulk").iterdir()):
        opener = gzip.open if f.name.endswith(".gz") else open
        with opener(f, "rb") as fh:
            out += [orjson.loads(line) for line in fh if line.strip()]
    for f in sorted(FHIR_SAMPLES.glob("*.json.gz")):
        raw = gzip.decompress(f.read_bytes())
        doc = orjson.loads(raw)
        types = {e["resource"]["id"]: e["resource"]["resourceType"] for e in doc["entry"]}
        raw = _URN.sub(lambda m, t=types: b'"%s/%s"' % (t[m[1].decode()].encode(), m[1]), raw)
        out += [e["resource"] for e in orjson.loads(raw)["entry"]]
        if len(out) >= minimum:
            return out
    return out


def _slots(node, out):
    """Every (container, key) pair under `node`."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _slots(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _slots(v, out)
    return out


WRONG = [{"x": 1}, [1, "a"], ["text"], {"value": {"deep": [1]}}, 12345, 1.5, True, "text", None]


def _mutate(res: dict, rnd: random.Random) -> str:
    """One mutated NDJSON line from `res` (changed in place)."""
    deep = None
    for _ in range(rnd.randint(1, 3)):
        slots = _slots(res, [])
        if not slots:
            break
        parent, key = rnd.choice(slots)
        kind = rnd.random()
        if kind < 0.45:  # wrong type, mostly an object or a list where a primitive is
            parent[key] = copy.deepcopy(rnd.choice(WRONG))
        elif kind < 0.65:
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif kind < 0.75:
            parent[key] = "x" * rnd.randint(1_000, 100_000)
        elif kind < 0.85:
            deep = rnd.choice([20, 200, 2_000])
            parent[key] = "__DEEP__"
        else:
            parent[key] = rnd.choice([-(2**70), 2**40, -1, 0, 10**300, "2020-02-30", ""])
    line = json.dumps(res, separators=(",", ":"))  # orjson refuses integers beyond 64 bits
    if deep is not None:
        line = line.replace('"__DEEP__"', "[" * deep + "1" + "]" * deep, 1)
    if rnd.random() < 0.1:
        line = line[: rnd.randint(1, max(1, len(line) - 1))]  # a truncated line
    return line


def _write_and_load(folder: Path, lines: list[str]):
    folder.mkdir()
    pat = [x for x in lines if '"resourceType":"Patient"' in x[:40]]
    rest = [x for x in lines if '"resourceType":"Patient"' not in x[:40]]
    (folder / "Patient.ndjson").write_text("".join(x + "\n" for x in pat))
    (folder / "resources.ndjson").write_text("".join(x + "\n" for x in rest))
    with Warehouse(folder / "w.duckdb") as wh:
        report = load(folder, wh)
        keys = {k for (k,) in wh.con.execute("SELECT source_key FROM mm_source_record").fetchall()}
    return report, keys


def test_fuzz_random_mutations_never_crash_and_every_resource_is_accounted_for(tmp_path):
    corpus = _corpus(25_500)
    assert len(corpus) >= 25_000
    rnd = random.Random(20261127)
    keys = [f"{r.get('resourceType')}/{r.get('id')}" for r in corpus]
    clean = [orjson.dumps(r).decode() for r in corpus]
    _, loaded_clean = _write_and_load(tmp_path / "clean", clean)

    lines, touched = [], set()
    for key, res, line in zip(keys, corpus, clean, strict=True):
        # the sample's few Patients stay intact, or most of the corpus would wait for them
        if rnd.random() < 0.4 and not (key.startswith("Patient/") and len(key) > 40):
            touched.add(key)
            lines.append(_mutate(res, rnd))
        else:
            lines.append(line)
    assert len(touched) >= 10_000
    report, loaded = _write_and_load(tmp_path / "mutated", lines)

    assert report.reconciles
    assert report.totals.read == len(lines)
    assert report.totals.quarantined > 0
    # every untouched resource loaded before loads now, unless it is about a mutated Patient
    bad_patients = {k for k in touched if k.startswith("Patient/")}
    must = {
        key
        for key, line in zip(keys, clean, strict=True)
        if key not in touched
        and key in loaded_clean
        and not any(f"Patient/{p}" in bad_patients for p in _PATIENT_REF.findall(line))
    }
    assert len(must) > 10_000
    assert sorted(must - loaded)[:5] == []


# ---- 1. a UTF-8 byte-order mark at the start of a file ----
BOM = b"\xef\xbb\xbf"


def test_bom_at_the_start_of_an_ndjson_file_is_ignored(tmp_path):
    lines = "".join(json.dumps(x) + "\n" for x in [PATIENT, OBS]).encode()
    (tmp_path / "x.ndjson").write_bytes(BOM + lines)
    with gzip.open(tmp_path / "y.ndjson.gz", "wb") as g:
        g.write(BOM + json.dumps({**OBS, "id": "ok2"}).encode() + b"\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path, wh)
        assert wh.count("measurement") == 2
    assert r.reconciles and r.totals.quarantined == 0 and r.totals.loaded == 3


def test_bom_at_the_start_of_a_json_bundle_is_ignored(tmp_path):
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": PATIENT}, {"resource": OBS}]}  # fmt: skip
    (tmp_path / "b.json").write_bytes(BOM + json.dumps(bundle).encode())
    with gzip.open(tmp_path / "single.json.gz", "wb") as g:
        g.write(BOM + json.dumps({**OBS, "id": "ok2"}).encode())
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path, wh)
        assert wh.count("measurement") == 2
    assert r.reconciles and r.totals.quarantined == 0 and r.totals.loaded == 3


# ---- 4. a CodeableConcept with only text: concept 0, the text as source value ----
TEXT_ONLY = [
    ({**OBS, "code": {"text": "Pulse rate"}}, "measurement", "measurement_source_value"),
    (
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
         "code": {"text": "Pulse rate"}, "onsetDateTime": "2020-01-01"},
        "condition_occurrence", "condition_source_value",
    ),
    (
        {"resourceType": "Procedure", "id": "pr1", "subject": {"reference": "Patient/p1"},
         "code": {"coding": [{"display": "no code here"}], "text": "Pulse rate"},
         "performedDateTime": "2020-01-01"},
        "procedure_occurrence", "procedure_source_value",
    ),
    (
        {"resourceType": "MedicationRequest", "id": "m1", "subject": {"reference": "Patient/p1"},
         "medicationCodeableConcept": {"text": "Pulse rate"}, "authoredOn": "2020-01-01"},
        "drug_exposure", "drug_source_value",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("res", "table", "column"), TEXT_ONLY, ids=lambda x: str(x)[:40])
def test_text_only_codeable_concept_loads_with_concept_0_and_the_text(tmp_path, res, table, column):
    f = write_ndjson(tmp_path / "x.ndjson", [PATIENT, res])
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(f, wh)
        concept = table.replace("_occurrence", "").replace("_exposure", "")
        rows = wh.con.execute(f"SELECT {concept}_concept_id, {column} FROM {table}").fetchall()
    assert r.reconciles and r.totals.quarantined == 0
    assert rows == [(0, "Pulse rate")]


def test_codeable_concept_with_neither_code_nor_text_is_still_missing(tmp_path):
    r, q, n = load_lines(tmp_path, [PATIENT, {**OBS, "code": {"text": ""}}])
    assert n == 0 and [x[2] for x in q] == ["missing_field"]


# ---- 6. bundle entries with no resource (request-only) are skipped, not quarantined ----
def test_request_only_bundle_entries_are_a_skip_reason(tmp_path):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": PATIENT, "request": {"method": "PUT", "url": "Patient/p1"}},
            {"request": {"method": "DELETE", "url": "Observation/old"}},
            {"request": {"method": "GET", "url": "Patient?name=x"}},
            {"fullUrl": "urn:uuid:1", "response": {"status": "204"}},
            {"resource": OBS, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    (tmp_path / "t.json").write_text(json.dumps(bundle))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path / "t.json", wh)
        assert wh.count("mm_quarantine") == 0
    assert r.reconciles and r.totals.quarantined == 0
    assert r.skip_reasons == {"no_resource": 3}
    assert r.counts["BundleEntry"].read == r.counts["BundleEntry"].skipped == 3
    assert r.counts["Observation"].loaded == 1


def test_an_entry_that_is_not_an_object_is_still_quarantined(tmp_path):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": PATIENT}, 7]}
    (tmp_path / "t.json").write_text(json.dumps(bundle))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path / "t.json", wh)
    assert r.reconciles and r.quarantine_reasons == {"malformed": 1}


# ---- 7. a modifierExtension the loader does not understand quarantines its resource ----
MODIFIER = [{"url": "http://example.org/fhir/StructureDefinition/not-done", "valueBoolean": True}]


@pytest.mark.parametrize(
    "bad",
    [
        {**OBS, "id": "bad", "modifierExtension": MODIFIER},
        {**OBS, "id": "bad", "component": [{"code": OBS["code"], "modifierExtension": MODIFIER}]},
        {**OBS, "id": "bad", "code": {**OBS["code"], "modifierExtension": MODIFIER}},
    ],
    ids=["root", "backbone-element", "datatype"],
)
def test_unknown_modifier_extension_is_quarantined_with_its_own_reason(tmp_path, bad):
    r, q, n = load_lines(tmp_path, [PATIENT, bad, OBS])
    assert n == 1
    assert [(loc, t, reason) for loc, t, reason, _ in q] == [
        ("line 2", "Observation", "unsupported_modifier")
    ]
    assert "modifierExtension" in q[0][3] and "not-done" in q[0][3]


def test_unknown_modifier_extension_in_a_bundle(tmp_path):
    bad = {**OBS, "id": "bad", "modifierExtension": MODIFIER}
    entries = [{"resource": x} for x in (PATIENT, bad, OBS)]
    (tmp_path / "b.json").write_text(json.dumps({"resourceType": "Bundle", "entry": entries}))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path / "b.json", wh)
    assert r.reconciles and r.quarantine_reasons == {"unsupported_modifier": 1}


def test_an_empty_modifier_extension_list_changes_nothing(tmp_path):
    r, q, n = load_lines(tmp_path, [PATIENT, {**OBS, "modifierExtension": []}])
    assert n == 1 and q == []


# ---- 8. a truncated .gz keeps every complete line before the damage ----
def test_truncated_gzip_keeps_every_complete_line_and_names_the_last_good_one(tmp_path):
    rnd = random.Random(8)
    lines = [json.dumps(PATIENT)] + [
        json.dumps({**OBS, "id": f"o{i}", "valueQuantity": {"value": rnd.random()}})
        for i in range(3000)
    ]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = data[: len(data) * 2 // 3]
    (tmp_path / "obs.ndjson.gz").write_bytes(cut)
    import zlib

    recoverable = zlib.decompressobj(31).decompress(cut).count(b"\n")  # complete lines
    assert 1000 < recoverable < 3001
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path / "obs.ndjson.gz", wh)
        assert wh.count("measurement") == recoverable - 1
        ((loc, message),) = wh.con.execute("SELECT location, message FROM mm_quarantine").fetchall()
    assert r.reconciles
    assert r.counts["Observation"].loaded == recoverable - 1
    assert r.counts["File"].quarantined == 1
    assert "obs.ndjson.gz" in message
    assert f"line {recoverable}" in message and "last complete line" in message
    assert loc == f"after line {recoverable}"


# ---- 5. an Observation without its own date: its report's, its encounter's, then issued ----
def test_observation_without_a_date_takes_its_report_then_encounter_then_issued(tmp_path):
    def o(oid, **more):
        r = {**OBS, "id": oid, "subject": {"reference": "urn:uuid:pat"}, **more}
        del r["effectiveDateTime"]
        return r

    enc = {"reference": "urn:uuid:enc"}
    entries = [
        ("urn:uuid:o-report", o("o-report", encounter=enc, issued="2020-05-05T00:00:00Z")),
        ("urn:uuid:o-enc", o("o-enc", encounter=enc, issued="2020-05-05T00:00:00Z")),
        ("urn:uuid:o-issued", o("o-issued", issued="2020-04-01T08:00:00+02:00")),
        ("urn:uuid:o-none", o("o-none")),
        ("urn:uuid:pat", PATIENT),
        ("urn:uuid:enc", {"resourceType": "Encounter", "id": "e1", "subject": {
            "reference": "urn:uuid:pat"}, "period": {"start": "2020-03-01T09:00:00Z"}}),
        ("urn:uuid:dr", {"resourceType": "DiagnosticReport", "id": "dr1",
                         "subject": {"reference": "urn:uuid:pat"},
                         "effectiveDateTime": "2020-02-01T10:00:00Z",
                         "result": [{"reference": "urn:uuid:o-report"}]}),
    ]  # fmt: skip
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": u, "resource": r} for u, r in entries],
    }
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path / "b.json", wh)
        got = dict(
            wh.con.execute(
                "SELECT s.source_key, m.measurement_date::VARCHAR FROM measurement m "
                "JOIN mm_source_record s ON s.table_name = 'measurement' "
                "AND s.row_id = m.measurement_id"
            ).fetchall()
        )
        q = wh.con.execute("SELECT location, reason_code FROM mm_quarantine").fetchall()
    assert got == {
        "Observation/o-report": "2020-02-01",
        "Observation/o-enc": "2020-03-01",
        "Observation/o-issued": "2020-04-01",
    }
    assert q == [("entry[3] Observation/o-none", "missing_field")]
    assert r.reconciles


# ---- 3. a Patient without birthDate ----
# birthDate is optional in R4: the Patient loads with the year unknown (NULL, never invented),
# counted as a missing_field warning and flagged by the person_without_year_of_birth check,
# so that its records are not orphaned.
CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
    "subject": {"reference": "Patient/p1"},
    "onsetDateTime": "2020-01-01",
}


def test_patient_without_birth_date_loads_and_its_records_are_not_orphaned(tmp_path):
    from medmine.quality.checks import run_checks

    nobirth = {"resourceType": "Patient", "id": "p1", "gender": "male"}
    f = write_ndjson(tmp_path / "x.ndjson", [nobirth, OBS, CONDITION])
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(f, wh)
        person = wh.con.execute(
            "SELECT person_id, year_of_birth, month_of_birth, day_of_birth, birth_datetime "
            "FROM person"
        ).fetchall()
        events = wh.con.execute(
            "SELECT (SELECT count(*) FROM measurement WHERE person_id = p.person_id), "
            "(SELECT count(*) FROM condition_occurrence WHERE person_id = p.person_id) "
            "FROM person p"
        ).fetchall()
        assert wh.count("mm_quarantine") == 0
        check = run_checks(wh, types=["person_without_year_of_birth"], store=False).get(
            "person_without_year_of_birth:person"
        )
        again = load(f, wh)  # idempotent: nothing added, no second warning
        assert wh.count("person") == 1
    assert r.reconciles and r.totals.quarantined == 0
    assert [row[1:] for row in person] == [(None, None, None, None)]
    assert events == [(1, 1)]
    assert (r.counts["Patient"].loaded, r.counts["Patient"].warnings) == (1, 1)
    assert r.warning_reasons == {"missing_field": 1}
    assert check.num_violated == 1 and check.example_ids == [str(person[0][0])]
    assert check.has_failing_rows
    assert again.counts["Patient"].skipped == 1 and again.totals.warnings == 0


def test_patient_with_an_invalid_birth_date_is_still_quarantined(tmp_path):
    bad = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1970-13-45"}
    r, q, n = load_lines(tmp_path, [bad, OBS])
    assert n == 0
    (p_loc, p_type, p_reason, _), (o_loc, o_type, o_reason, o_msg) = q
    assert (p_loc, p_type, p_reason) == ("line 1", "Patient", "invalid_date")
    assert (o_loc, o_type, o_reason) == ("line 2", "Observation", "dangling_reference")
    assert "quarantined" in o_msg


def _has_value(obs: dict) -> bool:
    """An Observation writes a row when it or a component has a value (mapping.md, R5)."""
    parts = [obs, *obs.get("component", ())]
    return any(k.startswith("value") and k != "valueQuantity" for p in parts for k in p) or any(
        (p.get("valueQuantity") or {}).get("value") is not None for p in parts
    )


def test_fuzz_mutated_bundle_entries_never_crash_the_load(tmp_path):
    rnd = random.Random(5)
    files = sorted(FHIR_SAMPLES.glob("*.json.gz"))[10:22]
    must, n_entries = set(), 0
    for f in files:
        doc = orjson.loads(gzip.decompress(f.read_bytes()))
        out = []
        for e in doc["entry"]:
            res = e["resource"]
            rtype, rid = res["resourceType"], res["id"]
            key = f"{rtype}/{rid}"
            roll = rnd.random()
            if rtype == "Patient" or roll >= 0.5:
                out.append(orjson.dumps(e).decode())
                insurer = rtype == "Organization" and '"code":"ins"' in orjson.dumps(res).decode()
                if not insurer and (rtype != "Observation" or _has_value(res)):
                    must.add(key)  # (an insurer, a value-less Observation: skipped by design)
            elif roll < 0.05:  # a broken entry
                bad = rnd.choice([7, "x", [], {}, {"fullUrl": e["fullUrl"]}, {"resource": 1}])
                out.append(json.dumps(bad))
            else:
                line = (
                    _mutate(res, rnd)
                    .replace("[" * 2_000, "[" * 200)
                    .replace("]" * 2_000, "]" * 200)
                )
                try:
                    json.loads(line)
                except (
                    ValueError,
                    RecursionError,
                ):  # a truncated line: the entry's resource is cut instead
                    line = json.dumps({"resourceType": rtype, "id": rid})
                out.append('{"fullUrl":' + json.dumps(e["fullUrl"]) + ',"resource":' + line + "}")
        n_entries += len(out)
        text = '{"resourceType":"Bundle","type":"transaction","entry":[' + ",".join(out) + "]}"
        (tmp_path / f.name.removesuffix(".gz")).write_text(text)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path, wh)
        keys = {k for (k,) in wh.con.execute("SELECT source_key FROM mm_source_record").fetchall()}
    assert r.reconciles and r.totals.read == n_entries and r.totals.quarantined > 0
    clean_skipped = {"CareTeam", "CarePlan", "ImagingStudy", "Device", "SupplyDelivery",
                     "Provenance", "Goal", "DiagnosticReport"}  # fmt: skip
    assert sorted(k for k in must - keys if k.split("/")[0] not in clean_skipped)[:5] == []
