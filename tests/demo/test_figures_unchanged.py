"""The demo's studies give the same figures as before the codebase was reshaped.

`tests/data/golden/demo_study_figures.json` was recorded with the code before the reshaping
(commit 6e4bd21) by the same extraction as below, at reduced sizes (fixed seeds): Eunomia for
disease risk, phenotypes and comorbidity rules; a simulated population of 3,000 persons for
readmission and length of stay; a simulated claims set (60 providers) for claims fraud.
Set ``MEDMINE_RECORD_GOLDEN=1`` to re-record after an intended change of results (and say
why in the commit).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from medmine.demo.patterns_step import simulated_section
from medmine.ingest import omop
from medmine.studies import get_study, length_of_stay, readmission
from medmine.studies.claims_fraud import FraudStudyConfig
from medmine.studies.prediction import StudyConfig
from medmine.synth import fraud
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "demo_study_figures.json"
FAST = StudyConfig(
    n_boot=20,
    l1_grid={"C": [0.1, 0.3]},
    lightgbm_grid={"num_leaves": [7], "n_estimators": [50]},
    shap_rows=30,
)

pytestmark = pytest.mark.slow


def frame(df: pd.DataFrame, n: int | None = None) -> list[dict]:
    """A frame as JSON records: floats to 6 decimals, item sets sorted, other objects as text."""
    df = df.copy()
    if n:
        df = df.head(n)
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = df[c].round(6)
        elif df[c].dtype == object:
            df[c] = df[c].map(
                lambda v: str(sorted(v)) if isinstance(v, set | frozenset) else str(v)
            )
        elif df[c].dtype.kind not in "iub":
            df[c] = df[c].astype(str)
    return json.loads(df.to_json(orient="records"))


def prediction(r) -> dict:
    cohort = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.cohort_summary.items()}
    return {"cohort": cohort, "metrics": frame(r.metrics), "status": r.status}


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict:
    out: dict = {}
    base = tmp_path_factory.mktemp("golden")
    with Warehouse(base / "eunomia.duckdb") as wh:
        omop.load(omop.eunomia_path(), wh)
        out["disease_risk"] = prediction(get_study("disease_risk").run(wh, FAST))
        ph = get_study("phenotypes").run(wh)
        out["phenotypes"] = {
            "n_persons": ph.n_persons,
            "n_excluded": ph.n_excluded,
            "k": ph.n_clusters,
            "selection": frame(ph.selection),
            "profiles": frame(ph.profiles, 40),
            "hdbscan_clusters": ph.hdbscan_clusters,
            "hdbscan_noise": round(ph.hdbscan_noise, 6),
            "ari": round(ph.agreement_ari, 6),
        }
        ru = get_study("comorbidity_rules").run(wh)
        out["comorbidity_rules"] = {
            "n_transactions": ru.n_transactions,
            "n_items": ru.n_items,
            "n_itemsets": ru.n_itemsets,
            "n_tested": ru.n_tested,
            "n_rules": len(ru.rules),
            "rules": frame(ru.rules, 30),
            "outcome_rules": frame(ru.outcome_rules, 30),
            "n_excluded": ru.n_excluded,
        }
    pop = simulate(3000, seed=0)
    truth = pop.stays.rename(columns={"discharge_date": "index_date", "p_readmit": "p_true"})
    with Warehouse(base / "sim.duckdb") as sim:
        pop.write_to(sim)
        out["readmission"] = prediction(readmission.run(sim, FAST, truth=truth))
        out["length_of_stay"] = prediction(length_of_stay.run(sim, FAST))
    _, fr = simulated_section(
        FraudStudyConfig(), sim=fraud.SimConfig(n_providers=60, n_patients=800, seed=1)
    )
    out["claims_fraud"] = {
        "evaluation": frame(fr.evaluation),
        "n_claims": fr.n_claims,
        "n_lines": fr.n_lines,
        "investigate_providers": frame(fr.investigate_providers, 20),
        "investigate_claims": frame(fr.investigate_claims, 20),
    }
    return json.loads(json.dumps(out))


def _same(a, b, path: str = "") -> list[str]:
    """Differences between two JSON values (floats within 1e-6)."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = [f"{path}.{k}: only in one" for k in set(a) ^ set(b)]
        for k in set(a) & set(b):
            diffs += _same(a[k], b[k], f"{path}.{k}")
        return diffs
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _same(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float | int):
        return [] if math.isclose(a, b, abs_tol=1e-6) else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


@pytest.mark.parametrize(
    "study",
    [
        "disease_risk",
        "readmission",
        "length_of_stay",
        "phenotypes",
        "comorbidity_rules",
        "claims_fraud",
    ],
)
def test_study_figures_match_those_recorded_before_the_reshaping(figures, study):
    if os.environ.get("MEDMINE_RECORD_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(figures, indent=1, sort_keys=True))
        pytest.skip("recorded")
    golden = json.loads(GOLDEN.read_text())
    assert _same(figures[study], golden[study], study) == []
