"""Patient linkage: link identity rows of the same person across sources with Splink (v5,
on DuckDB) into clusters written to ``mm_person_link``, and measure it against a truth.

Identity rows (``mm_person_identity``) are standardised in SQL (case, nicknames to a name
group, phone digits, ZIP5, birth date with day and month swapped), compared with a
Fellegi-Sunter model whose u probabilities come from random sampling and m probabilities from
expectation maximisation, scored on blocked pairs, and clustered (connected components) at a
match-probability threshold. No identifier is logged; results hold ids and weights only.

>>> from medmine.errors import MedmineError
from medmine.warehouse import Warehouse
>>> link_persons(Warehouse(":memory:")).n_records
0
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import importlib.resources
import itertools
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from medmine.errors import MedmineError
from medmine.warehouse import Warehouse
from medmine.warehouse.sql import ident

__all__ = [
    "LinkageConfig",
    "LinkageMetrics",
    "LinkageResult",
    "evaluate_clusters",
    "link_persons",
    "nicknames",
]


@functools.cache
def nicknames() -> tuple[tuple[str, str], ...]:
    """(nickname, given name) pairs shipped in ``data/nicknames.csv``."""
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


@dataclass(frozen=True)
class LinkageConfig:
    """Model and clustering settings."""

    threshold_probability: float = 0.95
    prior_match_probability: float = 0.0005
    max_pairs_u: float = 2e6
    seed: int = 42


@dataclass
class LinkageResult:
    """Clusters of identity rows: ``{"source:person_id": cluster_id}`` plus pair scores."""

    run_id: str
    clusters: dict[str, int] = field(default_factory=dict)
    n_records: int = 0
    n_pairs_scored: int = 0
    n_links: int = 0
    duration_s: float = 0.0

    @property
    def n_clusters(self) -> int:
        """Distinct clusters."""
        return len(set(self.clusters.values()))


_PREPARE = r"""
SELECT i.source || ':' || CAST(i.person_id AS VARCHAR) AS unique_id,
       i.person_id, i.source,
       nullif(lower(trim(i.given_name)), '') AS given_name,
       coalesce(g.grp, nullif(lower(trim(i.given_name)), '')) AS given_group,
       nullif(lower(trim(i.family_name)), '') AS family_name,
       i.birth_date,
       CAST(i.birth_date AS VARCHAR) AS birth_date_str,
       CASE WHEN day(i.birth_date) <= 12 THEN
            CAST(make_date(year(i.birth_date), day(i.birth_date), month(i.birth_date))
                 AS VARCHAR) END AS birth_date_swapped,
       CAST(year(i.birth_date) AS VARCHAR) AS birth_year,
       CASE lower(trim(i.sex)) WHEN 'm' THEN 'male' WHEN 'f' THEN 'female'
            ELSE nullif(lower(trim(i.sex)), '') END AS sex,
       nullif(regexp_replace(lower(trim(i.address_line)), '\s+', ' ', 'g'), '') AS address_line,
       nullif(lower(trim(i.city)), '') AS city,
       nullif(left(regexp_replace(coalesce(i.zip, ''), '[^0-9]', '', 'g'), 5), '') AS zip5,
       nullif(right(regexp_replace(coalesce(i.phone, ''), '[^0-9]', '', 'g'), 10), '') AS phone,
       nullif(lower(trim(i.email)), '') AS email
