"""Drug-safety screen: recall of planted signals and false signals among null pairs; Eunomia.

    .venv/bin/python bench/drug_safety.py [--seeds 10] [--persons 20000]

Simulated data (`medmine.synth.pharmacovigilance`): 20 drugs x 20 outcomes, 5 planted
pairs per seed with in-window risk ratios from weak (~1.3) to strong (~9). Reported per
decision rule: the study's default signal (ROR025 > 1, IC025 > 0, BH q <= 0.05) and two
looser screens (IC025 > 0 alone; PRR Evans rule), recall by true risk-ratio band, false
signals among null pairs. Then the Eunomia NSAID -> GI bleed signal (concept 192671) with
its intervals and the case-series estimate. Writes bench/results/drug_safety.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

from medmine.ingest import omop
from medmine.mining.drug_safety import SignalSettings, sccs, screen
from medmine.synth.pharmacovigilance import simulate_signals

OUT = Path(__file__).resolve().parent / "results" / "drug_safety.json"
BANDS = ((0, 2), (2, 4), (4, 1e9))


def _pair(key: str) -> int:
    return int(key.split(":", 1)[1])


def simulated(seeds: int, persons: int) -> dict:
    rules = {
        "default (ROR025>1, IC025>0, q<=0.05)": lambda df: df["signal"],
        "IC025>0": lambda df: df["ic_lo"] > 0,
        "Evans (PRR>=2, chi2>=4, a>=3)": lambda df: df["evans"],
    }
    found = {k: {b: [0, 0] for b in BANDS} for k in rules}
    false = dict.fromkeys(rules, 0)
    n_null = 0
    seconds = 0.0
    for seed in range(seeds):
        sim = simulate_signals(n_persons=persons, seed=seed)
        con = duckdb.connect()
        for name, frame in sim.tables.items():
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
        t = time.perf_counter()
        df = screen(con, SignalSettings())
        seconds += time.perf_counter() - t
        pairs = [(_pair(d), _pair(o)) for d, o in zip(df["drug"], df["cond"], strict=True)]
        n_null += len(sim.drugs) * len(sim.outcomes) - len(sim.planted)
        for k, rule in rules.items():
            flagged = {p for p, f in zip(pairs, rule(df), strict=True) if f}
            false[k] += len(flagged - sim.planted)
            for pair, rr in sim.risk_ratio.items():
                band = next(b for b in BANDS if b[0] <= rr < b[1])
                found[k][band][1] += 1
                found[k][band][0] += pair in flagged
    out = {}
    for k in rules:
        hit = sum(v[0] for v in found[k].values())
        total = sum(v[1] for v in found[k].values())
        out[k] = {
            "recall": hit / total,
            "recall_by_true_rr": {
                f"{lo:g}-{hi:g}" if hi < 1e9 else f">={lo:g}": (
                    f"{v[0]}/{v[1]}" + (f" ({v[0] / v[1]:.2f})" if v[1] else "")
                )
                for (lo, hi), v in found[k].items()
            },
            "false_signals": false[k],
            "null_pairs": n_null,
            "false_signal_rate": false[k] / n_null,
        }
    return {"seeds": seeds, "persons": persons, "screen_seconds_total": seconds, "rules": out}


def eunomia() -> dict:
    con = duckdb.connect(str(omop.eunomia_path()), read_only=True)
    t = time.perf_counter()
    df = screen(con, SignalSettings())
    secs = time.perf_counter() - t
    gi = df[df["cond"] == "concept:192671"]
    rows = {}
    for drug, name in (("concept:1118084", "celecoxib"), ("concept:1124300", "diclofenac")):
        r = gi[gi["drug"] == drug].iloc[0]
        est = sccs(con, drug, "concept:192671", 30)
        rows[name] = {
            "a": int(r.a),
            "b": int(r.b),
            "c": int(r.c),
            "d": int(r.d),
            "prr": [round(float(r.prr), 2), round(float(r.prr_lo), 2), round(float(r.prr_hi), 2)],
            "ror": [round(float(r.ror), 2), round(float(r.ror_lo), 2), round(float(r.ror_hi), 2)],
            "ic": [round(float(r.ic), 2), round(float(r.ic_lo), 2), round(float(r.ic_hi), 2)],
            "q": float(r.q),
            "signal": bool(r.signal),
            "sccs_irr": [round(est.irr, 1), round(est.irr_lo, 1), round(est.irr_hi, 1)],
            "sccs_events_risk": est.events_risk,
        }
    return {
        "pairs_tested": len(df),
        "signals": int(df["signal"].sum()),
        "screen_seconds": round(secs, 2),
        "gi_bleed": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--persons", type=int, default=20_000)
    args = ap.parse_args()
    result = {"simulated": simulated(args.seeds, args.persons), "eunomia": eunomia()}
    print(json.dumps(result, indent=2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
