"""The comorbidity rules study on Eunomia."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from medmine.ingest import omop
from medmine.report.study_pages import write_study
from medmine.studies import comorbidity_rules as cr
from medmine.warehouse import Warehouse

#: Only the tables the study reads (a full Eunomia load takes several seconds).
TABLES = ["person", "observation_period", "condition_occurrence", "drug_exposure", "concept"]


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("eunomia") / "e.duckdb")
    omop.load(omop.eunomia_path(), wh, tables=TABLES)
    yield wh
    wh.close()


def test_eunomia_rules_are_significant_and_named(eunomia, tmp_path):
    res = cr.run(eunomia)
    assert res.n_transactions == 2694
    assert len(res.rules) > 100
    assert (res.rules.q_value <= 0.05).all() and (res.rules.lift >= 1.2).all()
    assert (res.rules.confidence >= 0.6).all() and (res.rules.support >= 0.05).all()
    # A clinically expected rule: atrial fibrillation with its anticoagulant.
    af = res.rules[res.rules["if"].str.contains("Atrial fibrillation")]
    assert af["then"].str.contains("Warfarin").any()
    # The outcome run concludes only GI bleeding.
    assert len(res.outcome_rules) > 0
    assert set(res.outcome_rules["then"]) == {"Gastrointestinal hemorrhage"}
    link = write_study(res, tmp_path)
    assert "Strongest rules" in (tmp_path / link.href).read_text()
    # machine-readable output: summary figures as JSON, rules as Parquet and CSV
    doc = json.loads((tmp_path / "study_comorbidity_rules.json").read_text())
    assert doc["figures"]["rules_kept"] == len(res.rules)
    assert doc["figures"]["baskets"] == 2694
    back = pd.read_parquet(tmp_path / "study_comorbidity_rules" / "rules.parquet")
    assert len(back) == len(res.rules)
    assert back["antecedents"].map(type).eq(str).all()  # item sets written as text
    assert (tmp_path / "study_comorbidity_rules" / "rules.csv").exists()