FROM mm_person_identity i
LEFT JOIN name_group g ON g.name = lower(trim(i.given_name))
"""


def _settings(cfg: LinkageConfig) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    given = cl.CustomComparison(
        [
            cll.NullLevel("given_name"),
            cll.ExactMatchLevel("given_name"),
            cll.CustomLevel("given_group_l = given_group_r", "nickname group"),
            cll.JaroWinklerLevel("given_name", 0.92),
            cll.JaroWinklerLevel("given_name", 0.80),
            cll.ElseLevel(),
        ],
        output_column_name="given_name",
    )
    dob = cl.CustomComparison(
        [
            cll.NullLevel("birth_date_str"),
            cll.ExactMatchLevel("birth_date_str"),
            cll.CustomLevel("birth_date_swapped_l = birth_date_str_r", "day and month swapped"),
            cll.DamerauLevenshteinLevel("birth_date_str", 1),
            cll.ElseLevel(),
        ],
        output_column_name="birth_date",
    )
    # Address, ZIP and city move together (households share them): one comparison, so that
    # their agreement is not counted three times under the independence assumption.
    place = cl.CustomComparison(
        [
            {
                "sql_condition": "(address_line_l IS NULL OR address_line_r IS NULL) AND "
                "(zip5_l IS NULL OR zip5_r IS NULL)",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            cll.CustomLevel(
                "address_line_l = address_line_r AND zip5_l = zip5_r", "same address and ZIP"
            ),
            cll.CustomLevel(
                "jaro_winkler_similarity(address_line_l, address_line_r) >= 0.8 AND "
                "zip5_l = zip5_r",
                "similar address, same ZIP",
            ),
            cll.CustomLevel("zip5_l = zip5_r", "same ZIP"),
            cll.CustomLevel("city_l = city_r", "same city"),
            cll.ElseLevel(),
        ],
        output_column_name="place",
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=cfg.prior_match_probability,
        comparisons=[
            given,
            cl.NameComparison("family_name", jaro_winkler_thresholds=[0.92, 0.80]),
            dob,
            cl.ExactMatch("sex"),
            place,
            cl.ExactMatch("phone"),
            cl.ExactMatch("email"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("birth_date_str"),
            block_on("family_name", "birth_year"),
            block_on("given_group", "family_name"),
            block_on("phone"),
            block_on("email"),
            block_on("given_group", "zip5"),
            "l.birth_date_swapped = r.birth_date_str",
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _cluster_ids(uids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Connected components; cluster id = 1-based rank of the component's smallest uid."""
    parent = {u: u for u in uids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = sorted({find(u) for u in uids})
    rank = {r: i + 1 for i, r in enumerate(roots)}
    return {u: rank[find(u)] for u in uids}


def link_persons(
    wh: Warehouse, config: LinkageConfig | None = None, *, store: bool = True
) -> LinkageResult:
    """Link ``mm_person_identity`` rows into clusters; write ``mm_person_link`` if `store`."""
    import time

    cfg = config or LinkageConfig()
    t0 = time.perf_counter()
    run_id = f"link-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    groups = name_groups()
    name_group = pa.table(  # noqa: F841  (read by DuckDB)
        {"name": list(groups), "grp": list(groups.values())}
    )
    prepared = wh.con.sql(_PREPARE).to_arrow_table()
    result = LinkageResult(run_id, n_records=prepared.num_rows)
    if prepared.num_rows == 0:
        return result
    uids = prepared.column("unique_id").to_pylist()
    best: dict[str, tuple[float, float]] = {}
    edges: list[tuple[str, str]] = []
    if prepared.num_rows > 1:
        pairs = _score(prepared, cfg)
        result.n_pairs_scored = len(pairs)
        for a, b, w, p in pairs:
            if p >= cfg.threshold_probability:
                edges.append((a, b))
                for u in (a, b):
                    if u not in best or w > best[u][0]:
                        best[u] = (w, p)
    result.n_links = len(edges)
    result.clusters = _cluster_ids(uids, edges)
    result.duration_s = time.perf_counter() - t0
    if store:
        _store(wh, prepared, result, best)
    return result


def _score(prepared: pa.Table, cfg: LinkageConfig) -> list[tuple[str, str, float, float]]:
    """Train the model and score blocked pairs: ``(uid_l, uid_r, match_weight, probability)``."""
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    # Splink 4-5 export this exception only from its internals module.
    from splink.internals.exceptions import EMTrainingException

    con = duckdb.connect()
    try:
        db = DuckDBAPI(con)
        df = db.register(prepared, table_name="identities")
        linker = Linker(df, _settings(cfg), log_level=logging.WARNING)
        linker.training.estimate_u_using_random_sampling(max_pairs=cfg.max_pairs_u, seed=cfg.seed)
        for rule in (block_on("birth_date_str"), block_on("family_name", "given_group")):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, record_sample_proportion=1.0
                )
            except EMTrainingException:
                raise MedmineError(
                    f"person linkage cannot learn match weights from {prepared.num_rows:,} "
                    "identity rows: too few candidate pairs share a birth date or a name to "
                    "train on; link a larger extract (hundreds of identities or more)"
                ) from None
        pred = linker.inference.predict(threshold_match_probability=0.01)
        rows = con.execute(
            "SELECT unique_id_l, unique_id_r, match_weight, match_probability "
            f"FROM {ident(pred.physical_name)}"
        ).fetchall()
    finally:
        con.close()
    return [(a, b, float(w), float(p)) for a, b, w, p in rows]


