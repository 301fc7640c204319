"""Patient linkage at scale: 10^6 simulated identity records, time and peak memory.

Population: given and family names drawn by their US Census 1990 frequencies (the `names`
package's files: 5,494 given names, 88,799 surnames), birth dates 1930-2010, 5-digit ZIPs
with their city and state, street addresses, phones, e-mails and SSNs. About 30% of people
have a second record (another source) with realistic errors: typos in names (8%), given and
family swapped (1%), day and month of birth swapped (2%), a digit of the birth date wrong
(3%), birth date missing (5%), moved (new address, ZIP, city and phone: 15%), SSN missing
(40%) or mistyped (2%), e-mail missing (50%).

Run: ``.venv/bin/python bench/linkage_scale.py [N_RECORDS]`` (default 1,000,000). Writes
bench/results/linkage_scale.json. Goal (issue 18): under 5 minutes and 8 GB on 2 cores.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _census(name: str) -> tuple[np.ndarray, np.ndarray]:
    import names

    path = Path(names.__file__).parent / name
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    vals = np.array([r[0].lower() for r in rows])
    freq = np.array([float(r[1]) for r in rows]) + 1e-4
    return vals, freq / freq.sum()


def _typo(rng: np.random.Generator, s: str) -> str:
    if len(s) < 3:
        return s
    i = int(rng.integers(1, len(s)))
    kind = rng.integers(3)
    if kind == 0:  # substitution
        return s[:i] + "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(26))] + s[i + 1 :]
    if kind == 1:  # deletion
        return s[:i] + s[i + 1 :]
    return s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]  # transposition


def simulate(n_records: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Records with their true entity ids."""
    rng = np.random.default_rng(seed)
    n_ent = int(n_records / 1.3)
    fam, pf = _census("dist.all.last")
    fem, pfe = _census("dist.female.first")
    mal, pma = _census("dist.male.first")
    sex = rng.integers(2, size=n_ent)
    given = np.where(sex == 1, rng.choice(fem, n_ent, p=pfe), rng.choice(mal, n_ent, p=pma))
    family = rng.choice(fam, n_ent, p=pf)
    dob = np.datetime64("1930-01-01") + rng.integers(0, 80 * 365, n_ent).astype("timedelta64[D]")
    zips = rng.integers(1000, 99999, 30000)
    zi = rng.integers(0, 30000, n_ent)
    streets = np.array([f"{a} {b}" for a in fam[:400] for b in ("st", "ave", "rd", "ln", "dr")])
    ent = pd.DataFrame(
        {
            "given_name": given,
            "family_name": family,
            "birth_date": pd.Series(dob).dt.strftime("%Y-%m-%d"),
            "sex": np.where(sex == 1, "f", "m"),
            "address_line": [
                f"{k} {s}"
                for k, s in zip(
                    rng.integers(1, 9999, n_ent), rng.choice(streets, n_ent), strict=True
                )
            ],  # fmt: skip
            "zip": [f"{z:05d}" for z in zips[zi]],
            "city": [f"city{z % 7919}" for z in zips[zi]],
            "state": [f"s{z % 50}" for z in zips[zi]],
            "phone": [f"{p:010d}" for p in rng.integers(2_000_000_000, 9_999_999_999, n_ent)],
            "ssn": [f"{s:09d}" for s in rng.integers(100_000_000, 899_999_999, n_ent)],
        }
    )
    ent["email"] = (
        ent["given_name"]
        + "."
        + ent["family_name"]
        + rng.integers(1, 999, n_ent).astype(str)
        + "@example.org"
    )
    n_dup = n_records - n_ent
    di = rng.choice(n_ent, n_dup, replace=False)
    dup = ent.iloc[di].reset_index(drop=True).copy()
    r = rng.random((n_dup, 10))
    for col, k in (("given_name", 0), ("family_name", 1)):
        m = r[:, k] < 0.08
        dup.loc[m, col] = [_typo(rng, s) for s in dup.loc[m, col]]
    sw = r[:, 2] < 0.01
    dup.loc[sw, ["given_name", "family_name"]] = dup.loc[sw, ["family_name", "given_name"]].values
    bd = dup["birth_date"].str.split("-", expand=True)
    m = (r[:, 3] < 0.02) & (bd[2].astype(int) <= 12)
    dup.loc[m, "birth_date"] = bd[0][m] + "-" + bd[2][m] + "-" + bd[1][m]
    m = r[:, 4] < 0.03
    dup.loc[m, "birth_date"] = [
        s[:-1] + str(int(rng.integers(10))) for s in dup.loc[m, "birth_date"]
    ]
    dup.loc[r[:, 5] < 0.05, "birth_date"] = None
    mv = r[:, 6] < 0.15
    nz = rng.integers(0, 30000, int(mv.sum()))
    dup.loc[mv, "zip"] = [f"{z:05d}" for z in zips[nz]]
    dup.loc[mv, "city"] = [f"city{z % 7919}" for z in zips[nz]]
    dup.loc[mv, "address_line"] = [f"{k} {s}" for k, s in zip(rng.integers(1, 9999, int(mv.sum())),
                                   rng.choice(streets, int(mv.sum())), strict=True)]  # fmt: skip
    dup.loc[mv, "phone"] = [
        f"{p:010d}" for p in rng.integers(2_000_000_000, 9_999_999_999, int(mv.sum()))
    ]
    dup.loc[r[:, 7] < 0.40, "ssn"] = None
    m = r[:, 8] < 0.02
    dup.loc[m, "ssn"] = [
        s[:-1] + str(int(rng.integers(10))) for s in dup.loc[m, "ssn"].fillna("000000000")
    ]
    dup.loc[r[:, 9] < 0.50, "email"] = None
    ent["source"], dup["source"] = "ehr", "claims"
    ent["rec_id"] = np.arange(n_ent).astype(str)
    dup["rec_id"] = (n_ent + np.arange(n_dup)).astype(str)
    truth = np.concatenate([np.arange(n_ent), di])
    return pd.concat([ent, dup], ignore_index=True), truth


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    from medmine.quality.linkage import evaluate_clusters, link_tables

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.perf_counter()
    df, ent = simulate(n)
    sim_s = time.perf_counter() - t0
    print(f"simulated {len(df):,} records of {ent.max() + 1:,} people in {sim_s:.0f} s", flush=True)
    truth = {f"{s}:{r}": int(e) for s, r, e in zip(df["source"], df["rec_id"], ent, strict=True)}
    t1, c1 = time.perf_counter(), _cpu()
    res = link_tables([df], mapping={"unique_id": "rec_id"}, mode="both")
    link_s, link_cpu = time.perf_counter() - t1, _cpu() - c1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m = evaluate_clusters(res.clusters, truth)
    out = {
        "records": len(df),
        "people": int(ent.max() + 1),
        "seconds_link": round(link_s, 1),
        "cpu_seconds_link": round(link_cpu, 1),
        "load_average_1min": os.getloadavg()[0],
        "seconds_simulate": round(sim_s, 1),
        "peak_rss_mb": round(peak),
        "timings": {k: round(v, 1) for k, v in res.timings.items()},
        "blocked_pairs": res.n_blocked_pairs,
        "pairs_kept": res.n_pairs_scored,
        "threshold": res.threshold,
        "prior": res.prior,
        **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in m.to_dict().items()},
        "goal": "under 300 s and 8192 MB on 2 cores",
        "command": f".venv/bin/python bench/linkage_scale.py {n}",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))
    (ROOT / "bench" / "results" / "linkage_scale.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
