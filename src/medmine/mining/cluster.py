"""Patient phenotypes by clustering: k-means with k chosen by silhouette and bootstrap
stability, HDBSCAN, a 2-D embedding for plots, and cluster profiles with Fisher tests.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.r_[rng.normal(0, 0.3, (60, 3)), rng.normal(3, 0.3, (60, 3))]
>>> KMeansPhenotyper(k_range=(2, 4), n_bootstrap=3).fit(X).n_clusters_
2
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.utils.validation import validate_data

from medmine.mining._contract import Interval, IntRange, ensure_fitted, fit_context
from medmine.mining.rules import benjamini_hochberg


def _reducer(X: Any, n_components: int, random_state: int) -> Any | None:
    """A fitted TruncatedSVD (sparse input) or PCA, or ``None`` when no reduction applies."""
    n, m = X.shape
    k = max(1, min(n_components, m - 1 if m > 1 else 1, n - 1 if n > 1 else 1))
    if k >= m:
        return None
    if sp.issparse(X):
        return TruncatedSVD(n_components=k, random_state=random_state).fit(X.astype(float))
    return PCA(n_components=k, random_state=random_state).fit(np.asarray(X, dtype=float))


def _apply(reducer: Any | None, X: Any) -> np.ndarray:
    if reducer is None:
        return np.asarray(X.toarray() if sp.issparse(X) else X, dtype=float)
    return reducer.transform(X.astype(float) if sp.issparse(X) else np.asarray(X, float))


def embed(X: Any, n_components: int = 2, random_state: int = 0) -> np.ndarray:
    """Project `X` to `n_components` dimensions: TruncatedSVD for sparse input, else PCA.

    Components are capped at ``min(n_samples, n_features) - 1`` (at least 1).
    """
    return _apply(_reducer(X, n_components, random_state), X)


class _Phenotyper(ClusterMixin, BaseEstimator):
    """Input checks shared by the phenotypers: dense or sparse numeric ``X``, no NaN."""

    def _validate_input(self, X: Any, *, reset: bool) -> Any:
        """``X`` as float64 (CSR when sparse); sets or checks ``n_features_in_``."""
        return validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=reset)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class KMeansPhenotyper(_Phenotyper):
    """K-means on a reduced representation, with k chosen by silhouette and stability.

    For every k in ``k_range`` the data are clustered; the silhouette (on a sample of at
    most ``silhouette_sample`` rows) measures separation and the stability is the mean
    adjusted Rand index between the full-data labels and ``n_bootstrap`` refits on bootstrap
    resamples (each refit labels all rows). The chosen k has the best silhouette among the k
    whose stability reaches ``min_stability``; if none does, the most stable k.

    Parameters
    ----------
    k_range
        Smallest and largest k tried (inclusive), ``2 <= lo <= hi``; `fit` needs more than
        ``hi`` rows.
    n_bootstrap
        Bootstrap refits per k (0 skips the stability estimate).
    min_stability
        Mean ARI (in [-1, 1]) a k needs to be eligible.
    n_components
        Dimensions kept by TruncatedSVD/PCA before clustering (``None``: use X as is).
    silhouette_sample
        Rows sampled for the silhouette.
    random_state
        Seed for every random step (a non-negative int: refit ``b`` uses
        ``random_state + b + 1``).

    Attributes
    ----------
    labels_ : numpy.ndarray of shape (n_samples,)
        Cluster of each training row, ``0 .. n_clusters_ - 1``.
    n_clusters_ : int
    selection_ : pandas.DataFrame
        One row per k: ``k``, ``silhouette``, ``stability``, ``inertia``, ``chosen``.
    embedding_ : numpy.ndarray of shape (n_samples, n_dims)
        The representation k-means ran on (``n_dims`` is at most ``n_components``; all
        features when no reduction applies).
    model_ : sklearn.cluster.KMeans
    reducer_ : TruncatedSVD, PCA or None
        The fitted projection applied before k-means (also by `predict`).
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of shape (n_features_in_,)
        Column names, when `fit` got a DataFrame with string column names.
    """

    _parameter_constraints: dict = {
        "k_range": [IntRange(2)],
        "n_bootstrap": [Interval(Integral, 0, None, closed="left")],
        "min_stability": [Interval(Real, -1, 1, closed="both")],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "silhouette_sample": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        k_range: tuple[int, int] = (2, 8),
        n_bootstrap: int = 10,
        min_stability: float = 0.75,
        n_components: int | None = 20,
        silhouette_sample: int = 3000,
        random_state: int = 0,
    ) -> None:
        self.k_range = k_range
        self.n_bootstrap = n_bootstrap
        self.min_stability = min_stability
        self.n_components = n_components
        self.silhouette_sample = silhouette_sample
        self.random_state = random_state

    def _reduce(self, X: Any, *, fit: bool = False) -> np.ndarray:
        if fit:
            self.reducer_ = (
                None
                if self.n_components is None
                else _reducer(X, self.n_components, self.random_state)
            )
        return _apply(self.reducer_, X)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> KMeansPhenotyper:
        """Choose k and cluster `X` (dense or sparse, shape ``(n_samples, n_features)``).

        `y` is ignored. Returns self.
        """
        from threadpoolctl import threadpool_limits

        lo, hi = (int(v) for v in self.k_range)
        X = self._validate_input(X, reset=True)
        if X.shape[0] <= hi:
            raise ValueError(
                f"KMeansPhenotyper needs more than {hi} rows to try k up to {hi} "
                f"(k_range={self.k_range!r}); got {X.shape[0]} sample(s)."
            )
        # Many small k-means fits: OpenMP threads only add contention (measured 13x slower on
        # a loaded 2-core machine), so run them single-threaded.
        with threadpool_limits(1):
            return self._fit(X, lo, hi)

    def _fit(self, X: Any, lo: int, hi: int) -> KMeansPhenotyper:
        Z = self._reduce(X, fit=True)
        n = len(Z)
        rng = np.random.default_rng(self.random_state)
        sample = rng.choice(n, size=min(n, self.silhouette_sample), replace=False)
        rows, models = [], {}
        for k in range(lo, hi + 1):
            km = KMeans(n_clusters=k, n_init=4, random_state=self.random_state).fit(Z)
            models[k] = km
            labels = km.labels_
            sil = (
                float(silhouette_score(Z[sample], labels[sample]))
                if len(np.unique(labels[sample])) > 1
                else -1.0
            )
            aris = []
            for b in range(self.n_bootstrap):
                idx = rng.integers(0, n, size=n)
                boot = KMeans(n_clusters=k, n_init=2, random_state=self.random_state + b + 1)
                aris.append(adjusted_rand_score(labels, boot.fit(Z[idx]).predict(Z)))
            stab = float(np.mean(aris)) if aris else np.nan
            rows.append({"k": k, "silhouette": sil, "stability": stab, "inertia": km.inertia_})
        sel = pd.DataFrame(rows)
        eligible = sel[sel["stability"] >= self.min_stability]
        if len(eligible):
            best = int(eligible.loc[eligible["silhouette"].idxmax(), "k"])
        else:
            best = int(sel.loc[sel["stability"].idxmax(), "k"])
        sel["chosen"] = sel["k"] == best
        self.selection_ = sel
        self.model_ = models[best]
        self.n_clusters_ = best
        self.labels_ = self.model_.labels_
        self.embedding_ = Z
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Nearest-centre cluster of new rows (projected with the fitted reduction).

        Returns an int array of shape ``(n_samples,)``.
        """
        ensure_fitted(self, "model_")
        return self.model_.predict(self._reduce(self._validate_input(X, reset=False)))


