"""The comorbidity rules study on Eunomia."""

from __future__ import annotations

import pytest

from medmine.ingest import omop
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
    page = cr.write_page(res, tmp_path / "study_comorbidity_rules.html")
    assert "Strongest rules" in page.read_text()
