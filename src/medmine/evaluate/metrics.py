"""Discrimination, accuracy and clinical-utility metrics, with person-level bootstrap CIs.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.4, 0.35, 0.8])
>>> round(auroc_ci(y, p, n_boot=20).estimate, 2)
0.75
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)


@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate with a percentile bootstrap confidence interval."""

    estimate: float
    lower: float
    upper: float
    level: float = 0.95
    n_boot: int = 0

    def __str__(self) -> str:
        return f"{self.estimate:.3f} ({self.lower:.3f}-{self.upper:.3f})"

    def to_dict(self) -> dict[str, float]:
        """Plain dict for JSON."""
        return asdict(self)


def bootstrap_ci(
    y: Sequence[float],
    p: Sequence[float],
    metric: Callable[..., float],
    *,
    groups: Sequence | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    random_state: int | None = 0,
) -> BootstrapCI:
    """Percentile bootstrap CI of ``metric(y, p, sample_weight=w)``, resampling persons.

    Persons (`groups`) are drawn with replacement and all their rows come along, expressed as
    integer row weights (a person drawn twice counts twice), so the interval reflects the
    correlation of one person's rows. Replicates with a single class are skipped.
    """
    y = np.asarray(y)
    p = np.asarray(p, dtype=float)
    if groups is None:
        groups = np.arange(len(y))
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(inverse.max()) + 1 if len(inverse) else 0
    estimate = float(metric(y, p))
    rng = np.random.default_rng(random_state)
    stats = []
    for _ in range(n_boot):
        counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups))
        w = counts[inverse].astype(float)
        keep = w > 0
        if len(np.unique(y[keep])) < 2:
            continue
        stats.append(float(metric(y[keep], p[keep], sample_weight=w[keep])))
    if not stats:
        return BootstrapCI(estimate, float("nan"), float("nan"), level, 0)
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return BootstrapCI(estimate, float(lo), float(hi), level, len(stats))


def auroc_ci(y, p, *, groups=None, n_boot: int = 200, random_state: int | None = 0) -> BootstrapCI:
    """Area under the ROC curve (c-statistic) with a person-level bootstrap 95% CI."""
    return bootstrap_ci(
        y, p, roc_auc_score, groups=groups, n_boot=n_boot, random_state=random_state
    )


def auprc_ci(y, p, *, groups=None, n_boot: int = 200, random_state: int | None = 0) -> BootstrapCI:
    """Area under the precision-recall curve (average precision) with a bootstrap 95% CI."""
    return bootstrap_ci(
        y, p, average_precision_score, groups=groups, n_boot=n_boot, random_state=random_state
    )


def brier_score(y, p) -> float:
    """Mean squared difference between predicted risk and outcome (lower is better)."""
    return float(brier_score_loss(np.asarray(y), np.asarray(p, dtype=float)))


def threshold_metrics(y, p, thresholds: Sequence[float] = (0.1, 0.2, 0.5)) -> pd.DataFrame:
    """Sensitivity, specificity, PPV, NPV and share flagged when ``p >= threshold``."""
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=float)
    rows = []
    for t in thresholds:
        flag = p >= t
        tp, fp = int((flag & y).sum()), int((flag & ~y).sum())
        fn, tn = int((~flag & y).sum()), int((~flag & ~y).sum())
        rows.append(
            {
                "threshold": float(t),
                "flagged": float(flag.mean()) if len(p) else float("nan"),
                "sensitivity": _ratio(tp, tp + fn),
                "specificity": _ratio(tn, tn + fp),
                "ppv": _ratio(tp, tp + fp),
                "npv": _ratio(tn, tn + fn),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "tn": tn,
            }
        )
    return pd.DataFrame(rows)


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def net_benefit(y, p, thresholds: Sequence[float] | None = None) -> pd.DataFrame:
    """Decision curve: net benefit of the model, of treating all and of treating none.

    Net benefit at threshold t = TP/n - FP/n * t/(1-t) (Vickers & Elkin 2006).
    """
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=float)
    if thresholds is None:
        thresholds = np.round(np.arange(0.01, 0.51, 0.01), 2)
    n = len(y)
    prev = y.mean() if n else float("nan")
    rows = []
    for t in thresholds:
        odds = t / (1 - t)
        flag = p >= t
        tp, fp = (flag & y).sum(), (flag & ~y).sum()
        rows.append(
            {
                "threshold": float(t),
                "model": float(tp / n - fp / n * odds) if n else float("nan"),
                "treat_all": float(prev - (1 - prev) * odds),
                "treat_none": 0.0,
            }
        )
    return pd.DataFrame(rows)


def regression_metrics(y, y_hat) -> dict[str, float]:
    """MAE, RMSE and R² of a continuous prediction (same unit as y)."""
    y = np.asarray(y, dtype=float)
    y_hat = np.asarray(y_hat, dtype=float)
    return {
        "mae": float(mean_absolute_error(y, y_hat)),
        "rmse": float(np.sqrt(mean_squared_error(y, y_hat))),
        "r2": float(r2_score(y, y_hat)),
    }
