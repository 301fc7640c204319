"""`medmine study drug_safety --drug --outcome`; `ingest vcf` then `study pharmacogenomics`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from medmine.cli import app
from medmine.ingest import omop
from medmine.warehouse import Warehouse

TABLES = ["person", "observation_period", "condition_occurrence", "drug_exposure", "concept"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_drug_safety_with_a_chosen_pair(tmp_path):
    w = tmp_path / "e.duckdb"
    with Warehouse(w) as wh:
        omop.load(omop.eunomia_path(), wh, tables=TABLES)
    out = tmp_path / "r"
    res = invoke(
        "study", "drug_safety", "-w", str(w), "--out", str(out), "--drug", "1124300",
        "--outcome", "192671",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "study_drug_safety.json").read_text())
    text = json.dumps(doc)
    assert '"drug": "concept:1124300"' in text and '"events_risk": 46' in text
    refused = invoke("study", "phenotypes", "-w", str(w), "--drug", "1124300")
    assert refused.exit_code == 1 and "unknown option" in " ".join(refused.output.split())


def test_vcf_then_pharmacogenomics(tmp_path):
    from tests.studies.test_pharmacogenomics import PEOPLE, _write_vcf

    w = tmp_path / "w.duckdb"
    with Warehouse(w) as wh:
        for i, p in enumerate(PEOPLE, start=1):
            wh.con.execute(
                "INSERT INTO person (person_id, gender_concept_id, year_of_birth, "
                "race_concept_id, ethnicity_concept_id, person_source_value) "
                "VALUES (?, 0, 1960, 0, 0, ?)",
                [i, p],
            )
    _write_vcf(tmp_path / "panel.vcf")
    smap = tmp_path / "map.csv"
    smap.write_text("sample_id,person_source_value\nP1,P1\nP2,P2\n")  # P3 unmapped
    res = invoke("ingest", "vcf", str(tmp_path / "panel.vcf"), "--sample-map", str(smap),
                 "-w", str(w))  # fmt: skip
    assert res.exit_code == 0, res.output
    with Warehouse(w, read_only=True) as wh:
        q = wh.con.execute("SELECT count(*) FROM mm_quarantine").fetchone()[0]
        assert q > 0 and wh.count("mm_genotype") > 0
    missing = invoke("ingest", "vcf", str(tmp_path / "nope.vcf"), "--sample-map", str(smap),
                     "-w", str(w))  # fmt: skip
    assert missing.exit_code == 3 and "does not exist" in missing.output
    res = invoke("study", "pharmacogenomics", "-w", str(w), "--out", str(tmp_path / "r"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r" / "study_pharmacogenomics.html").exists()


def test_bad_sample_map_or_missing_warehouse_creates_nothing(tmp_path):
    vcf = tmp_path / "x.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n")
    bad_map = tmp_path / "map.csv"
    bad_map.write_text("sample,person\nS1,P1\n")
    w = tmp_path / "w.duckdb"
    res = invoke("ingest", "vcf", str(vcf), "--sample-map", str(bad_map), "-w", str(w))
    assert res.exit_code == 3 and "sample map needs columns" in res.output
    assert not w.exists()
    out = tmp_path / "reports"
    res = invoke("study", "drug_safety", "-w", str(tmp_path / "nope.duckdb"), "--out", str(out))
    assert res.exit_code == 1 and "does not exist" in res.output
    assert not out.exists()
