"""The fraud simulator and injector: shapes, known rates, ground truth that matches the data."""

from __future__ import annotations

import numpy as np
import pytest

from medmine.synth import fraud
from medmine.warehouse import Warehouse

SIM = fraud.SimConfig(n_providers=60, n_patients=800, seed=5)


@pytest.fixture(scope="module")
def injected():
    clean = fraud.simulate(SIM)
    data, truth = fraud.inject(clean, fraud.FraudConfig(seed=5))
    return clean, data, truth


def test_simulation_is_deterministic_and_consistent():
    a, b = fraud.simulate(SIM), fraud.simulate(SIM)
    assert a.lines.equals(b.lines) and a.claims.equals(b.claims)
    assert a.lines.claim_line_id.is_unique and a.claims.claim_id.is_unique
    assert a.lines.claim_id.isin(a.claims.claim_id).all()
    assert set(a.providers.specialty) == set(fraud.SPECIALTY_SHARES)
    em = a.lines.procedure_code.str.match(r"^9921[1-5]$")
    assert em.sum() == (a.claims.place_of_service == "11").sum()  # one E&M per office visit
    # nobody is billed after death in clean data
    dead = a.deaths.set_index("person_id").death_date
    ln = a.lines[a.lines.person_id.isin(dead.index)]
    assert (ln.service_date <= ln.person_id.map(dead)).all()


def test_scheme_rates_and_truth(injected):
    clean, data, truth = injected
    office = (clean.providers.specialty != "clinical_laboratory").sum()
    counts = truth.providers.scheme.value_counts()
    cfg = fraud.FraudConfig()
    for s in ("phantom", "upcoding", "unbundling", "duplicate", "excessive_units", "kickback"):
        assert counts[s] == round(getattr(cfg, s) * office)
    assert truth.providers.provider_id.is_unique  # one scheme per provider
    assert truth.claims.claim_id.isin(data.claims.claim_id).all()
    assert data.lines.claim_line_id.is_unique and data.claims.claim_id.is_unique


def test_injected_changes_are_visible(injected):
    clean, data, truth = injected
    up = truth.providers.loc[truth.providers.scheme == "upcoding", "provider_id"]

    def mean_em(d):
        em = d.lines[d.lines.procedure_code.str.match(r"^9921[1-5]$")]
        em = em[em.rendering_provider_id.isin(up)]
        return em.procedure_code.str[-1].astype(int).mean()

    assert mean_em(data) > mean_em(clean) + 0.4
    units = truth.claims.loc[truth.claims.scheme == "excessive_units", "claim_id"]
    ln = data.lines[data.lines.claim_id.isin(units) & data.lines.procedure_code.isin(fraud.MUE)]
    assert (ln.units > ln.procedure_code.map(fraud.MUE)).any()
    ad = truth.claims.loc[truth.claims.scheme == "after_death", "claim_id"]
    dead = data.deaths.set_index("person_id").death_date
    c = data.claims[data.claims.claim_id.isin(ad)]
    assert len(c) > 0 and (c.claim_start_date > c.person_id.map(dead)).all()


def test_to_warehouse_round_trip(injected, tmp_path):
    _, data, _ = injected
    with Warehouse(tmp_path / "w.duckdb") as wh:
        counts = fraud.to_warehouse(data, wh)
        assert counts["mm_claim_line"] == wh.count("mm_claim_line") == len(data.lines)
        billed = wh.con.execute("SELECT sum(billed_amount) FROM mm_claim_line").fetchone()[0]
        assert np.isclose(billed, data.lines.billed_amount.sum())


def test_inject_into_loaded_claims(tmp_path):
    # claims already in a warehouse (as a FHIR load leaves them) get claim-level schemes
    clean = fraud.simulate(fraud.SimConfig(n_providers=20, n_patients=200, seed=2))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        fraud.to_warehouse(clean, wh)
        before = wh.count("mm_claim")
        truth = fraud.inject_warehouse(wh, fraud.LoadedFraudConfig(duplicate=0.05, seed=1))
        dups = (truth.claims.scheme == "duplicate").sum()
        ad = (truth.claims.scheme == "after_death").sum()
        assert wh.count("mm_claim") == before + dups + ad
        assert dups > 0


def test_injection_into_loaded_claims_does_not_depend_on_row_order(tmp_path):
    data = fraud.simulate(fraud.SimConfig(n_providers=20, n_patients=300, seed=5))
    truths = []
    for i, reverse in enumerate((False, True)):
        with Warehouse(tmp_path / f"w{i}.duckdb") as wh:
            fraud.to_warehouse(data, wh)
            if reverse:  # rewrite the claim tables in the opposite physical order
                for t, key in (("mm_claim_line", "claim_line_id"), ("mm_claim", "claim_id")):
                    wh.con.execute(f"CREATE TEMP TABLE _c AS SELECT * FROM {t} ORDER BY {key} DESC")
                    wh.con.execute(f"DELETE FROM {t}")
                    wh.con.execute(f"INSERT INTO {t} SELECT * FROM _c")
                    wh.con.execute("DROP TABLE _c")
            fraud.inject_warehouse(wh)
            injected = wh.con.execute(
                "SELECT claim_source_value, person_id, claim_start_date FROM mm_claim "
                "WHERE claim_source_value LIKE 'injected:%' ORDER BY ALL"
            ).fetchall()
        truths.append(injected)
    assert len(truths[0]) > 0
    assert truths[0] == truths[1]
