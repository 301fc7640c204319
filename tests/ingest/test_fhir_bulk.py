"""NDJSON read in chunks classified by DuckDB (`_bulk`) gives what the per-line reader gives.

With ``setwise=True`` and ``_load.BULK_NDJSON`` (off by default: measured no faster) the
loader hands NDJSON lines to DuckDB in chunks; the lines of set-wise types it can defer go to
the raw store without a Python parse, the rest take the per-line path. Every case here loads
the same file both ways (the chunked path, and every line parsed one by one with
``setwise=False``) and compares counts, quarantine records (file, line, reason, message) and
every table.
"""

from __future__ import annotations

import gzip
import json

import orjson
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.ingest.fhir import _load, load
from medmine.ingest.fhir._bulk import classify, connection
from medmine.ingest.fhir._viewmap import _stable_ids
from medmine.warehouse import Warehouse, stable_id
from tests.ingest.test_fhir_setwise import _contents

TYPES = ["Condition", "Observation", "Procedure", "AllergyIntolerance", "DocumentReference"]
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
SUBJECT = {"reference": "Patient/p1"}
CODE = {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}


def _cond(i: int, **more: object) -> bytes:
    res = {"resourceType": "Condition", "id": f"c{i}", "subject": SUBJECT, "code": CODE,
           "onsetDateTime": "2020-01-02", **more}  # fmt: skip
    return json.dumps(res).encode()


def _obs(i: int, **more: object) -> bytes:
    res = {"resourceType": "Observation", "id": f"o{i}", "subject": SUBJECT, "code": CODE,
           "effectiveDateTime": "2020-01-02T03:04:05Z",
           "valueQuantity": {"value": i, "unit": "mg"}, **more}  # fmt: skip
    return json.dumps(res).encode()


#: Lines that DuckDB's JSON reader accepts and orjson does not: malformed on both paths.
LENIENT = [
    b'{"resourceType": "Condition", "id": "nan", "subject": {"reference": "Patient/p1"}, '
    b'"code": {"text": "x"}, "onsetDateTime": "2020", "x": NaN}',
    b'{"resourceType": "Condition", "id": "inf", "subject": {"reference": "Patient/p1"}, '
    b'"code": {"text": "x"}, "onsetDateTime": "2020", "x": -Infinity}',
    b'{"resourceType": "Condition", "id": "comma", "subject": {"reference": "Patient/p1"}, '
    b'"code": {"text": "x"}, "onsetDateTime": "2020", "x": [1, 2 , ]}',
    b'{"resourceType": "Condition", "id": "exp", "subject": {"reference": "Patient/p1"}, '
    b'"code": {"text": "x"}, "onsetDateTime": "2020", "x": 1.5e999}',
]


def _lines() -> list[bytes]:
    deep = b'{"resourceType": "Condition", "id": "deep", "x": ' + b"[" * 1100 + b"]" * 1100 + b"}"
    return [
        json.dumps(PATIENT).encode(),
        b"",
        b"   \t",
        _cond(1),
        _obs(1) + b"\r",  # CRLF
        _obs(2, effectiveDateTime=None),  # no date of its own: waits for a report
        b'{"resourceType": "Observation", "id": "o3", "subject": ',  # truncated
        b"not json at all",
        b"[1, 2, 3]",
        b'"a string"',
        _cond(2, modifierExtension=[{"url": "http://x.org/m"}]),
        _cond(3, id=5),
        _cond(4, id=""),
        _cond(5, code={"coding": [{"system": "http://snomed.info/sct", "code": 38341003}]}),
        b'{"resourceType": "Cond\\u0069tion", "id": "c6", "subject": {"reference": '
        b'"Patient/p1"}, "code": {"text": "escaped type"}, "onsetDateTime": "2021"}',
        _cond(7, id='c"7'),
        _cond(8) + b" garbage",
        b'{"resourceType": "Condition", "id": "bad\xff", "subject": {}}',  # not UTF-8
        b'{"resourceType": "Condition", "id": "sur", "note": "\\ud800"}',  # lone surrogate
        deep,
        *LENIENT,
        _cond(9, id="\u00e9t\u00e9"),
        json.dumps(
            {
                "resourceType": "Procedure",
                "id": "pr1",
                "subject": SUBJECT,
                "code": CODE,
                "performedDateTime": "2020-05-06",
            }
        ).encode(),  # fmt: skip
        *(_obs(i) for i in range(10, 40)),
        b"",
        _cond(10),
    ]


def _both(tmp_path, monkeypatch, path) -> tuple[tuple, tuple]:
    got = []
    for setwise in (True, False):
        if not setwise:
            monkeypatch.setattr(_load, "setwise_mappings", dict)
        with Warehouse(tmp_path / f"{setwise}.duckdb") as wh:
            r = load(path, wh, setwise=setwise)
            counts = {t: (c.read, c.loaded, c.skipped, c.quarantined, c.warnings)
                      for t, c in r.counts.items()}  # fmt: skip
            quarantine = sorted(
                wh.con.execute(
                    "SELECT location, resource_type, reason_code, message FROM mm_quarantine"
                ).fetchall()
            )
            got.append((counts, quarantine, _contents(wh)))
    return got[0], got[1]


