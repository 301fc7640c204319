"""Frequent itemsets and association rules: metrics, item constraints, Fisher tests with FDR."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from medmine.mining._contract import Interval, ensure_fitted, fit_context, validate_params
from medmine.mining.rules._fpgrowth import fpgrowth_counts, to_csr


@validate_params(
    {
        "min_support": [Interval(Real, 0, 1, closed="right")],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def fpgrowth(
    X: sp.spmatrix | Sequence[Iterable[int]],
    min_support: float = 0.01,
    max_len: int | None = None,
) -> pd.DataFrame:
    """Frequent itemsets with columns ``support`` (fraction) and ``itemsets`` (frozensets).

    The output has the shape of mlxtend's ``fpgrowth(..., use_colnames=False)`` so the two
    can be compared itemset by itemset.

    >>> fpgrowth([[0, 1], [0, 1], [0, 2]], min_support=0.6)["itemsets"].tolist()
    [frozenset({0}), frozenset({1}), frozenset({0, 1})]
    """
    X = to_csr(X)
    n = X.shape[0]
    min_count = max(1, int(np.ceil(min_support * n - 1e-9)))
    found = fpgrowth_counts(X, min_count, max_len)
    found.sort(key=lambda t: (len(t[0]), t[0]))
    return pd.DataFrame(
        {
            "support": [c / n for _, c in found] if n else [],
            "itemsets": [frozenset(s) for s, _ in found],
        }
    )


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), same order as `p`."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def fisher_greater(a: np.ndarray, n_a: np.ndarray, n_c: np.ndarray, n: int) -> np.ndarray:
    """One-sided Fisher exact p-values for positive association, vectorised.

    For a rule A -> C over `n` transactions with `a` containing both, `n_a` containing A and
    `n_c` containing C, the p-value is P(X >= a) for X hypergeometric(n, n_c, n_a).
    """
    from scipy.stats import hypergeom

    return np.clip(hypergeom.sf(np.asarray(a) - 1, n, n_c, n_a), 0.0, 1.0)


class AssociationRuleMiner(BaseEstimator):
    """Association rules from FP-Growth itemsets, with item constraints and FDR control.

    Parameters
    ----------
    min_support
        Minimum itemset support (fraction of transactions), in (0, 1].
    min_confidence
        Minimum rule confidence, in [0, 1].
    min_lift
        Minimum lift (1 keeps only positively associated rules).
    max_len
        Longest itemset mined (antecedent + consequent).
    consequents
        If given, keep only rules whose consequent lies within these items (an outcome of
        interest); names or column indices.
    antecedents
        If given, keep only rules whose antecedent lies within these items.
    max_consequent_len
        Largest consequent (1: single-item conclusions, the usual clinical reading).
    alpha
        False discovery rate for the Benjamini–Hochberg step over the rules' one-sided
        Fisher exact tests; ``None`` keeps every rule (q-values are still reported).

    Attributes
    ----------
    itemsets_ : pandas.DataFrame
        ``support``, ``count``, ``itemsets`` (frozensets of item names), one row per frequent
        itemset.
    rules_ : pandas.DataFrame
        One row per retained rule: ``antecedents``, ``consequents`` (frozensets of names),
        ``support``, ``confidence``, ``lift``, ``leverage``, ``conviction``, ``count``,
        ``antecedent_support``, ``consequent_support``, ``p_value``, ``q_value``; sorted by
        lift then confidence.
    n_rules_tested_ : int
        Rules passing support/confidence/lift/constraints before the FDR filter (the family
        size).
    n_transactions_ : int
    feature_names_in_ : numpy.ndarray of shape (n_items,)
        Item names (``item_names``, or ``"0" .. "n_items - 1"``).

    Not a scikit-learn estimator over a feature matrix: `fit` takes transactions, so it
    shares the parameter and fitted contract but not scikit-learn's input checks.

    >>> m = AssociationRuleMiner(min_support=0.3, min_confidence=0.6, alpha=None)
    >>> m.fit([[0, 1], [0, 1], [0, 2], [2]], item_names=["a", "b", "c"]).rules_.shape[0] > 0
    True
    """

    _parameter_constraints: dict = {
        "min_support": [Interval(Real, 0, 1, closed="right")],
        "min_confidence": [Interval(Real, 0, 1, closed="both")],
        "min_lift": [Interval(Real, 0, None, closed="left")],
        "max_len": [Interval(Integral, 1, None, closed="left")],
        "consequents": ["array-like", None],
        "antecedents": ["array-like", None],
        "max_consequent_len": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="right"), None],
    }

    def __init__(
        self,
        min_support: float = 0.01,
        min_confidence: float = 0.5,
        min_lift: float = 1.0,
        max_len: int = 3,
        consequents: Iterable[Any] | None = None,
        antecedents: Iterable[Any] | None = None,
        max_consequent_len: int = 1,
        alpha: float | None = 0.05,
    ) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_len = max_len
        self.consequents = consequents
        self.antecedents = antecedents
        self.max_consequent_len = max_consequent_len
        self.alpha = alpha

    def _resolve(self, items: Iterable[Any] | None, names: np.ndarray) -> set[int] | None:
        if items is None:
            return None
        lookup = {n: i for i, n in enumerate(names.tolist())}
        out = set()
        for it in items:
            if isinstance(it, Integral) and not isinstance(it, bool):
                out.add(int(it))
            elif it in lookup:
                out.add(lookup[it])
        return out

    @fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: sp.spmatrix | Sequence[Iterable[int]],
        y: Any = None,
        item_names: Sequence[str] | None = None,
    ) -> AssociationRuleMiner:
        """Mine itemsets and rules from transactions; returns self.

        `X` is a binary sparse matrix ``(n_transactions, n_items)`` or lists of integer item
        ids; `y` is ignored; `item_names` (length ``n_items``) names the columns.
        """
        X = to_csr(X, n_items=len(item_names) if item_names is not None else None)
        n, m = X.shape
        names = np.asarray(
            list(item_names) if item_names is not None else [str(i) for i in range(m)],
            dtype=object,
        )
        self.feature_names_in_ = names
        self.n_transactions_ = n
        min_count = max(1, int(np.ceil(self.min_support * n - 1e-9)))
        found = fpgrowth_counts(X, min_count, self.max_len)
        counts = dict(found)
        self.itemsets_ = pd.DataFrame(
            {
                "support": [c / n for _, c in found],
                "count": [c for _, c in found],
                "itemsets": [frozenset(names[list(s)].tolist()) for s, _ in found],
            }
        )
        cons_ok = self._resolve(self.consequents, names)
        ante_ok = self._resolve(self.antecedents, names)
        rows: list[tuple[tuple[int, ...], tuple[int, ...], int]] = []
        for items, c_ac in found:
            if len(items) < 2:
                continue
            for r in range(1, min(self.max_consequent_len, len(items) - 1) + 1):
                for cons in itertools.combinations(items, r):
                    if cons_ok is not None and not set(cons) <= cons_ok:
                        continue
                    ante = tuple(i for i in items if i not in cons)
                    if ante_ok is not None and not set(ante) <= ante_ok:
                        continue
                    rows.append((ante, cons, c_ac))
        self.rules_ = self._score(rows, counts, n, names)
        return self

    def _score(self, rows, counts, n, names) -> pd.DataFrame:
        cols = [
            "antecedents",
            "consequents",
            "support",
            "confidence",
            "lift",
            "leverage",
            "conviction",
            "count",
            "antecedent_support",
            "consequent_support",
            "p_value",
            "q_value",
        ]
        if not rows:
            self.n_rules_tested_ = 0
            return pd.DataFrame(columns=cols)
        c_ac = np.array([r[2] for r in rows], dtype=float)
        c_a = np.array([counts[r[0]] for r in rows], dtype=float)
        c_c = np.array([counts[r[1]] for r in rows], dtype=float)
        s_ac, s_a, s_c = c_ac / n, c_a / n, c_c / n
        conf = c_ac / c_a
        lift = conf / s_c
        with np.errstate(divide="ignore"):
            conviction = np.where(conf < 1, (1 - s_c) / np.maximum(1 - conf, 1e-300), np.inf)
        keep = (conf >= self.min_confidence) & (lift >= self.min_lift)
        idx = np.flatnonzero(keep)
        self.n_rules_tested_ = len(idx)
        p = fisher_greater(c_ac[idx], c_a[idx], c_c[idx], n)
        q = benjamini_hochberg(p)
        df = pd.DataFrame(
            {
                "antecedents": [frozenset(names[list(rows[i][0])].tolist()) for i in idx],
                "consequents": [frozenset(names[list(rows[i][1])].tolist()) for i in idx],
                "support": s_ac[idx],
                "confidence": conf[idx],
                "lift": lift[idx],
                "leverage": (s_ac - s_a * s_c)[idx],
                "conviction": conviction[idx],
                "count": c_ac[idx].astype(int),
                "antecedent_support": s_a[idx],
                "consequent_support": s_c[idx],
                "p_value": p,
                "q_value": q,
            },
            columns=cols,
        )
        if self.alpha is not None:
            df = df[df["q_value"] <= self.alpha]
        return df.sort_values(["lift", "confidence", "support"], ascending=False).reset_index(
            drop=True
        )

    def rules_for(self, consequent: str) -> pd.DataFrame:
        """Retained rules concluding `consequent`."""
        ensure_fitted(self, "rules_")
        return self.rules_[self.rules_["consequents"].map(lambda c: consequent in c)]
