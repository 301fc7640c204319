"""End-of-load SQL passes, run inside the load's transaction after the last flush.

The passes:

1. conditional references (``Type?identifier=system|value``) kept in ``mm_reference`` are
   resolved against ``mm_identifier`` (identifiers of this and earlier loads), and the
   resolved ids are written into the referring rows; those still unresolved count as warnings;
2. amounts adjudicated by ExplanationOfBenefit (``cost`` rows) are copied into ``mm_claim`` and
   ``mm_claim_line``;
3. providers take the specialty and organisation of their PractitionerRole;
4. persons without an observation period get one spanning their first to last event (FHIR has
   no such notion; OMOP analyses need it to know when a person's events are expected);
5. source codes are mapped to standard concepts where the warehouse ``concept`` table has them
   (``Maps to`` for non-standard ones); without a vocabulary nothing changes.
"""

from __future__ import annotations

from medmine.ingest.codes import TYPE_EHR
from medmine.warehouse import LoadSession, Reason, table
from medmine.warehouse.schema import DOMAINS
from medmine.warehouse.sql import ident, literal

_TARGET_TABLE = {
    "Patient": "person",
    "Practitioner": "provider",
    "Organization": "care_site",
    "Location": "location",
}

#: Event domains whose source codes `map_concepts` maps (columns from `DOMAINS`).
CONCEPT_DOMAINS = ("condition", "procedure", "drug", "measurement", "observation")


def resolve_conditional_references(s: LoadSession) -> None:
    """Resolve kept conditional references; count this load's unresolved ones as warnings."""
    con = s.wh.con
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in _TARGET_TABLE.items())
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fhir_resolved AS "
        "SELECT r.table_name, r.row_id, r.column_name, r.target_type, min(i.row_id) AS rid "
        "FROM mm_reference r JOIN mm_identifier i "
        f"ON i.table_name = CASE r.target_type {cases} END "
        "AND i.value = r.value AND (r.system = '' OR i.system = r.system) "
        "WHERE r.resolved_id IS NULL AND r.value IS NOT NULL GROUP BY ALL"
    )
    try:
        con.execute(
            "UPDATE mm_reference SET resolved_id = f.rid FROM fhir_resolved f "
            "WHERE mm_reference.table_name = f.table_name AND mm_reference.row_id = f.row_id "
            "AND mm_reference.column_name = f.column_name"
        )
        targets = con.execute(
            "SELECT DISTINCT table_name, column_name, target_type FROM fhir_resolved ORDER BY ALL"
        ).fetchall()
        for tname, column, target in targets:
            spec = table(tname)  # raises on anything that is not a warehouse table
            fk = spec.column(column).fk
            if fk is None or fk[0] != _TARGET_TABLE.get(target):
                continue  # e.g. an Organization where the column holds providers: link kept only
            pk = spec.primary_key[0]
            con.execute(
                f"UPDATE {ident(tname)} SET {ident(column)} = f.rid FROM fhir_resolved f "
                "WHERE f.table_name = ? AND f.column_name = ? AND f.target_type = ? "
                f"AND {ident(tname)}.{ident(pk)} = f.row_id",
                [tname, column, target],
            )
    finally:
        con.execute("DROP TABLE IF EXISTS fhir_resolved")
    for rtype, n in con.execute(
        "SELECT resource_type, count(*) FROM mm_reference WHERE load_id = ? "
        "AND value IS NOT NULL AND resolved_id IS NULL GROUP BY 1 ORDER BY 1",
        [s.load_id],
    ).fetchall():
        s.warn(rtype, Reason.UNRESOLVED_REFERENCE, int(n))


def apply_adjudications(s: LoadSession) -> None:
    """Copy EOB amounts (``cost`` rows) into claims and claim lines not enriched yet."""
    con = s.wh.con
    con.execute(
        "UPDATE mm_claim SET total_allowed = c.amount_allowed, total_paid = c.paid_by_payer, "
        "patient_paid = c.paid_by_patient, "
        "total_billed = coalesce(mm_claim.total_billed, c.total_charge) "
        "FROM cost c WHERE c.cost_domain_id = 'mm_claim' AND c.cost_event_id = mm_claim.claim_id "
        "AND mm_claim.total_paid IS NULL AND mm_claim.total_allowed IS NULL"
    )
    con.execute(
        "UPDATE mm_claim_line SET allowed_amount = c.amount_allowed, "
        "paid_amount = c.paid_by_payer, "
        "billed_amount = coalesce(mm_claim_line.billed_amount, c.total_charge) "
        "FROM cost c WHERE c.cost_domain_id = 'mm_claim_line' "
        "AND c.cost_event_id = mm_claim_line.claim_line_id "
        "AND mm_claim_line.paid_amount IS NULL AND mm_claim_line.allowed_amount IS NULL"
    )


