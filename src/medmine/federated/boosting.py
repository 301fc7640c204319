"""Federated gradient boosting: LightGBM trees grown at each site, averaged by the coordinator.

The bagging scheme of Flower's XGBoost strategy (``FedXgbBagging``), with LightGBM (installed
here; XGBoost is not): each round every site grows ``trees`` trees on its own rows, starting
from the current global ensemble's margin (``init_score``), and sends only those trees; the
coordinator adds the round's trees of all sites, each weighted by its site's share of the
examples (a FedAvg of the function increments). Trees travel as LightGBM model text in a
``uint8`` array, stripped to what prediction needs: per-leaf and per-node row counts and
weights, split gains and the per-feature value ranges (``feature_infos``, which would reveal
each column's minimum and maximum) are removed before sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from medmine.federated.transport import FitRes, InProcessTransport, Scalar

_DROP = re.compile(
    r"(leaf_count|internal_count|leaf_weight|internal_weight|internal_value|split_gain|"
    r"tree_sizes)="
)


def strip_model(text: str, n_features: int) -> str:
    """LightGBM model text without counts, weights, gains, ranges and training parameters."""
    out = []
    for line in text.splitlines():
        if _DROP.match(line):
            continue
        if line.startswith("feature_infos="):
            line = "feature_infos=" + " ".join(["none"] * n_features)
        out.append(line)
        if line.startswith("end of trees"):
            break
    return "\n".join(out) + "\n"


def _to_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8).copy()


@dataclass
class TreeEnsemble:
    """Global model: base log-odds plus weighted site boosters (margins added)."""

    base: float
    weights: list[float] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    _boosters: list[Any] = field(default_factory=list, repr=False)

    def to_arrays(self) -> list[np.ndarray]:
        """``[base, weights, tree text as uint8, ...]``: the parameters on the wire."""
        return [np.array([self.base]), np.asarray(self.weights, dtype=float)] + [
            _to_array(m) for m in self.models
        ]

    @classmethod
    def from_arrays(cls, arrays: list[np.ndarray]) -> TreeEnsemble:
        """Inverse of `to_arrays`."""
        return cls(
            float(arrays[0][0]),
            [float(w) for w in arrays[1]],
            [bytes(a.astype(np.uint8)).decode() for a in arrays[2:]],
        )

    def margin(self, X: Any) -> np.ndarray:
        """Log-odds of every row."""
        import lightgbm as lgb

        if len(self._boosters) != len(self.models):
            self._boosters = [lgb.Booster(model_str=m) for m in self.models]
        out = np.full(X.shape[0], self.base)
        for w, b in zip(self.weights, self._boosters, strict=True):
            out += w * b.predict(X, raw_score=True)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Two columns, as scikit-learn."""
        p = 1.0 / (1.0 + np.exp(-self.margin(X)))
        return np.column_stack([1 - p, p])


class BoostingClient:
    """One site growing LightGBM trees on its rows from the global margin."""

    def __init__(self, X: Any, y: np.ndarray, *, random_state: int = 0) -> None:
        self.X = sp.csr_matrix(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=float)
        self.random_state = random_state

    def get_properties(self, config: dict[str, Scalar]) -> dict[str, Any]:
        """Row and outcome counts (for the base rate)."""
        return {"num_examples": int(len(self.y)), "positives": int(self.y.sum())}

    def fit(self, parameters: list[np.ndarray], config: dict[str, Scalar]) -> FitRes:
        """Grow ``trees`` trees on the residual of the global ensemble; send only them."""
        import lightgbm as lgb

        ens = TreeEnsemble.from_arrays(parameters)
        params = {
            "objective": "binary",
            "num_leaves": int(config.get("num_leaves", 7)),
            "learning_rate": float(config.get("learning_rate", 0.1)),
            "min_data_in_leaf": int(config.get("min_data_in_leaf", 20)),
            "num_threads": 1,
            "verbose": -1,
            "seed": self.random_state,
            "deterministic": True,
        }
        ds = lgb.Dataset(self.X, self.y, init_score=ens.margin(self.X), free_raw_data=False)
        booster = lgb.train(params, ds, num_boost_round=int(config.get("trees", 10)))
        text = strip_model(booster.model_to_string(), self.X.shape[1])
        return FitRes([_to_array(text)], len(self.y), {})


def run_boosting(
    data: Any,
    sites: pd.Series,
    rows: np.ndarray,
    *,
    rounds: int = 8,
    trees: int = 10,
    seed: int = 0,
) -> tuple[InProcessTransport, TreeEnsemble]:
    """Federated bagging of LightGBM over the sites' `rows`; the transport and global model."""
    y = data.frame["outcome"].to_numpy().astype(float)
    clients = {}
    for i, s in enumerate(sorted(sites.iloc[rows].unique(), key=lambda v: (len(v), v))):
        r = rows[sites.iloc[rows].to_numpy() == s]
        clients[s] = BoostingClient(data.X[r], y[r], random_state=seed + i)
    t = InProcessTransport(clients)
    props = [t.get_properties(s, {"ask": "num_examples,positives"}) for s in t.sites]
    n = sum(int(p["num_examples"]) for p in props)
    pos = sum(int(p["positives"]) for p in props)
    rate = min(max(pos / n, 1e-6), 1 - 1e-6)
    ens = TreeEnsemble(float(np.log(rate / (1 - rate))))
    for r in range(1, rounds + 1):
        t.round = r
        results = [t.fit(s, ens.to_arrays(), {"round": r, "trees": trees}) for s in t.sites]
        total = sum(res.num_examples for res in results)
        for res in results:
            ens.weights.append(res.num_examples / total)
            ens.models.append(bytes(res.parameters[0].astype(np.uint8)).decode())
    return t, ens
