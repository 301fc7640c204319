"""Consent: load decisions per person and purpose, and decide who may be used for a purpose.

Every stage that uses person-level data for a purpose (export, de-identification, a study)
calls `eligible_persons` and restricts itself to ``person_id IN (<person_ids_sql>)``:

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> f = eligible_persons(wh, "research")
>>> f.eligible, f.excluded
(0, 0)
>>> wh.con.execute(f"SELECT count(*) FROM person WHERE person_id IN ({f.person_ids_sql})")
... # doctest: +SKIP

The default policy is **opt-out**: a person is eligible unless a ``deny`` decision for that
purpose is in force on the policy date. `ConsentPolicy(default="opt_in")` requires a
``permit`` in force instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmine.errors import ConfigError, SourceError
from medmine.warehouse import audit
from medmine.warehouse.sql import ident

#: Purposes a consent decision can be about.
PURPOSES: tuple[str, ...] = ("research", "quality_improvement", "external_sharing")

_DECISIONS = {
    "permit": "permit",
    "allow": "permit",
    "yes": "permit",
    "opt-in": "permit",
    "opt_in": "permit",
    "granted": "permit",
    "deny": "deny",
    "no": "deny",
    "refuse": "deny",
    "refused": "deny",
    "opt-out": "deny",
    "opt_out": "deny",
    "withdrawn": "deny",
}

#: FHIR purpose codes (v3 ActReason and medmine's own names) -> medmine purpose.
_FHIR_PURPOSES = {
    "HRESCH": "research",
    "RESCH": "research",
    "CLINTRCH": "research",
    "BIORCH": "research",
    "HQUALIMP": "quality_improvement",
    "HOPERAT": "quality_improvement",
    "HDIRECT": "external_sharing",
    "HMARKT": "external_sharing",
    "PUBHLTH": "external_sharing",
    **{p: p for p in PURPOSES},
}


@dataclass(frozen=True)
class ConsentPolicy:
    """How missing decisions are read and on which date decisions must be in force.

    Parameters
    ----------
    default
        ``"opt_out"`` (default): permitted unless a deny is in force. ``"opt_in"``: excluded
        unless a permit is in force.
    as_of
        Date at which a decision must be in force (``start <= as_of <= end``); today if None.
    """

    default: str = "opt_out"
    as_of: dt.date | None = None

    def validate(self) -> None:
        """Raise `ConfigError` on an unknown default."""
        if self.default not in ("opt_out", "opt_in"):
            raise ConfigError(
                f"The 'default' parameter of ConsentPolicy must be 'opt_out' or 'opt_in'. "
                f"Got {self.default!r} instead."
            )

    @property
    def date(self) -> dt.date:
        """The effective policy date."""
        return self.as_of or dt.date.today()


@dataclass(frozen=True)
class ConsentFilter:
    """Who may be used for `purpose`: a SQL subquery plus counts (never the ids themselves)."""

    purpose: str
    policy: ConsentPolicy
    person_ids_sql: str
    eligible: int
    excluded: int


@dataclass
class ConsentLoadReport:
    """What a consent load did (counts only)."""

    read: int = 0
    loaded: int = 0
    unmatched_person: int = 0
    invalid: int = 0
    skipped_inactive: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def _bad(self, reason: str) -> None:
        self.invalid += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def _check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ConfigError(f"unknown consent purpose {purpose!r}; use one of {list(PURPOSES)}")
    return purpose


def _in_force(date: dt.date, prefix: str = "") -> str:
    d = f"DATE '{date.isoformat()}'"
    return (
        f"({prefix}start_date IS NULL OR {prefix}start_date <= {d}) AND "
        f"({prefix}end_date IS NULL OR {prefix}end_date >= {d})"
    )


def person_ids_sql(purpose: str, policy: ConsentPolicy | None = None, catalog: str = "") -> str:
    """SQL selecting eligible ``person_id`` for `purpose` (tables optionally in `catalog`)."""
    policy = policy or ConsentPolicy()
    policy.validate()
    _check_purpose(purpose)
    cat = f"{ident(catalog)}." if catalog else ""
    decision = "deny" if policy.default == "opt_out" else "permit"
    sub = (
        f"SELECT c.person_id FROM {cat}mm_consent c WHERE c.purpose = '{purpose}' "
        f"AND c.decision = '{decision}' AND {_in_force(policy.date, 'c.')}"
    )
    op = "NOT IN" if policy.default == "opt_out" else "IN"
    return f"SELECT p.person_id FROM {cat}person p WHERE p.person_id {op} ({sub})"


def eligible_persons(
    wh: Any, purpose: str, policy: ConsentPolicy | None = None, *, catalog: str = ""
) -> ConsentFilter:
    """Persons of `wh` who may be used for `purpose` under `policy` (default opt-out).

    Returns a `ConsentFilter` whose ``person_ids_sql`` is a subquery to use as
    ``WHERE person_id IN (...)``, with eligible and excluded counts to report.
    """
    policy = policy or ConsentPolicy()
    sql = person_ids_sql(purpose, policy, catalog)
    con = wh.con if hasattr(wh, "con") else wh
    cat = f"{ident(catalog)}." if catalog else ""
    total = int(con.execute(f"SELECT count(*) FROM {cat}person").fetchone()[0])
    eligible = int(con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0])
    return ConsentFilter(purpose, policy, sql, eligible, total - eligible)


def _norm_decision(v: str | None) -> str | None:
    return _DECISIONS.get((v or "").strip().lower())


def _parse_date(v: str | None) -> dt.date | None:
    v = (v or "").strip()
    return dt.date.fromisoformat(v[:10]) if v else None


def _write(wh: Any, rows: list[tuple[Any, ...]], rep: ConsentLoadReport, source: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with wh.transaction() as con:
        for r in rows:
            con.execute(
                "INSERT OR REPLACE INTO mm_consent VALUES (?, ?, ?, ?, ?, ?, ?)", [*r, source, now]
            )
        audit.append(
            con,
            None,
            "consent.load",
            "mm_consent",
            len(rows),
            None,
            {
                "source_kind": source,
                "read": rep.read,
                "unmatched_person": rep.unmatched_person,
                "invalid": rep.invalid,
            },
        )
    rep.loaded = len(rows)


def _person_lookup(wh: Any) -> dict[str, int]:
    rows = wh.con.execute(
        "SELECT person_source_value, person_id FROM person WHERE person_source_value IS NOT NULL"
    ).fetchall()
    out = {str(k): int(v) for k, v in rows}
    # FHIR persons are `Patient/<id>`; consent files written for readers before issue 13
    # name them `fhir:Patient/<id>`: accept both spellings.
    for key, pid in list(out.items()):
        alias = key.removeprefix("fhir:") if key.startswith("fhir:") else f"fhir:{key}"
        if key.startswith(("fhir:Patient/", "Patient/")):
            out.setdefault(alias, pid)
    return out


def load_csv(path: str | Path, wh: Any) -> ConsentLoadReport:
    """Load a consent CSV with columns ``person_source_value`` or ``person_id``, ``purpose``,
    ``decision`` (permit/deny), ``start``, ``end`` (ISO dates, optional).

    A later decision for the same person and purpose replaces the earlier one. Rows naming
    an unknown person or an invalid value are counted, not loaded (values are not echoed).
    """
    p = Path(path)
    rep = ConsentLoadReport()
    lookup = _person_lookup(wh)
    known = {int(r[0]) for r in wh.con.execute("SELECT person_id FROM person").fetchall()}
    rows: dict[tuple[int, str], tuple[Any, ...]] = {}
    with open(p, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or [])
        if not {"purpose", "decision"} <= cols or not cols & {"person_source_value", "person_id"}:
            raise SourceError(
                str(p),
                "consent CSV needs columns purpose, decision and person_source_value or person_id",
            )
        for line in reader:
            rep.read += 1
            pid: int | None = None
            if (line.get("person_id") or "").strip():
                try:
                    pid = int(line["person_id"])
                except ValueError:
                    rep._bad("invalid_person_id")
                    continue
                pid = pid if pid in known else None
            else:
                pid = lookup.get((line.get("person_source_value") or "").strip())
            if pid is None:
                rep.unmatched_person += 1
                continue
            purpose = (line.get("purpose") or "").strip().lower()
            decision = _norm_decision(line.get("decision"))
            if purpose not in PURPOSES:
                rep._bad("unknown_purpose")
                continue
            if decision is None:
                rep._bad("unknown_decision")
                continue
            try:
                start, end = _parse_date(line.get("start")), _parse_date(line.get("end"))
            except ValueError:
                rep._bad("invalid_date")
                continue
            rows[(pid, purpose)] = (pid, purpose, decision, start, end)
    _write(wh, list(rows.values()), rep, "csv")
    return rep


def _resources(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        try:
            docs = [json.loads(text)]
        except json.JSONDecodeError:
            try:
                docs = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as exc:
                raise SourceError(str(p), f"not JSON or NDJSON ({exc.msg})") from None
        for doc in docs:
            if doc.get("resourceType") == "Bundle":
                for e in doc.get("entry", []):
                    yield e.get("resource", {})
            else:
                yield doc


def _fhir_purposes(res: dict[str, Any]) -> set[str]:
    codings: list[dict[str, Any]] = []
    prov = res.get("provision") or {}
    codings += prov.get("purpose", [])
    for cat in res.get("category", []):
        codings += cat.get("coding", [])
    for pr in res.get("policyRule", {}).get("coding", []) if res.get("policyRule") else []:
        codings.append(pr)
    return {_FHIR_PURPOSES[c["code"]] for c in codings if c.get("code") in _FHIR_PURPOSES}


def load_fhir(paths: Iterable[str | Path], wh: Any) -> ConsentLoadReport:
    """Load FHIR R4 Consent resources (JSON resource, Bundle, or NDJSON files).

    Mapping: ``patient.reference`` (``Patient/<id>`` or ``urn:uuid:<id>``) matches
    ``person.person_source_value``; ``provision.type`` is the decision; ``provision.period``
    gives start and end; purposes come from ``provision.purpose``, ``category`` or
    ``policyRule`` codes (v3 ActReason HRESCH -> research, HQUALIMP/HOPERAT ->
    quality_improvement, HDIRECT/HMARKT/PUBHLTH -> external_sharing, or medmine's names).
    Consents whose status is not ``active`` are skipped.
    """
    rep = ConsentLoadReport()
    lookup = _person_lookup(wh)
    rows: dict[tuple[int, str], tuple[Any, ...]] = {}
    for res in _resources(paths):
        if res.get("resourceType") != "Consent":
            continue
        rep.read += 1
        if res.get("status") != "active":
            rep.skipped_inactive += 1
            continue
        ref = ((res.get("patient") or {}).get("reference") or "").strip()
        fid = ref.rsplit("/", 1)[-1].removeprefix("urn:uuid:") if ref else ""
        pid = lookup.get(fid, lookup.get(f"Patient/{fid}")) if fid else None
        if pid is None:
            rep.unmatched_person += 1
            continue
        prov = res.get("provision") or {}
        decision = _norm_decision(prov.get("type"))
        purposes = _fhir_purposes(res)
        if decision is None:
            rep._bad("unknown_decision")
            continue
        if not purposes:
            rep._bad("unknown_purpose")
            continue
        period = prov.get("period") or {}
        try:
            start, end = _parse_date(period.get("start")), _parse_date(period.get("end"))
        except ValueError:
            rep._bad("invalid_date")
            continue
        for purpose in purposes:
            rows[(pid, purpose)] = (pid, purpose, decision, start, end)
    _write(wh, list(rows.values()), rep, "fhir")
    return rep