def map_concepts(s: LoadSession) -> None:
    """Fill ``*_concept_id`` / ``*_source_concept_id`` from the ``concept`` table, if any."""
    con = s.wh.con
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM concept LIMIT 1)").fetchone()[0]:
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fhir_concept_map AS "
        "SELECT c.vocabulary_id || ':' || c.concept_code AS sv, c.concept_id AS source_id, "
        "coalesce(CASE WHEN c.standard_concept = 'S' THEN c.concept_id END, "
        "min(cr.concept_id_2), 0) AS std_id "
        "FROM concept c LEFT JOIN concept_relationship cr ON cr.concept_id_1 = c.concept_id "
        "AND cr.relationship_id = 'Maps to' AND cr.invalid_reason IS NULL "
        "GROUP BY c.vocabulary_id, c.concept_code, c.concept_id, c.standard_concept"
    )
    try:
        for d in map(DOMAINS.__getitem__, CONCEPT_DOMAINS):
            t, cid, scid = ident(d.table), ident(d.concept_column), ident(d.source_concept_column)
            con.execute(
                f"UPDATE {t} SET {cid} = m.std_id, {scid} = m.source_id "
                f"FROM fhir_concept_map m WHERE {t}.{ident(d.source_value_column)} = m.sv "
                f"AND {t}.{scid} IS NULL AND {t}.{cid} = 0"
            )
    finally:
        con.execute("DROP TABLE IF EXISTS fhir_concept_map")


def apply_provider_roles(s: LoadSession) -> None:
    """Give providers without a specialty or care site those of their (first) role."""
    s.wh.con.execute(
        "UPDATE provider SET specialty_source_value = coalesce(provider.specialty_source_value, "
        "r.specialty), care_site_id = coalesce(provider.care_site_id, r.care_site_id) "
        "FROM (SELECT provider_id, min(specialty_source_value) AS specialty, "
        "min(care_site_id) AS care_site_id FROM mm_provider_role "
        "WHERE provider_id IS NOT NULL GROUP BY 1) r "
        "WHERE provider.provider_id = r.provider_id "
        "AND (provider.specialty_source_value IS NULL OR provider.care_site_id IS NULL)"
    )


#: Event domains that bound a derived observation period, and whether an event's end date
#: counts (visits, drug exposures) or only its start; the columns come from `DOMAINS`.
_PERIOD_EVENTS = (
    ("visit", True),
    ("condition", False),
    ("drug", True),
    ("procedure", False),
    ("measurement", False),
    ("observation", False),
)


def _event_spans() -> str:
    """``person_id, d0, d1`` of every event of the `_PERIOD_EVENTS` domains, as one query."""
    parts = []
    for name, with_end in _PERIOD_EVENTS:
        d = DOMAINS[name]
        start = ident(d.start_column)
        end = ident(d.end_column) if with_end and d.end_column else start
        parts.append(f"SELECT person_id, {start} AS d0, {end} AS d1 FROM {ident(d.table)}")
    return " UNION ALL ".join(parts)


def derive_observation_periods(s: LoadSession) -> int:
    """Add one observation period (first to last event, EHR type) for FHIR persons lacking one.

    The period id is the person id (one derived period per person; FHIR person ids are
    63-bit keyed hashes, disjoint from the small integer ids of OMOP sources). Returns the
    number of periods added.
    """
    spans = _event_spans()
    n = s.wh.con.execute(
        "INSERT OR IGNORE INTO observation_period (observation_period_id, person_id, "
        "observation_period_start_date, observation_period_end_date, period_type_concept_id) "
        f"SELECT p.person_id, p.person_id, min(e.d0), max(coalesce(e.d1, e.d0)), {TYPE_EHR} "
        f"FROM person p JOIN ({spans}) e ON e.person_id = p.person_id "
        "WHERE p.person_source_value LIKE 'Patient/%' AND NOT EXISTS (SELECT 1 FROM "
        "observation_period o WHERE o.person_id = p.person_id) GROUP BY p.person_id"
    ).fetchone()[0]
    s.report.rows_written["observation_period"] = s.report.rows_written.get(
        "observation_period", 0
    ) + int(n)
    return int(n)


def finish_load(s: LoadSession) -> None:
    """Run the end-of-load passes (after the final flush, inside the transaction)."""
    s.flush()
    resolve_conditional_references(s)
    apply_adjudications(s)
    apply_provider_roles(s)
    derive_observation_periods(s)
    map_concepts(s)
