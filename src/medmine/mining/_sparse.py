"""Plumbing shared by the classifiers and regressors: input checks, sample weights, scaling.

Parameter checks and the not-fitted error are in `medmine.mining._contract`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, validate_data

from medmine.mining._contract import ensure_fitted


def checked_sample_weight(sample_weight: Any, X: Any) -> np.ndarray | None:
    """Validate `sample_weight` (shape, finiteness); refuse weights that are all zero."""
    if sample_weight is None:
        return None
    w = _check_sample_weight(sample_weight, X)
    if not np.any(w > 0):
        raise ValueError("sample_weight is zero for every row; at least one must be positive.")
    return w


def max_abs_scaled(X: Any, *, scale: bool = True) -> tuple[Any, np.ndarray]:
    """Divide each column by its largest absolute value, keeping sparsity.

    Returns the scaled matrix and the float64 divisors (1 for all-zero columns, and for every
    column when `scale` is false).
    """
    if scale:
        col_max = abs(X).max(axis=0)
        col_max = np.asarray(col_max.todense() if sp.issparse(col_max) else col_max).ravel()
        divisors = np.where(col_max > 0, col_max, 1.0).astype(np.float64)
    else:
        divisors = np.ones(X.shape[1])
    Xs = X @ sp.diags(1.0 / divisors) if sp.issparse(X) else X / divisors
    return Xs, divisors


class SparseInputEstimator(BaseEstimator):
    """An estimator on dense or CSR input: the shared input checks and the sparse-input tag.

    ``_input_dtypes`` lists the float types kept as they are; other input is converted to the
    first.
    """

    _input_dtypes: tuple[type, ...] = (np.float64, np.float32)

    def _validate_fit_input(self, X, y, sample_weight=None, **kwargs):
        """Validated ``X, y, sample_weight`` for `fit` (sets ``n_features_in_``)."""
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=list(self._input_dtypes), **kwargs
        )
        return X, y, checked_sample_weight(sample_weight, X)

    def _validate_predict_input(self, X, fitted_attribute: str):
        """Validated ``X`` for prediction, once `fitted_attribute` shows the model is fitted."""
        ensure_fitted(self, fitted_attribute)
        return validate_data(
            self, X, accept_sparse="csr", reset=False, dtype=list(self._input_dtypes)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
