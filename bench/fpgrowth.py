"""Benchmark medmine's FP-Growth against mlxtend's ``fpgrowth`` on the same transactions.

Each contender runs in its own subprocess (so peak memory is its own): time to mine, peak RSS
and the increase of RSS over the process's baseline (after imports and reading the input).
mlxtend's time includes building the dense one-hot DataFrame it requires (reported apart).
Itemsets are compared exactly (same sets, same supports).

Datasets: Eunomia per-person conditions + drugs, simulated baskets of 10^5 and 10^6
transactions (mixtures of co-morbidity profiles over 500 codes), and 2 x 10^5 dense baskets
(about 40 of 1,000 codes each). Writes
``bench/results/fpgrowth.json``.

Usage: ``python bench/fpgrowth.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

RESULTS = Path(__file__).resolve().parent / "results" / "fpgrowth.json"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_rss_mb() -> float:
    # VmHWM belongs to this process's address space (ru_maxrss would carry the parent's
    # high-water mark across fork/exec).
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def simulate(
    n: int, m: int = 500, profiles: int = 25, seed: int = 0, noise: float = 3.0
) -> sp.csr_matrix:
    """Baskets from a mixture of profiles: each profile favours 12 codes, plus Zipf noise
    (Poisson(`noise`) extra codes per basket).
    """
    rng = np.random.default_rng(seed)
    core = np.stack([rng.choice(m, 12, replace=False) for _ in range(profiles)])
    core_p = rng.uniform(0.2, 0.7, size=(profiles, 12))
    zipf = 1.0 / np.arange(1, m + 1) ** 1.1
    zipf /= zipf.sum()
    blocks = []
    chunk = 100_000
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        prof = rng.integers(0, profiles, size=k)
        hit = rng.random((k, 12)) < core_p[prof]
        rows_c = np.repeat(np.arange(k), 12)[hit.ravel()]
        cols_c = core[prof].ravel()[hit.ravel()]
        n_noise = rng.poisson(noise, size=k)
        rows_n = np.repeat(np.arange(k), n_noise)
        cols_n = rng.choice(m, size=n_noise.sum(), p=zipf)
        rows = np.r_[rows_c, rows_n]
        cols = np.r_[cols_c, cols_n]
        X = sp.csr_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(k, m))
        X.sum_duplicates()
        X.data[:] = 1
        blocks.append(X)
    return sp.vstack(blocks).tocsr()


def eunomia() -> sp.csr_matrix:
    """Per-person condition and drug concepts of the Eunomia sample, built in SQL."""
    from medmine.ingest import omop
    from medmine.mining.rules import clinical_transactions
    from medmine.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as d:
        wh = Warehouse(Path(d) / "eunomia.duckdb")
        omop.load(omop.eunomia_path(), wh)
        tx = clinical_transactions(wh, by="person", domains=("condition", "drug"))
        wh.close()
    return tx.matrix


def _reset_peak() -> None:
    # Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def worker(contender: str, data: str, min_support: float, max_len: int, out: str) -> None:
    """Run one contender on one dataset (in a subprocess) and pickle its result."""
    X = sp.load_npz(data).tocsr()
    if contender == "medmine":
        from medmine.mining.rules import fpgrowth

        base = _rss_mb()
        _reset_peak()
        c0 = time.process_time()
        t0 = time.perf_counter()
        df = fpgrowth(X, min_support=min_support, max_len=max_len)
        t_prep = 0.0
        t_mine = time.perf_counter() - t0
    else:
        import pandas as pd
        from mlxtend.frequent_patterns import fpgrowth

        base = _rss_mb()
        _reset_peak()
        c0 = time.process_time()
        t0 = time.perf_counter()
        onehot = pd.DataFrame(X.astype(bool).toarray())
        t_prep = time.perf_counter() - t0
        df = fpgrowth(onehot, min_support=min_support, max_len=max_len)
        t_mine = time.perf_counter() - t0 - t_prep
    cpu = time.process_time() - c0
    peak = _peak_rss_mb()
    itemsets = {
        frozenset(int(i) for i in s): float(v) for s, v in zip(df.itemsets, df.support, strict=True)
    }
    with open(out, "wb") as f:
        pickle.dump(
            {
                "seconds": t_prep + t_mine,
                "cpu_seconds": cpu,
                "prep_seconds": t_prep,
                "peak_rss_mb": peak,
                "baseline_rss_mb": base,
                "peak_increase_mb": peak - base,
                "itemsets": itemsets,
            },
            f,
        )


def run(contender: str, path: Path, min_support: float, max_len: int, timeout: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as f:
        out = f.name
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        contender,
        str(path),
        str(min_support),
        str(max_len),
        out,
    ]
    try:
        subprocess.run(cmd, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    except subprocess.CalledProcessError as exc:
        return {"error": f"exit code {exc.returncode}"}
    with open(out, "rb") as f:
        res = pickle.load(f)
    Path(out).unlink()
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10^5 simulated baskets only")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    cases = [("eunomia_person_conditions_drugs", eunomia, 0.05, 4)]
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    for n in sizes:
        cases.append((f"simulated_{n}", lambda n=n: simulate(n), 0.01, 4))
    # Dense baskets (about 40 codes each over 1,000 codes): where one-hot frames hurt.
    cases.append(("simulated_dense_200000", lambda: simulate(200_000, m=1000, noise=30.0), 0.02, 3))
    results = []
    with tempfile.TemporaryDirectory() as d:
        for name, make, min_support, max_len in cases:
            X = make()
            path = Path(d) / f"{name}.npz"
            sp.save_npz(path, X)
            row = {
                "dataset": name,
                "transactions": int(X.shape[0]),
                "items": int(X.shape[1]),
                "mean_basket": round(float(X.nnz / max(X.shape[0], 1)), 2),
                "min_support": min_support,
                "max_len": max_len,
            }
            got = {}
            for contender in ("medmine", "mlxtend"):
                print(f"{name}: {contender} ...", flush=True)
                got[contender] = run(contender, path, min_support, max_len, args.timeout)
            a, b = got["medmine"], got["mlxtend"]
            same = None
            if "itemsets" in a and "itemsets" in b:
                same = a["itemsets"].keys() == b["itemsets"].keys() and all(
                    abs(a["itemsets"][k] - b["itemsets"][k]) < 1e-12 for k in a["itemsets"]
                )
            for c, res in got.items():
                n_sets = len(res.pop("itemsets", {})) if "itemsets" in res else None
                row[c] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in res.items()}
                row[c]["itemsets"] = n_sets
            row["identical_itemsets"] = same
            if "seconds" in a and "seconds" in b:
                row["speedup"] = round(b["seconds"] / a["seconds"], 2)
                row["memory_ratio"] = round(
                    b["peak_increase_mb"] / max(a["peak_increase_mb"], 1.0), 2
                )
            print(json.dumps(row), flush=True)
            results.append(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "fpgrowth",
                "machine": {"python": platform.python_version(), "cpus": 2},
                "note": "each contender in its own subprocess; seconds = wall clock (noisy on "
                "a shared 2-core machine), cpu_seconds = process CPU time; "
                "peak_increase_mb = peak RSS - "
                "RSS after reading the CSR input; mlxtend seconds include its dense one-hot "
                "conversion (prep_seconds)",
                "results": results,
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        main()