def _store(
    wh: Warehouse, prepared: pa.Table, result: LinkageResult, best: dict[str, tuple]
) -> None:
    rows = []
    for uid, pid, src in zip(
        prepared.column("unique_id").to_pylist(),
        prepared.column("person_id").to_pylist(),
        prepared.column("source").to_pylist(),
        strict=True,
    ):
        w, p = best.get(uid, (None, None))
        rows.append(
            {"cluster_id": result.clusters[uid], "person_id": pid, "source": src,
             "match_weight": w, "match_probability": p, "run_id": result.run_id}
        )  # fmt: skip
    links = pa.Table.from_pylist(rows)  # noqa: F841
    with wh.transaction() as con:
        con.execute("DELETE FROM mm_person_link")
        con.execute("INSERT INTO mm_person_link BY NAME SELECT * FROM links")


@dataclass(frozen=True)
class LinkageMetrics:
    """Pairwise and cluster-level precision and recall against a truth."""

    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    cluster_precision: float
    cluster_recall: float
    true_pairs: int
    predicted_pairs: int
    true_clusters: int
    predicted_clusters: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON)."""
        return dict(self.__dict__)


def _pairs(assign: dict[str, int]) -> set[tuple[str, str]]:
    groups: dict[int, list[str]] = defaultdict(list)
    for u, c in assign.items():
        groups[c].append(u)
    out = set()
    for members in groups.values():
        out.update(itertools.combinations(sorted(members), 2))
    return out


def evaluate_clusters(predicted: dict[str, int], truth: dict[str, int]) -> LinkageMetrics:
    """Precision and recall of predicted clusters against true entities.

    Pairwise: over record pairs placed in one cluster. Cluster-level: a predicted cluster is
    correct when it holds exactly the records of one true entity; precision divides correct
    clusters by predicted clusters, recall by true entities.
    """
    keys = set(truth)
    pred = {u: c for u, c in predicted.items() if u in keys}
    tp_pairs, pp = _pairs(truth), _pairs(pred)
    tp = len(tp_pairs & pp)
    prec = tp / len(pp) if pp else 1.0
    rec = tp / len(tp_pairs) if tp_pairs else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0

    def members(a: dict[str, int]) -> set[frozenset[str]]:
        g: dict[int, set[str]] = defaultdict(set)
        for u, c in a.items():
            g[c].add(u)
        return {frozenset(s) for s in g.values()}

    tc, pc = members(truth), members(pred)
    exact = len(tc & pc)
    return LinkageMetrics(
        pairwise_precision=prec,
        pairwise_recall=rec,
        pairwise_f1=f1,
        cluster_precision=exact / len(pc) if pc else 1.0,
        cluster_recall=exact / len(tc) if tc else 1.0,
        true_pairs=len(tp_pairs),
        predicted_pairs=len(pp),
        true_clusters=len(tc),
        predicted_clusters=len(pc),
    )
