"""Benchmark federated training: pooled vs federated vs each site alone, same test persons.

Scenarios (each through `medmine.federated.simulation.simulate`, every message audited):

* disease_risk on the Eunomia sample (OHDSI GI bleed after NSAIDs): Eunomia has no care
  sites or states, so sites are the documented case-mix split (age bands), 3 and 5 sites,
  FedAvg, FedProx, FedAvg with per-person DP (epsilon 3, delta 1e-5) and LightGBM bagging;
* readmission on a simulated population (`medmine.synth.simulate`, 12,000 persons; the
  simulator has no care sites either): case-mix sites, and the simulator option with stronger
  site effects, label skew (outcomes spread over sites by Dirichlet(0.3) shares).

Writes ``bench/results/federated.json`` and prints the tables.

Usage: ``python bench/federated.py [--persons 12000] [--rounds 40]``
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "federated.json"


def _run(name, wh, data, n_sites, split, cfg, alpha=0.5):
    from medmine.federated.simulation import simulate

    t0 = time.perf_counter()
    sim = simulate(wh, data, n_sites=n_sites, split=split, alpha=alpha, config=cfg)
    secs = time.perf_counter() - t0
    comp = sim.comparison
    print(f"\n== {name}: {comp.split} ({secs:.0f} s)")
    cols = ["model", "auroc", "auroc_lower", "auroc_upper", "n_test", "outcomes_test"]
    print(comp.table[cols].round(3).to_string(index=False))
    print(comp.sites.round(3).to_string(index=False))
    print(f"messages {sim.messages}, bytes {sim.bytes_sent:,}, audit findings {len(sim.findings)}")
    t = comp.table.set_index("model")["auroc"]
    alone = t[[m for m in t.index if m.endswith(" alone")]]
    return {
        "scenario": name,
        "split": comp.split,
        "sites": n_sites,
        "seconds": round(secs, 1),
        "messages": sim.messages,
        "bytes_sent": sim.bytes_sent,
        "audit_findings": len(sim.findings),
        "epsilon": comp.epsilon,
        "fedavg_minus_pooled": float(t["Federated FedAvg"] - t["Pooled (ceiling)"]),
        "fedavg_minus_best_site_alone": float(t["Federated FedAvg"] - alone.max()),
        "table": comp.table.round(4).to_dict("records"),
        "site_table": comp.sites.round(4).to_dict("records"),
    }


def main() -> None:
    """Run every scenario and write the results."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=12_000)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()

    from medmine.features.tasks import disease_risk
    from medmine.federated import FederatedConfig, study_data
    from medmine.ingest import omop
    from medmine.studies.readmission import default_definition
    from medmine.synth.population import simulate as simulate_population
    from medmine.warehouse import Warehouse

    cfg = FederatedConfig(rounds=args.rounds, dp_epsilon=3.0, n_boot=200)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        with Warehouse(Path(tmp) / "eunomia.duckdb") as wh:
            omop.load(omop.eunomia_path(), wh)
            data = study_data(wh, disease_risk())
            for n in (3, 5):
                out.append(_run(f"disease_risk Eunomia, {n} sites", wh, data, n, "auto", cfg))
        with Warehouse(Path(tmp) / "sim.duckdb") as wh:
            simulate_population(args.persons, seed=7).write_to(wh)
            data = study_data(wh, default_definition(), stay_length=True)
            out.append(_run("readmission simulated, 3 sites", wh, data, 3, "auto", cfg))
            out.append(
                _run(
                    "readmission simulated, 3 sites, label skew",
                    wh,
                    data,
                    3,
                    "label_skew",
                    cfg,
                    alpha=0.3,
                )  # fmt: skip
            )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {platform.python_version()}",
                "settings": {k: v for k, v in cfg.__dict__.items()},
                "persons_simulated": args.persons,
                "scenarios": out,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
