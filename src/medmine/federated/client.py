"""A site's client for L1-logistic regression: local proximal-gradient steps on its own rows.

The model is ``logit = (X / scale) @ coef + intercept``; its parameters travel as three
arrays ``[coef, intercept, scale]`` (Flower's list of NumPy arrays). The site minimises its
share of the pooled objective, mean log-loss + ``lam * ||coef||_1`` with ``lam = 1 / (C * N)``
(scikit-learn's L1 objective divided by ``C * N``, N the persons' rows of all sites), plus
FedProx's proximal term ``mu / 2 * ||w - w_global||^2`` (``mu = 0``: FedAvg), by
``local_steps`` full-batch ISTA steps (gradient step, then soft-thresholding). Local steps
are numpy on the sparse matrix; scikit-learn's liblinear/saga cannot take a proximal term or
per-person clipped noisy gradients, hence this small solver.

With ``noise_multiplier > 0`` every step is differentially private: each person's gradient
(all their rows) is clipped to L2 norm ``clip`` and Gaussian noise is added to the sum
(`medmine.federated.dp`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from medmine.federated.transport import FitRes, Scalar


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _lipschitz(X: sp.csr_matrix, seed: int = 0) -> float:
    """Largest eigenvalue of X'X / n with a column of ones (power iteration, 30 steps)."""
    n = X.shape[0]
    v = np.random.default_rng(seed).normal(size=X.shape[1] + 1)
    lam = 1.0
    for _ in range(30):
        xv = X @ v[:-1] + v[-1]
        w = np.append(X.T @ xv, xv.sum()) / n
        lam = float(np.linalg.norm(w))
        v = w / max(lam, 1e-12)
    return lam


class LogisticClient:
    """One site: holds its rows (never sent), trains when the coordinator asks.

    Parameters
    ----------
    X, y, persons
        The site's covariates (CSR), 0/1 outcomes and person id per row.
    random_state
        Seed of the site's noise (differential privacy).
    """

    def __init__(
        self, X: Any, y: np.ndarray, persons: np.ndarray, *, random_state: int = 0
    ) -> None:
        self.X = sp.csr_matrix(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        _, self._inverse = np.unique(np.asarray(persons), return_inverse=True)
        self._rng = np.random.default_rng(random_state)
        self._scaled: tuple[bytes, sp.csr_matrix, float] | None = None

    def get_properties(self, config: dict[str, Scalar]) -> dict[str, Any]:
        """Row count and per-column sums of squares (for the shared column scale)."""
        sq = np.asarray(self.X.multiply(self.X).sum(axis=0)).ravel()
        return {"num_examples": int(self.X.shape[0]), "sum_sq": sq}

    def _matrix(self, scale: np.ndarray) -> tuple[sp.csr_matrix, float]:
        key = scale.tobytes()
        if self._scaled is None or self._scaled[0] != key:
            Xs = sp.csr_matrix(self.X @ sp.diags(1.0 / scale))
            self._scaled = (key, Xs, _lipschitz(Xs))
        return self._scaled[1], self._scaled[2]

    def fit(self, parameters: list[np.ndarray], config: dict[str, Scalar]) -> FitRes:
        """Run ``local_steps`` proximal steps from the global `parameters`.

        Config keys: ``lam`` (L1 weight), ``mu`` (FedProx), ``local_steps``,
        ``noise_multiplier`` and ``clip`` (differential privacy; 0 = off).
        """
        coef0, b0, scale = (np.asarray(p, dtype=np.float64) for p in parameters)
        Xs, L = self._matrix(scale)
        lam, mu = float(config["lam"]), float(config.get("mu", 0.0))
        z, clip = float(config.get("noise_multiplier", 0.0)), float(config.get("clip", 1.0))
        steps = int(config.get("local_steps", 10))
        n = Xs.shape[0]
        eta = 1.0 / (0.25 * L + mu)
        w, b = coef0.copy(), float(b0[0])
        for _ in range(steps):
            r = _sigmoid(Xs @ w + b) - self.y
            if z > 0:
                r = r * self._clip_factors(Xs, r, clip)
                gw = (Xs.T @ r + self._rng.normal(0, z * clip, size=w.shape)) / n
                gb = (r.sum() + self._rng.normal(0, z * clip)) / n
            else:
                gw, gb = Xs.T @ r / n, r.sum() / n
            gw = gw + mu * (w - coef0)
            gb = gb + mu * (b - float(b0[0]))
            w = w - eta * gw
            w = np.sign(w) * np.maximum(np.abs(w) - eta * lam, 0.0)
            b = b - eta * gb
        metrics: dict[str, Scalar] = {}
        if z == 0:
            p = np.clip(_sigmoid(Xs @ w + b), 1e-12, 1 - 1e-12)
            loss = -np.mean(self.y * np.log(p) + (1 - self.y) * np.log(1 - p))
            metrics["train_loss"] = float(loss)
        return FitRes([w, np.array([b]), scale], n, metrics)

    def _clip_factors(self, Xs: sp.csr_matrix, r: np.ndarray, clip: float) -> np.ndarray:
        """Per-row factor that clips each person's summed gradient to L2 norm `clip`."""
        n_persons = int(self._inverse.max()) + 1
        P = sp.csr_matrix(
            (np.ones(len(r)), (self._inverse, np.arange(len(r)))), shape=(n_persons, len(r))
        )
        G = P @ sp.diags(r) @ Xs
        norms = np.sqrt(np.asarray(G.multiply(G).sum(axis=1)).ravel() + (P @ r) ** 2)
        factor = np.minimum(1.0, clip / np.maximum(norms, 1e-12))
        return factor[self._inverse]