class HDBSCANPhenotyper(_Phenotyper):
    """HDBSCAN (scikit-learn) on a reduced representation; label -1 marks noise.

    Transductive: it labels the rows it was fitted on (``labels_``, `fit_predict`) and has
    no `predict`.

    Parameters
    ----------
    min_cluster_size
        Smallest group HDBSCAN calls a cluster (an int >= 2).
    n_components
        Dimensions kept by TruncatedSVD/PCA before clustering (``None``: use X as is).
    random_state
        Seed of the reduction.

    Attributes
    ----------
    labels_ : numpy.ndarray of shape (n_samples,)
        Cluster of each training row, ``0 .. n_clusters_ - 1``, or -1 for noise.
    probabilities_ : numpy.ndarray of shape (n_samples,)
        Strength of each row's membership in its cluster (0 for noise).
    n_clusters_ : int
        Clusters found, noise excluded.
    noise_fraction_ : float
    embedding_ : numpy.ndarray of shape (n_samples, n_dims)
        The representation HDBSCAN ran on (``n_dims`` is at most ``n_components``).
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of shape (n_features_in_,)
        Column names, when `fit` got a DataFrame with string column names.
    """

    _parameter_constraints: dict = {
        "min_cluster_size": [Interval(Integral, 2, None, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self, min_cluster_size: int = 25, n_components: int | None = 10, random_state: int = 0
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.n_components = n_components
        self.random_state = random_state

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> HDBSCANPhenotyper:
        """Cluster `X` (dense or sparse, shape ``(n_samples, n_features)``); returns self."""
        X = self._validate_input(X, reset=True)
        if self.n_components is None:
            Z = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
        else:
            Z = embed(X, self.n_components, self.random_state)
        model = HDBSCAN(min_cluster_size=self.min_cluster_size, copy=True).fit(Z)
        self.labels_ = model.labels_
        self.probabilities_ = model.probabilities_
        self.n_clusters_ = int(len(set(self.labels_.tolist()) - {-1}))
        self.noise_fraction_ = float(np.mean(self.labels_ == -1))
        self.embedding_ = Z
        return self


def cluster_profiles(
    X: Any,
    labels: np.ndarray,
    feature_names: Sequence[str],
    feature_labels: Sequence[str] | None = None,
    *,
    min_count: int = 5,
    alpha: float | None = 0.05,
) -> pd.DataFrame:
    """Features over-represented in each cluster against the rest.

    For binary features (indicators), per cluster ``c`` and feature ``f``: prevalence in and
    out of the cluster, lift (prevalence ratio), a one-sided Fisher exact p-value for
    over-representation (hypergeometric tail) and a Benjamini–Hochberg q-value over all
    cluster x feature tests. Noise (label -1) is never profiled but counts as "rest".

    Returns
    -------
    pandas.DataFrame
        ``cluster, feature, label, n_in, count_in, prevalence_in, prevalence_out, lift,
        p_value, q_value``, sorted by cluster then lift; rows with fewer than `min_count`
        members having the feature, or with ``q_value > alpha`` (when `alpha` is set), or
        ``lift <= 1``, are dropped.
    """
    from scipy.stats import hypergeom

    X = sp.csr_matrix(X) if sp.issparse(X) else sp.csr_matrix(np.asarray(X))
    X = (X > 0).astype(np.int32)
    labels = np.asarray(labels)
    n = X.shape[0]
    total = np.asarray(X.sum(axis=0)).ravel()
    names = list(feature_names)
    pretty = list(feature_labels) if feature_labels is not None else names
    frames = []
    for c in sorted(set(labels.tolist()) - {-1}):
        inside = labels == c
        n_in = int(inside.sum())
        n_out = n - n_in
        a = np.asarray(X[inside].sum(axis=0)).ravel()
        b = total - a
        p = hypergeom.sf(a - 1, n, total, n_in)
        prev_in = a / n_in
        prev_out = b / n_out if n_out else np.zeros_like(prev_in, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(prev_out > 0, prev_in / prev_out, np.inf)
        frames.append(
            pd.DataFrame(
                {
                    "cluster": c,
                    "feature": names,
                    "label": pretty,
                    "n_in": n_in,
                    "count_in": a,
                    "prevalence_in": prev_in,
                    "prevalence_out": prev_out,
                    "lift": lift,
                    "p_value": np.clip(p, 0, 1),
                }
            )
        )
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    df["q_value"] = benjamini_hochberg(df["p_value"].to_numpy())
    keep = (df["count_in"] >= min_count) & (df["lift"] > 1)
    if alpha is not None:
        keep &= df["q_value"] <= alpha
    return (
        df[keep]
        .sort_values(["cluster", "lift", "prevalence_in"], ascending=[True, False, False])
        .reset_index(drop=True)
    )


__all__ = ["HDBSCANPhenotyper", "KMeansPhenotyper", "cluster_profiles", "embed"]
