"""Known-answer tests for clustering: planted phenotypes are recovered and profiled."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from medmine.mining.cluster import (
    HDBSCANPhenotyper,
    KMeansPhenotyper,
    cluster_profiles,
    embed,
)


def planted(seed: int = 0, n_per: int = 200):
    """Three phenotypes over 40 binary features: each has 6 signature features at p=0.7
    on a background of p=0.05. Expected within-cluster Hamming distance ~4.5, between
    clusters ~9.7, so near-perfect recovery is expected; the ARI floor 0.9 leaves room for
    a few percent of borderline patients."""
    rng = np.random.default_rng(seed)
    p = np.full((3, 40), 0.05)
    for c in range(3):
        p[c, c * 6 : (c + 1) * 6] = 0.7
    y = np.repeat(np.arange(3), n_per)
    X = (rng.random((len(y), 40)) < p[y]).astype(np.int8)
    return sp.csr_matrix(X), y


def test_kmeans_recovers_planted_phenotypes_and_chooses_k():
    X, y = planted()
    km = KMeansPhenotyper(k_range=(2, 5), n_bootstrap=4, n_components=10).fit(X)
    assert km.n_clusters_ == 3
    assert adjusted_rand_score(y, km.labels_) >= 0.9
    sel = km.selection_.set_index("k")
    assert sel.loc[3, "stability"] >= 0.9
    assert sel.loc[3, "silhouette"] == sel["silhouette"].max()
    assert km.labels_.shape == (X.shape[0],)
    np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_hdbscan_recovers_planted_phenotypes():
    X, y = planted()
    hd = HDBSCANPhenotyper(min_cluster_size=40, n_components=6).fit(X)
    core = hd.labels_ >= 0
    assert hd.n_clusters_ == 3
    assert hd.noise_fraction_ < 0.35
    # Floor 0.85 on the points HDBSCAN assigns (noise is its way of saying "not sure").
    assert adjusted_rand_score(y[core], hd.labels_[core]) >= 0.85


def test_profiles_list_signature_features_only():
    X, y = planted()
    names = [f"f{i}" for i in range(40)]
    prof = cluster_profiles(X, y, names, min_count=5, alpha=0.01)
    for c in range(3):
        got = set(prof[prof.cluster == c].feature)
        assert got == {f"f{i}" for i in range(c * 6, (c + 1) * 6)}
    row = prof.iloc[0]
    assert row.prevalence_in == pytest.approx(row.count_in / row.n_in)
    assert row.lift == pytest.approx(row.prevalence_in / row.prevalence_out)
    assert (prof.q_value <= 0.01).all()


def test_embedding_is_two_dimensional_for_sparse_and_dense():
    X, _ = planted(n_per=20)
    assert embed(X, 2).shape == (60, 2)
    assert embed(X.toarray(), 2).shape == (60, 2)


def test_bad_k_range_is_rejected():
    with pytest.raises(ValueError, match="'k_range' parameter of KMeansPhenotyper"):
        KMeansPhenotyper(k_range=(1, 3)).fit(np.zeros((10, 2)))
