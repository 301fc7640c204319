"""The coordinator: FedAvg and FedProx for L1-logistic regression, over any `Transport`.

Same maths and parameter format as Flower's ``FedAvg`` and ``FedProx`` strategies: each round
the coordinator sends the global parameters (a list of NumPy arrays) and a config to every
site, each site trains locally, and the new global parameters are the average of the sites'
parameters weighted by their number of examples. FedProx differs only in the config: the
sites add ``mu / 2 * ||w - w_global||^2`` to their local objective (Li et al., MLSys 2020),
which keeps non-IID sites from drifting apart.

>>> FedProx(C=0.1, mu=0.1).configure_fit(1)["mu"]
0.1
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from medmine.errors import ConfigError
from medmine.federated.dp import epsilon_spent, noise_multiplier
from medmine.federated.transport import FitRes, Scalar, Transport


def aggregate(results: list[FitRes]) -> list[np.ndarray]:
    """Example-weighted mean of the sites' arrays (Flower's ``aggregate``)."""
    total = sum(r.num_examples for r in results)
    return [
        sum(r.parameters[i] * (r.num_examples / total) for r in results)
        for i in range(len(results[0].parameters))
    ]


@dataclass
class FedAvg:
    """Federated averaging of L1-logistic regression (McMahan et al., AISTATS 2017).

    Parameters
    ----------
    C
        Inverse L1 strength, as scikit-learn's ``C`` on the pooled rows.
    local_steps
        Proximal-gradient steps per site and round.
    dp_epsilon, dp_delta, clip
        Differential privacy per person (None: off): every local step clips each person's
        gradient to `clip` and adds Gaussian noise sized so the whole run spends `dp_epsilon`.
    """

    C: float = 0.1
    local_steps: int = 10
    dp_epsilon: float | None = None
    dp_delta: float = 1e-5
    clip: float = 1.0
    mu: float = 0.0
    lam: float = field(default=0.0, init=False)
    noise_multiplier_: float = field(default=0.0, init=False)
    rounds_: int = field(default=0, init=False)

    @property
    def name(self) -> str:
        """Label in tables."""
        base = "FedProx" if self.mu > 0 else "FedAvg"
        return base + (f" + DP (ε={self.dp_epsilon:g})" if self.dp_epsilon else "")

    def setup(self, transport: Transport, rounds: int) -> list[np.ndarray]:
        """Ask each site for counts and column sums of squares; return initial parameters."""
        if not self.C > 0:
            raise ConfigError(f"C must be positive. Got {self.C} instead.")
        if rounds < 1 or self.local_steps < 1:
            raise ConfigError("rounds and local steps must be at least 1")
        ask = {"ask": "num_examples,sum_sq"}
        props = [transport.get_properties(s, ask) for s in transport.sites]
        n = sum(int(p["num_examples"]) for p in props)
        sum_sq = sum(np.asarray(p["sum_sq"], dtype=float) for p in props)
        scale = np.sqrt(sum_sq / n)
        scale[scale == 0] = 1.0
        self.lam = 1.0 / (self.C * n)
        self.rounds_ = rounds
        if self.dp_epsilon:
            self.noise_multiplier_ = noise_multiplier(
                epsilon=self.dp_epsilon, delta=self.dp_delta, steps=rounds * self.local_steps
            )
        return [np.zeros(len(scale)), np.zeros(1), scale]

    def configure_fit(self, server_round: int) -> dict[str, Scalar]:
        """The config every site gets this round."""
        return {
            "round": server_round,
            "lam": self.lam,
            "mu": self.mu,
            "local_steps": self.local_steps,
            "noise_multiplier": self.noise_multiplier_,
            "clip": self.clip,
        }

    def aggregate_fit(self, results: list[FitRes]) -> list[np.ndarray]:
        """Weighted mean of coefficients and intercepts; the scale stays as sent."""
        coef, intercept, _ = aggregate(results)
        return [coef, intercept, results[0].parameters[2]]

    def epsilon(self) -> float | None:
        """Epsilon actually spent per person (None without DP)."""
        if not self.dp_epsilon:
            return None
        return epsilon_spent(
            self.noise_multiplier_, delta=self.dp_delta, steps=self.rounds_ * self.local_steps
        )


@dataclass
class FedProx(FedAvg):
    """FedAvg whose sites keep close to the global model (proximal term, default mu = 0.1)."""

    mu: float = 0.1


@dataclass
class LogisticModel:
    """The global model: ``p = sigmoid((X / scale_) @ coef_ + intercept_)``."""

    coef_: np.ndarray
    intercept_: float
    scale_: np.ndarray
    history: list[float] = field(default_factory=list)

    def predict_proba(self, X) -> np.ndarray:
        """Two columns, as scikit-learn: P(y=0), P(y=1)."""
        z = np.asarray(X @ (self.coef_ / self.scale_)).ravel() + self.intercept_
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        return np.column_stack([1 - p, p])


def run_federated(transport: Transport, strategy: FedAvg, rounds: int = 30) -> LogisticModel:
    """Run `rounds` rounds of `strategy` over every site of `transport`; the global model.

    `history` holds the example-weighted mean training loss of each round (empty under DP,
    where the sites send no loss).
    """
    params = strategy.setup(transport, rounds)
    history = []
    for r in range(1, rounds + 1):
        if hasattr(transport, "round"):
            transport.round = r
        config = strategy.configure_fit(r)
        results = [transport.fit(site, params, config) for site in transport.sites]
        params = strategy.aggregate_fit(results)
        if all("train_loss" in res.metrics for res in results):
            total = sum(res.num_examples for res in results)
            history.append(
                sum(float(res.metrics["train_loss"]) * res.num_examples for res in results) / total
            )
    coef, intercept, scale = params
    return LogisticModel(coef, float(intercept[0]), scale, history)
