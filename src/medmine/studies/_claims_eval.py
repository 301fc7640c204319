"""Evaluation of the claims fraud study against injected schemes with known answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from medmine.studies._claims_types import FraudResult


def _precision_at_k(y: np.ndarray, s: np.ndarray, k: int) -> float:
    if k == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")[:k]
    return float(y[order].mean())


def evaluate(result: FraudResult, truth: Any) -> pd.DataFrame:
    """Precision@k (k = number of positives), recall of flags and AUROC per scheme and level.

    Provider level: positives are the providers given the scheme, negatives providers given
    none. Claim level: positives are the claims the scheme created or changed, negatives
    claims no scheme touched.
    """
    from sklearn.metrics import roc_auc_score

    rows = []
    prov = result.providers.set_index("provider_id")
    schemed = set(truth.providers["provider_id"])
    clean = prov.index[~prov.index.isin(list(schemed))]
    for scheme, g in truth.providers.groupby("scheme"):
        pos = prov.index.intersection(g["provider_id"])
        ids = pos.append(clean)
        y = np.r_[np.ones(len(pos)), np.zeros(len(clean))]
        for det in ("score", "robust_z", "ecod", "iforest"):
            flags = prov.loc[ids, "flagged" if det == "score" else f"{det}_flag"].to_numpy()
            row = _metrics(
                "provider", scheme, y, prov.loc[ids, det].to_numpy(), flags, roc_auc_score
            )
            row["detector"] = "ensemble" if det == "score" else det
            rows.append(row)
    cs = result.claim_scores.set_index("claim_id")
    touched = set(truth.claims["claim_id"])
    clean_c = cs.index[~cs.index.isin(list(touched))]
    for scheme, g in truth.claims.groupby("scheme"):
        pos = cs.index.intersection(g["claim_id"])
        ids = pos.append(clean_c)
        y = np.r_[np.ones(len(pos)), np.zeros(len(clean_c))]
        row = _metrics(
            "claim",
            scheme,
            y,
            cs.loc[ids, "score"].to_numpy(),
            cs.loc[ids, "flagged"].to_numpy(),
            roc_auc_score,
        )
        row["detector"] = "edits + provider score"
        rows.append(row)
    cols = ["level", "scheme", "detector", "positives", "negatives", "precision_at_k", "recall"]
    return pd.DataFrame(rows)[[*cols, "auroc"]]


def _metrics(level, scheme, y, s, flagged, auc) -> dict[str, Any]:
    k = int(y.sum())
    return {
        "level": level,
        "scheme": scheme,
        "positives": k,
        "negatives": int(len(y) - k),
        "precision_at_k": round(_precision_at_k(y, s, k), 3),
        "recall": round(float(flagged[y == 1].mean()), 3) if k else float("nan"),
        "auroc": round(float(auc(y, s)), 3) if 0 < k < len(y) else float("nan"),
    }
