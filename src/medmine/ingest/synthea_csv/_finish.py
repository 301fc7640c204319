"""End-of-load SQL for a Synthea CSV load: claim money and observation periods.

1. The money transactions of each claim line (kept by `_claims.claim_transaction`, staged in a
   temporary table so memory stays bounded) become one ``cost`` row per claim line and one per
   claim, with the same columns an ExplanationOfBenefit gives from FHIR; their amounts are then
   copied into ``mm_claim_line`` (allowed, paid) and ``mm_claim`` (billed, allowed, paid, paid by
   the patient).
2. Persons of this load without an observation period get one from their first to their last
   event, as the FHIR reader derives it (visit and drug end dates count; other events by start).
"""

from __future__ import annotations

import pyarrow as pa

from medmine.ingest.codes import TYPE_CLAIM, TYPE_EHR
from medmine.ingest.synthea_csv._reader import KIND, SyntheaReader, Transaction
from medmine.warehouse import LoadSession, Provenance
from medmine.warehouse.schema import DOMAINS
from medmine.warehouse.sql import ident

#: Transactions kept in memory before they are staged in the temporary table.
STAGE_ROWS = 50_000
_STAGE = "synthea_csv_transactions"


def stage(s: LoadSession, reader: SyntheaReader) -> None:
    """Move the kept transactions into the load's temporary table."""
    if not reader.transactions:
        return
    s.flush()
    tbl = pa.Table.from_pylist([t._asdict() for t in reader.transactions])  # noqa: F841
    reader.transactions.clear()
    con = s.wh.con
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} AS SELECT * FROM tbl LIMIT 0")
    con.execute(f"INSERT INTO {_STAGE} SELECT * FROM tbl")


_LINE_COST = f"""
SELECT t.cost_id, t.line_id AS cost_event_id, 'mm_claim_line' AS cost_domain_id,
       {TYPE_CLAIM} AS cost_type_concept_id, l.billed_amount AS total_charge,
       round(sum(t.paid_by_payer) + sum(t.paid_by_patient), 2) AS total_paid,
       round(sum(t.paid_by_payer), 2) AS paid_by_payer,
       round(sum(t.paid_by_patient), 2) AS paid_by_patient,
       round(sum(t.copay), 2) AS paid_patient_copay,
       round(l.billed_amount - sum(abs(t.adjustment)), 2) AS amount_allowed,
       min(t.source_file) AS source_file, min(t.location) AS location,
       min(t.source_key) AS source_key
FROM {_STAGE} t LEFT JOIN mm_claim_line l ON l.claim_line_id = t.line_id
GROUP BY t.cost_id, t.line_id, l.billed_amount
"""
_CLAIM_COST = f"""
SELECT t.claim_cost_id AS cost_id, t.claim_id AS cost_event_id, 'mm_claim' AS cost_domain_id,
       {TYPE_CLAIM} AS cost_type_concept_id, round(sum(c.total_charge), 2) AS total_charge,
       round(sum(c.total_paid), 2) AS total_paid, round(sum(c.paid_by_payer), 2) AS paid_by_payer,
       round(sum(c.paid_by_patient), 2) AS paid_by_patient,
       round(sum(c.paid_patient_copay), 2) AS paid_patient_copay,
       round(sum(c.amount_allowed), 2) AS amount_allowed,
       min(c.source_file) AS source_file, min(c.location) AS location,
       min(c.source_key) AS source_key
FROM (SELECT DISTINCT cost_id, claim_cost_id, claim_id FROM {_STAGE}) t
JOIN synthea_csv_line_cost c ON c.cost_id = t.cost_id
GROUP BY t.claim_cost_id, t.claim_id
"""
_COST_COLUMNS = (
    "cost_id, cost_event_id, cost_domain_id, cost_type_concept_id, total_charge, total_paid, "
    "paid_by_payer, paid_by_patient, paid_patient_copay, amount_allowed"
)


