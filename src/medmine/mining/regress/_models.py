"""Regressors for skewed, non-negative targets (length of stay in days, cost)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.linear_model import TweedieRegressor
from sklearn.utils.validation import _check_sample_weight

from medmine.mining._contract import Interval, StrOptions, fit_context
from medmine.mining._sparse import SparseInputEstimator, max_abs_scaled


def _check_non_negative(y: np.ndarray, who: str) -> None:
    if np.any(y < 0):
        raise ValueError(
            f"{who} needs a non-negative target (days, cost); got {int((y < 0).sum())} "
            "negative values. Check the cohort's target definition."
        )


class PoissonGLMRegressor(RegressorMixin, SparseInputEstimator):
    """Tweedie-family GLM with log link (Poisson by default) on dense or sparse covariates.

    Parameters
    ----------
    power
        Tweedie power: 0 normal, 1 Poisson (counts such as days), in (1, 2) compound
        Poisson-gamma (costs with zeros), 2 gamma.
    alpha
        L2 penalty strength (on max-abs scaled columns).
    max_iter
        Solver iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        On the original feature scale: ``log E[y] = X @ coef_ + intercept_``.
    intercept_ : float
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "power": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, power: float = 1.0, *, alpha: float = 1e-3, max_iter: int = 300) -> None:
        self.power = power
        self.alpha = alpha
        self.max_iter = max_iter

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the GLM; returns self."""
        X, y, sample_weight = self._validate_fit_input(X, y, sample_weight, y_numeric=True)
        _check_non_negative(y, "PoissonGLMRegressor")
        if 0 < self.power < 1:
            raise ValueError(
                f"The 'power' parameter of PoissonGLMRegressor must be 0 or at least 1 "
                f"(no Tweedie distribution exists in between). Got {self.power} instead."
            )
        Xs, scale = max_abs_scaled(X)
        model = TweedieRegressor(
            power=self.power, alpha=self.alpha, link="log", max_iter=self.max_iter
        )
        model.fit(Xs, y, sample_weight=sample_weight)
        self.model_ = model
        self.coef_ = model.coef_ / scale
        self.intercept_ = float(model.intercept_)
        self.n_iter_ = model.n_iter_
        return self

    def predict(self, X):
        """Expected target (same unit as y)."""
        X = self._validate_predict_input(X, "coef_")
        return np.exp(np.asarray(X @ self.coef_).ravel() + self.intercept_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class LogTargetLightGBMRegressor(RegressorMixin, SparseInputEstimator):
    """LightGBM fitted to ``log1p(y)``, predictions back-transformed with a smearing factor.

    Duan's smearing estimate corrects the bias of ``expm1(E[log1p y])`` as an estimate of
    ``E[y]`` (mean-unbiased on the training data).

    Attributes
    ----------
    booster_ : lightgbm.Booster
    smearing_ : float
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "num_leaves": [Interval(Integral, 2, None, closed="left")],
        "min_child_samples": [Interval(Integral, 1, None, closed="left")],
        "smearing": ["boolean"],
        "n_jobs": [Integral],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_estimators: int = 300,
        *,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        smearing: bool = True,
        n_jobs: int = 1,
        random_state: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.smearing = smearing
        self.n_jobs = n_jobs
        self.random_state = random_state

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on the log scale; returns self."""
        import lightgbm as lgb

        X, y, sample_weight = self._validate_fit_input(X, y, sample_weight, y_numeric=True)
        _check_non_negative(y, "LogTargetLightGBMRegressor")
        seed = self.random_state if isinstance(self.random_state, Integral | None) else 0
        model = lgb.LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            n_jobs=self.n_jobs,
            random_state=seed,
            verbose=-1,
        )
        z = np.log1p(y)
        model.fit(X, z, sample_weight=sample_weight)
        self.model_ = model
        self.booster_ = model.booster_
        if self.smearing:
            resid = z - model.predict(X)
            w = _check_sample_weight(sample_weight, X)
            self.smearing_ = float(np.average(np.exp(resid), weights=w))
        else:
            self.smearing_ = 1.0
        return self

    def predict(self, X):
        """Expected target (same unit as y)."""
        X = self._validate_predict_input(X, "booster_")
        return np.maximum(np.exp(self.model_.predict(X)) * self.smearing_ - 1.0, 0.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class BaselineRegressor(RegressorMixin, SparseInputEstimator):
    """Predicts the training mean or median for everyone: the floor every model must beat.

    Attributes
    ----------
    constant_ : float
    n_features_in_ : int
    """

    _parameter_constraints: dict = {"strategy": [StrOptions({"mean", "median"})]}

    def __init__(self, strategy: str = "mean") -> None:
        self.strategy = strategy

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Store the constant; returns self."""
        X, y, sample_weight = self._validate_fit_input(X, y, sample_weight, y_numeric=True)
        if self.strategy == "mean":
            self.constant_ = float(np.average(y, weights=sample_weight))
        else:
            self.constant_ = float(np.median(y))
        return self

    def predict(self, X):
        """The constant, once per row."""
        X = self._validate_predict_input(X, "constant_")
        return np.full(X.shape[0], self.constant_)
