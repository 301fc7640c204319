"""The drug_safety study on Eunomia: the NSAID -> GI bleed signal and its case series."""

from __future__ import annotations

import json

import pytest

from medmine.errors import ConfigError
from medmine.ingest import omop
from medmine.privacy.consent import load_csv
from medmine.report.study_pages import write_study
from medmine.studies import drug_safety as ds
from medmine.studies import get_study
from medmine.warehouse import Warehouse

TABLES = ["person", "observation_period", "condition_occurrence", "drug_exposure", "concept"]
GI_BLEED, CELECOXIB, DICLOFENAC = 192671, 1118084, 1124300


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("eunomia") / "e.duckdb")
    omop.load(omop.eunomia_path(), wh, tables=TABLES)
    yield wh
    wh.close()


def test_nsaid_gi_bleed_signal_is_the_strongest(eunomia, tmp_path):
    res = get_study("drug_safety").run(eunomia)
    top = res.signals.iloc[0]
    assert (top.drug, top.cond) == (f"concept:{CELECOXIB}", f"concept:{GI_BLEED}")
    assert top.drug_name == "celecoxib" and top.outcome_name == "Gastrointestinal hemorrhage"
    assert (top.a, top.b, top.c, top.d) == (113, 1731, 55, 33877)
    assert top.ror_lo > 20 and top.ic_lo > 3
    gi = res.pairs[res.pairs.cond == f"concept:{GI_BLEED}"].set_index("drug")
    assert bool(gi.loc[f"concept:{DICLOFENAC}", "signal"])
    # Case series of the strongest signal by default; its size is flagged as implausible.
    s = res.sccs
    assert s.drug == f"concept:{CELECOXIB}" and s.cases == 479 and s.events_risk == 113
    assert s.irr_lo > 1
    assert any("far above any published" in w for w in res.warnings)
    assert res.status == "warn"
    link = write_study(res, tmp_path)
    page = (tmp_path / link.href).read_text()
    assert "Self-controlled case series" in page and "celecoxib" in page
    figures = json.loads((tmp_path / "study_drug_safety.json").read_text())
    text = json.dumps(figures)
    assert '"pairs_tested"' in text and "192671" in text
    assert (tmp_path / "study_drug_safety" / "pairs.parquet").exists()


def test_chosen_pair_and_half_given_pair(eunomia):
    study = get_study("drug_safety")
    cfg = study.make_config({"drug": str(DICLOFENAC), "outcome": str(GI_BLEED)})
    res = study.run(eunomia, cfg)
    assert res.sccs.drug == f"concept:{DICLOFENAC}" and res.sccs.events_risk == 46
    with pytest.raises(ConfigError, match="both drug and outcome"):
        study.run(eunomia, study.make_config({"drug": str(DICLOFENAC)}))


def test_empty_warehouse_is_refused(wh):
    from medmine.studies import MissingDataError

    with pytest.raises(MissingDataError, match="drug_exposure is empty"):
        get_study("drug_safety").run(wh)


def test_consent_refusal_removes_persons(tmp_path):
    # A copy, so the refusal does not leak into the module's warehouse.
    with Warehouse(tmp_path / "c.duckdb") as wh:
        omop.load(omop.eunomia_path(), wh, tables=TABLES)
        pids = [
            r[0]
            for r in wh.con.execute(
                "SELECT DISTINCT person_id FROM drug_exposure WHERE drug_concept_id = ? "
                "ORDER BY 1 LIMIT 10",
                [CELECOXIB],
            ).fetchall()
        ]
        consent = tmp_path / "consent.csv"
        consent.write_text(
            "person_id,purpose,decision\n" + "".join(f"{p},research,deny\n" for p in pids)
        )
        load_csv(consent, wh)
        base = ds.run(wh, ds.DrugSafetyConfig(purpose=None))
        res = ds.run(wh)
    assert res.n_excluded == 10 and base.n_excluded == 0
    assert res.n_persons < base.n_persons
    top = lambda r: r.pairs.set_index(["drug", "cond"]).loc[  # noqa: E731
        (f"concept:{CELECOXIB}", f"concept:{GI_BLEED}")
    ]
    assert top(res).a + top(res).b < top(base).a + top(base).b