def claim_money(s: LoadSession, reader: SyntheaReader) -> None:
    """Sum the staged transactions into ``cost`` rows and copy the amounts into the claims."""
    stage(s, reader)
    con = s.wh.con
    if not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [_STAGE]
    ).fetchone()[0]:
        return
    try:
        con.execute(f"CREATE TEMP TABLE synthea_csv_line_cost AS {_LINE_COST}")
        con.execute(f"CREATE TEMP TABLE synthea_csv_claim_cost AS {_CLAIM_COST}")
        for tmp in ("synthea_csv_line_cost", "synthea_csv_claim_cost"):
            n = con.execute(
                f"INSERT OR IGNORE INTO cost ({_COST_COLUMNS}) SELECT {_COST_COLUMNS} FROM {tmp}"
            ).fetchone()[0]
            s.report.rows_written["cost"] = s.report.rows_written.get("cost", 0) + int(n)
            prov = con.sql(
                f"SELECT cost_id, source_file, location, source_key FROM {tmp}"
            ).to_arrow_table()
            s.add_provenance(
                "cost",
                prov["cost_id"],
                record_type="ClaimTransaction",
                provenance=Provenance(prov["source_file"], prov["location"], prov["source_key"]),
            )
        con.execute(
            "UPDATE mm_claim_line SET allowed_amount = c.amount_allowed, "
            "paid_amount = c.paid_by_payer FROM synthea_csv_line_cost c "
            "WHERE mm_claim_line.claim_line_id = c.cost_event_id"
        )
        con.execute(
            "UPDATE mm_claim SET total_allowed = c.amount_allowed, total_paid = c.paid_by_payer, "
            "patient_paid = c.paid_by_patient FROM synthea_csv_claim_cost c "
            "WHERE mm_claim.claim_id = c.cost_event_id"
        )
    finally:
        for tmp in (_STAGE, "synthea_csv_line_cost", "synthea_csv_claim_cost"):
            con.execute(f"DROP TABLE IF EXISTS {tmp}")


def claim_totals(s: LoadSession) -> None:
    """Billed totals of this load's claims, summed from their lines."""
    s.wh.con.execute(
        "UPDATE mm_claim AS h SET total_billed = t.billed FROM (SELECT claim_id, "
        "round(sum(billed_amount), 2) AS billed FROM mm_claim_line GROUP BY 1) AS t "
        "WHERE h.claim_id = t.claim_id AND h.claim_id IN (SELECT row_id FROM mm_source_record "
        "WHERE load_id = ? AND table_name = 'mm_claim')",
        [s.load_id],
    )


#: Event domains bounding a derived observation period, and whether their end date counts.
_PERIOD_EVENTS = (
    ("visit", True),
    ("condition", False),
    ("drug", True),
    ("procedure", False),
    ("measurement", False),
    ("observation", False),
)


def observation_periods(s: LoadSession) -> int:
    """One observation period (first to last event, EHR type) per Synthea CSV person lacking
    one (loaded now or by an earlier load whose events arrive now); the period id is the person
    id. Returns the number of periods added.
    """
    parts = []
    for name, with_end in _PERIOD_EVENTS:
        d = DOMAINS[name]
        start = ident(d.start_column)
        end = ident(d.end_column) if with_end and d.end_column else start
        parts.append(f"SELECT person_id, {start} AS d0, {end} AS d1 FROM {ident(d.table)}")
    spans = " UNION ALL ".join(parts)
    n = s.wh.con.execute(
        "INSERT OR IGNORE INTO observation_period (observation_period_id, person_id, "
        "observation_period_start_date, observation_period_end_date, period_type_concept_id) "
        f"SELECT p.person_id, p.person_id, min(e.d0), max(coalesce(e.d1, e.d0)), {TYPE_EHR} "
        f"FROM person p JOIN ({spans}) e ON e.person_id = p.person_id "
        "WHERE p.person_id IN (SELECT row_id FROM mm_source_record WHERE table_name = 'person' "
        "AND (load_id = ? OR load_id IN (SELECT load_id FROM mm_load WHERE source_kind = ?))) "
        "AND NOT EXISTS (SELECT 1 FROM observation_period o WHERE o.person_id = p.person_id) "
        "GROUP BY p.person_id",
        [s.load_id, KIND],
    ).fetchone()[0]
    s.report.rows_written["observation_period"] = s.report.rows_written.get(
        "observation_period", 0
    ) + int(n)
    return int(n)


__all__ = ["Transaction", "claim_money", "claim_totals", "observation_periods", "stage"]
