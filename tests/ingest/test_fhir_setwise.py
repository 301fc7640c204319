"""The loader's set-wise path gives exactly what the per-resource mapper gives, odd inputs too.

Each case loads the same file twice: with the set-wise mappings (``setwise=True``) and with
every type mapped one resource at a time; rows of every table, counts, warnings and quarantine
records (location, reason, message) must be equal.
"""

from __future__ import annotations

import json
import random
from importlib.resources import files

import pytest

from medmine.fhir.views import compile_view, validate_view
from medmine.ingest.fhir import _load, load
from medmine.ingest.fhir._mappings import setwise_mappings
from medmine.ingest.fhir._setwise import apply
from medmine.ingest.fhir._viewmap_observation import fast_observations
from medmine.warehouse import Warehouse
from medmine.warehouse.sql import ident
from tests.ingest.test_fhir_valid_r4 import _corpus, _mutate

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
LOINC = "http://loinc.org"
OBS = {
    "resourceType": "Observation",
    "id": "o-ok",
    "status": "final",
    "category": [{"coding": [{"code": "laboratory"}]}],
    "subject": {"reference": "Patient/p1"},
    "encounter": {"reference": "Encounter/e1"},
    "code": {"coding": [{"system": LOINC, "code": "2339-0", "display": "Glucose"}]},
    "effectiveDateTime": "2020-01-02T03:04:05+02:00",
    "valueQuantity": {"value": 5.5, "unit": "mmol/L", "code": "mmol/L"},
}
CC = {"coding": [{"system": "http://snomed.info/sct", "code": "8517006", "display": "Ex-smoker"}]}
SOCIAL = [{"coding": [{"code": "social-history"}]}]
ODD_OBSERVATIONS = [
    {"valueQuantity": {"value": 7, "comparator": "<", "unit": "%"}},
    {"valueQuantity": {"unit": "mg"}},
    {"valueQuantity": {"value": 1, "code": "", "unit": "kg"}},
    {"valueQuantity": {"value": 1, "code": ""}},
    {"valueQuantity": {"value": "1"}},
    {"valueQuantity": None, "valueInteger": 3},
    {"valueQuantity": None, "valueInteger": None},
    {"valueQuantity": None, "valueCodeableConcept": CC},
    {"valueQuantity": None, "valueCodeableConcept": {"text": "smoker"}},
    {"valueQuantity": None, "valueCodeableConcept": {"coding": [{"display": "x"}], "text": ""}},
    {"valueQuantity": None, "valueString": "positive"},
    {"valueQuantity": None, "valueString": 12},
    {"valueQuantity": None, "valueBoolean": False},
    {"valueQuantity": None, "valueDateTime": "2020-01-01"},
    {"valueQuantity": None, "valuePeriod": {"start": "2020-01-01"}},
    {"valueQuantity": None, "valueRatio": {"numerator": {"value": 1}}},
    {"valueString": "two values"},
    {"referenceRange": [{"low": {"value": 1}, "high": {"value": 9.5}}]},
    {"referenceRange": {"low": {"value": 1}}},
    {"referenceRange": []},
    {"referenceRange": [{"low": {"value": "1"}}]},
    {"referenceRange": [{"low": 1}]},
    {"component": [{"code": CC, "valueQuantity": {"value": 120, "unit": "mm[Hg]"}}]},
    {"component": [{"code": CC, "valueCodeableConcept": CC}, {"code": {"text": "t"}}]},
    {"component": ["not an object"]},
    {"component": [{"valueQuantity": {"value": 1}}]},
    {"component": {"code": CC}},
    {"category": SOCIAL, "valueQuantity": {"value": 2, "unit": "packs"}},
    {"category": SOCIAL[0]},
    {"category": [{"coding": ["x"]}]},
    {"category": [{"coding": [{"code": 5}]}]},
    {"performer": [{"reference": "Practitioner/d1"}]},
    {"performer": [{"reference": "Organization/org1"}]},
    {"performer": {"reference": "Practitioner/d1"}},
    {"performer": []},
    {"subject": None},
    {"subject": {"reference": "Encounter/e1"}},
    {"subject": {"reference": "Patient/nobody"}},
    {"subject": {"reference": "urn:uuid:nowhere"}},
    {"code": {"text": "glucose, fasting"}},
    {"code": {"text": "\t"}},
    {"code": {"coding": [{"system": LOINC}]}},
    {"code": {"coding": [{"system": LOINC, "code": 2339}]}},
    {"effectiveDateTime": None, "effectivePeriod": {"start": "2020-03"}},
    {"effectiveDateTime": None, "effectiveInstant": "2020-03-04T05:06:07Z"},
    {"effectiveDateTime": "2020-02-30"},
    {"effectiveDateTime": "2020-01-02 10:00"},
    {"effectiveDateTime": None, "effectivePeriod": "2020"},
    {"modifierExtension": [{"url": "http://x.org/not-done"}]},
    {"encounter": {"reference": "urn:uuid:e-nowhere"}},
    {"encounter": {"reference": "Encounter?identifier=x|1"}},
    {"id": "o-ok"},
    {"id": 5},
]


