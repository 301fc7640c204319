import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from medmine.errors import NotFittedError
from medmine.evaluate import calibration_slope_intercept, person_train_test_split
from medmine.mining.classify import (
    L1LogisticClassifier,
    LightGBMClassifier,
    PersonLevelSearchCV,
    l1_logistic_search,
    lightgbm_search,
    person_folds,
)

TRUE_COEF = np.array([1.0, -0.8, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0])


def _known_signal(n: int = 4000, seed: int = 0):
    """Logistic data with a known linear predictor; 2 rows per person."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(TRUE_COEF)))
    X[:, 3] = (rng.random(n) < 0.3).astype(float)  # a sparse-ish binary column
    p_true = 1 / (1 + np.exp(-(X @ TRUE_COEF - 1.5)))
    y = (rng.random(n) < p_true).astype(int)
    persons = np.arange(n) // 2
    return X, y, p_true, persons


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (
            L1LogisticClassifier(C=-1),
            "The 'C' parameter of L1LogisticClassifier must be a float in the range (0.0, inf). "
            "Got -1 instead.",
        ),
        (L1LogisticClassifier(solver="lbfgs"), "The 'solver' parameter of L1LogisticClassifier"),
        (LightGBMClassifier(subsample=1.5), "The 'subsample' parameter of LightGBMClassifier"),
        (
            PersonLevelSearchCV(calibration="platt"),
            "The 'calibration' parameter of PersonLevelSearchCV",
        ),
    ],
)
def test_parameters_are_checked_in_fit_with_uniform_messages(estimator, message):
    X, y, _, _ = _known_signal(100)
    with pytest.raises(InvalidParameterError) as err:
        estimator.fit(X, y)
    assert str(err.value).startswith(message)


def test_init_only_stores_parameters():
    est = L1LogisticClassifier(C=-5)  # no error until fit
    assert est.get_params()["C"] == -5


@pytest.mark.parametrize("estimator", [L1LogisticClassifier(), LightGBMClassifier()])
def test_unfitted_use_raises_medmine_not_fitted(estimator):
    with pytest.raises(NotFittedError, match="not fitted"):
        estimator.predict_proba(np.zeros((2, 8)))


def test_person_folds_never_split_a_person():
    _, y, _, persons = _known_signal(600)
    for train, test in person_folds(y, persons, n_splits=3):
        assert set(persons[train]).isdisjoint(persons[test])
        assert 0 < y[test].mean() < 1


@pytest.mark.parametrize(
    "factory",
    [
        lambda: l1_logistic_search(),
        lambda: lightgbm_search({"num_leaves": [7], "n_estimators": [150]}),
    ],
)
def test_models_recover_a_known_signal_and_are_calibrated(factory):
    X, y, p_true, persons = _known_signal()
    train, test = person_train_test_split(persons, test_size=0.3, stratify=y)
    model = factory().fit(X[train], y[train], groups=persons[train])
    p = model.predict_proba(X[test])[:, 1]
    auc_true = roc_auc_score(y[test], p_true[test])
    # The true risk is the ceiling; a correct learner on 2,800 rows gets within a few percent.
    assert roc_auc_score(y[test], p) >= 0.95 * auc_true
    cal = calibration_slope_intercept(y[test], p)
    assert 0.75 <= cal.slope <= 1.25
    assert abs(cal.intercept) < 0.25
    assert model.best_params_
    assert set(model.classes_) == {0, 1}


def test_l1_penalty_zeroes_noise_covariates():
    X, y, _, _ = _known_signal()
    model = L1LogisticClassifier(C=0.02, random_state=0).fit(X, y)
    coef = model.coef_.ravel()
    assert np.all(np.abs(coef[:3]) > 0.1)
    assert np.sum(coef[4:] == 0) >= 2
    # coefficients are on the original scale: the linear predictor reproduces predict_proba
    lp = X @ coef + model.intercept_[0]
    assert np.allclose(1 / (1 + np.exp(-lp)), model.predict_proba(X)[:, 1])


def test_search_accepts_sparse_input():
    import scipy.sparse as sp

    X, y, _, persons = _known_signal(800)
    model = l1_logistic_search({"C": [0.1]}).fit(sp.csr_matrix(X), y, groups=persons)
    assert model.predict_proba(sp.csr_matrix(X[:5])).shape == (5, 2)


def test_groups_must_match_rows():
    X, y, _, _ = _known_signal(100)
    with pytest.raises(ValueError, match="one person id per row"):
        l1_logistic_search().fit(X, y, groups=np.arange(5))
