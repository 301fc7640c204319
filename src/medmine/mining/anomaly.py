"""Anomaly detectors sharing one contract: higher score means more anomalous, everywhere.

Every detector follows the estimator contract of `medmine.mining` (parameters stored by
``__init__`` and checked declaratively in ``fit``, one not-fitted error, learned attributes
ending in ``_``) and PyOD's meaning of outputs:

- ``fit(X, y=None, groups=None)`` learns from ``X`` of shape ``(n_samples, n_features)``
  (dense or sparse, finite); ``y`` is ignored; ``groups`` (shape ``(n_samples,)``, any
  hashable labels) names each row's peer group (a provider's specialty, say) so that rows are
  judged against their peers, not the whole population.
- ``decision_function(X, groups=None)`` returns scores of shape ``(n_samples,)``; higher means
  more anomalous.
- ``threshold_`` (float) is the ``1 - contamination`` quantile of the training scores;
  ``predict(X, groups=None)`` returns 0/1 labels of shape ``(n_samples,)`` (1 = anomaly,
  score strictly above ``threshold_``). This is PyOD's labelling, not scikit-learn's
  (-1 = outlier, 1 = inlier).
- ``decision_scores_`` and ``labels_``, both of shape ``(n_samples,)``, hold the training
  scores and labels.
- ``score_samples(X, groups=None)`` is the one exception to "higher = more anomalous": it
  keeps scikit-learn's meaning of that method (higher = more normal) and is the negated
  ``decision_function``.

Peer groups are handled the same way by every detector: features are first standardised
within the group by robust z-scores (median and MAD), then scored. Groups smaller than
``min_group_size`` fall back to the statistics of all rows.

>>> import numpy as np
>>> X = np.r_[np.zeros((50, 2)) + np.random.default_rng(0).normal(size=(50, 2)), [[9, 9]]]
>>> int(RobustZDetector(contamination=0.02).fit(X).labels_[-1])
1
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import validate_data

from medmine.mining._contract import Interval, StrOptions, ensure_fitted, fit_context

#: MAD of a standard normal sample is 0.6745 sigma; dividing by it makes MAD a sigma estimate.
_MAD_SCALE = 1.4826

#: Constraint on ``min_group_size`` (training rows a peer group needs for its own statistics).
_MIN_GROUP_SIZE = [Interval(Integral, 1, None, closed="left")]


def _check_groups(groups: Sequence[Hashable] | None, n_rows: int) -> None:
    if groups is not None and len(groups) != n_rows:
        raise ValueError(f"groups has {len(groups)} labels for {n_rows} rows of X.")


class PeerScaler(BaseEstimator):
    """Robust z-scores (``(x - median) / (1.4826 * MAD)``) computed within peer groups.

    Not a scikit-learn transformer: its second positional argument is ``groups``, not ``y``.

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
    n_features_in_ : int
    """

    _parameter_constraints: dict = {"min_group_size": _MIN_GROUP_SIZE}

    def __init__(self, min_group_size: int = 5) -> None:
        self.min_group_size = min_group_size

    @staticmethod
    def _stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        med = np.median(X, axis=0)
        mad = _MAD_SCALE * np.median(np.abs(X - med), axis=0)
        mean_ad = 1.2533 * np.mean(np.abs(X - med), axis=0)  # sqrt(pi/2): sigma for normals
        scale = np.where(mad > 0, mad, np.where(mean_ad > 0, mean_ad, 1.0))
        return med, scale

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, groups: Sequence[Hashable] | None = None) -> PeerScaler:
        """Learn per-group medians and scales from dense `X`, ``(n_samples, n_features)``."""
        X = validate_data(self, X, dtype=np.float64)
        _check_groups(groups, len(X))
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

    def transform(self, X: Any, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        """Robust z-scores of `X`, each row against its group (or all rows).

        Returns an array of the shape of `X`, ``(n_samples, n_features)``.
        """
        ensure_fitted(self, "center_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        _check_groups(groups, len(X))
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
    """Shared machinery: validation, peer scaling, threshold and labels.

    Subclasses extend ``_parameter_constraints`` and implement ``_fit_scores`` and
    ``_score``.
    """

    _parameter_constraints: dict = {
        "contamination": [Interval(Real, 0, 0.5, closed="neither")],
        "min_group_size": _MIN_GROUP_SIZE,
    }

    def _validate_input(self, X: Any, *, reset: bool) -> np.ndarray:
        """Dense float64 ``X`` (sparse input is densified); sets or checks ``n_features_in_``."""
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=reset)
        return X.toarray() if sp.issparse(X) else X

    def _peer(self, X: np.ndarray, groups: Sequence[Hashable] | None, *, fit: bool) -> np.ndarray:
        if fit:
            self.scaler_ = PeerScaler(self.min_group_size).fit(X, groups)
        return self.scaler_.transform(X, groups)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None, groups: Sequence[Hashable] | None = None) -> _Detector:
        """Fit on `X` (shape ``(n_samples, n_features)``); `groups` names peer groups.

        `y` is ignored. Returns self.
        """
        X = self._validate_input(X, reset=True)
        _check_groups(groups, len(X))
        Z = self._peer(X, groups, fit=True)
        self._fit_scores(Z)
        self.decision_scores_ = self._score(Z)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1 - self.contamination))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def decision_function(self, X: Any, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        """Anomaly scores, shape ``(n_samples,)``; higher means more anomalous."""
        ensure_fitted(self, "threshold_")
        X = self._validate_input(X, reset=False)
        _check_groups(groups, len(X))
        return self._score(self._peer(X, groups, fit=False))

    def score_samples(self, X: Any, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        """Normality scores, shape ``(n_samples,)``: the negated `decision_function`.

        Scikit-learn's meaning of this method (higher = more normal), kept for tools that
        rely on it; every other score here is higher = more anomalous.
        """
        return -self.decision_function(X, groups)

    def predict(self, X: Any, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        """0/1 labels, shape ``(n_samples,)``: 1 when the score exceeds ``threshold_``."""
        return (self.decision_function(X, groups) > self.threshold_).astype(int)

    def fit_predict(
        self, X: Any, y: Any = None, groups: Sequence[Hashable] | None = None
    ) -> np.ndarray:
        """Fit, then return the training labels ``labels_``, shape ``(n_samples,)``."""
        return self.fit(X, groups=groups).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

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

    Attributes
    ----------
    decision_scores_ : numpy.ndarray of shape (n_samples,)
        Anomaly scores of the training rows; higher means more anomalous.
    threshold_ : float
        The ``1 - contamination`` quantile of ``decision_scores_``.
    labels_ : numpy.ndarray of shape (n_samples,)
        1 where ``decision_scores_ > threshold_`` (anomaly), else 0.
    scaler_ : PeerScaler
        The peer-group standardisation fitted on the training rows.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of shape (n_features_in_,)
        Column names, when `fit` got a DataFrame with string column names.
    """

    _parameter_constraints: dict = {
        **_Detector._parameter_constraints,
        "tail": [StrOptions({"both", "upper"})],
        "combine": [StrOptions({"max", "rms"})],
    }

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
    ``groups`` are given. As in PyOD, `decision_function` ranks new rows against the training
    rows and the other rows passed with them, so a row's score depends on its batch.

    Parameters
    ----------
    contamination
        Expected share of anomalies; sets ``threshold_``.
    min_group_size
        Smaller peer groups are compared with everyone.

    Attributes
    ----------
    decision_scores_ : numpy.ndarray of shape (n_samples,)
        Anomaly scores of the training rows; higher means more anomalous.
    threshold_ : float
        The ``1 - contamination`` quantile of ``decision_scores_``.
    labels_ : numpy.ndarray of shape (n_samples,)
        1 where ``decision_scores_ > threshold_`` (anomaly), else 0.
    scaler_ : PeerScaler
        The peer-group standardisation fitted on the training rows.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of shape (n_features_in_,)
        Column names, when `fit` got a DataFrame with string column names.
    model_ : pyod.models.ecod.ECOD
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
    """Isolation Forest via PyOD (path length: short = anomalous).

    Parameters
    ----------
    contamination
        Expected share of anomalies; sets ``threshold_``.
    n_estimators
        Trees in the forest.
    random_state
        Seed of the forest.
    min_group_size
        Smaller peer groups are compared with everyone.

    Attributes
    ----------
    decision_scores_ : numpy.ndarray of shape (n_samples,)
        Anomaly scores of the training rows; higher means more anomalous.
    threshold_ : float
        The ``1 - contamination`` quantile of ``decision_scores_``.
    labels_ : numpy.ndarray of shape (n_samples,)
        1 where ``decision_scores_ > threshold_`` (anomaly), else 0.
    scaler_ : PeerScaler
        The peer-group standardisation fitted on the training rows.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of shape (n_features_in_,)
        Column names, when `fit` got a DataFrame with string column names.
    model_ : pyod.models.iforest.IForest
    """

    _parameter_constraints: dict = {
        **_Detector._parameter_constraints,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

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
