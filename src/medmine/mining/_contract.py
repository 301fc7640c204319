"""The estimator contract shared by every estimator in `medmine.mining`.

One mechanism for all of them (classifiers, regressors, clusterers, rule miners, anomaly
detectors), so that a bad parameter or an unfitted model reads the same everywhere:

- **Declared parameters.** Each estimator lists its hyperparameters in a class attribute
  ``_parameter_constraints`` built from the constraints re-exported here (scikit-learn's
  ``_param_validation``), and decorates ``fit`` with `fit_context`. ``__init__`` only stores
  its keyword arguments; the check runs once, at the start of ``fit``, and a violation raises
  `InvalidParameterError` (a ``ValueError`` and a ``TypeError``) worded as

      The 'min_support' parameter of AssociationRuleMiner must be a float in the range
      (0.0, 1.0]. Got 1.5 instead.

  Public functions use `validate_params` the same way.
- **One not-fitted error.** `ensure_fitted` raises `EstimatorNotFittedError`, which is both
  medmine's `~medmine.errors.NotFittedError` and scikit-learn's, so callers may catch either.

Importing these names from here rather than from scikit-learn's private module keeps the
dependency on that module in one place.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from sklearn.base import _fit_context as fit_context
from sklearn.exceptions import NotFittedError as _SkNotFitted
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_is_fitted

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


class IntRange(Interval):
    """Constraint: a pair ``(lo, hi)`` of ints with ``left <= lo <= hi`` (a range to try).

    A subclass of `Interval` only so that scikit-learn's validator accepts it as a
    constraint; the value checked is the pair, not a number.
    """

    def __init__(self, left: int) -> None:
        super().__init__(Integral, left, None, closed="left")

    def is_satisfied_by(self, val: Any) -> bool:
        if isinstance(val, str | bytes):
            return False
        try:
            lo, hi = val
        except (TypeError, ValueError):
            return False
        ints = all(isinstance(v, Integral) and not isinstance(v, bool) for v in (lo, hi))
        return ints and self.left <= lo <= hi

    def __str__(self) -> str:
        return f"a pair of ints (lo, hi) with {self.left} <= lo <= hi"


__all__ = [
    "EstimatorNotFittedError",
    "HasMethods",
    "IntRange",
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "ensure_fitted",
    "fit_context",
    "validate_params",
]
