"""Claims fraud study: each claim edit catches its planted case and nothing else; detectors
rank injected schemes high; the investigation list explains itself without names."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from medmine.demo.patterns_step import simulated_section
from medmine.report.study_pages import write_study
from medmine.studies import claims_fraud as cf
from medmine.synth import fraud

D = dt.date
# person_id, sex concept, birth date
PERSONS = [(1, 8507, D(1980, 1, 15)), (2, 8532, D(2020, 6, 1)), (3, 8532, D(1950, 3, 3))]
# claim_line_id, claim_id, person, date, code, units, amount -> planted edit (or None)
LINES = [
    (11, 1, 1, D(2024, 1, 10), "99213", 1, 90.0, None),
    (12, 1, 1, D(2024, 1, 10), "80053", 1, 15.0, None),
    (21, 2, 1, D(2024, 1, 10), "99213", 1, 90.0, "exact_duplicate"),
    (31, 3, 1, D(2024, 2, 1), "87880", 1, 17.0, None),
    (41, 4, 1, D(2024, 2, 2), "87880", 1, 17.0, "near_duplicate"),
    (51, 5, 3, D(2024, 3, 5), "99214", 1, 130.0, "after_death"),
    (61, 6, 2, D(2020, 1, 15), "99212", 1, 55.0, "before_birth"),
    (71, 7, 1, D(2024, 6, 1), "77067", 1, 80.0, "sex_mismatch"),
    (81, 8, 2, D(2023, 7, 1), "99397", 1, 150.0, "age_mismatch"),
    (91, 9, 1, D(2024, 4, 1), "85025", 1, 10.0, None),
    (92, 9, 1, D(2024, 4, 1), "85027", 1, 8.0, "unbundling"),
    (101, 10, 1, D(2024, 5, 1), "36415", 3, 9.0, "excessive_units"),
    (111, 11, 3, D(2024, 1, 5), "99213", 1, 90.0, None),
]


@pytest.fixture
def tiny(wh):
    con = wh.con
    con.executemany(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, month_of_birth, "
        "day_of_birth, race_concept_id, ethnicity_concept_id) VALUES (?, ?, ?, ?, ?, 0, 0)",
        [(p, s, b.year, b.month, b.day) for p, s, b in PERSONS],
    )
    con.execute("INSERT INTO death (person_id, death_date) VALUES (3, DATE '2024-03-01')")
    con.execute("INSERT INTO provider (provider_id, specialty_source_value) VALUES (7, 'fp')")
    claims = {(c, p, d) for _, c, p, d, *_ in LINES}
    con.executemany(
        "INSERT INTO mm_claim (claim_id, person_id, billing_provider_id, claim_start_date, "
        "dx_1) VALUES (?, ?, 7, ?, 'Z00.00')",
        sorted(claims),
    )
    con.executemany(
        "INSERT INTO mm_claim_line (claim_line_id, claim_id, line_number, person_id, "
        "service_date, procedure_vocabulary_id, procedure_code, units, billed_amount) "
        "VALUES (?, ?, 1, ?, ?, 'CPT4', ?, ?, ?)",
        [row[:7] for row in LINES],
    )
    return wh


def test_each_edit_catches_its_planted_case_and_nothing_else(tiny):
    edits = cf.claim_edits(tiny)
    got = set(zip(edits["edit"], edits["claim_line_id"], strict=True))
    expected = {(edit, line) for line, *_, edit in LINES if edit}
    assert got == expected
    assert set(edits["edit"]) == set(cf.EDIT_SQL)  # every edit has its planted case
    dup = edits[edits["edit"] == "exact_duplicate"].iloc[0]
    assert dup["evidence_line_id"] == 11
    unb = edits[edits["edit"] == "unbundling"].iloc[0]
    assert unb["evidence_line_id"] == 91 and "85027 billed with 85025" in unb["detail"]
    assert "3.0 units of 36415" in edits[edits["edit"] == "excessive_units"].iloc[0]["detail"]


@pytest.fixture(scope="module")
def simulated():
    sim = fraud.SimConfig(n_providers=120, n_patients=2500, seed=3)
    return simulated_section(sim=sim)[1]


def test_injected_schemes_rank_high(simulated):
    ev = simulated.evaluation.set_index(["level", "scheme", "detector"])
    # Provider level, ensemble of peer-group robust z + Isolation Forest. Floors leave room
    # under the values measured on this seed (0.92-1.00) and above the published anchor
    # (AUROC ~0.81 on CMS data with LEIE labels, a much harder, real problem).
    for scheme in ("upcoding", "phantom", "duplicate", "excessive_units", "kickback"):
        assert ev.loc[("provider", scheme, "ensemble"), "auroc"] >= 0.9, scheme
    assert ev.loc[("provider", "unbundling", "ensemble"), "auroc"] >= 0.85
    # Claim level: schemes with a claim edit are all caught.
    for scheme in ("duplicate", "unbundling", "excessive_units", "after_death"):
        row = ev.loc[("claim", scheme, "edits + provider score")]
        assert row["recall"] == 1.0 and row["auroc"] >= 0.95, scheme


def test_investigation_lists_have_reasons_and_evidence_only(simulated):
    inv = simulated.investigate_providers
    assert len(inv) == simulated.config.top_providers
    assert inv["reasons"].str.len().gt(0).all()
    with_finding = inv[inv["suspicious_claims"] > 0]
    assert (
        len(with_finding) and with_finding["evidence_claim_ids"].str.match(r"^\S+(, \S+)*$").all()
    )
    claims = simulated.investigate_claims
    assert (claims["score"] > 0).all() and claims["reasons"].str.len().gt(0).all()
    assert claims["schemes"].str.len().gt(0).all()  # a finding of its own, not context alone
    # simulated claims have no source claim id: the warehouse id is shown, marked as such
    assert claims["claim_id"].str.match(r"^mm:\d+$").all()
    shown = set(inv.columns) | set(claims.columns)
    assert not {"given_name", "family_name", "person_id"} & shown


def test_page_renders_peer_plots_and_evaluation(simulated, tmp_path):
    link = write_study(simulated, tmp_path, sections=[("Simulated", simulated)])
    text = (tmp_path / link.href).read_text()
    assert "Evaluation against injected schemes" in text
    assert "Mean E&amp;M level" in text or "Mean E&M level" in text
    for heading in (
        "Organisations (billing)",
        "Clinicians (rendering and referring NPI)",
        "Claims — top",
    ):
        assert heading in text
    assert "Flagged claims of the top organisations" in text and "href='#org-1'" in text
    assert "id='org-1'" in text  # the link lands on that organisation's flagged claims


def test_rule_violation_flags_procedure_without_indication(simulated):
    viol = simulated.edits[simulated.edits["edit"] == "rule_violation"]
    assert len(viol) > 0
    assert viol["detail"].str.contains("without a supporting diagnosis").all()
    assert isinstance(simulated.rules, pd.DataFrame) and len(simulated.rules) > 0


def test_claims_without_known_providers_run_edits_and_say_why_no_peer_profiles(tmp_path):
    from pathlib import Path

    from medmine.ingest import claims
    from medmine.warehouse import Warehouse

    data = Path(__file__).resolve().parents[1] / "data" / "claims"
    with Warehouse(tmp_path / "c.duckdb") as wh:
        claims.load([data], wh)
        res = cf.STUDY.run(wh)
    assert res.n_claims > 0 and res.providers.empty
    assert res.status == "warn" and any("No provider could be profiled" in n for n in res.notes)
    assert not res.claim_scores["flagged"].isna().any()
