"""Association rules on Spark: the transactions' own SQL, mined by Spark MLlib's FPGrowth.

The transactions are the rows of `medmine.mining.rules.transactions.clinical_pairs_sql` (the
SQL `clinical_transactions` runs on DuckDB), transpiled to Spark; MLlib's parallel FP-Growth
(Li et al., RecSys 2008) mines them without collecting a basket on the driver. The result has
the columns of medmine's own miner, so the two can be compared itemset by itemset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from medmine.mining.rules.transactions import clinical_pairs_sql

__all__ = ["SparkFPGrowthResult", "spark_fpgrowth"]


@dataclass
class SparkFPGrowthResult:
    """Frequent itemsets and rules found by MLlib.

    Attributes
    ----------
    itemsets
        ``items`` (frozenset of item keys such as ``condition:201826``), ``count``, ``support``.
    rules
        ``antecedent``, ``consequent`` (frozensets), ``confidence``, ``lift``, ``support``.
    n_transactions
        Number of transactions (persons or visits with at least one item).
    """

    itemsets: pd.DataFrame
    rules: pd.DataFrame
    n_transactions: int


def spark_fpgrowth(
    wh: Any,
    *,
    min_support: float = 0.05,
    min_confidence: float = 0.5,
    max_len: int | None = None,
    by: str = "person",
    domains: Sequence[str] = ("condition", "drug"),
    person_ids_sql: str | None = None,
) -> SparkFPGrowthResult:
    """Mine frequent itemsets and rules of a `medmine.spark.SparkWarehouse` with MLlib.

    Parameters
    ----------
    wh
        A `SparkWarehouse`.
    min_support, min_confidence
        As MLlib's ``FPGrowth`` (an itemset is frequent when its count is at least
        ``ceil(min_support * n)``, medmine's rule too).
    max_len
        Longest itemset kept (MLlib has no cap: longer itemsets are mined, then dropped).
    by, domains, person_ids_sql
        As `medmine.mining.rules.clinical_transactions`.
    """
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F  # noqa: N812

    if not 0 < min_support <= 1:
        raise ValueError(
            f"The 'min_support' parameter of spark_fpgrowth must be a float in (0, 1]. "
            f"Got {min_support!r} instead."
        )
    pairs = wh.con.sql(clinical_pairs_sql(by=by, domains=domains, person_ids_sql=person_ids_sql))
    baskets = pairs.groupBy("tid").agg(F.array_sort(F.collect_set("item")).alias("items"))
    baskets = baskets.cache()
    n = baskets.count()
    model = FPGrowth(
        itemsCol="items", minSupport=float(min_support), minConfidence=float(min_confidence)
    ).fit(baskets)
    sets = model.freqItemsets
    if max_len is not None:
        sets = sets.where(F.size("items") <= int(max_len))
    itemsets = sets.toPandas()
    rules = model.associationRules
    if max_len is not None:
        rules = rules.where(F.size("antecedent") + F.size("consequent") <= int(max_len))
    rules_df = rules.toPandas()
    baskets.unpersist()
    itemsets = pd.DataFrame(
        {
            "items": [frozenset(i) for i in itemsets["items"]],
            "count": itemsets["freq"].astype("int64"),
            "support": itemsets["freq"] / n if n else itemsets["freq"] * 0.0,
        }
    )
    order = pd.DataFrame(
        {
            "n": -itemsets["count"],
            "k": [len(i) for i in itemsets["items"]],
            "s": ["\x1f".join(sorted(i)) for i in itemsets["items"]],
        }
    ).sort_values(["n", "k", "s"])
    itemsets = itemsets.loc[order.index].reset_index(drop=True)
    rules_out = pd.DataFrame(
        {
            "antecedent": [frozenset(a) for a in rules_df["antecedent"]],
            "consequent": [frozenset(c) for c in rules_df["consequent"]],
            "confidence": rules_df["confidence"].astype(float),
            "lift": rules_df["lift"].astype(float),
            "support": rules_df["support"].astype(float),
        }
    )
    return SparkFPGrowthResult(itemsets, rules_out, int(n))
