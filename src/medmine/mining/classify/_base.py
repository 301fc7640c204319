"""The classifiers' base: target checks, ``classes_`` and `predict` on top of the shared
sparse-input plumbing of `medmine.mining._sparse`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

# The not-fitted error lives with the rest of the estimator contract; re-exported here.
from medmine.mining._contract import EstimatorNotFittedError as EstimatorNotFittedError
from medmine.mining._contract import ensure_fitted as ensure_fitted
from medmine.mining._sparse import SparseInputEstimator as SparseInputEstimator
from medmine.mining._sparse import checked_sample_weight as checked_sample_weight
from medmine.mining._sparse import max_abs_scaled as max_abs_scaled


class BaseClassifier(ClassifierMixin, SparseInputEstimator):
    """A classifier with ``predict_proba``: target checks, ``classes_`` and `predict`."""

    def _validate_classification_input(self, X, y, sample_weight=None, *, two_classes=True):
        """Validated ``X, y, sample_weight``; sets ``classes_``.

        With `two_classes`, a target with a single class is refused with a message that
        points at the cohort's outcome definition.
        """
        X, y, sample_weight = self._validate_fit_input(X, y, sample_weight)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if two_classes and len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes in y; got only one class, "
                f"{self.classes_.tolist()}. Check the cohort's outcome definition."
            )
        return X, y, sample_weight

    def predict(self, X):
        """Most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