def test_chunked_ndjson_equals_the_per_line_reader(tmp_path, monkeypatch):
    monkeypatch.setattr(_load, "BULK_NDJSON", True)
    monkeypatch.setattr(_load, "BULK_LINES", 7)  # several chunks, boundaries mid-file
    f = tmp_path / "in.ndjson"
    f.write_bytes(b"\xef\xbb\xbf" + b"\n".join(_lines()) + b"\n")
    bulk, per_line = _both(tmp_path, monkeypatch, f)
    assert bulk == per_line
    counts, quarantine, contents = bulk
    # o1, o10..o39 load; o2 has no date anywhere (missing_field); o3 is truncated (malformed)
    assert counts["Observation"][:4] == (33, 31, 0, 2)
    where = {loc: (rtype, reason) for loc, rtype, reason, _ in quarantine}
    lines = _lines()
    for k, line in enumerate(lines, start=1):  # line numbers count blank lines and the BOM line
        if line in LENIENT:
            assert where[f"line {k}"] == ("Condition", "malformed")
    assert where["line 7"] == ("Observation", "malformed")
    assert where["line 8"] == ("Unknown", "malformed")
    assert where["line 11"][1] == "unsupported_modifier"
    assert ("Condition", "missing_field") == where["line 12"] == where["line 13"]
    assert {r[0] for r in contents["condition_occurrence"]} >= {
        stable_id("fhir:Condition", k) for k in ("c1", "c6", "c10", "\u00e9t\u00e9")
    }
    raw = {r[2]: r for r in contents["mm_fhir_resource"]}  # location -> raw row
    assert raw["line 5"][-1] == lines[4].strip().decode()  # CRLF stripped, text as read
    assert "line 2" not in raw and "line 8" not in raw  # blank and malformed lines


def test_truncated_gzip_keeps_every_complete_line_both_ways(tmp_path, monkeypatch):
    monkeypatch.setattr(_load, "BULK_NDJSON", True)
    monkeypatch.setattr(_load, "BULK_LINES", 5)
    data = b"\n".join([json.dumps(PATIENT).encode(), *(_obs(i) for i in range(60))]) + b"\n"
    packed = gzip.compress(data)
    f = tmp_path / "Observation.ndjson.gz"
    f.write_bytes(packed[: len(packed) * 2 // 3])
    bulk, per_line = _both(tmp_path, monkeypatch, f)
    assert bulk == per_line
    counts, quarantine, _ = bulk
    assert 10 < counts["Observation"][1] < 60
    last = counts["Observation"][0] + 1  # the Patient is line 1
    assert [q[:3] for q in quarantine] == [(f"after line {last}", "File", "malformed")]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def _line(draw) -> bytes:
    res = {"resourceType": draw(st.sampled_from([*TYPES, "Patient", 5, None])),
           "id": draw(st.one_of(st.text(max_size=6), st.integers(), st.none())),
           **draw(st.dictionaries(st.sampled_from(["effectiveDateTime", "effectivePeriod",
                                                    "effectiveInstant", "x", "id"]), _json,
                                  max_size=3))}  # fmt: skip
    text = json.dumps(res, ensure_ascii=draw(st.booleans())).encode()
    cut = draw(st.sampled_from([None, "truncate", "nan", "comma", "exp", "bytes"]))
    if cut == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif cut == "nan":
        text = text[:-1] + b', "n": NaN}'
    elif cut == "comma":
        text = text[:-1] + b", }"
    elif cut == "exp":
        text = text[:-1] + b', "e": 2E+400}'
    elif cut == "bytes":
        text = text + draw(st.binary(max_size=4))
    return text


@settings(max_examples=60, deadline=None)
@given(st.lists(_line(), min_size=1, max_size=25))
def test_a_line_classified_for_the_set_wise_path_is_what_orjson_reads(lines):
    """Whatever DuckDB lets through, the per-line reader would parse the same way (type, id)
    and would defer too; anything else goes to the per-line path."""
    texts = [t.strip() for t in lines]
    got = classify(connection(), texts, TYPES)
    assert len(got) == len(texts)
    for text, g in zip(texts, got, strict=True):
        if g is None:
            continue
        obj = orjson.loads(text)  # never a line orjson rejects
        assert isinstance(obj, dict) and (obj["resourceType"], obj["id"]) == g
        assert g[0] in TYPES and isinstance(obj["id"], str) and obj["id"]
        if g[0] == "Observation":
            assert _load._own_date(obj)


def test_a_line_orjson_reads_as_deferrable_is_classified_so():
    lines = [_cond(1), _obs(1), _obs(2, effectivePeriod={"start": "2020"}, effectiveDateTime=None)]
    assert classify(connection(), lines, TYPES) == [
        ("Condition", "c1"), ("Observation", "o1"), ("Observation", "o2")
    ]  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["fhir:Patient", "fhir:raw", "x"]),
                          st.none() | st.text(max_size=20)), max_size=30))  # fmt: skip
def test_vectorised_stable_ids_equal_stable_id(pairs):
    spaces = pa.array([p[0] for p in pairs], pa.string())
    keys = pa.array([p[1] for p in pairs], pa.string())
    want = [None if k is None else stable_id(n, k) for n, k in pairs]
    assert _stable_ids(spaces, keys).to_pylist() == want
