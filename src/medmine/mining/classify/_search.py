"""Hyperparameter search on person-level folds, then probability calibration on the same folds.

Rows of one person (several admissions, several index dates) never fall on both sides of a
fold, so the cross-validated score that picks the hyperparameters is not inflated by a person's
own other rows, and the calibration map is learned on out-of-fold predictions.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from medmine.mining._contract import HasMethods, Interval, StrOptions, fit_context
from medmine.mining.classify._base import BaseClassifier
from medmine.mining.classify._lightgbm import LightGBMClassifier
from medmine.mining.classify._logistic import L1LogisticClassifier


def person_folds(
    y, groups, n_splits: int = 3, random_state: int | None = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep every person (group) on one side of each split.

    Falls back to fewer folds when a class has fewer groups than `n_splits`.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    k = max(2, min(n_splits, n_groups))
    minority = min(len(np.unique(groups[y == c])) for c in np.unique(y))
    k = max(2, min(k, minority)) if minority >= 2 else k
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return list(cv.split(np.zeros(len(y)), y, groups))


class PersonLevelSearchCV(BaseClassifier):
    """Grid search on person-level folds, then calibration of the chosen model.

    Parameters
    ----------
    estimator
        A classifier with ``predict_proba`` (default `L1LogisticClassifier`).
    param_grid
        Grid for `GridSearchCV`; ``None`` or ``{}`` skips the search.
    n_splits
        Person-level folds for search and calibration.
    scoring
        Search criterion (default ``"roc_auc"``; ``"neg_log_loss"`` also sensible).
    calibration
        ``"sigmoid"`` (Platt), ``"isotonic"`` or ``"none"``. The map is fitted on out-of-fold
        predictions of the same person-level folds (``ensemble=False``), then applied to a
        model refitted on all rows.
    random_state
        Seed for the fold assignment.
    n_jobs
        Parallel search jobs (default 1).

    Attributes
    ----------
    best_params_ : dict
    best_score_ : float
        Mean cross-validated score of the best parameters (``nan`` without search).
    cv_results_ : dict or None
    estimator_ : estimator
        The chosen model refitted on all rows (uncalibrated; use it for explanations).
    calibrated_ : estimator
        What `predict_proba` uses.
    classes_ : ndarray
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "param_grid": [dict, list, None],
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "scoring": [str, callable],
        "calibration": [StrOptions({"sigmoid", "isotonic", "none"})],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator=None,
        param_grid: dict | list | None = None,
        *,
        n_splits: int = 3,
        scoring: str = "roc_auc",
        calibration: str = "sigmoid",
        random_state: int | None = 0,
        n_jobs: int | None = 1,
    ) -> None:
        self.estimator = estimator
        self.param_grid = param_grid
        self.n_splits = n_splits
        self.scoring = scoring
        self.calibration = calibration
        self.random_state = random_state
        self.n_jobs = n_jobs

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None):
        """Search, calibrate and refit; `groups` holds the person id of each row."""
        X, y, _ = self._validate_classification_input(X, y, two_classes=False)
        if groups is None:
            groups = np.arange(len(y))
        groups = np.asarray(groups)
        if len(groups) != len(y):
            raise ValueError(
                f"groups has {len(groups)} entries but X has {len(y)} rows; pass one person "
                "id per row."
            )
        base = clone(self.estimator) if self.estimator is not None else L1LogisticClassifier()
        folds = person_folds(y, groups, self.n_splits, _seed(self.random_state))
        if len(self.classes_) > 2 and self.scoring == "roc_auc":
            scoring = "roc_auc_ovr"
        else:
            scoring = self.scoring
        if self.param_grid:
            search = GridSearchCV(
                base, self.param_grid, scoring=scoring, cv=folds, refit=False, n_jobs=self.n_jobs
            )
            search.fit(X, y)
            self.best_params_ = dict(search.best_params_)
            self.best_score_ = float(search.best_score_)
            self.cv_results_ = search.cv_results_
        else:
            self.best_params_, self.best_score_, self.cv_results_ = {}, float("nan"), None
        tuned = clone(base).set_params(**self.best_params_)
        if self.calibration == "none":
            self.estimator_ = tuned.fit(X, y)
            self.calibrated_ = self.estimator_
        else:
            cal = CalibratedClassifierCV(
                tuned, method=self.calibration, cv=folds, ensemble=False
            ).fit(X, y)
            self.calibrated_ = cal
            self.estimator_ = cal.calibrated_classifiers_[0].estimator
        return self

    def predict_proba(self, X):
        """Calibrated class probabilities, columns ordered as ``classes_``."""
        X = self._validate_predict_input(X, "calibrated_")
        return self.calibrated_.predict_proba(X)


def _seed(random_state) -> int | None:
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    return int(np.random.RandomState(random_state).randint(2**31 - 1))


#: Default grids: modest, so the demo stays fast on two cores.
L1_GRID = {"C": [0.01, 0.03, 0.1, 0.3, 1.0]}
LIGHTGBM_GRID = {"num_leaves": [7, 15], "n_estimators": [100, 300], "learning_rate": [0.05]}


def l1_logistic_search(
    param_grid: dict | None = None, *, calibration: str = "sigmoid", **kwargs
) -> PersonLevelSearchCV:
    """L1-logistic regression tuned over ``C`` on person-level folds, then calibrated."""
    grid = L1_GRID if param_grid is None else param_grid
    est = L1LogisticClassifier(random_state=0)
    return PersonLevelSearchCV(est, grid, calibration=calibration, **kwargs)


def lightgbm_search(
    param_grid: dict | None = None, *, calibration: str = "isotonic", **kwargs
) -> PersonLevelSearchCV:
    """LightGBM tuned over tree size and count on person-level folds, then calibrated."""
    grid = LIGHTGBM_GRID if param_grid is None else param_grid
    est = LightGBMClassifier(random_state=0)
    return PersonLevelSearchCV(est, grid, calibration=calibration, **kwargs)
