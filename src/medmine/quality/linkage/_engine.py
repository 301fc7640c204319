"""Link identity tables: standardise, train a Splink model, score pairs, cluster.

>>> import pyarrow as pa
>>> res = link_tables([pa.table({"given_name": ["ann"], "family_name": ["lee"]})])
>>> res.n_records, res.n_pairs_scored
(1, 0)
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medmine.errors import MedmineError
from medmine.quality.linkage._model import blocking_rules, comparisons, em_rules
from medmine.quality.linkage._standardise import standardise
from medmine.warehouse.sql import ident

__all__ = ["LinkageConfig", "LinkageResult", "blocked_pairs", "link_tables"]

Mode = Literal["dedupe", "link", "both"]
#: Up to this many records, the page shows example pairs (their per-comparison weights are
#: kept for every scored pair, which costs memory at scale).
EXAMPLES_MAX_RECORDS = 200_000
_LINK_TYPE = {"dedupe": "dedupe_only", "link": "link_only", "both": "link_and_dedupe"}


@dataclass(frozen=True)
class LinkageConfig:
    """Model and clustering settings; the defaults need no tuning.

    Parameters
    ----------
    threshold_probability
        Link pairs at or above this match probability. ``None`` (default): the threshold that
        maximises the F1 the model itself expects (from its pair probabilities).
    prior_match_probability
        Probability that two random records match. ``None`` (default): estimated by
        expectation maximisation.
    one_to_one
        In ``link`` mode, link each record to at most one record of each other source (the
        sources are deduplicated). ``None`` (default): true in ``link`` mode.
    max_pairs_u
        Random pairs sampled to estimate u probabilities.
    keep_probability
        Scored pairs below this probability are not kept (nor stored); 0 keeps every
        blocked pair (to measure blocking recall).
    seed
        Seed of the random sampling.
    memory_limit
        DuckDB's memory limit for the run (it spills to disk beyond it); applies when
        `link_tables` opens its own connection.
    """

    threshold_probability: float | None = None
    prior_match_probability: float | None = None
    one_to_one: bool | None = None
    max_pairs_u: float = 1e6
    keep_probability: float = 0.01
    seed: int = 42
    memory_limit: str = "4GB"

    def __post_init__(self) -> None:
        for name in ("threshold_probability", "prior_match_probability"):
            v = getattr(self, name)
            if v is not None and not 0 < v < 1:
                raise ValueError(
                    f"The {name!r} parameter of LinkageConfig must be a float in (0, 1) or "
                    f"None. Got {v!r} instead."
                )
        if not 0 <= self.keep_probability < 1:
            raise ValueError(
                "The 'keep_probability' parameter of LinkageConfig must be a float in [0, 1). "
                f"Got {self.keep_probability!r} instead."
            )


@dataclass
class LinkageResult:
    """Scored pairs and clusters of one linkage run.

    ``pairs``: ``source_l, unique_id_l, source_r, unique_id_r, match_weight,
    match_probability, linked`` (pairs kept above ``keep_probability``).
    ``cluster_table``: ``source, unique_id, cluster_id`` for every input record.
    ``curve``: the model's own precision/recall estimate by threshold (no labels needed).
    """

    run_id: str
    mode: str = "dedupe"
    n_records: int = 0
    n_pairs_scored: int = 0
    n_links: int = 0
    threshold: float = 0.5
    prior: float | None = None
    duration_s: float = 0.0
    n_blocked_pairs: int = 0
    pairs: pa.Table | None = None
    cluster_table: pa.Table | None = None
    curve: list[dict[str, float]] = field(default_factory=list)
    fields_compared: list[str] = field(default_factory=list)
    blocking_rules: list[str] = field(default_factory=list)
    match_weights: list[dict[str, Any]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def clusters(self) -> dict[str, int]:
        """``{"source:unique_id": cluster_id}``."""
        if self.cluster_table is None:
            return {}
        t = self.cluster_table
        return {
            f"{s}:{u}": c
            for s, u, c in zip(
                t.column("source").to_pylist(),
                t.column("unique_id").to_pylist(),
                t.column("cluster_id").to_pylist(),
                strict=True,
            )
        }

    @property
    def n_clusters(self) -> int:
        """Distinct clusters."""
        if self.cluster_table is None or self.cluster_table.num_rows == 0:
            return 0
        return len(pc.unique(self.cluster_table.column("cluster_id")))


def _as_tables(tables: Any) -> list[tuple[str, Any]]:
    if isinstance(tables, Mapping):
        return [(str(k), v) for k, v in tables.items()]
    if isinstance(tables, pa.Table) or hasattr(tables, "columns"):
        tables = [tables]
    return [(f"input_{i + 1}", t) for i, t in enumerate(tables)]


def link_tables(
    tables: Any,
    *,
    mapping: Mapping[str, str] | None = None,
    mode: Mode = "dedupe",
    config: LinkageConfig | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> LinkageResult:
    """Link person records in DataFrames or Arrow tables.

    Parameters
    ----------
    tables
        One table, a list of tables, or ``{source name: table}``; pandas DataFrames, pyarrow
        Tables, or names of tables in `con`. A ``source`` column (see `mapping`) splits one
        table into sources.
    mapping
        medmine field -> column name, e.g. ``{"family_name": "surname"}``; fields not mapped
        are looked up by their own name (see ``FIELDS``).
    mode
        ``dedupe`` (within sources), ``link`` (across sources only) or ``both``.
    config
        Model and clustering settings.
    con
        DuckDB connection to work in (default: a new in-memory one).

    Returns
    -------
    LinkageResult

    Raises
    ------
    MedmineError
        Unknown mode, a mapped column missing, no comparable field, or too little data to
        learn the model from.
    """
    if mode not in _LINK_TYPE:
        raise MedmineError(f"linkage mode must be one of {sorted(_LINK_TYPE)}; got {mode!r}")
    cfg = config or LinkageConfig()
    t0 = time.perf_counter()
    run_id = f"link-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    own = con is None
    con = con or duckdb.connect(config={"memory_limit": cfg.memory_limit})
    try:
        counts = standardise(con, _as_tables(tables), mapping)
        n = con.execute("SELECT count(*) FROM mm_link_input").fetchall()[0][0]
        n_sources = con.execute("SELECT count(DISTINCT source) FROM mm_link_input").fetchall()[0][0]
        res = LinkageResult(run_id, mode=mode, n_records=n)
        res.timings["standardise"] = time.perf_counter() - t0
        if mode != "dedupe" and n_sources < 2:
            raise MedmineError(
                f"linkage mode {mode!r} links across sources but the input has "
                f"{n_sources} source; give two or more tables or map a source column"
            )
        comps = comparisons(counts, n)
        res.fields_compared = [c.create_output_column_name() for c in comps] if comps else []
        if n >= 2 and len(comps) < 2:
            raise MedmineError(
                "linkage needs at least two identity fields with values (for example "
                "given_name and birth_date); map them with --map FIELD=COLUMN"
            )
        if n < 2:
            res.pairs, res.cluster_table = _empty_pairs(), _clusters(con, [], [])
            return res
        _run(con, res, cfg, counts, n, comps, mode)
        res.duration_s = time.perf_counter() - t0
        return res
    finally:
        if own:
            con.close()


def blocked_pairs(
    tables: Any, *, mapping: Mapping[str, str] | None = None, mode: Mode = "dedupe"
) -> set[tuple[str, str]]:
    """Every pair the default blocking rules would score, as sorted ``"source:id"`` tuples.

    For measuring blocking recall against a truth; no model is trained.
    """
    con = duckdb.connect()
    try:
        counts = standardise(con, _as_tables(tables), mapping)
        n = con.execute("SELECT count(*) FROM mm_link_input").fetchall()[0][0]
        cond = {"dedupe": "l.source = r.source", "link": "l.source <> r.source", "both": "true"}
        out: set[tuple[str, str]] = set()
        for rule in blocking_rules(counts, n):
            sql = (
                rule
                if isinstance(rule, str)
                else rule.get_blocking_rule("duckdb").blocking_rule_sql
            )
            rows = con.execute(
                f"SELECT l.uid, r.uid FROM mm_link_input l JOIN mm_link_input r "
                f"ON ({sql}) AND l.uid <> r.uid AND {cond[mode]}"
            ).fetchall()
            out.update((a, b) if a < b else (b, a) for a, b in rows)
        return out
    finally:
        con.close()


def _empty_pairs() -> pa.Table:
    return pa.table(
        {
            "source_l": pa.array([], pa.string()),
            "unique_id_l": pa.array([], pa.string()),
            "source_r": pa.array([], pa.string()),
            "unique_id_r": pa.array([], pa.string()),
            "match_weight": pa.array([], pa.float64()),
            "match_probability": pa.array([], pa.float64()),
            "linked": pa.array([], pa.bool_()),
        }
    )


def _run(
    con: duckdb.DuckDBPyConnection,
    res: LinkageResult,
    cfg: LinkageConfig,
    counts: Mapping[str, int],
    n: int,
    comps: list[Any],
    mode: str,
) -> None:
    from splink import DuckDBAPI, Linker, SettingsCreator

    # Splink 4-5 export this exception only from its internals module.
    from splink.internals.exceptions import EMTrainingException

    t = time.perf_counter()
    rules = blocking_rules(counts, n)
    res.blocking_rules = [
        r if isinstance(r, str) else r.get_blocking_rule("duckdb").blocking_rule_sql for r in rules
    ]
    settings = SettingsCreator(
        link_type=_LINK_TYPE[mode],
        unique_id_column_name="uid",
        source_dataset_column_name="source",
        probability_two_random_records_match=cfg.prior_match_probability or 1e-4,
        comparisons=comps,
        blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=False,
        # per-comparison weights for the page's example pairs; too wide to keep at scale
        retain_intermediate_calculation_columns=n <= EXAMPLES_MAX_RECORDS,
    )
    db = DuckDBAPI(con)
    if mode == "dedupe":
        inputs = [db.register("mm_link_input")]
    else:
        sources = [
            r[0]
            for r in con.execute("SELECT DISTINCT source FROM mm_link_input ORDER BY 1").fetchall()
        ]
        inputs = []
        for i, s in enumerate(sources):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE mm_link_src_{i} AS "
                "SELECT * FROM mm_link_input WHERE source = $1",
                [s],
            )
            inputs.append(db.register(f"mm_link_src_{i}", dataset_display_name=f"s{i}"))
    # Splink's training notes (levels not observed, sample sizes) are for its own users; the
    # page and the result say what a medmine user needs.
    logging.getLogger("splink").setLevel(logging.ERROR)
    linker = Linker(inputs, settings, log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=cfg.max_pairs_u, seed=cfg.seed)
    res.timings["u"] = time.perf_counter() - t
    sample = min(1.0, 300_000 / n)
    trained = 0
    for rule in em_rules(counts, n):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule,
                record_sample_proportion=sample,
                estimate_without_term_frequencies=True,
            )
            trained += 1
        except (EMTrainingException, ValueError):
            # ValueError: an m probability underflowed (EM on too few pairs of a block);
            # the session's estimates are discarded and the other sessions still count.
            continue
    if trained == 0:
        raise MedmineError(
            f"linkage cannot learn match weights from {n:,} records: too few candidate pairs "
            "share a birth date, a name or a postcode to train on; link a larger extract "
            "(hundreds of records or more)"
        )
    res.timings["em"] = time.perf_counter() - t - res.timings["u"]
    res.match_weights = _weights(linker)
    prior0 = float(linker._settings_obj._probability_two_random_records_match)
    pred = linker.inference.predict()  # every blocked pair: the prior is estimated on them all
    res.timings["predict"] = time.perf_counter() - t - res.timings["u"] - res.timings["em"]
    # log2 Bayes factor of each pair = its match weight less the prior's weight
    pw0 = float(np.log2(prior0 / (1 - prior0)))
    lk = con.sql(f"SELECT match_weight FROM {pred.physical_name}").fetchnumpy()["match_weight"]
    lk = np.asarray(lk, dtype=float) - pw0
    if cfg.prior_match_probability is None:
        res.prior = estimate_prior(lk, _total_pairs(con, mode))
    else:
        res.prior = cfg.prior_match_probability
    pw = float(np.log2(res.prior / (1 - res.prior)))
    keep = (
        float(np.log2(cfg.keep_probability / (1 - cfg.keep_probability)))
        if cfg.keep_probability > 0
        else -1e308
    )
    pairs = con.sql(
        f"""
        SELECT p.uid_l, il.source AS source_dataset_l, il.unique_id AS unique_id_l,
               p.uid_r, ir.source AS source_dataset_r, ir.unique_id AS unique_id_r,
               p.match_weight - ({pw0}) + ({pw}) AS match_weight,
               1 / (1 + pow(2, -(p.match_weight - ({pw0}) + ({pw})))) AS match_probability
        FROM {pred.physical_name} p
        JOIN mm_link_input il ON il.uid = p.uid_l
        JOIN mm_link_input ir ON ir.uid = p.uid_r
        WHERE p.match_weight - ({pw0}) + ({pw}) >= {keep}
        ORDER BY match_weight DESC, p.uid_l, p.uid_r
        """
    ).to_arrow_table()
    res.n_blocked_pairs = int(lk.size)
    if n <= EXAMPLES_MAX_RECORDS:
        res.examples = _examples(con, linker, pred.physical_name, pw0, pw)
    _finish(con, res, cfg, pairs, mode)
    res.timings["cluster"] = (
        time.perf_counter() - t - res.timings["u"] - res.timings["em"] - res.timings["predict"]
    )


def _examples(
    con: duckdb.DuckDBPyConnection, linker: Any, table: str, pw0: float, pw: float, k: int = 6
) -> list[dict[str, Any]]:
    """A few scored pairs as comparison levels (no identifier values): the strongest, those
    nearest even odds, and the weakest kept, for a reader to see what the model weighs.
    """
    by_weight: dict[str, list[tuple[float, str]]] = {}
    for lvl in _weights(linker):
        if lvl["match_weight"] is not None:
            by_weight.setdefault(lvl["comparison"], []).append((lvl["match_weight"], lvl["level"]))
    names = list(by_weight)
    cols = ", ".join(ident(f"mw_{c}") for c in names)
    w = f"(match_weight - ({pw0}) + ({pw}))"
    rows = []
    for kind, order in (("strongest", f"{w} DESC"), ("near the threshold", f"abs({w})"),
                        ("weakest kept", f"{w} ASC")):  # fmt: skip
        cond = f"WHERE {w} >= -7" if kind == "weakest kept" else ""
        got = con.execute(
            f"SELECT {w} AS w, {cols} FROM {table} {cond} ORDER BY {order} LIMIT {int(k)}"
        ).fetchall()
        for r in got:
            row: dict[str, Any] = {"example": kind, "match_weight": round(float(r[0]), 2)}
            for name, mw in zip(names, r[1:], strict=True):
                row[name] = _level_label(by_weight[name], mw)
            rows.append(row)
    return rows


def _level_label(levels: list[tuple[float, str]], mw: float | None) -> str:
    if mw is None or mw == 0:
        return "missing"
    best = min(levels, key=lambda lv: abs(lv[0] - mw))
    return f"{best[1]} ({mw:+.1f})" if abs(best[0] - mw) < 1e-6 else f"{mw:+.1f}"


def _total_pairs(con: duckdb.DuckDBPyConnection, mode: str) -> float:
    """Pairs the linkage could compare without blocking, in this mode."""
    sizes = [
        r[0] for r in con.execute("SELECT count(*) FROM mm_link_input GROUP BY source").fetchall()
    ]
    n = sum(sizes)
    cross = (n * n - sum(s * s for s in sizes)) / 2
    if mode == "link":
        return float(cross)
    if mode == "dedupe":
        return float(sum(s * (s - 1) / 2 for s in sizes))
    return float(n * (n - 1) / 2)


def estimate_prior(log2_bayes: np.ndarray, total_pairs: float, iterations: int = 200) -> float:
    """Probability that two random records match, by expectation maximisation.

    With m and u fixed, the share of matches among the blocked pairs is the fixed point of
    ``lambda = mean(P(match | pair, lambda))``; blocking keeps nearly every match (measured:
    >= 99.8% on FEBRL), so the prior over all pairs is that share times blocked / all pairs.
    """
    if log2_bayes.size == 0 or total_pairs <= 0:
        return 1e-6
    lam = 0.5
    for _ in range(iterations):
        logit = log2_bayes + np.log2(lam / (1 - lam))
        new = float(np.mean(1 / (1 + np.exp2(-np.clip(logit, -1000, 1000)))))
        new = min(max(new, 1e-12), 1 - 1e-9)
        if abs(new - lam) < 1e-12:
            break
        lam = new
    prior = lam * log2_bayes.size / total_pairs
    return float(min(max(prior, 1e-12), 0.5))


def _weights(linker: Any) -> list[dict[str, Any]]:
    out = []
    for c in linker._settings_obj.comparisons:
        for lvl in c.comparison_levels:
            if lvl.is_null_level:
                continue
            w = lvl._bayes_factor
            out.append(
                {
                    "comparison": c.output_column_name,
                    "level": lvl.label_for_charts,
                    "m": lvl.m_probability,
                    "u": lvl.u_probability,
                    "match_weight": float(np.log2(w)) if w and w > 0 else None,
                }
            )
    return out


def expected_curve(prob: np.ndarray, grid: Sequence[float] | None = None) -> list[dict]:
    """Precision, recall and F1 the model expects at each threshold (calibrated-model view).

    Expected true links above ``t`` are ``sum(p >= t)``; expected matches overall are the
    sum of every scored pair's probability.
    """
    p = np.sort(np.asarray(prob, dtype=float))[::-1]
    total = p.sum()
    cum = np.cumsum(p)
    grid = grid if grid is not None else [0.05 * i for i in range(1, 20)] + [0.99, 0.999]
    out = []
    for t in grid:
        k = int(np.searchsorted(-p, -t, side="right"))
        tp = cum[k - 1] if k else 0.0
        prec = tp / k if k else 1.0
        rec = tp / total if total else 1.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out.append({"threshold": round(float(t), 4), "precision": float(prec),
                    "recall": float(rec), "f1": float(f1), "links": k})  # fmt: skip
    return out


def choose_threshold(prob: np.ndarray) -> float:
    """The probability threshold that maximises the model's expected F1 (in [0.05, 0.99])."""
    p = np.sort(np.asarray(prob, dtype=float))[::-1]
    if p.size == 0:
        return 0.5
    cum = np.cumsum(p)
    k = np.arange(1, p.size + 1)
    f1 = 2 * cum / (k + p.sum())
    best = int(np.argmax(f1))
    return float(min(0.99, max(0.05, p[best])))


