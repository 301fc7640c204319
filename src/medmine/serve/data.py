"""Read-only queries behind the pages and the API (warehouse tables and study outputs).

Every outside value reaches SQL as a bound parameter; table and column names only after a
check against the declared schema (`profile_tables`), and then through `ident`. Study outputs
are read from the reports folder by names checked against the study's own JSON, so no request
value ever becomes a path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from medmine.warehouse.schema import TABLES
from medmine.warehouse.sql import ident

#: Table roles whose profile is shown to analysts (never identity or privacy tables).
PROFILE_ROLES = ("clinical", "derived", "claims", "vocabulary", "system")
#: Free-text columns left out of profiles (distinct counts of notes say nothing useful).
_TEXT_COLUMNS = {"note_text", "record", "resource", "message", "sql", "detail"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict]:
    res = cur.execute(sql, params or [])
    cols = [d[0] for d in res.description]
    return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]


# ---- warehouse overview ----
def overview(cur: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Row counts by table, the loads (newest first) with their reconciliation, quarantine reasons.

    A load reconciles when records read = loaded + skipped + quarantined.
    """
    have = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    counts = {
        t.name: int(cur.execute(f"SELECT count(*) FROM {ident(t.name)}").fetchone()[0])
        for t in TABLES
        if t.name in have and t.role not in ("identity",)
    }
    loads = _rows(
        cur,
        "SELECT load_id, source_kind, started_at, finished_at, status, files, records_read, "
        "records_loaded, records_skipped, records_quarantined, warnings FROM mm_load "
        "ORDER BY started_at DESC LIMIT 200",
    )
    for load in loads:
        parts = [load[k] or 0 for k in ("records_loaded", "records_skipped", "records_quarantined")]
        load["reconciles"] = load["records_read"] is not None and sum(parts) == load["records_read"]
    reasons = _rows(
        cur,
        "SELECT reason_code, count(*) AS n FROM mm_quarantine GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    return {"counts": counts, "loads": loads, "quarantine": reasons}


# ---- quality ----
def quality(
    cur: duckdb.DuckDBPyConnection,
    *,
    check_type: str | None = None,
    table: str | None = None,
    status: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Results of one quality run (the newest by default), filtered; with the filter choices."""
    runs = [
        r[0]
        for r in cur.execute(
            "SELECT run_id FROM mm_quality_result GROUP BY run_id ORDER BY max(run_at) DESC"
        ).fetchall()
    ]
    run = run_id if run_id in runs else (runs[0] if runs else None)
    where, params = ["run_id = ?"], [run]
    for col, value in (("check_type", check_type), ("table_name", table), ("status", status)):
        if value:
            where.append(f"{ident(col)} = ?")
            params.append(value)
    results = _rows(
        cur,
        "SELECT check_id, check_type, kahn_category, table_name, column_name, description, "
        "threshold_pct, num_violated, num_denominator, pct_violated, status, error "
        f"FROM mm_quality_result WHERE {' AND '.join(where)} ORDER BY status, check_id",
        params,
    )
    choices = {
        col: [
            r[0]
            for r in cur.execute(
                f"SELECT DISTINCT {ident(col)} FROM mm_quality_result WHERE run_id = ? "
                f"AND {ident(col)} IS NOT NULL ORDER BY 1",
                [run],
            ).fetchall()
        ]
        for col in ("check_type", "table_name", "status")
    }
    summary = dict(
        cur.execute(
            "SELECT status, count(*) FROM mm_quality_result WHERE run_id = ? GROUP BY 1", [run]
        ).fetchall()
    )
    return {"run_id": run, "runs": runs, "results": results, "choices": choices, "summary": summary}


# ---- profiles ----
def profile_tables() -> list[str]:
    """Tables whose profile may be shown (declared in the schema, not identity or privacy)."""
    return [t.name for t in TABLES if t.role in PROFILE_ROLES]


def profile(cur: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any] | None:
    """Per column: type, share of non-NULL rows and distinct values; ``None`` for a bad name."""
    spec = next((t for t in TABLES if t.name == name and t.role in PROFILE_ROLES), None)
    if spec is None:
        return None
    n = int(cur.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()[0])
    cols = [c for c in spec.columns if c.name not in _TEXT_COLUMNS]
    out = []
    if n and cols:
        exprs = ", ".join(
            f"count({ident(c.name)}), approx_count_distinct({ident(c.name)})" for c in cols
        )
        vals = cur.execute(f"SELECT {exprs} FROM {ident(name)}").fetchone()
        for i, c in enumerate(cols):
            out.append(
                {
                    "column": c.name,
                    "type": c.type,
                    "non_null_pct": 100.0 * vals[2 * i] / n,
                    "distinct": int(vals[2 * i + 1]),
                }
            )
    return {
        "table": name,
        "role": spec.role,
        "description": spec.description,
        "rows": n,
        "columns": out,
    }


# ---- studies (machine-readable outputs in the reports folder) ----
@dataclass(frozen=True)
class StudyOutput:
    """One ``study_<name>.json`` and the tables beside it."""

    name: str
    doc: dict[str, Any]
    folder: Path

    @property
    def entries(self) -> list[dict[str, Any]]:
        """One entry per section (most studies have one)."""
        return self.doc.get("sections") or [self.doc]

    @property
    def title(self) -> str:
        """Title of the first section."""
        return str(self.entries[0].get("title") or self.name)

    @property
    def status(self) -> str:
        """Worst status over the sections."""
        order = {"ok": 0, "warn": 1, "fail": 2}
        return max((e.get("status", "fail") for e in self.entries), key=lambda s: order.get(s, 2))

    @property
    def tables(self) -> list[str]:
        """Table stems written beside the JSON."""
        return [t for e in self.entries for t in e.get("tables", [])]

    def table_path(self, stem: str, ext: str) -> Path | None:
        """The file of table `stem` (``csv`` or ``parquet``), only if the JSON lists it."""
        if stem not in self.tables or ext not in ("csv", "parquet"):
            return None
        p = self.folder / f"study_{self.name}" / f"{stem}.{ext}"
        return p if p.is_file() else None

    def model_card(self) -> dict[str, Any] | None:
        """The study's model card JSON when the study wrote one."""
        p = self.folder / f"study_{self.name}_model_card.json"
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None

    @property
    def page(self) -> str | None:
        """File name of the rendered study page, when present."""
        name = f"study_{self.name}.html"
        return name if (self.folder / name).is_file() else None


def studies(reports: Path) -> list[StudyOutput]:
    """Every readable ``study_*.json`` in `reports`, by name (unreadable files are skipped)."""
    out = []
    for p in sorted(Path(reports).glob("study_*.json")):
        name = p.stem[len("study_") :]
        if name.endswith("_model_card") or not _NAME.match(name):
            continue
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(doc, dict):
            out.append(StudyOutput(name, doc, p.parent))
    return out


def study(reports: Path, name: str) -> StudyOutput | None:
    """The output of study `name`, or ``None`` (names are matched, never joined into paths)."""
    return next((s for s in studies(reports) if s.name == name), None)


# ---- fraud worklist ----
FRAUD_STUDY = "claims_fraud"


def fraud_providers(reports: Path, cur: duckdb.DuckDBPyConnection, limit: int = 500) -> list[dict]:
    """The provider worklist of the claims-fraud study, with provider name and NPI."""
    s = study(reports, FRAUD_STUDY)
    stem = next((t for t in (s.tables if s else []) if t.endswith("investigate_providers")), None)
    path = s.table_path(stem, "parquet") if s and stem else None
    if path is None:
        return []
    frame = pd.read_parquet(path).head(limit)
    id_col = next((c for c in frame.columns if c in ("provider_id", "billing_provider_id")), None)
    if id_col is not None and len(frame):
        ids = [int(v) for v in frame[id_col].dropna()]
        names = pd.DataFrame(
            cur.execute(
                "SELECT provider_id, provider_name, npi FROM provider WHERE provider_id IN "
                "(SELECT unnest(?::BIGINT[]))",
                [ids],
            ).fetchall(),
            columns=["_pid", "provider_name", "npi"],
        )
        frame = frame.merge(names, how="left", left_on=id_col, right_on="_pid").drop(columns="_pid")
        frame = frame.rename(columns={id_col: "provider_id"})
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def provider_claims(cur: duckdb.DuckDBPyConnection, provider_id: int) -> dict[str, Any]:
    """A provider's identity and its claims (ids, dates, codes, amounts; persons by id only)."""
    who = _rows(
        cur,
        "SELECT provider_id, provider_name, npi, specialty_source_value FROM provider "
        "WHERE provider_id = ?",
        [provider_id],
    )
    claims = _rows(
        cur,
        "SELECT claim_id, person_id, claim_type, claim_start_date, claim_end_date, "
        "place_of_service, dx_1, dx_2, total_billed, total_allowed, total_paid FROM mm_claim "
        "WHERE billing_provider_id = ? OR rendering_provider_id = ? "
        "ORDER BY claim_start_date DESC LIMIT 1000",
        [provider_id, provider_id],
    )
    return {"provider": who[0] if who else None, "claims": claims}


# ---- person view (PHI) ----
def person(cur: duckdb.DuckDBPyConnection, person_id: int) -> dict[str, Any] | None:
    """A person's identity and timeline (visits, conditions, drugs, measurements, notes)."""
    base = _rows(
        cur,
        "SELECT person_id, year_of_birth, gender_concept_id, gender_source_value, "
        "person_source_value FROM person WHERE person_id = ?",
        [person_id],
    )
    if not base:
        return None
    ident_rows = _rows(
        cur,
        "SELECT given_name, family_name, birth_date, mrn FROM mm_person_identity "
        "WHERE person_id = ? ORDER BY source LIMIT 1",
        [person_id],
    )

    def concept(col: str) -> str:
        return (
            f"coalesce((SELECT concept_name FROM concept c WHERE c.concept_id = t.{col}), "
            f"CAST(t.{col} AS VARCHAR))"
        )

    events = _rows(
        cur,
        f"SELECT 'visit' AS kind, visit_start_date AS day, {concept('visit_concept_id')} AS what, "
        "visit_source_value AS code, NULL AS value FROM visit_occurrence t WHERE person_id = ? "
        f"UNION ALL SELECT 'condition', condition_start_date, {concept('condition_concept_id')}, "
        "condition_source_value, NULL FROM condition_occurrence t WHERE person_id = ? "
        f"UNION ALL SELECT 'drug', drug_exposure_start_date, {concept('drug_concept_id')}, "
        "drug_source_value, NULL FROM drug_exposure t WHERE person_id = ? "
        f"UNION ALL SELECT 'measurement', measurement_date, {concept('measurement_concept_id')}, "
        "measurement_source_value, CAST(value_as_number AS VARCHAR) || coalesce(' ' || "
        "unit_source_value, '') FROM measurement t WHERE person_id = ? "
        "UNION ALL SELECT 'note', note_date, coalesce(note_title, 'note'), NULL, "
        "left(note_text, 400) FROM note t WHERE person_id = ? "
        "ORDER BY day DESC, kind LIMIT 2000",
        [person_id] * 5,
    )
    return {"person": base[0], "identity": ident_rows[0] if ident_rows else None, "events": events}


def person_id_for(cur: duckdb.DuckDBPyConnection, patient_id: str) -> int | None:
    """The warehouse person of a FHIR Patient id (``person_source_value``, or a numeric id)."""
    rows = cur.execute(
        "SELECT person_id FROM person WHERE person_source_value IN (?, ?, ?) LIMIT 1",
        [patient_id, f"Patient/{patient_id}", f"fhir:Patient/{patient_id}"],
    ).fetchall()
    if rows:
        return int(rows[0][0])
    if patient_id.isdigit() and len(patient_id) < 19:
        rows = cur.execute(
            "SELECT person_id FROM person WHERE person_id = ?", [int(patient_id)]
        ).fetchall()
        return int(rows[0][0]) if rows else None
    return None


class PatientIndex:
    """`person_id_for` in memory: every person's source value and id, read in one query.

    CDS Hooks looks a patient up on every hook; a dictionary answers in microseconds where
    the query takes a millisecond or more of CPU. It answers exactly as `person_id_for`
    (tested): a source value ``id``, ``Patient/id`` or ``fhir:Patient/id`` first, then a
    numeric person id. Built at start-up and rebuilt after a study run changes the
    warehouse (the server holds the file open for writing, so nothing else can).
    """

    #: Largest warehouse indexed (about 150 bytes a person); larger ones are queried.
    MAX_PERSONS = 2_000_000

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        rows = cur.execute("SELECT person_source_value, person_id FROM person").fetchall()
        self.by_source: dict[str, int] = {}
        for source, pid in rows:
            if source is not None:
                self.by_source.setdefault(str(source), int(pid))
        self.ids = frozenset(int(pid) for _, pid in rows)

    @classmethod
    def build(cls, cur: duckdb.DuckDBPyConnection) -> PatientIndex | None:
        """The index, or ``None`` when the warehouse has more than `MAX_PERSONS` persons."""
        n = int(cur.execute("SELECT count(*) FROM person").fetchone()[0])
        return cls(cur) if n <= cls.MAX_PERSONS else None

    def person_id_for(self, patient_id: str) -> int | None:
        """As `person_id_for`, without a query."""
        for key in (patient_id, f"Patient/{patient_id}", f"fhir:Patient/{patient_id}"):
            pid = self.by_source.get(key)
            if pid is not None:
                return pid
        if patient_id.isdigit() and len(patient_id) < 19 and int(patient_id) in self.ids:
            return int(patient_id)
        return None


# ---- audit and consent ----
def audit_entries(cur: duckdb.DuckDBPyConnection, limit: int = 200) -> list[dict]:
    """The newest audit entries."""
    return _rows(
        cur,
        "SELECT seq, ts, actor, action, object, row_count, purpose, detail FROM mm_audit "
        "ORDER BY seq DESC LIMIT ?",
        [limit],
    )


def consent_summary(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    """Consent decisions counted by purpose and decision."""
    return _rows(
        cur,
        "SELECT purpose, decision, count(*) AS persons FROM mm_consent GROUP BY 1, 2 ORDER BY 1, 2",
    )
