"""Consent-aware, audited Parquet export: only persons eligible for a purpose, only tables
that can be filtered by person (or hold no person data), files private to their owner.

Default-deny: a table is exported only if it is on one of the lists below. Provenance
(`mm_source_record`, whose file names may carry a name), loads, references, quarantine,
quality results, consent, the audit log, identity and linkage tables are never exported,
whatever is asked; so is `mm_source_concept` (display strings copied from source files) and
`mm_provider_role`. A new table of the schema stays out until someone classifies it here.

>>> export_parquet(wh, "out/", "research")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmine.errors import PrivacyError
from medmine.privacy.consent import ConsentPolicy, eligible_persons
from medmine.warehouse import audit
from medmine.warehouse.files import private_dir, private_umask
from medmine.warehouse.schema import TABLES, table
from medmine.warehouse.sql import ident, literal

#: Tables with no person data, exported whole: vocabularies and the organisations that
#: provided care (names of clinicians and sites are not the patients').
UNFILTERED_TABLES = ("concept", "concept_ancestor", "concept_relationship", "care_site", "provider")

#: Tables without a person column that are filtered by the persons they belong to.
LINKED_FILTERS = {
    "note_nlp": "note_id IN (SELECT note_id FROM note WHERE person_id IN ({persons}))",
    "location": (
        "location_id IN (SELECT location_id FROM person WHERE person_id IN ({persons})) "
        "OR location_id IN (SELECT location_id FROM care_site)"
    ),
    "cost": "{cost}",
}

#: ``cost.cost_domain_id`` -> (event table, its id column); costs of other domains are dropped.
COST_DOMAINS = {
    "mm_claim": ("mm_claim", "claim_id"),
    "mm_claim_line": ("mm_claim_line", "claim_line_id"),
    "Visit": ("visit_occurrence", "visit_occurrence_id"),
    "Condition": ("condition_occurrence", "condition_occurrence_id"),
    "Drug": ("drug_exposure", "drug_exposure_id"),
    "Procedure": ("procedure_occurrence", "procedure_occurrence_id"),
    "Device": ("device_exposure", "device_exposure_id"),
    "Measurement": ("measurement", "measurement_id"),
    "Observation": ("observation", "observation_id"),
    "Specimen": ("specimen", "specimen_id"),
}

#: Roles whose tables are never exported, even though some have a person column.
_NEVER_ROLES = ("identity", "privacy")


def _person_tables() -> tuple[str, ...]:
    return tuple(
        t.name
        for t in TABLES
        if t.person_column and t.role not in _NEVER_ROLES and t.name not in UNFILTERED_TABLES
    )


#: Every table this export may write.
EXPORTABLE = (*_person_tables(), *LINKED_FILTERS, *UNFILTERED_TABLES)
#: Tables never written by this export (everything else in the schema).
NEVER_EXPORTED = tuple(t.name for t in TABLES if t.name not in EXPORTABLE)


@dataclass
class ExportReport:
    """Files written, rows per table and the consent exclusion count."""

    purpose: str
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    eligible: int = 0
    excluded: int = 0


def _cost_filter(persons: str) -> str:
    parts = [
        f"(cost_domain_id = {literal(domain)} AND cost_event_id IN "
        f"(SELECT {ident(col)} FROM {ident(tbl)} WHERE person_id IN ({persons})))"
        for domain, (tbl, col) in COST_DOMAINS.items()
    ]
    return " OR ".join(parts)


def _where(name: str, persons: str) -> str:
    spec = table(name)
    if name in UNFILTERED_TABLES:
        return ""
    if name in LINKED_FILTERS:
        return "WHERE " + LINKED_FILTERS[name].format(persons=persons, cost=_cost_filter(persons))
    return f"WHERE {ident(spec.person_column)} IN ({persons})"


def export_parquet(
    wh: Any,
    directory: str | Path,
    purpose: str,
    tables: Sequence[str] | None = None,
    policy: ConsentPolicy | None = None,
) -> ExportReport:
    """Export tables to ``directory/<table>.parquet`` keeping only persons eligible for
    `purpose`; appends one audit entry and returns how many persons were excluded.

    Tables with a person column are filtered by consent; ``note_nlp``, ``location`` and
    ``cost`` follow the notes, persons and events they belong to; vocabularies, providers
    and care sites are written whole. Files are created 0600 in a 0700 folder.

    Raises
    ------
    PrivacyError
        A table in `NEVER_EXPORTED` was asked for.
    """
    names = list(tables or EXPORTABLE)
    refused = [n for n in names if n not in EXPORTABLE]
    if refused:
        raise PrivacyError(
            f"table(s) {', '.join(refused)} are never exported with consent filtering: they "
            "hold direct identifiers, raw source records or provenance, or cannot be filtered "
            f"by person; exportable: {', '.join(EXPORTABLE)}"
        )
    f = eligible_persons(wh, purpose, policy)
    out = private_dir(directory)
    rep = ExportReport(purpose=purpose, eligible=f.eligible, excluded=f.excluded)
    with private_umask():
        for name in names:
            query = f"SELECT * FROM {ident(name)} {_where(name, f.person_ids_sql)}"
            target = out / f"{name}.parquet"
            tmp = out / f".{name}.parquet.tmp"
            wh.con.execute(f"COPY ({query}) TO {literal(tmp)} (FORMAT parquet)")
            tmp.replace(target)
            rep.files[name] = target
            n = wh.con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
            rep.rows[name] = int(n)
    audit.append(
        wh.con,
        None,
        "export",
        str(out.name),
        sum(rep.rows.values()),
        purpose,
        {"tables": len(names), "eligible": f.eligible, "excluded": f.excluded},
    )
    return rep
