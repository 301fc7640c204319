"""FP-Growth (Han, Pei & Yin 2000) over a compact transaction representation.

Why not mlxtend's ``fpgrowth``: it needs a dense one-hot ``DataFrame`` (transactions x items,
one byte per cell: 10^6 baskets x 2,000 items is 2 GB before mining starts) and users report
memory blow-ups on dense baskets. This implementation

- reads a CSR matrix (or lists of item ids) and never densifies it;
- counts items with ``np.bincount`` and drops infrequent ones before anything is built;
- keeps the transactions themselves as the top-level structure: one int32 array of item
  ranks sorted within each transaction (8 bytes per kept cell with the row ids), instead of
  a pointer-based FP-tree of millions of Python nodes;
- gathers the conditional pattern base of one item at a time from that array (the prefix of
  every transaction holding it, vectorised), merges identical prefixes into weighted paths
  and builds only that item's conditional FP-tree (flat lists plus a header table), which is
  dropped before the next item;
- prunes every conditional pattern base to its locally frequent items before building the
  conditional tree, and mines a single-path tree by direct enumeration;
- caps itemset length (``max_len``), which bounds the recursion depth and the output; at the
  last level below the cap it only counts (``np.bincount`` at the top level), building no
  tree.

Peak memory is therefore the rank array plus the largest single conditional base and the
output, not transactions x items.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from medmine.mining._contract import Interval, validate_params


def to_csr(transactions: sp.spmatrix | Sequence[Iterable[int]], n_items: int | None = None):
    """Return a binary CSR matrix from a sparse matrix or lists of integer item ids."""
    if sp.issparse(transactions):
        X = sp.csr_matrix(transactions)
    else:
        rows = [sorted(set(t)) for t in transactions]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        indices = (
            np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=indptr[-1])
            if indptr[-1]
            else np.zeros(0, dtype=np.int64)
        )
        m = n_items if n_items is not None else (int(indices.max()) + 1 if len(indices) else 0)
        X = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.int8), indices, indptr), shape=(len(rows), m)
        )
    X.sum_duplicates()
    X.data = np.ones_like(X.data, dtype=np.int8)
    X.eliminate_zeros()
    return X


class _Tree:
    """An FP-tree in flat lists; node 0 is the root."""

    __slots__ = ("children", "count", "header", "item", "parent")

    def __init__(self) -> None:
        self.parent = [-1]
        self.item = [-1]
        self.count = [0]
        self.children: list[dict[int, int]] = [{}]
        self.header: dict[int, list[int]] = {}

    def insert(self, path: Sequence[int], weight: int) -> None:
        node = 0
        for it in path:
            child = self.children[node].get(it)
            if child is None:
                child = len(self.parent)
                self.parent.append(node)
                self.item.append(it)
                self.count.append(0)
                self.children.append({})
                self.children[node][it] = child
                self.header.setdefault(it, []).append(child)
            self.count[child] += weight
            node = child

    def single_path(self) -> list[tuple[int, int]] | None:
        """The (item, count) chain if the tree has no branch, else ``None``."""
        out = []
        node = 0
        while True:
            kids = self.children[node]
            if not kids:
                return out
            if len(kids) > 1:
                return None
            node = next(iter(kids.values()))
            out.append((self.item[node], self.count[node]))

    def prefix_counts(self, it: int) -> dict[int, int]:
        """Item counts over the conditional pattern base of `it` (no paths materialised)."""
        counts: dict[int, int] = {}
        parent, item, count = self.parent, self.item, self.count
        for node in self.header[it]:
            w = count[node]
            p = parent[node]
            while p > 0:
                j = item[p]
                counts[j] = counts.get(j, 0) + w
                p = parent[p]
        return counts

    def prefix_paths(self, it: int) -> list[tuple[list[int], int]]:
        """Conditional pattern base of item `it`: root-ward paths with the node's count."""
        paths = []
        parent, item = self.parent, self.item
        for node in self.header[it]:
            path = []
            p = parent[node]
            while p > 0:
                path.append(item[p])
                p = parent[p]
            if path:
                path.reverse()
                paths.append((path, self.count[node]))
        return paths


def _build(paths: Iterable[tuple[Sequence[int], int]], min_count: int) -> tuple[_Tree, dict]:
    """Build a conditional tree from weighted paths, keeping locally frequent items only."""
    paths = list(paths)
    counts: dict[int, int] = {}
    for path, w in paths:
        for it in path:
            counts[it] = counts.get(it, 0) + w
    keep = {it for it, c in counts.items() if c >= min_count}
    tree = _Tree()
    for path, w in paths:
        filtered = [it for it in path if it in keep]
        if filtered:
            tree.insert(filtered, w)
    return tree, {it: counts[it] for it in keep}


