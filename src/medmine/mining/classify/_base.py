"""Helpers shared by the classifiers and regressors: fitted checks with medmine's error."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError as _SkNotFitted
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from medmine.errors import NotFittedError


class EstimatorNotFittedError(NotFittedError, _SkNotFitted):
    """Unfitted use of a medmine estimator: medmine's `NotFittedError` and scikit-learn's."""


def ensure_fitted(estimator: Any, attributes: str | list[str] | None = None) -> None:
    """Raise `EstimatorNotFittedError` (medmine's and scikit-learn's) when not fitted."""
    try:
        check_is_fitted(estimator, attributes)
    except _SkNotFitted:
        raise EstimatorNotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet; call 'fit' with "
            "appropriate arguments before using this estimator."
        ) from None


def checked_sample_weight(sample_weight: Any, X: Any) -> np.ndarray | None:
    """Validate `sample_weight` (shape, finiteness); refuse weights that are all zero."""
    if sample_weight is None:
        return None
    w = _check_sample_weight(sample_weight, X)
    if not np.any(w > 0):
        raise ValueError("sample_weight is zero for every row; at least one must be positive.")
    return w
