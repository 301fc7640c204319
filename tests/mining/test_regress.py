import numpy as np
import pytest
import scipy.sparse as sp

from medmine.evaluate import regression_metrics
from medmine.mining.regress import (
    BaselineRegressor,
    LogTargetLightGBMRegressor,
    PoissonGLMRegressor,
)


def _los(n: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), rng.normal(size=n)])
    mu = np.exp(1.0 + 0.3 * X[:, 0] + 0.5 * X[:, 1])
    y = rng.poisson(mu).astype(float)
    return X, y


def test_poisson_glm_recovers_log_linear_coefficients_on_sparse_input():
    X, y = _los()
    model = PoissonGLMRegressor(alpha=1e-6).fit(sp.csr_matrix(X), y)
    assert model.coef_ == pytest.approx([0.3, 0.5, 0.0], abs=0.06)
    assert model.intercept_ == pytest.approx(1.0, abs=0.08)


def test_models_beat_mean_and_median_baselines():
    X, y = _los()
    Xtr, Xte, ytr, yte = X[:2000], X[2000:], y[:2000], y[2000:]
    mae = {
        name: regression_metrics(yte, m.fit(Xtr, ytr).predict(Xte))["mae"]
        for name, m in {
            "glm": PoissonGLMRegressor(),
            "lgbm": LogTargetLightGBMRegressor(n_estimators=100),
            "mean": BaselineRegressor("mean"),
            "median": BaselineRegressor("median"),
        }.items()
    }
    assert mae["glm"] < min(mae["mean"], mae["median"])
    assert mae["lgbm"] < min(mae["mean"], mae["median"])


def test_smearing_makes_log_model_mean_unbiased():
    X, y = _los()
    model = LogTargetLightGBMRegressor(n_estimators=100).fit(X, y)
    assert model.predict(X).mean() == pytest.approx(y.mean(), rel=0.05)


def test_negative_target_refused_and_baselines():
    X, y = _los(50)
    with pytest.raises(ValueError, match="non-negative"):
        PoissonGLMRegressor().fit(X, -y - 1)
    assert BaselineRegressor("median").fit(X, y).predict(X[:3]).tolist() == [np.median(y)] * 3
