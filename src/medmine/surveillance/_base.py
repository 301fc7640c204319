"""The detector contract: fit on a baseline, then per monitored period an expected count, an
upper threshold, an alarm flag, a score and a one-period p-value.

Every detector works on many series at once: counts are a 2-D array ``(n_series, n_periods)``
(a 1-D array is one series). All series share one calendar, so the design matrices of the
regression-based detectors are shared and their fits run batched in numpy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import ConfigError, NotFittedError


class SeriesTooShortError(ConfigError):
    """A series is shorter than the method needs (the message says how long it must be)."""


@dataclass
class Detection:
    """Output of `Detector.detect`, each array of shape ``(n_series, n_periods)``.

    Attributes
    ----------
    observed
        The monitored counts.
    expected
        In-control expected count of each period (NaN where the method cannot judge).
    threshold
        Upper threshold in count units: an alarm is raised when ``observed > threshold``
        (for the CUSUM and GLR, the count that would have raised the statistic over `h`).
    alarm
        Boolean alarm flags.
    score
        The method's own statistic (z-score, CUSUM, GLR, exceedance); higher is more unusual.
    pvalue
        One-period upper-tail p-value of the count under the in-control model (for the
        false-discovery control across areas).
    """

    observed: np.ndarray
    expected: np.ndarray
    threshold: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    pvalue: np.ndarray
    method: str = ""

    def frame(self, series: int = 0) -> pd.DataFrame:
        """One series as a frame: observed, expected, threshold, alarm, score, pvalue."""
        return pd.DataFrame(
            {
                "observed": self.observed[series],
                "expected": self.expected[series],
                "threshold": self.threshold[series],
                "alarm": self.alarm[series],
                "score": self.score[series],
                "pvalue": self.pvalue[series],
            }
        )


def as_counts(y: Any, *, name: str = "counts") -> np.ndarray:
    """`y` as a float 2-D array of non-negative finite counts (1-D becomes one row).

    Raises
    ------
    ConfigError
        For negative, missing or non-finite values, naming the first offending position.
    """
    a = np.asarray(y, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ConfigError(f"{name} must be 1-D or 2-D (series x periods); got {a.ndim}-D")
    bad = ~np.isfinite(a)
    if bad.any():
        s, t = np.argwhere(bad)[0]
        raise ConfigError(f"{name}: series {s} period {t} is missing or not finite")
    if (a < 0).any():
        s, t = np.argwhere(a < 0)[0]
        raise ConfigError(f"{name}: series {s} period {t} is negative; counts are >= 0")
    return a


def check_param(
    owner: str,
    name: str,
    value: Any,
    kind: str,
    lo: float | None = None,
    hi: float | None = None,
    options: tuple[str, ...] = (),
) -> None:
    """Raise one message shape for every bad parameter (scikit-learn's wording)."""
    ok = True
    if kind == "int":
        ok = isinstance(value, Integral) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    elif kind == "str":
        ok = value in options
    if ok and lo is not None and value < lo:
        ok = False
    if ok and hi is not None and value > hi:
        ok = False
    if not ok:
        want = {"int": "an int", "float": "a float", "str": f"one of {list(options)}"}[kind]
        rng = "" if kind == "str" else f" in [{lo}, {hi if hi is not None else 'inf'}]"
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be {want}{rng}. Got {value!r} instead."
        )


def _one_blas_thread() -> Any:
    """One BLAS thread: the batched fits are many small products, which threads only slow
    (measured: half the CPU time of the test suite on 2 cores). threadpoolctl comes with
    scikit-learn.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


class Detector(ABC):
    """Base class: ``fit(baseline)`` then ``detect(counts)`` on the periods that follow.

    Subclasses set `name`, `min_baseline` (periods of history needed) and implement
    `_check_params`, `_fit` and `_detect`. `detect` monitors every period of `counts`,
    using the baseline and earlier monitored periods only (prospective, as run weekly).
    """

    name = "detector"

    def fit(self, baseline: Any, *, period: int = 52) -> Detector:
        """Check parameters and learn what the method needs from `baseline`."""
        self._check_params()
        check_param(type(self).__name__, "period", period, "int", 1)
        b = as_counts(baseline, name="baseline")
        need = self.min_baseline(period)
        if b.shape[1] < need:
            raise SeriesTooShortError(
                f"{type(self).__name__} needs at least {need} periods of baseline "
                f"(period {period}); got {b.shape[1]}. Use a longer series or EARS C1-C3, "
                "which need 7-9 periods."
            )
        self.period_ = period
        self.baseline_ = b
        with _one_blas_thread():
            self._fit(b)
        return self

    def detect(self, counts: Any) -> Detection:
        """Monitor `counts`, the periods right after the baseline (same series order)."""
        if not hasattr(self, "baseline_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")
        y = as_counts(counts)
        if y.shape[0] != self.baseline_.shape[0]:
            raise ConfigError(
                f"detect got {y.shape[0]} series but fit saw {self.baseline_.shape[0]}"
            )
        with _one_blas_thread():
            return self._detect(y)

    def min_baseline(self, period: int) -> int:
        """Periods of baseline the method needs at `period` periods per year."""
        return 1

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def _check_params(self) -> None:  # noqa: B027 - optional hook, no checks by default
        pass

    def _fit(self, baseline: np.ndarray) -> None:  # noqa: B027 - optional hook
        pass

    @abstractmethod
    def _detect(self, y: np.ndarray) -> Detection:
        """Implemented by each subclass."""
