"""Golden counts of the FHIR loader on the bundled Synthea sample.

Recorded from the per-resource loader before the loader moved onto ViewDefinitions (issue 12,
item 4), so that every change of path keeps the sample's figures exactly: rows per table,
read / loaded / skipped / quarantined per resource type, skip and quarantine reasons, warnings,
and a content fingerprint of every table the load fills (load ids and audit rows left out).
Re-record with ``MEDMINE_RECORD_GOLDEN=1`` only for a change that is meant to alter them.
"""

from __future__ import annotations

import json
import os

import pytest

from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse
from medmine.warehouse.sql import ident
from tests.conftest import FHIR_SAMPLES, TEST_DATA

GOLDEN = TEST_DATA / "golden" / "fhir_sample_load.json"
#: Tables whose counts or content depend on the run, not on the data (or are added later).
NOT_PINNED = {"mm_audit", "mm_load", "mm_fhir_resource"}
#: Counted but not fingerprinted: they hold absolute file paths of this checkout.
COUNT_ONLY = {"mm_source_record", "mm_load_file", "mm_quarantine"}


def _golden(wh: Warehouse, report) -> dict:
    counts = {t: n for t, n in wh.counts().items() if t not in NOT_PINNED}
    prints = {}
    for name, n in counts.items():
        if n == 0 or name in COUNT_ONLY:
            continue
        cols = [c[0] for c in wh.con.execute(f"DESCRIBE {ident(name)}").fetchall()]
        sel = ", ".join(ident(c) for c in cols if c != "load_id")
        got = wh.con.execute(
            f"SELECT sum(hash(x)::HUGEINT) FROM (SELECT {sel} FROM {ident(name)}) x"
        ).fetchone()[0]
        prints[name] = str(got)
    quarantine = wh.con.execute(
        "SELECT resource_type, reason_code, count(*) FROM mm_quarantine GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return {
        "tables": counts,
        "fingerprints": prints,
        "types": {
            t: [c.read, c.loaded, c.skipped, c.quarantined]
            for t, c in sorted(report.counts.items())
        },
        "skip_reasons": dict(sorted(report.skip_reasons.items())),
        "quarantine": [list(q) for q in quarantine],
        "warnings": report.totals.warnings,
    }


@pytest.fixture(scope="module", params=[False, True], ids=["per_resource", "setwise"])
def loaded(request, tmp_path_factory):
    """The sample loaded per resource (the recorded path) and with the set-wise mappings."""
    wh = Warehouse(tmp_path_factory.mktemp("golden") / "sample.duckdb")
    report = load([FHIR_SAMPLES], wh, setwise=request.param)
    got = _golden(wh, report)
    got["setwise"] = request.param
    yield got
    wh.close()


def test_sample_golden_counts_are_unchanged(loaded):
    loaded = dict(loaded)
    setwise = loaded.pop("setwise")
    if os.environ.get("MEDMINE_RECORD_GOLDEN") == "1" and not setwise:
        GOLDEN.write_text(json.dumps(loaded, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert loaded["types"] == want["types"]
    assert loaded["skip_reasons"] == want["skip_reasons"]
    assert loaded["quarantine"] == want["quarantine"]
    assert loaded["warnings"] == want["warnings"]
    # tables the load leaves empty are left out: other issues add tables to the schema
    assert {t: n for t, n in loaded["tables"].items() if n} == {
        t: n for t, n in want["tables"].items() if n
    }


def test_sample_golden_table_contents_are_unchanged(loaded):
    want = json.loads(GOLDEN.read_text())
    changed = sorted(
        t
        for t in set(want["fingerprints"]) | set(loaded["fingerprints"])
        if want["fingerprints"].get(t) != loaded["fingerprints"].get(t)
    )
    assert changed == []