def _contents(wh: Warehouse) -> dict:
    out = {}
    for (name,) in wh.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
    ).fetchall():
        if name in ("mm_load", "mm_audit", "mm_load_file"):
            continue
        cols = [c[0] for c in wh.con.execute(f"DESCRIBE {ident(name)}").fetchall()]
        keep = [ident(c) for c in cols if c not in ("load_id", "quarantine_id", "quarantined_at")]
        out[name] = sorted(
            wh.con.execute(f"SELECT {', '.join(keep)} FROM {ident(name)}").fetchall(), key=repr
        )
    return out


def _load_both(tmp_path, monkeypatch, lines: list) -> tuple[dict, dict]:
    f = tmp_path / "in.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    got = []
    done: list[int] = []

    def spy(s, m, source):
        applied = apply(s, m, source)
        done.append(applied.loaded)
        return applied

    for setwise in (True, False):
        monkeypatch.setattr(_load, "apply", spy)
        if not setwise:
            monkeypatch.setattr(_load, "setwise_mappings", dict)
        with Warehouse(tmp_path / f"{setwise}.duckdb") as wh:
            r = load(f, wh, setwise=setwise)
            counts = {t: (c.read, c.loaded, c.skipped, c.quarantined, c.warnings)
                      for t, c in r.counts.items()}  # fmt: skip
            got.append((counts, r.skip_reasons, r.quarantine_reasons, _contents(wh)))
    got[0][0]["set-wise"] = sum(done)
    got[1][0]["set-wise"] = sum(done)
    return got[0], got[1]


def _case(change: dict, i: int) -> dict:
    obs = {**OBS, "id": f"o{i}", **change}
    return {k: v for k, v in obs.items() if v is not None or k.startswith("value")}


def test_observations_set_wise_equal_the_per_resource_mapper(tmp_path, monkeypatch):
    lines = [PATIENT, OBS, *(_case(c, i) for i, c in enumerate(ODD_OBSERVATIONS))]
    setwise, per_resource = _load_both(tmp_path, monkeypatch, lines)
    assert setwise == per_resource
    counts = setwise[0]["Observation"]
    assert counts[0] == len(lines) - 1 and counts[1] > 30 and counts[3] > 5
    assert setwise[0]["set-wise"] >= 10  # the plain ones did not go through the mapper


@pytest.mark.parametrize("bundle", [False, True])
def test_conditions_set_wise_equal_the_per_resource_mapper(tmp_path, monkeypatch, bundle):
    cond = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": CC,
        "onsetDateTime": "2020-01-02",
        "clinicalStatus": {"coding": [{"code": "active"}]},
    }
    changes = [
        {},
        {"asserter": {"reference": "Practitioner/d1"}, "recorder": {"reference": "P/2"}},
        {"recorder": {"reference": "Practitioner/d2"}},
        {"encounter": {"reference": "urn:uuid:nowhere"}},
        {"code": {"text": " "}},
        {"onsetDateTime": None, "onsetPeriod": {"start": "2019"}},
        {"onsetDateTime": None, "recordedDate": "2019-05-06"},
        {"abatementDateTime": "2021-13-01"},
    ]
    lines = [PATIENT] + [{**cond, "id": f"c{i}", **c} for i, c in enumerate(changes)]
    lines = [{k: v for k, v in x.items() if v is not None} for x in lines]
    if bundle:  # urn:uuid references resolved through the Bundle's fullUrls
        entries = [{"fullUrl": f"urn:uuid:{x['id']}", "resource": x} for x in lines]
        for e in entries[1:]:
            e["resource"]["subject"] = {"reference": "urn:uuid:p1"}
        doc = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        f = tmp_path / "b.json"
        f.write_text(json.dumps(doc))
        lines = None
    if lines is None:
        got = []
        for setwise in (True, False):
            if not setwise:
                monkeypatch.setattr(_load, "setwise_mappings", dict)
            with Warehouse(tmp_path / f"{setwise}.duckdb") as wh:
                r = load(f, wh, setwise=setwise)
                got.append((r.counts["Condition"], _contents(wh)))
        assert got[0] == got[1] and got[0][0].loaded >= 6
    else:
        setwise, per_resource = _load_both(tmp_path, monkeypatch, lines)
        assert setwise == per_resource


