"""Anomaly detectors sharing one contract: higher score means more anomalous, everywhere.

Every detector follows scikit-learn conventions and PyOD's meaning of outputs:

- ``fit(X, groups=None)`` learns from ``X`` of shape ``(n_samples, n_features)``; ``groups``
  (shape ``(n_samples,)``, any hashable labels) names each row's peer group (a provider's
  specialty, say) so that rows are judged against their peers, not the whole population.
- ``decision_function(X, groups=None)`` returns scores of shape ``(n_samples,)``; higher means
  more anomalous.
- ``threshold_`` (float) is the ``1 - contamination`` quantile of the training scores;
  ``predict(X, groups=None)`` returns 0/1 labels of shape ``(n_samples,)`` (1 = anomaly,
  score strictly above ``threshold_``).
- ``decision_scores_`` and ``labels_``, both of shape ``(n_samples,)``, hold the training
  scores and labels.

Peer groups are handled the same way by every detector: features are first standardised
within the group by robust z-scores (median and MAD), then scored. Groups smaller than
``min_group_size`` fall back to the statistics of all rows.

>>> import numpy as np
>>> X = np.r_[np.zeros((50, 2)) + np.random.default_rng(0).normal(size=(50, 2)), [[9, 9]]]
>>> RobustZDetector(contamination=0.02).fit(X).labels_[-1]
1
"""

from __future__ import annotations

import abc
import numbers
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.exceptions import NotFittedError

#: MAD of a standard normal sample is 0.6745 sigma; dividing by it makes MAD a sigma estimate.
_MAD_SCALE = 1.4826


def _check_contamination(owner: str, value: Any) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 < value < 0.5:
        raise ValueError(
            f"The 'contamination' parameter of {owner} must be a float in (0, 0.5). "
            f"Got {value!r} instead."
        )
    return float(value)


def _as_2d(X: Any, owner: str) -> np.ndarray:
    if hasattr(X, "toarray"):
        X = X.toarray()
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{owner} expects a 2-D array with at least one row; got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{owner} got NaN or infinite values; impute or drop them first.")
    return arr


