"""Consent-aware, audited Parquet export: `Warehouse.export_parquet` for eligible persons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmine.privacy.consent import ConsentPolicy, eligible_persons
from medmine.warehouse import audit
from medmine.warehouse.schema import TABLES, table

#: Tables never exported by this wrapper (direct identifiers and raw quarantined records).
NEVER_EXPORTED = ("mm_person_identity", "mm_identifier", "mm_quarantine")


@dataclass
class ExportReport:
    """Files written, rows per table and the consent exclusion count."""

    purpose: str
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    eligible: int = 0
    excluded: int = 0


def export_parquet(
    wh: Any,
    directory: str | Path,
    purpose: str,
    tables: Sequence[str] | None = None,
    policy: ConsentPolicy | None = None,
) -> ExportReport:
    """Export tables to ``directory/<table>.parquet`` keeping only persons eligible for
    `purpose`; appends one audit entry and returns how many persons were excluded.

    Tables with a person column are filtered by consent; ``note_nlp`` follows its notes;
    identity tables (`NEVER_EXPORTED`) are refused.
    """
    f = eligible_persons(wh, purpose, policy)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rep = ExportReport(purpose=purpose, eligible=f.eligible, excluded=f.excluded)
    names = list(tables or [t.name for t in TABLES if t.name not in NEVER_EXPORTED])
    for name in names:
        if name in NEVER_EXPORTED:
            from medmine.errors import PrivacyError

            raise PrivacyError(f"table {name} holds direct identifiers and is never exported")
        spec = table(name)
        if spec.person_column:
            where = f'WHERE "{spec.person_column}" IN ({f.person_ids_sql})'
        elif name == "note_nlp":
            where = (
                "WHERE note_id IN (SELECT note_id FROM note WHERE person_id IN "
                f"({f.person_ids_sql}))"
            )
        else:
            where = ""
        query = f'SELECT * FROM "{name}" {where}'
        target = out / f"{name}.parquet"
        tmp = out / f".{name}.parquet.tmp"
        wh.con.execute(f"COPY ({query}) TO '{tmp}' (FORMAT parquet)")
        tmp.replace(target)
        rep.files[name] = target
        rep.rows[name] = int(wh.con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0])
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