def test_reloads_from_the_same_and_another_path_match_the_per_resource_mapper(tmp_path):
    lines = [PATIENT, OBS, *(_case(c, i) for i, c in enumerate(ODD_OBSERVATIONS[:12]))]
    f = tmp_path / "a.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    copy = tmp_path / "copy" / "a.ndjson"
    copy.parent.mkdir()
    copy.write_bytes(f.read_bytes())
    got = []
    for setwise in (True, False):
        with Warehouse(tmp_path / f"{setwise}.duckdb") as wh:
            reports = [load(p, wh, setwise=setwise) for p in (f, f, copy)]
            counts = [
                {t: (c.read, c.loaded, c.skipped, c.quarantined) for t, c in r.counts.items()}
                for r in reports
            ]
            got.append((counts, _contents(wh)))
    assert got[0] == got[1]
    again = got[0][0][1]["Observation"]
    assert again[1] == 0 and again[0] == len(lines) - 1  # nothing loaded twice


def test_observation_sql_gives_the_view_file_rows_on_plain_observations(tmp_path):
    """views/measurement_observation.json (the readable mapping) and the loader's SQL agree."""
    lines = [PATIENT, OBS, *(_case(c, i) for i, c in enumerate(ODD_OBSERVATIONS))]
    f = tmp_path / "in.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    view = json.loads(
        (files("medmine.ingest.fhir") / "views" / "measurement_observation.json").read_text()
    )
    validate_view(view)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load(f, wh)
        con = wh.con
        src = (
            "SELECT row_number() OVER (ORDER BY location) AS seq, source_file, location, "
            "resource FROM mm_fhir_resource WHERE resource_type = 'Observation'"
        )
        con.execute(f"CREATE TEMP TABLE sw0 AS {fast_observations(con, src)}")
        con.execute(  # plain Observations whose id is not repeated in the file
            "CREATE TEMP TABLE sw AS SELECT * FROM sw0 WHERE id IN "
            "(SELECT id FROM sw0 GROUP BY id HAVING count(DISTINCT seq) = 1)"
        )
        con.execute("CREATE TEMP TABLE obs AS SELECT resource FROM mm_fhir_resource")
        con.execute(f"CREATE TEMP TABLE v AS {compile_view(view, 'obs', typed=True).sql}")
        regular = con.execute("SELECT count(*) FROM sw WHERE regular").fetchone()[0]
        differ = con.execute(
            """
            SELECT sw.id, sw.idx FROM sw JOIN v ON v.id = sw.id AND v.part = sw.idx
            WHERE sw.regular AND (
              sw.has_row IS DISTINCT FROM v.has_value
              OR sw.subject IS DISTINCT FROM v.subject OR sw.encounter IS DISTINCT FROM v.encounter
              OR sw.performer IS DISTINCT FROM v.performer OR sw.to_obs <> v.to_observation
              OR sw.effective IS DISTINCT FROM
                 coalesce(v.effective, v.effective_start, v.effective_instant)
              OR sw.code IS DISTINCT FROM v.code OR sw.code_text IS DISTINCT FROM v.code_text
              OR sw.value_as_number IS DISTINCT FROM
                 coalesce(v.quantity_value, v.integer_value::DOUBLE)
              OR sw.unit_source_value IS DISTINCT FROM CASE WHEN v.has_quantity THEN
                 CASE WHEN coalesce(v.quantity_code, '') <> '' THEN v.quantity_code
                      ELSE v.quantity_unit END END
              OR sw.value_code IS DISTINCT FROM v.concept_code
              OR sw.value_as_string IS DISTINCT FROM coalesce(nullif(v.concept_text, ''),
                 v.concept_display, v.string_value, v.boolean_value::VARCHAR, v.datetime_value)
              OR sw.range_low IS DISTINCT FROM v.range_low
              OR sw.range_high IS DISTINCT FROM v.range_high)
            """
        ).fetchall()
        joined = con.execute(
            "SELECT count(*) FROM sw JOIN v ON v.id = sw.id AND v.part = sw.idx WHERE sw.regular"
        ).fetchone()[0]
    assert regular >= 15 and joined == regular  # every plain row has its view row
    assert differ == []


def test_randomly_mutated_resources_load_the_same_both_ways(tmp_path):
    """The set-wise SQL never raises on odd input (an error would abort the whole load) and
    gives the per-resource results on 4,000 sample resources, 40% mutated at random.
    """
    rnd = random.Random(20261128)
    corpus = [
        r for r in _corpus(4_000) if r.get("resourceType") in {*setwise_mappings(), "Patient"}
    ]
    lines = [
        _mutate(r, rnd) if r["resourceType"] != "Patient" and rnd.random() < 0.4 else
        json.dumps(r) for r in corpus
    ]  # fmt: skip
    folder = tmp_path / "in"
    folder.mkdir()
    pat = [x for x in lines if '"resourceType": "Patient"' in x[:40]]
    (folder / "Patient.ndjson").write_text("".join(x + "\n" for x in pat))
    rest = [x for x in lines if x not in pat]
    (folder / "resources.ndjson").write_text("".join(x + "\n" for x in rest))
    got = []
    for setwise in (True, False):
        with Warehouse(tmp_path / f"{setwise}.duckdb") as wh:
            r = load(folder, wh, setwise=setwise)
            counts = {t: (c.read, c.loaded, c.skipped, c.quarantined, c.warnings)
                      for t, c in r.counts.items()}  # fmt: skip
            got.append((counts, _contents(wh)))
    assert got[0][0] == got[1][0]
    assert got[0][1] == got[1][1]
    assert sum(c[3] for c in got[0][0].values()) > 100  # many were quarantined


