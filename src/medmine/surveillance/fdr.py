"""False-discovery control across areas: Benjamini–Hochberg per period over the areas.

Monitoring many areas with a per-area alarm rate of 1% gives dozens of false alarms a week
over thousands of areas. `fdr_alarms` keeps, in each period, the areas whose one-period
p-values pass the Benjamini–Hochberg step-up procedure at `level` (Benjamini & Hochberg
1995, *JRSS B* 57:289), using statsmodels' implementation.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

from medmine.errors import ConfigError


def bh_qvalues(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values) across areas, per period.

    `pvalues` is ``(n_areas, n_periods)``; NaN p-values (periods a method cannot judge) stay
    NaN and do not count as tests.

    >>> bh_qvalues(np.array([[0.01], [0.04], [0.03], [0.5]])).round(3).ravel().tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 2:
        raise ConfigError(f"p-values must be 2-D (areas x periods); got {p.ndim}-D")
    q = np.full_like(p, np.nan)
    for j in range(p.shape[1]):
        ok = np.isfinite(p[:, j])
        if ok.any():
            q[ok, j] = multipletests(np.clip(p[ok, j], 0, 1), method="fdr_bh")[1]
    return q


def fdr_alarms(pvalues: np.ndarray, level: float = 0.05) -> np.ndarray:
    """Areas x periods flags of areas discovered at false-discovery rate `level`."""
    if not 0 < level < 1:
        raise ConfigError(f"FDR level must be in (0, 1); got {level}")
    q = bh_qvalues(pvalues)
    return np.nan_to_num(q, nan=1.0) <= level
