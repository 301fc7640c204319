"""Transactions built in the engine: per person, per visit or per claim, as a sparse matrix.

The warehouse does the grouping and de-duplication in SQL and returns distinct
``(transaction id, item, label)`` rows; Python only factorises them into a CSR matrix.
Item keys carry their domain (``condition:201826``, ``drug:1118084``, ``dx:I10``,
``proc:CPT:99213``) so codes of different vocabularies never collide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from medmine.errors import ConfigError
from medmine.warehouse.schema import DOMAINS
from medmine.warehouse.sql import ident, literal


@dataclass(frozen=True)
class Transactions:
    """A transaction set: binary CSR matrix with ids of its rows and names of its columns.

    Attributes
    ----------
    matrix
        ``(n_transactions, n_items)`` binary CSR matrix.
    ids
        Transaction ids (person, visit or claim ids), shape ``(n_transactions,)``.
    items
        Item keys, length ``n_items`` (``domain:code``).
    labels
        Human-readable item names (concept names, code displays), length ``n_items``.
    """

    matrix: sp.csr_matrix
    ids: np.ndarray
    items: list[str]
    labels: list[str]

    @property
    def n(self) -> int:
        """Number of transactions."""
        return self.matrix.shape[0]

    def label_of(self) -> dict[str, str]:
        """Item key -> label."""
        return dict(zip(self.items, self.labels, strict=True))

    def lists(self) -> list[list[int]]:
        """Transactions as lists of column ids (for small inputs and tests)."""
        m = self.matrix
        return [m.indices[m.indptr[i] : m.indptr[i + 1]].tolist() for i in range(m.shape[0])]


def from_pairs(df: pd.DataFrame) -> Transactions:
    """Build a `Transactions` from rows ``tid, item, label`` (duplicates are merged)."""
    if df.empty:
        return Transactions(sp.csr_matrix((0, 0), dtype=np.int8), np.array([]), [], [])
    tid_codes, tids = pd.factorize(df["tid"], sort=True)
    item_codes, items = pd.factorize(df["item"], sort=True)
    labels = df.drop_duplicates("item").set_index("item")["label"].reindex(items)
    X = sp.csr_matrix(
        (np.ones(len(df), dtype=np.int8), (tid_codes, item_codes)),
        shape=(len(tids), len(items)),
    )
    X.sum_duplicates()
    X.data[:] = 1
    return Transactions(
        X,
        np.asarray(tids),
        [str(i) for i in items],
        [str(v) if v is not None and v == v else str(k) for k, v in labels.items()],
    )


def _person_filter(person_ids_sql: str | None, alias: str = "t") -> str:
    return f" AND {alias}.person_id IN ({person_ids_sql})" if person_ids_sql else ""


def clinical_transactions(
    wh: Any,
    *,
    by: str = "person",
    domains: Sequence[str] = ("condition", "drug"),
    person_ids_sql: str | None = None,
) -> Transactions:
    """Concepts of event domains (condition, drug, procedure...) grouped per person or per visit.

    Parameters
    ----------
    wh
        A `Warehouse`.
    by
        ``"person"`` or ``"visit"`` (rows without a visit are left out).
    domains
        Event domains of the warehouse schema (``condition``, ``drug``, ``procedure``...).
    person_ids_sql
        Optional subquery of eligible ``person_id`` (from `medmine.privacy.consent`).
    """
    return from_pairs(
        wh.df(clinical_pairs_sql(by=by, domains=domains, person_ids_sql=person_ids_sql))
    )


def clinical_pairs_sql(
    *,
    by: str = "person",
    domains: Sequence[str] = ("condition", "drug"),
    person_ids_sql: str | None = None,
) -> str:
    """The SQL of `clinical_transactions`' distinct ``(tid, item, label)`` rows (any engine)."""
    if by not in ("person", "visit"):
        raise ConfigError(f"by must be 'person' or 'visit'; got {by!r}")
    unknown = set(domains) - set(DOMAINS)
    if unknown:
        raise ConfigError(f"unknown domain(s) {sorted(unknown)}; use {sorted(DOMAINS)}")
    parts = []
    for name in domains:
        d = DOMAINS[name]
        col = f"t.{ident(d.concept_column)}"
        tid = "t.person_id" if by == "person" else "t.visit_occurrence_id"
        cond = "t.visit_occurrence_id IS NOT NULL" if by == "visit" else "TRUE"
        parts.append(
            f"SELECT DISTINCT {tid} AS tid, {literal(name + ':')} || {col} AS item, "
            f"coalesce(c.concept_name, {literal(name + ' ')} || {col}) AS label "
            f"FROM {ident(d.table)} t LEFT JOIN concept c ON c.concept_id = {col} "
            f"WHERE {col} <> 0 AND {cond}{_person_filter(person_ids_sql)}"
        )
    return " UNION ".join(parts)


def claim_transactions(
    wh: Any, *, person_ids_sql: str | None = None, claims_sql: str = "mm_claim"
) -> Transactions:
    """Diagnoses (header ``dx_1..dx_12``) and procedures (line codes) grouped per claim.

    Items are ``dx:<code>`` and ``proc:<vocabulary>:<code>``; `claims_sql` may name another
    relation with the columns of ``mm_claim`` (a filtered view, say).
    """
    claims = ident(claims_sql)
    dx = " UNION ALL ".join(
        f"SELECT claim_id, person_id, dx_{i} AS code FROM {claims} WHERE dx_{i} IS NOT NULL"
        for i in range(1, 13)
    )
    sql = f"""
        SELECT DISTINCT t.claim_id AS tid, 'dx:' || t.code AS item,
               coalesce(sc.display, t.code) AS label
        FROM ({dx}) t
        LEFT JOIN mm_source_concept sc ON sc.code = t.code
             AND sc.vocabulary_id IN ('ICD10CM', 'ICD9CM', 'SNOMED')
        WHERE TRUE{_person_filter(person_ids_sql)}
        UNION
        SELECT DISTINCT t.claim_id AS tid,
               'proc:' || coalesce(t.procedure_vocabulary_id, '?') || ':' || t.procedure_code,
               coalesce(t.procedure_display, t.procedure_code)
        FROM mm_claim_line t
        WHERE t.procedure_code IS NOT NULL
          AND t.claim_id IN (SELECT claim_id FROM {claims}){_person_filter(person_ids_sql)}
    """
    return from_pairs(wh.df(sql))