#: Wrong JSON types the typed reading (`json_transform` into STRUCTs with JSON leaves) could
#: read as something else: an object or list where a string is (its text), a string where an
#: object is (an object of NULLs), an object where a list is (absent), a JSON null (absent).
WRONG_TYPES = [
    {"code": {"coding": [{"system": LOINC, "code": "2339-0", "display": {"x": 1}}]}},
    {"code": {"coding": [{"system": [LOINC], "code": "2339-0"}]}},
    {"code": {"coding": {"system": LOINC, "code": "2339-0"}}},
    {"code": {"coding": ["2339-0"]}},
    {"code": {"text": {"div": "x"}}},
    {"code": "2339-0"},
    {"code": {"system": LOINC, "code": "2339-0"}},
    {"valueQuantity": {"value": 5.5, "unit": ["mmol/L"]}},
    {"valueQuantity": {"value": 5.5, "code": {"c": 1}}},
    {"valueQuantity": {"value": True}},
    {"valueQuantity": "5.5"},
    {"valueQuantity": None, "valueBoolean": "true"},
    {"valueQuantity": None, "valueInteger": "3"},
    {"valueQuantity": None, "valueDateTime": 2020},
    {"valueQuantity": None, "valueCodeableConcept": "smoker"},
    {"subject": "Patient/p1"},
    {"subject": {"reference": {"ref": "Patient/p1"}}},
    {"subject": [{"reference": "Patient/p1"}]},
    {"encounter": {"reference": 12}},
    {"effectiveDateTime": 20200102},
    {"effectiveDateTime": None, "effectivePeriod": {"start": ["2020-01-02"]}},
    {"category": [{"coding": [{"code": ["survey"]}]}]},
    {"category": ["social-history"]},
    {"component": [{"code": CC, "valueQuantity": {"value": "1"}}]},
    {"component": [{"code": {"coding": [{"code": 1}]}, "valueQuantity": {"value": 1}}]},
    {"referenceRange": [{"low": {"value": "1"}}]},
    {"referenceRange": [{"low": [1]}]},
    {"referenceRange": ["1-9"]},
    {"performer": [{"reference": ["Practitioner/d1"]}]},
    {"performer": ["Practitioner/d1"]},
    {"status": None, "valueQuantity": {"value": 1, "unit": None}},
    {"id": ["o"]},
]


def test_wrong_json_types_load_the_same_both_ways(tmp_path, monkeypatch):
    """Each wrong-type resource goes to the per-resource mapper (quarantined, or loaded as it
    loads there), never read silently wrong by the typed SQL.
    """
    cond = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": CC,
        "onsetDateTime": "2020-01-02",
    }
    proc = {
        "resourceType": "Procedure",
        "subject": {"reference": "Patient/p1"},
        "code": CC,
        "performedDateTime": "2020-01-02",
    }
    lines = [PATIENT, OBS, *(_case(c, i) for i, c in enumerate(WRONG_TYPES))]
    lines += [
        {**cond, "id": "c1"},
        {**cond, "id": "c2", "clinicalStatus": "active"},
        {**cond, "id": "c3", "code": {"coding": [{"code": "1", "display": ["d"]}]}},
        {**cond, "id": "c4", "onsetPeriod": "2020", "onsetDateTime": None},
        {**cond, "id": "c5", "asserter": "Practitioner/d1"},
        {**proc, "id": "p1"},
        {**proc, "id": "p2", "performer": ["Practitioner/d1"]},
        {**proc, "id": "p3", "performer": [{"actor": "Practitioner/d1"}]},
        {**proc, "id": "p4", "performedPeriod": {"start": 2020}, "performedDateTime": None},
        {**proc, "id": "p5", "code": {"coding": [{"code": "1", "system": {"s": 1}}]}},
    ]
    lines = [{k: v for k, v in x.items() if v is not None} for x in lines]
    setwise, per_resource = _load_both(tmp_path, monkeypatch, lines)
    assert setwise == per_resource
    assert setwise[2]["invalid_value"] >= 12  # quarantine reasons, all types
    assert setwise[0]["set-wise"] == 3  # only OBS, c1 and p1 took the set-wise SQL
