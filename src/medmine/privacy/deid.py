"""Structured de-identification: a new warehouse with the 18 HIPAA Safe Harbor identifiers
removed or transformed, driven by the schema specs and done in SQL inside DuckDB.

Two modes:

- ``safe_harbor`` (default): every date becomes January 1 of its year (the column types stay
  DATE/TIMESTAMP so downstream code keeps working; only the year carries information).
- ``expert``: every date of a person is shifted by the same keyed random offset
  (±1..365 days) in every table and in the notes, so intervals are preserved. Use it only
  under an Expert Determination.

Persons are restricted to those whose consent allows the purpose. Person, visit and visit
detail ids become keyed HMAC-SHA256 pseudonyms (key from ``MEDMINE_DEID_KEY``). See
``docs/deidentification.md`` for the identifier-by-identifier table.

>>> # deidentify("medmine.duckdb", "medmine_deid.duckdb", DeidConfig(mode="safe_harbor"))
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from medmine.errors import ConfigError, PrivacyError
from medmine.privacy import pseudonym
from medmine.privacy.consent import ConsentPolicy, eligible_persons
from medmine.privacy.phi_text import NoteContext, Scrubber, ScrubConfig
from medmine.privacy.phi_text.context import merged, person_contexts, shared_context
from medmine.warehouse import Warehouse, audit
from medmine.warehouse.schema import TABLES, TableSpec, domain
from medmine.warehouse.sql import ident, literal, qualified

#: Three-digit ZIP areas with 20,000 or fewer people (2000 Census, as published by HHS):
#: they become ``000``.
RESTRICTED_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831"}
    | {"878", "879", "884", "890", "893"}
)

#: Tables emptied in the output: direct identifiers, raw records and provenance (file names
#: of sources often contain patient names), the source's own audit log, load plumbing holding
#: raw reference strings, and quality results whose example ids point into the source.
EMPTIED_TABLES = (
    "mm_person_identity",
    "mm_identifier",
    "mm_quarantine",
    "mm_source_record",
    "mm_load",
    "mm_load_file",
    "mm_audit",
    "mm_reference",
    "mm_quality_result",
)

_VISIT = domain("visit")

#: Columns set to NULL: names, addresses, source identifiers, device identifiers.
NULLED: dict[str, tuple[str, ...]] = {
    "person": ("person_source_value",),
    _VISIT.table: (_VISIT.source_value_column,),  # encounter numbers, not codes
    "visit_detail": ("visit_detail_source_value",),
    "note": ("note_source_value",),
    "specimen": ("specimen_source_id",),
    "device_exposure": ("unique_device_id", "production_id"),
    "location": (
        "address_1",
        "address_2",
        "city",
        "county",
        "location_source_value",
        "latitude",
        "longitude",
    ),
    "care_site": ("care_site_name", "care_site_source_value"),
    "provider": ("provider_name", "dea", "provider_source_value", "year_of_birth"),
    "payer_plan_period": ("family_source_value",),
    "mm_claim": ("claim_source_value",),
    "mm_source_concept": ("load_id",),
}

#: Free-text columns passed through the note scrubber.
FREE_TEXT: dict[str, tuple[str, ...]] = {
    "note": ("note_text", "note_title"),
    "observation": ("value_as_string",),
    "drug_exposure": ("sig", "stop_reason"),
    "condition_occurrence": ("stop_reason",),
    "note_nlp": ("snippet", "lexical_variant"),
}

#: Pseudonymised id families: namespace -> (mapping source query, referencing columns).
ID_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    _VISIT.table: (
        f"SELECT {ident(_VISIT.id_column)} FROM {ident(_VISIT.table)}",
        (_VISIT.id_column, "preceding_visit_occurrence_id"),
    ),
    "visit_detail": (
        "SELECT visit_detail_id FROM visit_detail",
        ("visit_detail_id", "preceding_visit_detail_id", "parent_visit_detail_id"),
    ),
}

_MAP_TABLE = {_VISIT.table: "_mm_vmap", "visit_detail": "_mm_dmap"}


@dataclass
class DeidConfig:
    """De-identification settings.

    Parameters
    ----------
    mode
        ``"safe_harbor"`` or ``"expert"``.
    purpose
        Consent purpose of the output; persons not eligible are left out.
    policy
        Consent policy (default opt-out).
    reference_date
        Date at which ages are computed for the over-89 rule (death date when earlier);
        today if None.
    """

    mode: str = "safe_harbor"
    purpose: str = "research"
    policy: ConsentPolicy | None = None
    reference_date: dt.date | None = None
    note_batch: int = 2000

    def validate(self) -> None:
        """Raise `ConfigError` on a bad mode."""
        if self.mode not in ("safe_harbor", "expert"):
            raise ConfigError(
                "The 'mode' parameter of DeidConfig must be 'safe_harbor' or 'expert'. "
                f"Got {self.mode!r} instead."
            )


@dataclass
class DeidReport:
    """What de-identification did (counts only)."""

    mode: str
    purpose: str
    rows: dict[str, int] = field(default_factory=dict)
    consent_eligible: int = 0
    consent_excluded: int = 0
    notes_scrubbed: int = 0
    phi_spans: dict[str, int] = field(default_factory=dict)
    ages_capped: int = 0
    duration_s: float = 0.0


class _Plan:
    """Builds the SELECT that de-identifies one table."""

    def __init__(self, spec: TableSpec, mode: str, ref_date: dt.date) -> None:
        self.spec = spec
        self.mode = mode
        self.ref = ref_date
        self.joins: list[str] = []
        self.person = spec.person_column

    def date_expr(self, col: str, typ: str) -> str:
        c = f"t.{ident(col)}"
        if not (self.person or self.spec.name == "note_nlp"):
            return c  # not a date of an individual (vocabulary validity and the like)
        if self.mode == "safe_harbor":
            d = f"make_date(year({c}), 1, 1)"
            return d if typ == "date" else f"CAST({d} AS TIMESTAMP)"
        return f"{c} + pm.shift" if typ == "date" else f"{c} + to_days(pm.shift)"

    def column(self, col: str, typ: str) -> str:
        name = self.spec.name
        if col == self.person:
            return "pm.new"
        if col in NULLED.get(name, ()):
            return "NULL"
        if col in FREE_TEXT.get(name, ()):
            alias = ident(f"ft_{col}")
            if name == "note":
                self.joins.append(f"LEFT JOIN _mm_notes {alias} ON {alias}.note_id = t.note_id")
                return f"{alias}.{ident(col)}"
            self.joins.append(
                f"LEFT JOIN _mm_text {alias} ON {alias}.k = {literal(f'{name}.{col}')} "
                f"AND {alias}.old = t.{ident(col)}"
            )
            return f"{alias}.new"
        for fam, (_, cols) in ID_FAMILIES.items():
            if col in cols:
                alias = ident(f"m_{col}")
                self.joins.append(
                    f"LEFT JOIN {ident(_MAP_TABLE[fam])} {alias} ON {alias}.old = t.{ident(col)}"
                )
                return f"{alias}.new"
        if name == "cost" and col == "cost_event_id":
            self.joins.append(
                "LEFT JOIN _mm_vmap m_cev ON t.cost_domain_id = 'Visit' "
                "AND m_cev.old = t.cost_event_id"
            )
            return (
                "CASE WHEN t.cost_domain_id = 'Visit' THEN coalesce(m_cev.new, 0) "
                "ELSE t.cost_event_id END"
            )
        if name == "location" and col == "zip":
            z = "substr(regexp_replace(t.zip, '[^0-9]', '', 'g'), 1, 3)"
            restricted = ", ".join(literal(z3) for z3 in sorted(RESTRICTED_ZIP3))
            return (
                f"CASE WHEN length({z}) < 3 THEN NULL WHEN {z} IN ({restricted}) "
                f"THEN '000' ELSE {z} END"
            )
        if name == "person":
            return self.person_column(col, typ)
        if typ in ("date", "timestamp"):
            return self.date_expr(col, typ)
        return f"t.{ident(col)}"

    def person_column(self, col: str, typ: str) -> str:
        refy = "_refy"
        capped = "(_refy - t.year_of_birth > 89)"
        if col == "year_of_birth":
            if self.mode == "expert":
                yob = "coalesce(year(t.birth_datetime + to_days(pm.shift)), t.year_of_birth)"
            else:
                yob = "t.year_of_birth"
            return f"CASE WHEN {capped} THEN {refy} - 90 ELSE {yob} END"
        if col in ("month_of_birth", "day_of_birth", "birth_datetime"):
            if self.mode == "safe_harbor":
                return "NULL"
            shifted = "t.birth_datetime + to_days(pm.shift)"
            val = {
                "month_of_birth": f"month({shifted})",
                "day_of_birth": f"day({shifted})",
                "birth_datetime": shifted,
            }[col]
            return f"CASE WHEN {capped} THEN NULL ELSE {val} END"
        if typ in ("date", "timestamp"):
            return self.date_expr(col, typ)
        return f"t.{ident(col)}"

    def select(self) -> str:
        cols = [f"{self.column(c.name, c.type)} AS {ident(c.name)}" for c in self.spec.columns]
        src = f"{ident(self.spec.name)} t"
        if self.spec.name == "person":
            ref = f"DATE {literal(self.ref.isoformat())}"
            src = (
                "(SELECT p.*, year(least(coalesce(d.death_date, "
                f"{ref}), {ref})) AS _refy FROM person p "
                "LEFT JOIN (SELECT person_id, min(death_date) AS death_date FROM death "
                "GROUP BY 1) d ON d.person_id = p.person_id) t"
            )
            cols = [c.replace("_refy", "t._refy") for c in cols]
        if self.person:
            joins = ["JOIN _mm_pmap pm ON pm.old = t." + ident(self.person)]
        elif self.spec.name == "note_nlp":
            joins = [
                "JOIN note nn ON nn.note_id = t.note_id",
                "JOIN _mm_pmap pm ON pm.old = nn.person_id",
            ]
        else:
            joins = []
        return f"SELECT {', '.join(cols)} FROM {src} {' '.join(joins + self.joins)}"


def _register(con, name: str, tbl: pa.Table) -> None:
    view = f"{name}_arrow"
    con.register(view, tbl)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
    con.unregister(view)


def _scrub_notes(
    con, scrubber: Scrubber, shifts: dict[int, int] | None, batch: int, person_sql: str
) -> tuple[int, Counter[str]]:
    shared = shared_context(con)
    own = person_contexts(
        con, f"SELECT DISTINCT person_id FROM note WHERE person_id IN ({person_sql})"
    )
    counts: Counter[str] = Counter()
    reader = con.sql(
        "SELECT note_id, person_id, note_text, note_title FROM note "
        f"WHERE person_id IN ({person_sql}) ORDER BY person_id"
    ).to_arrow_reader(batch)
    cache: dict[int, NoteContext] = {}
    n = 0
    chunks: list[pa.Table] = []
    for rb in reader:
        ids, texts, titles = [], [], []
        d = rb.to_pydict()
        for nid, pid, text, title in zip(
            d["note_id"], d["person_id"], d["note_text"], d["note_title"], strict=True
        ):
            ctx = cache.get(pid)
            if ctx is None:
                cache.clear()
                ctx = cache[pid] = merged(
                    shared,
                    own.get(pid),
                    date_shift_days=shifts.get(pid) if shifts else None,
                    surrogate_seed=str(pid),
                )
            r = scrubber.scrub(text or "", ctx)
            counts.update(s.entity.value for s in r.spans)
            ids.append(nid)
            texts.append(r.text)
            titles.append(scrubber.scrub(title, ctx).text if title else title)
            n += 1
        chunk = pa.table(
            {
                "note_id": pa.array(ids, pa.int64()),
                "note_text": pa.array(texts, pa.string()),
                "note_title": pa.array(titles, pa.string()),
            }
        )
        chunks.append(chunk)
    schema = pa.schema(
        [("note_id", pa.int64()), ("note_text", pa.string()), ("note_title", pa.string())]
    )
    _register(con, "_mm_notes", pa.concat_tables(chunks) if chunks else schema.empty_table())
    return n, counts


def _scrub_free_text(con, scrubber: Scrubber) -> None:
    shared = shared_context(con)
    everyone = NoteContext()
    for c in person_contexts(con).values():
        everyone.person_names |= c.person_names
        everyone.ids |= c.ids
        everyone.streets |= c.streets
    ctx = merged(shared, everyone)
    keys, olds, news = [], [], []
    for tname, cols in FREE_TEXT.items():
        if tname == "note":
            continue
        for col in cols:
            vals = con.execute(
                f"SELECT DISTINCT {ident(col)} FROM {ident(tname)} WHERE {ident(col)} IS NOT NULL"
            ).fetchall()
            for (v,) in vals:
                keys.append(f"{tname}.{col}")
                olds.append(v)
                news.append(scrubber.scrub(str(v), ctx).text)
    _register(
        con,
        "_mm_text",
        pa.table(
            {
                "k": pa.array(keys, pa.string()),
                "old": pa.array(olds, pa.string()),
                "new": pa.array(news, pa.string()),
            }
        ),
    )


def deidentify(
    source: str | Path,
    out: str | Path,
    config: DeidConfig | None = None,
    *,
    key: bytes | None = None,
    overwrite: bool = False,
) -> DeidReport:
    """De-identify warehouse `source` into a new warehouse file `out`.

    Parameters
    ----------
    key
        Pseudonymisation key; default from ``MEDMINE_DEID_KEY`` (required).

    Raises
    ------
    ConfigError
        No key, or a bad configuration.
    PrivacyError
        `out` exists (without `overwrite`) or is the source.
    """
    config = config or DeidConfig()
    config.validate()
    key = key if key is not None else pseudonym.deid_key()
    t0 = time.perf_counter()
    src, dst = Path(source), Path(out)
    if src.resolve() == dst.resolve():
        raise PrivacyError("the de-identified warehouse must be a new file, not the source")
    if dst.exists():
        if not overwrite:
            raise PrivacyError(f"{dst} exists; pass overwrite=True (--overwrite) to replace it")
        dst.unlink()
        Path(str(dst) + ".wal").unlink(missing_ok=True)
    Warehouse(dst).close()  # create the schema (with keys) in the output
    rep = DeidReport(mode=config.mode, purpose=config.purpose)
    ref = config.reference_date or dt.date.today()
    with Warehouse(src) as wh:
        con = wh.con
        f = eligible_persons(wh, config.purpose, config.policy)
        rep.consent_eligible, rep.consent_excluded = f.eligible, f.excluded
        pids = [r[0] for r in con.execute(f.person_ids_sql).fetchall()]
        pmap = pseudonym.mapping_table(pids, "person", key, with_shift=True)
        if len(set(pmap["new"].to_pylist())) != len(pids):
            raise PrivacyError("person pseudonym collision; re-run with another key")
        _register(con, "_mm_pmap", pmap)
        for fam, (sql, _) in ID_FAMILIES.items():
            ids = [r[0] for r in con.execute(f"SELECT DISTINCT * FROM ({sql})").fetchall()]
            _register(con, _MAP_TABLE[fam], pseudonym.mapping_table(ids, fam, key))
        scrubber = Scrubber(ScrubConfig.for_mode(config.mode))
        shifts = (
            dict(zip(pids, pmap["shift"].to_pylist(), strict=True))
            if config.mode == "expert"
            else None
        )
        rep.notes_scrubbed, spans = _scrub_notes(
            con, scrubber, shifts, config.note_batch, "SELECT old FROM _mm_pmap"
        )
        rep.phi_spans = dict(spans)
        _scrub_free_text(con, scrubber)
        con.execute(f"ATTACH {literal(dst)} AS _mm_out")
        try:
            for spec in TABLES:
                if spec.name in EMPTIED_TABLES:
                    rep.rows[spec.name] = 0
                    continue
                plan = _Plan(spec, config.mode, ref)
                target = qualified("_mm_out", spec.name)
                n = con.execute(f"INSERT INTO {target} {plan.select()}").fetchone()[0]
                rep.rows[spec.name] = int(n)
            rep.ages_capped = int(
                con.execute(
                    "SELECT count(*) FROM _mm_out.person p JOIN _mm_pmap m ON m.new = p.person_id "
                    "JOIN person s ON s.person_id = m.old WHERE p.year_of_birth <> s.year_of_birth"
                    + (" AND p.birth_datetime IS NULL" if config.mode == "expert" else "")
                ).fetchone()[0]
            )
        finally:
            con.execute("DETACH _mm_out")
        rep.duration_s = time.perf_counter() - t0
        detail = {
            "mode": config.mode,
            "output": dst.name,
            "eligible": rep.consent_eligible,
            "excluded": rep.consent_excluded,
            "notes_scrubbed": rep.notes_scrubbed,
        }
        audit.append(
            con, None, "deid.export", "warehouse", rep.rows.get("person", 0), config.purpose, detail
        )
    with Warehouse(dst) as out_wh:
        audit.append(
            out_wh.con, None, "deid", "warehouse", sum(rep.rows.values()), config.purpose, detail
        )
    return rep
