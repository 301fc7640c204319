"""A fitted decision tree as plain rules: one rule per leaf, with its share and outcome rate.

Clinicians read a triage tree as its paths ("age > 75 and heart failure recorded -> 32%");
`tree_rules` writes each root-to-leaf path of a scikit-learn tree that way, with the share of
patients that reach the leaf and their observed outcome rate (training rows, and test rows when
given).

>>> import numpy as np
>>> from sklearn.tree import DecisionTreeClassifier
>>> X = np.array([[0, 50], [1, 80], [0, 81], [1, 40]] * 10); y = np.array([0, 1, 0, 0] * 10)
>>> t = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
>>> tree_rules(t, ["heart failure", "age"], X, y)["rule"].tolist()[-1]
'age > 65 AND heart failure recorded'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _binary_columns(X: Any) -> np.ndarray:
    """True for columns whose values are only 0 and 1 (indicators)."""
    if sp.issparse(X):
        X = X.tocsc()
        out = np.ones(X.shape[1], dtype=bool)
        for j in range(X.shape[1]):
            v = X.data[X.indptr[j] : X.indptr[j + 1]]
            out[j] = bool(np.all((v == 0) | (v == 1)))
        return out
    X = np.asarray(X)
    return np.all((X == 0) | (X == 1), axis=0)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def tree_rules(
    tree: Any,
    feature_names: list[str],
    X: Any,
    y: Any,
    *,
    X_test: Any = None,
    y_test: Any = None,
) -> pd.DataFrame:
    """One row per leaf: ``rule``, ``share``, ``patients``, ``outcome_rate`` (and test columns).

    Parameters
    ----------
    tree
        A fitted `sklearn.tree.DecisionTreeClassifier` (binary).
    X, y
        The rows the shares and rates are computed on (usually the training rows).
    X_test, y_test
        Optional held-out rows: adds ``test_share`` and ``test_outcome_rate``.
    """
    t = tree.tree_
    binary = _binary_columns(X)
    leaves: list[tuple[int, list[str]]] = []

    def walk(node: int, conds: list[str]) -> None:
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            leaves.append((node, conds))
            return
        j, thr = int(t.feature[node]), float(t.threshold[node])
        name = feature_names[j]
        if binary[j] and 0 <= thr < 1:
            lo, hi = f"no {name}", f"{name} recorded"
        else:
            lo, hi = f"{name} <= {_fmt(thr)}", f"{name} > {_fmt(thr)}"
        walk(left, [*conds, lo])
        walk(right, [*conds, hi])

    walk(0, [])
    leaf_of = tree.apply(X)
    y = np.asarray(y).astype(float)
    rows = []
    test_leaf = tree.apply(X_test) if X_test is not None else None
    for node, conds in leaves:
        mask = leaf_of == node
        row = {
            "rule": " AND ".join(conds) if conds else "all patients",
            "patients": int(mask.sum()),
            "share": float(mask.mean()) if len(mask) else float("nan"),
            "outcome_rate": float(y[mask].mean()) if mask.any() else float("nan"),
            "predicted_risk": float(t.value[node][0][-1] / t.value[node][0].sum()),
        }
        if test_leaf is not None:
            tm = test_leaf == node
            yt = np.asarray(y_test).astype(float)
            row["test_share"] = float(tm.mean()) if len(tm) else float("nan")
            row["test_outcome_rate"] = float(yt[tm].mean()) if tm.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).sort_values("predicted_risk", ignore_index=True)
