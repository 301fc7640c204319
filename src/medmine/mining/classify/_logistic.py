"""L1-regularised logistic regression, the default model of OHDSI's PatientLevelPrediction."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from medmine.mining.classify._base import checked_sample_weight, ensure_fitted


class L1LogisticClassifier(ClassifierMixin, BaseEstimator):
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model; returns self."""
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32])
        sample_weight = checked_sample_weight(sample_weight, X)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"L1LogisticClassifier needs at least two classes in y; got only one class, "
                f"{self.classes_.tolist()}. Check the cohort's outcome definition."
            )
        if self.scale:
            col_max = abs(X).max(axis=0)
            col_max = np.asarray(col_max.todense() if sp.issparse(col_max) else col_max)
            scale = np.where(col_max.ravel() > 0, col_max.ravel(), 1.0).astype(np.float64)
        else:
            scale = np.ones(X.shape[1])
        Xs = X @ sp.diags(1.0 / scale) if sp.issparse(X) else X / scale
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
        ensure_fitted(self, "coef_")
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32])
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

    def predict(self, X):
        """Most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
