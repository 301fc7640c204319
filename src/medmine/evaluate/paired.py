"""Paired comparison of two scores on the same rows: difference of AUROC with a person-level
bootstrap CI (both scores resampled together, so the interval reflects the pairing).

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1, 0, 1]); a = np.array([.1, .2, .8, .9, .3, .7])
>>> b = np.array([.5, .2, .4, .9, .6, .3])
>>> d = paired_auroc_difference(y, a, b, n_boot=50)
>>> round(d.estimate, 3)
0.444
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from medmine.evaluate.metrics import BootstrapCI


def paired_auroc_difference(
    y: Sequence[int],
    p_a: Sequence[float],
    p_b: Sequence[float],
    *,
    groups: Sequence | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    random_state: int | None = 0,
) -> BootstrapCI:
    """AUROC of `p_a` minus AUROC of `p_b` with a paired percentile bootstrap CI.

    Persons (`groups`) are drawn with replacement, all their rows come along (integer row
    weights), and both scores are evaluated on the same draw; replicates with one class are
    skipped. An interval that excludes 0 says the two scores rank these rows differently
    beyond resampling noise (it says nothing about other data).

    Raises
    ------
    ValueError
        If the three arrays differ in length or `y` holds a single class.
    """
    y = np.asarray(y).astype(int)
    a = np.asarray(p_a, dtype=float)
    b = np.asarray(p_b, dtype=float)
    if not len(y) == len(a) == len(b):
        raise ValueError(
            f"paired_auroc_difference needs arrays of one length; got {len(y)}, {len(a)}, {len(b)}"
        )
    if len(np.unique(y)) < 2:
        raise ValueError("paired_auroc_difference needs both outcome classes among the rows")
    if groups is None:
        groups = np.arange(len(y))
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(inverse.max()) + 1
    estimate = float(roc_auc_score(y, a) - roc_auc_score(y, b))
    rng = np.random.default_rng(random_state)
    stats = []
    for _ in range(n_boot):
        w = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups))[inverse].astype(float)
        keep = w > 0
        if len(np.unique(y[keep])) < 2:
            continue
        yk, wk = y[keep], w[keep]
        stats.append(
            float(
                roc_auc_score(yk, a[keep], sample_weight=wk)
                - roc_auc_score(yk, b[keep], sample_weight=wk)
            )
        )
    if not stats:
        return BootstrapCI(estimate, float("nan"), float("nan"), level, 0)
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return BootstrapCI(estimate, float(lo), float(hi), level, len(stats))
