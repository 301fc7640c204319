"""L1-regularised logistic regression, the default model of OHDSI's PatientLevelPrediction."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import LogisticRegression

from medmine.mining._contract import Interval, StrOptions, fit_context
from medmine.mining.classify._base import BaseClassifier, max_abs_scaled


class L1LogisticClassifier(BaseClassifier):
    """Logistic regression with an L1 (lasso) penalty, on dense or sparse (CSR) covariates.

    Parameters
    ----------
    C
        Inverse regularisation strength; smaller values select fewer covariates.
    solver
        ``"liblinear"`` (default, fast on sparse binary covariates) or ``"saga"``.
        Multiclass targets always use ``"saga"`` (liblinear is binary only).
    scale
        Divide each column by its maximum absolute value before fitting (keeps sparsity), so
        the penalty treats age in years and 0/1 indicators alike. Coefficients are reported
        on the original scale.
    class_weight
        ``None`` or ``"balanced"``.
    max_iter, tol
        Solver limits.
    random_state
        Seed for the solver's coordinate order.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients on the original feature scale: ``logit = X @ coef_.T + intercept_``.
    intercept_ : ndarray of shape (1,) or (n_classes,)
    scale_ : ndarray of shape (n_features,)
        Column divisors applied before fitting (ones when ``scale=False``).
    solver_ : str
        The solver that ran.
    n_iter_ : ndarray
        Solver iterations.
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "solver": [StrOptions({"liblinear", "saga"})],
        "scale": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        C: float = 0.1,
        *,
        solver: str = "liblinear",
        scale: bool = True,
        class_weight: str | dict | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.C = C
        self.solver = solver
        self.scale = scale
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model; returns self."""
        X, y, sample_weight = self._validate_classification_input(X, y, sample_weight)
        Xs, scale = max_abs_scaled(X, scale=self.scale)
        self.solver_ = self.solver if len(self.classes_) == 2 else "saga"
        model = LogisticRegression(
            C=self.C,
            l1_ratio=1.0,
            solver=self.solver_,
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        )
        model.fit(Xs, y, sample_weight=sample_weight)
        self.model_ = model
        self.scale_ = scale
        self.coef_ = model.coef_ / scale
        self.intercept_ = model.intercept_
        self.n_iter_ = model.n_iter_
        return self

    def decision_function(self, X):
        """Linear predictor (log-odds of the positive class for binary targets)."""
        X = self._validate_predict_input(X, "coef_")
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``."""
        d = self.decision_function(X)
        if d.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-d))
            return np.column_stack([1.0 - p, p])
        d = d - d.max(axis=1, keepdims=True)
        e = np.exp(d)
        return e / e.sum(axis=1, keepdims=True)