def _finish(
    con: duckdb.DuckDBPyConnection,
    res: LinkageResult,
    cfg: LinkageConfig,
    pairs: pa.Table,
    mode: str,
) -> None:
    prob = pairs.column("match_probability").to_numpy(zero_copy_only=False)
    res.n_pairs_scored = pairs.num_rows
    res.threshold = cfg.threshold_probability or choose_threshold(prob)
    res.curve = expected_curve(prob)
    linked = prob >= res.threshold
    one_to_one = cfg.one_to_one if cfg.one_to_one is not None else mode == "link"
    if one_to_one and pairs.num_rows:
        linked &= _mutual_best(con, pairs)
    pairs = pairs.append_column("linked", pa.array(linked))
    res.n_links = int(linked.sum())
    uid_l = pairs.column("uid_l").filter(pairs.column("linked")).to_pylist()
    uid_r = pairs.column("uid_r").filter(pairs.column("linked")).to_pylist()
    res.cluster_table = _clusters(con, uid_l, uid_r)
    res.pairs = pa.table(
        {
            "source_l": pairs.column("source_dataset_l"),
            "unique_id_l": pairs.column("unique_id_l"),
            "source_r": pairs.column("source_dataset_r"),
            "unique_id_r": pairs.column("unique_id_r"),
            "match_weight": pairs.column("match_weight").cast(pa.float64()),
            "match_probability": pairs.column("match_probability").cast(pa.float64()),
            "linked": pairs.column("linked"),
        }
    )


