import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from medmine.federated import (
    FedAvg,
    FedProx,
    FitRes,
    InProcessTransport,
    LogisticClient,
    aggregate,
    run_federated,
)
from medmine.federated.experiment import fit_central


def _sites(n_sites=3, n=600, p=8, seed=0, shift=1.0):
    """Non-IID sites: each site's covariates shifted, same true coefficients."""
    rng = np.random.default_rng(seed)
    beta = np.array([1.5, -1.0, 0.8, 0, 0, 0, 0.5, 0])[:p]
    out = []
    for k in range(n_sites):
        X = (rng.random((n, p)) < 0.2 + 0.2 * shift * k / n_sites).astype(float)
        y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta - 1.5)))).astype(float)
        out.append((sp.csr_matrix(X), y, np.arange(n) + 10_000 * k))
    return out


def test_aggregate_is_the_example_weighted_mean():
    a = FitRes([np.array([1.0, 2.0]), np.array([0.0])], 1)
    b = FitRes([np.array([4.0, 8.0]), np.array([3.0])], 2)
    got = aggregate([a, b])
    assert np.allclose(got[0], [3.0, 6.0]) and np.allclose(got[1], [2.0])


@pytest.mark.parametrize("strategy", [FedAvg(C=0.5, local_steps=10), FedProx(C=0.5, mu=0.1)])
def test_federated_reaches_the_pooled_model(strategy):
    sites = _sites()
    t = InProcessTransport({f"s{k}": LogisticClient(X, y, p) for k, (X, y, p) in enumerate(sites)})
    model = run_federated(t, strategy, rounds=60)
    X = sp.vstack([s[0] for s in sites]).tocsr()
    y = np.concatenate([s[1] for s in sites])
    pooled = fit_central(X, y, 0.5, 0)
    p_fed, p_pool = model.predict_proba(X)[:, 1], pooled.predict_proba(X)[:, 1]
    assert np.corrcoef(p_fed, p_pool)[0, 1] > 0.995
    assert abs(roc_auc_score(y, p_fed) - roc_auc_score(y, p_pool)) < 0.005
    assert np.allclose(model.coef_, pooled.coef_ / pooled.scale_ * model.scale_, atol=0.15)
    # the training loss goes down across rounds
    assert model.history[-1] < model.history[0]
    # the L1 penalty keeps null covariates (true coefficient 0) near zero
    assert np.abs(model.coef_[[3, 4, 5, 7]]).max() < 0.3


def test_dp_run_spends_the_stated_epsilon_and_sends_no_loss():
    sites = _sites()
    t = InProcessTransport({f"s{k}": LogisticClient(X, y, p) for k, (X, y, p) in enumerate(sites)})
    strat = FedAvg(C=0.5, local_steps=2, dp_epsilon=2.0, clip=1.0)
    model = run_federated(t, strat, rounds=10)
    assert strat.epsilon() == pytest.approx(2.0, rel=1e-3)
    assert strat.noise_multiplier_ > 1
    assert model.history == []
    assert all("train_loss" not in e.values for e in t.log if e.direction == "to_coordinator")


def test_dp_clipping_bounds_each_persons_contribution():
    X = sp.csr_matrix(np.array([[1.0, 0], [1.0, 0], [0, 1.0]]) * 10)
    client = LogisticClient(X, np.array([1.0, 1.0, 0.0]), np.array([7, 7, 8]))
    r = np.array([-1.0, -1.0, 1.0])
    f = client._clip_factors(X, r, clip=1.0)
    # person 7 has two rows (gradient norm sqrt(20^2 + 2^2)): both rows share one factor
    assert f[0] == f[1] == pytest.approx(1 / np.sqrt(404))
    assert f[2] == pytest.approx(1 / np.sqrt(101))