class PeerScaler:
    """Robust z-scores (``(x - median) / (1.4826 * MAD)``) computed within peer groups.

    Parameters
    ----------
    min_group_size
        Groups with fewer training rows use the statistics of all rows.

    Attributes
    ----------
    center_ : dict
        Group label (``None`` for all rows) -> medians, shape ``(n_features,)``.
    scale_ : dict
        Group label -> robust scales, shape ``(n_features,)``; zero MADs are replaced by the
        mean absolute deviation, then by 1, so constant features never divide by zero.
    """

    def __init__(self, min_group_size: int = 5) -> None:
        self.min_group_size = min_group_size

    @staticmethod
    def _stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        med = np.median(X, axis=0)
        mad = _MAD_SCALE * np.median(np.abs(X - med), axis=0)
        mean_ad = 1.2533 * np.mean(np.abs(X - med), axis=0)  # sqrt(pi/2): sigma for normals
        scale = np.where(mad > 0, mad, np.where(mean_ad > 0, mean_ad, 1.0))
        return med, scale

    def fit(self, X: np.ndarray, groups: Sequence[Hashable] | None = None) -> PeerScaler:
        """Learn per-group medians and scales."""
        self.center_: dict[Hashable, np.ndarray] = {}
        self.scale_: dict[Hashable, np.ndarray] = {}
        self.center_[None], self.scale_[None] = self._stats(X)
        if groups is not None:
            g = np.asarray(groups, dtype=object)
            for label in dict.fromkeys(g.tolist()):
                rows = X[g == label]
                if len(rows) >= self.min_group_size:
                    self.center_[label], self.scale_[label] = self._stats(rows)
        return self

    def transform(self, X: np.ndarray, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        """Robust z-scores of `X`, each row against its group (or all rows)."""
        if not hasattr(self, "center_"):
            raise NotFittedError("PeerScaler is not fitted yet; call fit first.")
        out = (X - self.center_[None]) / self.scale_[None]
        if groups is not None:
            g = np.asarray(groups, dtype=object)
            for label in self.center_:
                if label is None:
                    continue
                rows = g == label
                if rows.any():
                    out[rows] = (X[rows] - self.center_[label]) / self.scale_[label]
        return out


class _Detector(OutlierMixin, BaseEstimator, metaclass=abc.ABCMeta):
    """Shared machinery: validation, peer scaling, threshold and labels."""

    def _validate(self) -> None:
        _check_contamination(type(self).__name__, self.contamination)

    def _peer(self, X: np.ndarray, groups: Sequence[Hashable] | None, *, fit: bool) -> np.ndarray:
        if fit:
            self.scaler_ = PeerScaler(self.min_group_size).fit(X, groups)
        return self.scaler_.transform(X, groups)

    def fit(self, X: Any, y: Any = None, groups: Sequence[Hashable] | None = None) -> _Detector:
        """Fit on `X` (shape ``(n_samples, n_features)``); `groups` names peer groups."""
        self._validate()
        X = _as_2d(X, type(self).__name__)
        if groups is not None and len(groups) != len(X):
            raise ValueError(f"groups has {len(groups)} labels for {len(X)} rows of X.")
        self.n_features_in_ = X.shape[1]
        Z = self._peer(X, groups, fit=True)
        self._fit_scores(Z)
        self.decision_scores_ = self._score(Z)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1 - self.contamination))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def decision_function(self, X: Any, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        """Anomaly scores, shape ``(n_samples,)``; higher means more anomalous."""
        if not hasattr(self, "threshold_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first.")
        X = _as_2d(X, type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} was fitted with "
                f"{self.n_features_in_}."
            )
        return self._score(self._peer(X, groups, fit=False))

    def score_samples(self, X: Any) -> np.ndarray:
        """Scikit-learn's convention (higher = more normal): the negated decision function."""
        return -self.decision_function(X)

    def predict(self, X: Any, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        """0/1 labels, shape ``(n_samples,)``: 1 when the score exceeds ``threshold_``."""
        return (self.decision_function(X, groups) > self.threshold_).astype(int)

    def fit_predict(self, X: Any, y: Any = None, groups: Any = None) -> np.ndarray:
        """Fit, then return the training labels ``labels_``."""
        return self.fit(X, groups=groups).labels_

    @abc.abstractmethod
    def _fit_scores(self, Z: np.ndarray) -> None:
        """Learn what the scorer needs from the (standardised) training matrix."""

    @abc.abstractmethod
    def _score(self, Z: np.ndarray) -> np.ndarray:
        """Anomaly scores of ``Z``, higher = more anomalous."""


class RobustZDetector(_Detector):
    """Robust z-scores (median/MAD) within peer groups, combined over features.

    Parameters
    ----------
    contamination
        Expected share of anomalies; sets ``threshold_``.
    tail
        ``"both"`` scores ``|z|``; ``"upper"`` scores only values above the peers (billing more
        than peers is suspicious, billing less is not).
    combine
        ``"max"`` (the most extreme feature) or ``"rms"`` (root mean square over features).
    min_group_size
        Smaller peer groups are compared with everyone.
    """

    def __init__(
        self,
        contamination: float = 0.1,
        tail: str = "both",
        combine: str = "max",
        min_group_size: int = 5,
    ) -> None:
        self.contamination = contamination
        self.tail = tail
        self.combine = combine
        self.min_group_size = min_group_size

    def _validate(self) -> None:
        super()._validate()
        if self.tail not in ("both", "upper"):
            raise ValueError(
                f"The 'tail' parameter of RobustZDetector must be 'both' or 'upper'. "
                f"Got {self.tail!r} instead."
            )
        if self.combine not in ("max", "rms"):
            raise ValueError(
                f"The 'combine' parameter of RobustZDetector must be 'max' or 'rms'. "
                f"Got {self.combine!r} instead."
            )

    def _fit_scores(self, Z: np.ndarray) -> None:
        pass

    def _score(self, Z: np.ndarray) -> np.ndarray:
        D = np.abs(Z) if self.tail == "both" else np.clip(Z, 0, None)
        if self.combine == "max":
            return D.max(axis=1)
        return np.sqrt(np.mean(D**2, axis=1))


class ECODDetector(_Detector):
    """ECOD (empirical cumulative distribution outlier detection, Li et al. 2022) via PyOD.

    Parameter-free apart from ``contamination``; features are peer-standardised first when
    ``groups`` are given.
    """

    def __init__(self, contamination: float = 0.1, min_group_size: int = 5) -> None:
        self.contamination = contamination
        self.min_group_size = min_group_size

    def _fit_scores(self, Z: np.ndarray) -> None:
        from pyod.models.ecod import ECOD

        self.model_ = ECOD(contamination=self.contamination).fit(Z)

    def _score(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.decision_function(Z), dtype=float)


class IsolationForestDetector(_Detector):
    """Isolation Forest via PyOD (path length: short = anomalous)."""

    def __init__(
        self,
        contamination: float = 0.1,
        n_estimators: int = 200,
        random_state: int | None = 0,
        min_group_size: int = 5,
    ) -> None:
        self.contamination = contamination
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.min_group_size = min_group_size

    def _fit_scores(self, Z: np.ndarray) -> None:
        from pyod.models.iforest import IForest

        self.model_ = IForest(
            n_estimators=self.n_estimators,
            contamination=self.contamination,
            random_state=self.random_state,
        ).fit(Z)

    def _score(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.decision_function(Z), dtype=float)


def rank_average(*scores: np.ndarray) -> np.ndarray:
    """Combine detectors' scores by averaging their percentile ranks (scale-free ensemble)."""
    from scipy.stats import rankdata

    ranks = [rankdata(s) / len(s) for s in scores]
    return np.mean(ranks, axis=0)


__all__ = [
    "ECODDetector",
    "IsolationForestDetector",
    "PeerScaler",
    "RobustZDetector",
    "rank_average",
]
