"""Precision, recall and F1 of linkage against a known truth: pairwise and exact-cluster."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LinkageMetrics", "evaluate_clusters", "evaluate_pairs", "true_pairs"]


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class LinkageMetrics:
    """Pairwise and cluster-level precision, recall and F1 against a truth."""

    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    cluster_precision: float
    cluster_recall: float
    true_pairs: int
    predicted_pairs: int
    true_clusters: int
    predicted_clusters: int

    @property
    def cluster_f1(self) -> float:
        """Harmonic mean of exact-cluster precision and recall."""
        return _f1(self.cluster_precision, self.cluster_recall)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON), with ``cluster_f1``."""
        return {**self.__dict__, "cluster_f1": self.cluster_f1}


def true_pairs(assign: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Record pairs placed in one cluster, each as a sorted tuple."""
    groups: dict[Any, list[str]] = defaultdict(list)
    for u, c in assign.items():
        groups[c].append(u)
    out: set[tuple[str, str]] = set()
    for members in groups.values():
        out.update(itertools.combinations(sorted(members), 2))
    return out


def evaluate_clusters(predicted: Mapping[str, Any], truth: Mapping[str, Any]) -> LinkageMetrics:
    """Precision and recall of predicted clusters against true entities.

    Pairwise: over record pairs placed in one cluster. Cluster-level: a predicted cluster is
    correct when it holds exactly the records of one true entity; precision divides correct
    clusters by predicted clusters, recall by true entities. Records missing from `truth`
    are ignored.

    >>> evaluate_clusters({"a": 1, "b": 1, "c": 2}, {"a": 9, "b": 9, "c": 9}).pairwise_recall
    0.3333333333333333
    """
    keys = set(truth)
    pred = {u: c for u, c in predicted.items() if u in keys}
    tp_pairs, pp = true_pairs(truth), true_pairs(pred)
    tp = len(tp_pairs & pp)
    prec = tp / len(pp) if pp else 1.0
    rec = tp / len(tp_pairs) if tp_pairs else 1.0

    def members(a: Mapping[str, Any]) -> set[frozenset[str]]:
        g: dict[Any, set[str]] = defaultdict(set)
        for u, c in a.items():
            g[c].add(u)
        return {frozenset(s) for s in g.values()}

    tc, pc = members(truth), members(pred)
    exact = len(tc & pc)
    return LinkageMetrics(
        pairwise_precision=prec,
        pairwise_recall=rec,
        pairwise_f1=_f1(prec, rec),
        cluster_precision=exact / len(pc) if pc else 1.0,
        cluster_recall=exact / len(tc) if tc else 1.0,
        true_pairs=len(tp_pairs),
        predicted_pairs=len(pp),
        true_clusters=len(tc),
        predicted_clusters=len(pc),
    )


def evaluate_pairs(scored: Iterable[tuple[str, str]], truth: Mapping[str, Any]) -> dict[str, float]:
    """Blocking recall: the share of true pairs among the scored (blocked) pairs."""
    tp = true_pairs(truth)
    got = {tuple(sorted(p)) for p in scored}
    found = len(tp & got)
    return {
        "true_pairs": len(tp),
        "scored_pairs": len(got),
        "true_pairs_scored": found,
        "blocking_recall": found / len(tp) if tp else 1.0,
    }
