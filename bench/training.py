"""Benchmark model training on simulated readmission cohorts (10^4, 10^5, 10^6 persons).

For each size a fresh subprocess simulates the population and builds the readmission cohort
and its covariates with the helpers of ``bench/covariates.py`` (`build`), splits persons 75/25,
then times on the training persons:

* ``L1LogisticClassifier(C=0.1)`` (liblinear) and, as reference, scikit-learn's
  ``LogisticRegression(l1_ratio=1, solver="liblinear")`` on the same max-abs scaled matrix;
* ``LightGBMClassifier(n_estimators=200, num_leaves=15)`` and, as reference,
  ``lightgbm.LGBMClassifier`` with the same parameters (2 threads each);
* the full tuned pipeline (person-level 3-fold grid search + calibration) for sizes up to
  `--tuned-max` persons (default 10^5; 3 C values, 2 LightGBM grids points).

Held-out AUROC is reported next to each time as a sanity check. Peak RSS = VmHWM of the
subprocess. Writes ``bench/results/training.json``.

Usage: ``python bench/training.py [--sizes 10000 100000 1000000] [--timeout 1500]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "training.json"
SIZES = (10_000, 100_000, 1_000_000)


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 2)


def run_size(n: int, tuned_max: int) -> dict[str, Any]:
    """Everything for one size, in this process."""
    import lightgbm as lgb
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from covariates import build  # bench/covariates.py (the script's folder is on sys.path)
    from medmine.evaluate import person_train_test_split
    from medmine.mining.classify import (
        L1LogisticClassifier,
        LightGBMClassifier,
        l1_logistic_search,
        lightgbm_search,
    )

    t: dict[str, Any] = {"n_persons": n}
    with tempfile.TemporaryDirectory(prefix="mm_bench_train_") as d:
        _, cohort, matrix = build(n, d, timings=t)
    X = matrix.X.tocsr()
    y = cohort.frame["outcome"].to_numpy().astype(int)
    persons = cohort.frame["person_id"].to_numpy()
    tr, te = person_train_test_split(persons, test_size=0.25, stratify=y)
    Xtr, Xte, ytr, yte = X[tr], X[te], y[tr], y[te]
    t["train_rows"] = int(len(tr))
    t["n_covariates"] = int(X.shape[1])

    def auc(p: Any) -> float:
        return round(float(roc_auc_score(yte, p)), 4)

    m, t["l1_logistic_fit_s"] = _timed(lambda: L1LogisticClassifier(C=0.1).fit(Xtr, ytr))
    t["l1_logistic_auroc"] = auc(m.predict_proba(Xte)[:, 1])
    scale = m.scale_
    Xs = Xtr @ sp.diags(1.0 / scale)
    ref, t["ref_sklearn_logreg_fit_s"] = _timed(
        lambda: LogisticRegression(C=0.1, l1_ratio=1.0, solver="liblinear").fit(Xs, ytr)
    )
    t["ref_sklearn_logreg_auroc"] = auc(ref.predict_proba(Xte @ sp.diags(1.0 / scale))[:, 1])
    params = {"n_estimators": 200, "num_leaves": 15, "learning_rate": 0.05, "n_jobs": 2}
    g, t["lightgbm_fit_s"] = _timed(
        lambda: LightGBMClassifier(**params, random_state=0).fit(Xtr, ytr)
    )
    t["lightgbm_auroc"] = auc(g.predict_proba(Xte)[:, 1])
    r, t["ref_lightgbm_fit_s"] = _timed(
        lambda: lgb.LGBMClassifier(
            **params, subsample=0.8, subsample_freq=1, colsample_bytree=0.8, verbose=-1
        ).fit(Xtr, ytr)
    )
    t["ref_lightgbm_auroc"] = auc(r.predict_proba(Xte)[:, 1])
    if n <= tuned_max:
        s, t["l1_tuned_calibrated_s"] = _timed(
            lambda: l1_logistic_search({"C": [0.03, 0.1, 0.3]}).fit(Xtr, ytr, groups=persons[tr])
        )
        t["l1_tuned_auroc"] = auc(s.predict_proba(Xte)[:, 1])
        grid = {"num_leaves": [7, 15], "n_estimators": [150], "n_jobs": [2]}
        s, t["lightgbm_tuned_calibrated_s"] = _timed(
            lambda: lightgbm_search(grid).fit(Xtr, ytr, groups=persons[tr])
        )
        t["lightgbm_tuned_auroc"] = auc(s.predict_proba(Xte)[:, 1])
    t["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    t["nnz"] = int(X.nnz)
    return {k: round(v, 2) if k.endswith("_s") else v for k, v in t.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--tuned-max", type=int, default=100_000)
    ap.add_argument("--timeout", type=int, default=1500, help="seconds per size")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.tuned_max)))
        return
    runs: list[dict[str, Any]] = []
    for n in args.sizes:
        t0 = time.perf_counter()
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), "--tuned-max", str(args.tuned_max)],
                capture_output=True,
                text=True,
                check=True,
                timeout=args.timeout,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        except subprocess.TimeoutExpired:
            runs.append({"n_persons": n, "status": f"not finished within {args.timeout} s"})
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or "").strip().splitlines()[-1:] or ["?"]
            runs.append({"n_persons": n, "status": f"failed: {tail[0][:200]}"})
        runs[-1]["wall_s"] = round(time.perf_counter() - t0, 1)
        print(f"done {n:>9,} persons: {runs[-1]}", file=sys.stderr)
    result = {
        "benchmark": "training time of L1-logistic and LightGBM on simulated readmission cohorts",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "notes": "one subprocess per size: simulate + cohort + covariates (bench/covariates.py "
        "build), 75/25 person split; *_fit_s = one fit on the training rows with fixed "
        "hyperparameters; ref_* = the underlying library called directly on the same data; "
        "*_tuned_calibrated_s = person-level 3-fold grid search + calibration (sizes up to "
        "--tuned-max). The machine is shared with other jobs: times are upper bounds.",
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
