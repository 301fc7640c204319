"""Nickname table and the name groups it induces (bill ~ william ~ billy)."""

from __future__ import annotations

import csv
import functools
import importlib.resources

__all__ = ["name_groups", "nicknames"]


@functools.cache
def nicknames() -> tuple[tuple[str, str], ...]:
    """(nickname, given name) pairs shipped in ``medmine/quality/data/nicknames.csv``."""
    path = importlib.resources.files("medmine.quality") / "data" / "nicknames.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple((r["nickname"], r["given_name"]) for r in csv.DictReader(fh))


@functools.cache
def name_groups() -> dict[str, str]:
    """Name -> group key: names connected by a nickname pair share a group (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in nicknames():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in parent}