def _mutual_best(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> np.ndarray:
    """True where the pair is each record's best pair towards the other's source."""
    cand = pairs.select(  # noqa: F841  (read by DuckDB)
        [
            "uid_l",
            "source_dataset_r",
            "uid_r",
            "source_dataset_l",  # noqa: F841
            "match_weight",
        ]
    ).append_column("i", pa.array(np.arange(pairs.num_rows)))
    keep = con.execute(
        """
        SELECT i FROM (
          SELECT i,
                 row_number() OVER (PARTITION BY uid_l, source_dataset_r
                                    ORDER BY match_weight DESC, uid_r) AS rl,
                 row_number() OVER (PARTITION BY uid_r, source_dataset_l
                                    ORDER BY match_weight DESC, uid_l) AS rr
          FROM cand)
        WHERE rl = 1 AND rr = 1
        """
    ).fetchnumpy()["i"]
    mask = np.zeros(pairs.num_rows, dtype=bool)
    mask[np.asarray(keep, dtype=np.int64)] = True
    return mask


def _clusters(con: duckdb.DuckDBPyConnection, uid_l: list[str], uid_r: list[str]) -> pa.Table:
    """Connected components of the linked pairs; cluster ids are 1, 2, ... by first uid."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = con.sql("SELECT uid, source, unique_id FROM mm_link_input ORDER BY uid").to_arrow_table()
    uids = ids.column("uid").to_pylist()
    index = {u: i for i, u in enumerate(uids)}
    n = len(uids)
    rows = np.fromiter((index[u] for u in uid_l), dtype=np.int64, count=len(uid_l))
    cols = np.fromiter((index[u] for u in uid_r), dtype=np.int64, count=len(uid_r))
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # renumber by first appearance so that ids are stable for the same input and links
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(1, len(order) + 1)
    return pa.table(
        {
            "source": ids.column("source"),
            "unique_id": ids.column("unique_id"),
            "cluster_id": pa.array(rank[labels], pa.int64()),
        }
    )
