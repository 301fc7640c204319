"""Classifiers for clinical prediction: L1 logistic regression, LightGBM, person-level tuning.

Every estimator follows the scikit-learn contract (hyperparameters stored in ``__init__``,
declarative validation in ``fit``, learned attributes ending in ``_``). The tuned wrapper
searches hyperparameters on person-level folds and calibrates probabilities on the same folds:

>>> import numpy as np
>>> from medmine.mining.classify import l1_logistic_search
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3)); y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
>>> model = l1_logistic_search(n_splits=3).fit(X, y, groups=np.arange(200) // 2)
>>> model.predict_proba(X).shape
(200, 2)
"""

from medmine.mining.classify._lightgbm import LightGBMClassifier
from medmine.mining.classify._logistic import L1LogisticClassifier
from medmine.mining.classify._search import (
    PersonLevelSearchCV,
    l1_logistic_search,
    lightgbm_search,
    person_folds,
)

__all__ = [
    "L1LogisticClassifier",
    "LightGBMClassifier",
    "PersonLevelSearchCV",
    "l1_logistic_search",
    "lightgbm_search",
    "person_folds",
]