def _mine(
    tree: _Tree,
    counts: dict[int, int],
    suffix: tuple[int, ...],
    min_count: int,
    max_len: int,
    out: list[tuple[tuple[int, ...], int]],
) -> None:
    room = max_len - len(suffix)
    chain = tree.single_path()
    if chain is not None:
        # Every combination of the chain's items is frequent; its support is the count of its
        # deepest item (counts only decrease along a path).
        for r in range(1, min(room, len(chain)) + 1):
            for combo in itertools.combinations(chain, r):
                out.append((tuple(c[0] for c in combo) + suffix, combo[-1][1]))
        return
    # Items in tree order are global ranks (0 = most frequent); mine the least frequent first.
    for it in sorted(counts, reverse=True):
        itemset = (it, *suffix)
        out.append((itemset, counts[it]))
        if room == 2:
            # Last level under the length cap: count the pattern base, build no tree.
            for j, c in tree.prefix_counts(it).items():
                if c >= min_count:
                    out.append(((j, *itemset), c))
        elif room > 2:
            sub, sub_counts = _build(tree.prefix_paths(it), min_count)
            if sub_counts:
                _mine(sub, sub_counts, itemset, min_count, max_len, out)


@validate_params(
    {
        "min_count": [Interval(Integral, 1, None, closed="left")],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def fpgrowth_counts(
    X: sp.spmatrix | Sequence[Iterable[int]],
    min_count: int,
    max_len: int | None = None,
) -> list[tuple[tuple[int, ...], int]]:
    """Frequent itemsets as ``(sorted column ids, support count)`` pairs.

    Parameters
    ----------
    X
        Binary CSR matrix (transactions x items) or lists of integer item ids.
    min_count
        Minimum number of transactions containing an itemset (>= 1).
    max_len
        Longest itemset reported (``None``: no cap).
    """
    X = to_csr(X)
    n, m = X.shape
    max_len = max_len or m
    if n == 0 or m == 0:
        return []
    support = np.bincount(X.indices, minlength=m)
    frequent = np.flatnonzero(support >= min_count)
    if len(frequent) == 0:
        return []
    # Rank frequent items by descending support (ties by column id), as FP-Growth requires.
    order = frequent[np.lexsort((frequent, -support[frequent]))]
    rank = np.full(m, -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    # Every transaction as its ranks in ascending order (most frequent first), vectorised;
    # infrequent items are gone. int32 keeps this at 8 bytes per kept (row, item) cell.
    r = rank[X.indices].astype(np.int32)
    row = np.repeat(np.arange(n, dtype=np.int32), np.diff(X.indptr))
    keep = r >= 0
    r, row = r[keep], row[keep]
    idx = np.lexsort((r, row))
    r, row = r[idx], row[idx]
    del idx, keep
    row_start = np.zeros(n + 1, dtype=np.int64)
    np.add.at(row_start, row.astype(np.int64) + 1, 1)
    row_start = np.cumsum(row_start)
    # Group the cells by item: cells of item i are positions[bounds[i]:bounds[i + 1]].
    positions = np.argsort(r, kind="stable")
    bounds = np.searchsorted(r[positions], np.arange(len(order) + 1))
    out: list[tuple[tuple[int, ...], int]] = []
    for i in range(len(order) - 1, -1, -1):  # least frequent first, as in FP-Growth
        c_i = int(support[order[i]])
        out.append(((i,), c_i))
        if max_len < 2 or i == 0:
            continue
        pos = positions[bounds[i] : bounds[i + 1]]
        start = row_start[row[pos]]
        lengths = pos - start
        # The conditional pattern base of item i: the prefix of every transaction holding i
        # (the FP-tree's root-ward path), gathered in one vectorised step for this item only.
        offsets = np.repeat(start - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        cells = r[np.arange(int(lengths.sum()), dtype=np.int64) + offsets]
        if max_len == 2:
            cnt = np.bincount(cells, minlength=i)
            for j in np.flatnonzero(cnt >= min_count).tolist():
                out.append(((j, i), int(cnt[j])))
            continue
        base: dict[tuple[int, ...], int] = {}
        flat = cells.tolist()
        k = 0
        for ln in lengths.tolist():
            if ln:
                key = tuple(flat[k : k + ln])
                base[key] = base.get(key, 0) + 1
            k += ln
        del flat, cells
        sub, sub_counts = _build(base.items(), min_count)
        if sub_counts:
            _mine(sub, sub_counts, (i,), min_count, max_len, out)
    return [(tuple(sorted(int(order[i]) for i in items)), c) for items, c in out]
