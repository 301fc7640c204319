"""Patient linkage: find the records of one person within and across sources.

Identity records (the warehouse's ``mm_person_identity``, CSV/Parquet files, DataFrames or
Arrow tables) are standardised, compared with a Fellegi-Sunter model trained by Splink on
DuckDB (u by random sampling, m and the prior by expectation maximisation, term-frequency
adjustments), scored on blocked pairs and clustered at a threshold chosen from the model.
No identifier is logged; results hold ids, weights and probabilities only.

>>> from medmine.warehouse import Warehouse
>>> link_persons(Warehouse(":memory:")).n_records
0
"""

from medmine.quality.linkage._engine import (
    LinkageConfig,
    LinkageResult,
    blocked_pairs,
    link_tables,
)
from medmine.quality.linkage._metrics import LinkageMetrics, evaluate_clusters, evaluate_pairs
from medmine.quality.linkage._names import name_groups, nicknames
from medmine.quality.linkage._persons import link_persons
from medmine.quality.linkage._standardise import FIELDS, parse_mapping

__all__ = [
    "FIELDS",
    "LinkageConfig",
    "LinkageMetrics",
    "LinkageResult",
    "blocked_pairs",
    "evaluate_clusters",
    "evaluate_pairs",
    "link_persons",
    "link_tables",
    "name_groups",
    "nicknames",
    "parse_mapping",
]
