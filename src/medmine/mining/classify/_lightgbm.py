"""Gradient-boosted trees (LightGBM) as a scikit-learn classifier with declared parameters."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from medmine.mining._contract import Interval, StrOptions, fit_context
from medmine.mining.classify._base import BaseClassifier


class LightGBMClassifier(BaseClassifier):
    """LightGBM gradient boosting on dense or sparse covariates.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples
        Tree ensemble size and shape (LightGBM's meaning).
    subsample, colsample_bytree
        Row and column sampling fractions in (0, 1].
    reg_lambda
        L2 penalty on leaf values.
    class_weight
        ``None`` or ``"balanced"``.
    n_jobs
        Threads (default 1: the machine is shared).
    random_state
        Seed.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    booster_ : lightgbm.Booster
    feature_importances_ : ndarray of shape (n_features,)
        Total gain per feature.
    n_features_in_ : int
    """

    _input_dtypes = (np.float32, np.float64)
    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "num_leaves": [Interval(Integral, 2, None, closed="left")],
        "max_depth": [Interval(Integral, -1, None, closed="left")],
        "min_child_samples": [Interval(Integral, 1, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "n_jobs": [Integral],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_estimators: int = 200,
        *,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        max_depth: int = -1,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        class_weight: str | dict | None = None,
        n_jobs: int = 1,
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the ensemble; returns self."""
        import lightgbm as lgb

        X, y, sample_weight = self._validate_classification_input(X, y, sample_weight)
        seed = self.random_state
        if seed is not None and not isinstance(seed, Integral):
            seed = int(np.random.default_rng(0).integers(2**31 - 1))
        model = lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            random_state=seed,
            verbose=-1,
        )
        model.fit(X, np.searchsorted(self.classes_, y), sample_weight=sample_weight)
        self.model_ = model
        self.booster_ = model.booster_
        self.feature_importances_ = model.booster_.feature_importance("gain").astype(float)
        return self

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``."""
        X = self._validate_predict_input(X, "booster_")
        return self.model_.predict_proba(X)
