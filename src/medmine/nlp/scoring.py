"""Scoring extracted mentions against gold mentions (concept-mention P/R/F1 and per-modifier
sensitivity, specificity and PPV), and the deterministic development/locked split.

Matching rule (fixed before any scoring): a system mention matches a gold mention of the same
record when their character spans overlap and their domains agree after grouping (gold
condition and symptom = system Condition or Observation; drug = Drug; procedure = Procedure;
lab = Measurement). Pairs are made one-to-one, largest overlap first. Modifiers are scored on
matched pairs only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GOLD_GROUP = {
    "condition": "finding",
    "symptom": "finding",
    "drug": "drug",
    "procedure": "procedure",
    "lab": "lab",
}
SYSTEM_GROUP = {
    "Condition": "finding",
    "Observation": "finding",
    "Drug": "drug",
    "Procedure": "procedure",
    "Measurement": "lab",
}
MODIFIERS = ("negated", "historical", "family", "hypothetical", "uncertain", "other_experiencer")


def _flag(m: Mapping[str, Any], name: str) -> bool:
    if name == "other_experiencer":
        return m.get("experiencer", "patient") != "patient"
    return bool(m.get(name))


def match_mentions(
    gold: Sequence[Mapping[str, Any]], system: Sequence[Mapping[str, Any]], *, domains: bool = True
) -> list[tuple[int, int]]:
    """One-to-one ``(gold index, system index)`` pairs: overlapping spans, same domain group."""
    cands = []
    for i, g in enumerate(gold):
        for j, s in enumerate(system):
            ov = min(g["end"], s["end"]) - max(g["start"], s["start"])
            if ov <= 0:
                continue
            if domains and GOLD_GROUP.get(g["domain"]) != SYSTEM_GROUP.get(s["domain"], "other"):
                continue
            cands.append((-ov, i, j))
    used_g: set[int] = set()
    used_s: set[int] = set()
    pairs = []
    for _ov, i, j in sorted(cands):
        if i not in used_g and j not in used_s:
            used_g.add(i)
            used_s.add(j)
            pairs.append((i, j))
    return pairs


@dataclass
class Counts:
    """Confusion counts of one binary modifier over matched pairs."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, gold: bool, pred: bool) -> None:
        """Count one pair."""
        if gold and pred:
            self.tp += 1
        elif pred:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    def summary(self) -> dict[str, float | int | None]:
        """Sensitivity, specificity, PPV (None when undefined) and the counts."""

        def r(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "sensitivity": r(self.tp, self.tp + self.fn),
            "specificity": r(self.tn, self.tn + self.fp),
            "ppv": r(self.tp, self.tp + self.fp),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


@dataclass
class Score:
    """Accumulated scores over records."""

    gold: int = 0
    system: int = 0
    matched: int = 0
    matched_any_domain: int = 0
    modifiers: dict[str, Counts] = field(default_factory=lambda: {m: Counts() for m in MODIFIERS})

    def add(self, gold: Sequence[Mapping[str, Any]], system: Sequence[Mapping[str, Any]]) -> None:
        """Score one record."""
        pairs = match_mentions(gold, system)
        self.gold += len(gold)
        self.system += len(system)
        self.matched += len(pairs)
        self.matched_any_domain += len(match_mentions(gold, system, domains=False))
        for i, j in pairs:
            for m in MODIFIERS:
                self.modifiers[m].add(_flag(gold[i], m), _flag(system[j], m))

    def summary(self) -> dict[str, Any]:
        """Precision, recall, F1 of mentions and per-modifier figures."""
        p = self.matched / self.system if self.system else 0.0
        r = self.matched / self.gold if self.gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        pa = self.matched_any_domain / self.system if self.system else 0.0
        ra = self.matched_any_domain / self.gold if self.gold else 0.0
        return {
            "records_gold_mentions": self.gold,
            "system_mentions": self.system,
            "matched": self.matched,
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "f1_span_only": round(2 * pa * ra / (pa + ra), 4) if pa + ra else 0.0,
            "modifiers": {m: c.summary() for m, c in self.modifiers.items()},
        }


def split_half(records: Iterable[Mapping[str, Any]]) -> tuple[list[Any], list[Any]]:
    """Deterministic development / locked halves: within each record type, records ordered by
    the SHA-256 of their id; the first half (rounded up) is development.
    """
    by_type: dict[str, list[tuple[str, Any]]] = {}
    for rec in records:
        h = hashlib.sha256(str(rec["id"]).encode()).hexdigest()
        by_type.setdefault(str(rec.get("type")), []).append((h, rec))
    dev, locked = [], []
    for _t, items in sorted(by_type.items()):
        items.sort(key=lambda x: x[0])
        k = (len(items) + 1) // 2
        dev += [r for _h, r in items[:k]]
        locked += [r for _h, r in items[k:]]
    return dev, locked
