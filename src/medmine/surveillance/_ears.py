"""EARS C1, C2 and C3 (CDC Early Aberration Reporting System).

No maintained Python implementation exists (the reference is R ``surveillance::earsC``), so
this follows the published definitions (Hutwagner et al. 2003, *J Urban Health* 80:i89;
Fricker et al. 2008, *Stat Med* 27:3407):

* C1: baseline the 7 periods before t; ``C1_t = (y_t - m_t) / s_t``; alarm when C1 > 3;
* C2: the same with a 2-period guard band (baseline t-9 .. t-3); alarm when C2 > 3;
* C3: ``C3_t = sum_{i=t-2}^{t} max(0, C2_i - 1)``; alarm when C3 > 2.

``m`` and ``s`` are the mean and sample standard deviation (ddof 1) of the baseline;
``s`` is floored at `min_sigma` (0 as in R; a zero spread with a higher count alarms).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from medmine.surveillance._base import Detection, Detector, check_param


class EARS(Detector):
    """EARS C1/C2/C3 on counts of any period (daily, weekly, monthly).

    Parameters
    ----------
    method
        ``"C1"``, ``"C2"`` or ``"C3"``.
    baseline
        Periods in the moving baseline (7).
    threshold
        Alarm threshold on the statistic (3 for C1/C2, 2 for C3 when None).
    min_sigma
        Floor of the baseline standard deviation.

    >>> import numpy as np
    >>> det = EARS("C1").fit(np.array([2, 3, 2, 4, 3, 2, 5]))
    >>> bool(det.detect(np.array([12.0])).alarm[0, 0])
    True
    """

    def __init__(
        self,
        method: str = "C1",
        baseline: int = 7,
        threshold: float | None = None,
        min_sigma: float = 0.0,
    ) -> None:
        self.method = method
        self.baseline = baseline
        self.threshold = threshold
        self.min_sigma = min_sigma

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"ears-{str(self.method).lower()}"

    def _check_params(self) -> None:
        own = type(self).__name__
        check_param(own, "method", self.method, "str", options=("C1", "C2", "C3"))
        check_param(own, "baseline", self.baseline, "int", 2)
        if self.threshold is not None:
            check_param(own, "threshold", self.threshold, "float", 0)
        check_param(own, "min_sigma", self.min_sigma, "float", 0)

    def min_baseline(self, period: int) -> int:
        lag = 0 if self.method == "C1" else 2
        return self.baseline + lag

    def _fit(self, baseline: np.ndarray) -> None:
        pass

    def _stats(self, full: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, sd and statistic of every period from `start` (C1 or C2 form)."""
        lag = 0 if self.method == "C1" else 2
        k = self.baseline
        # moving sums from cumulative sums: O(series x periods) memory, no window copies
        c1 = np.pad(np.cumsum(full, axis=1), ((0, 0), (1, 0)))
        c2 = np.pad(np.cumsum(full**2, axis=1), ((0, 0), (1, 0)))
        hi = np.arange(start, full.shape[1]) - lag  # baseline of t is full[t-k-lag : t-lag]
        s1 = c1[:, hi] - c1[:, hi - k]
        s2 = c2[:, hi] - c2[:, hi - k]
        m = s1 / k
        var = np.maximum((s2 - s1 * m) / (k - 1), 0.0)
        sd = np.sqrt(var)
        sd = np.where(sd < 1e-9 * np.maximum(m, 1), 0.0, sd)  # rounding of a constant window
        s = np.maximum(sd, self.min_sigma)
        y = full[:, start:]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(s > 0, (y - m) / s, np.where(y > m, np.inf, 0.0))
        return m, s, z

    def _detect(self, y: np.ndarray) -> Detection:
        full = np.concatenate([self.baseline_, y], axis=1)
        start = self.baseline_.shape[1]
        if self.method in ("C1", "C2"):
            m, s, z = self._stats(full, start)
            h = 3.0 if self.threshold is None else float(self.threshold)
            thr = m + h * s
            score = z
        else:
            h = 2.0 if self.threshold is None else float(self.threshold)
            # C2 statistics also for the two periods before `start` when the baseline allows
            first = max(start - 2, self.min_baseline(self.period_))
            m_all, s_all, z_all = self._stats(full, first)
            part = np.maximum(0.0, z_all - 1.0)
            off = start - first
            prev = np.zeros_like(y)
            for lag in (1, 2):
                pos = np.arange(y.shape[1]) + off - lag
                ok = pos >= 0
                prev[:, ok] += part[:, pos[ok]]
            m, s = m_all[:, off:], s_all[:, off:]
            score = part[:, off:] + prev
            # y alarms when max(0, (y-m)/s - 1) > h - prev, i.e. y > m + s (1 + h - prev)
            with np.errstate(invalid="ignore"):
                thr = np.where(prev > h, -np.inf, m + s * (1.0 + h - prev))
        alarm = score > h
        pvalue = stats.norm.sf(np.where(s > 0, (y - m) / np.where(s > 0, s, 1), np.inf))
        pvalue = np.where((s == 0) & (y <= m), 1.0, pvalue)
        return Detection(y, m, thr, alarm, score, pvalue, method=self.name)
