"""Link the warehouse's identities (``mm_person_identity``) and store clusters and pairs."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from medmine.quality.linkage._engine import LinkageConfig, LinkageResult, link_tables
from medmine.warehouse import Warehouse

__all__ = ["link_persons"]

#: The warehouse's identity columns as linkage fields (MRN authority comes from mm_identifier
#: when the MRN was loaded with its system).
_IDENTITY_SQL = """
SELECT CAST(i.person_id AS VARCHAR) AS unique_id, i.source, i.given_name, i.family_name,
       i.birth_date, i.sex, i.address_line, i.city, i.state, i.zip, i.phone, i.email, i.ssn,
       i.mrn, a.system AS mrn_authority
FROM mm_person_identity i
LEFT JOIN (
    SELECT row_id, value, min(system) AS system FROM mm_identifier
    WHERE table_name = 'person' GROUP BY row_id, value
) a ON a.row_id = i.person_id AND a.value = i.mrn
"""


def link_persons(
    wh: Warehouse,
    config: LinkageConfig | None = None,
    *,
    mode: str = "both",
    store: bool = True,
) -> LinkageResult:
    """Link ``mm_person_identity`` rows; write ``mm_person_link`` and ``mm_person_link_pair``.

    Parameters
    ----------
    wh
        The warehouse.
    config
        Model settings (defaults need no tuning).
    mode
        ``both`` (default: duplicates within and links across sources), ``dedupe`` or ``link``.
    store
        Replace the stored clusters and pairs with this run's.
    """
    ident = wh.con.sql(_IDENTITY_SQL).to_arrow_table()
    n_sources = len(set(ident.column("source").to_pylist()))
    if mode == "both" and n_sources < 2:
        mode = "dedupe"
    con = duckdb.connect(config={"memory_limit": (config or LinkageConfig()).memory_limit})
    try:
        res = link_tables([ident], mode=mode, config=config, con=con)  # type: ignore[arg-type]
    finally:
        con.close()
    if store and res.n_records:
        _store(wh, res)
    return res


def _store(wh: Warehouse, res: LinkageResult) -> None:
    ct = res.cluster_table
    pairs = res.pairs
    assert ct is not None and pairs is not None
    links = pa.table(  # noqa: F841  (read by DuckDB)
        {
            "cluster_id": ct.column("cluster_id"),
            "person_id": ct.column("unique_id").cast(pa.int64()),
            "source": ct.column("source"),
            "run_id": pa.array([res.run_id] * ct.num_rows, pa.string()),
        }
    )
    pt = pa.table(  # noqa: F841
        {
            "person_id_l": pairs.column("unique_id_l").cast(pa.int64()),
            "source_l": pairs.column("source_l"),
            "person_id_r": pairs.column("unique_id_r").cast(pa.int64()),
            "source_r": pairs.column("source_r"),
            "match_weight": pairs.column("match_weight"),
            "match_probability": pairs.column("match_probability"),
            "linked": pairs.column("linked"),
        }
    )
    with wh.transaction() as con:
        con.execute("DELETE FROM mm_person_link")
        # a record's weight and probability: its best linked pair
        con.execute(
            """
            INSERT INTO mm_person_link BY NAME
            WITH best AS (
              SELECT person_id, source, max(match_weight) AS w,
                     arg_max(match_probability, match_weight) AS p
              FROM (SELECT person_id_l AS person_id, source_l AS source, match_weight,
                           match_probability FROM pt WHERE linked
                    UNION ALL
                    SELECT person_id_r, source_r, match_weight, match_probability
                    FROM pt WHERE linked)
              GROUP BY ALL)
            SELECT l.cluster_id, l.person_id, l.source, b.w AS match_weight,
                   b.p AS match_probability, l.run_id
            FROM links l LEFT JOIN best b USING (person_id, source)
            """
        )
        con.execute("DELETE FROM mm_person_link_pair")
        con.execute("INSERT INTO mm_person_link_pair BY NAME SELECT * FROM pt")
