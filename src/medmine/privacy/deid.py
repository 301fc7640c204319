"""Structured de-identification: a new warehouse with the 18 HIPAA Safe Harbor identifiers
removed or transformed, driven by the schema specs and done in SQL inside DuckDB.

Two modes:

- ``safe_harbor`` (default): every date becomes January 1 of its year (the column types stay
  DATE/TIMESTAMP so downstream code keeps working; only the year carries information).
- ``expert``: every date of a person is shifted by the same keyed random offset
  (±1..365 days) in every table and in the notes, so intervals are preserved. Use it only
  under an Expert Determination, and never give one recipient both modes of one warehouse.

Persons are restricted to those whose consent allows the purpose. Every row id becomes a
keyed pseudonym of this release (key from ``MEDMINE_DEID_KEY`` mixed with a random salt
written nowhere), every VARCHAR column goes through its reviewed policy
(`medmine.privacy.deid_policy`), sentinel dates are kept, persons over 89 are aggregated,
and ``k`` (optional) makes the person quasi-identifiers k-anonymous. See
``docs/deidentification.md`` for the identifier-by-identifier table.

>>> # deidentify("medmine.duckdb", "medmine_deid.duckdb", DeidConfig(mode="safe_harbor"))
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from medmine.errors import ConfigError, PrivacyError
from medmine.privacy import pseudonym
from medmine.privacy._deid_plan import Plan, id_map_table, zip3_sql
from medmine.privacy._deid_text import (
    PersonDates,
    guard_codes,
    register,
    scrub_columns,
    scrub_notes,
)
from medmine.privacy.consent import ConsentPolicy, eligible_persons
from medmine.privacy.deid_policy import (
    EMPTIED_TABLES,
    REFERENCE_VOCABULARY,
    RESTRICTED_ZIP3,
    SENTINEL_DATES,
    id_family,
    output_tables,
    unclassified,
)
from medmine.privacy.k_anonymity import KAnonymity, apply_k
from medmine.privacy.phi_text import DETECTIONS, Scrubber, ScrubConfig
from medmine.warehouse import Warehouse, audit
from medmine.warehouse.schema import DOMAINS
from medmine.warehouse.sql import ident, literal, qualified

__all__ = [
    "EMPTIED_TABLES",
    "RESTRICTED_ZIP3",
    "SENTINEL_DATES",
    "DeidConfig",
    "DeidReport",
    "deidentify",
]


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
    sentinel_dates
        Placeholder dates of this site, in addition to `SENTINEL_DATES` (2099-12-31,
        9999-12-31...): kept as written, never shifted or generalised.
    k
        If set, generalise and suppress until the person quasi-identifiers are k-anonymous.
    max_suppression
        Largest share of persons the k step may leave out.
    detection
        How note text is searched for PHI: ``"recall"`` (a word survives only if known to be
        safe; higher recall, lower precision) or ``"precise"`` (pattern rules only). None:
        ``recall`` in Safe Harbor mode, ``precise`` in expert mode.
    """

    mode: str = "safe_harbor"
    purpose: str = "research"
    policy: ConsentPolicy | None = None
    reference_date: dt.date | None = None
    note_batch: int = 2000
    sentinel_dates: frozenset[dt.date] = frozenset()
    k: int | None = None
    max_suppression: float = 0.05
    detection: str | None = None

    def validate(self) -> None:
        """Raise `ConfigError` on a bad parameter."""
        if self.detection not in (None, *DETECTIONS):
            raise ConfigError(
                f"The 'detection' parameter of DeidConfig must be one of {DETECTIONS} or None. "
                f"Got {self.detection!r} instead."
            )
        if self.mode not in ("safe_harbor", "expert"):
            raise ConfigError(
                "The 'mode' parameter of DeidConfig must be 'safe_harbor' or 'expert'. "
                f"Got {self.mode!r} instead."
            )
        if self.k is not None and (not isinstance(self.k, int) or self.k < 2):
            raise ConfigError(
                f"The 'k' parameter of DeidConfig must be an int >= 2 or None. Got {self.k!r} "
                "instead."
            )
        if not 0 <= self.max_suppression < 1:
            raise ConfigError(
                "The 'max_suppression' parameter of DeidConfig must be a float in [0, 1). "
                f"Got {self.max_suppression!r} instead."
            )

    @property
    def sentinels(self) -> frozenset[dt.date]:
        """Every sentinel date: the defaults and this site's."""
        return SENTINEL_DATES | frozenset(self.sentinel_dates)


@dataclass
class DeidReport:
    """What de-identification did (counts only)."""

    mode: str
    purpose: str
    detection: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    consent_eligible: int = 0
    consent_excluded: int = 0
    notes_scrubbed: int = 0
    text_values_scrubbed: int = 0
    code_values_guarded: int = 0
    phi_spans: dict[str, int] = field(default_factory=dict)
    ages_capped: int = 0
    sentinel_dates_kept: int = 0
    k_anonymity: KAnonymity | None = None
    duration_s: float = 0.0


def new_salt() -> bytes:
    """A fresh random release salt (256 bits), never stored."""
    return secrets.token_bytes(32)


def release_key(key: bytes, salt: bytes) -> bytes:
    """The pseudonym key of one release: HMAC-SHA256(key, "medmine-release:" + salt).

    Pseudonyms of a release are keyed with it, so two releases of one warehouse share no
    id. Date offsets stay tied to the key alone (`pseudonym.date_shifts`): a person keeps one
    offset in every release, so comparing releases cannot average the offset away.

    >>> release_key(b"k" * 32, b"a") != release_key(b"k" * 32, b"b")
    True
    """
    return hmac.new(key, b"medmine-release:" + salt, hashlib.sha256).digest()


def _person_map(con: Any, pids: list[int], rkey: bytes, key: bytes, ref: dt.date) -> None:
    """``_mm_pmap(old, new, shift, refy, capped)`` for the eligible persons."""
    tbl = pa.table(
        {
            "old": pa.array(pids, pa.int64()),
            "new": pa.array(pseudonym.pseudonyms(pids, "person", rkey), pa.int64()),
            "shift": pa.array(pseudonym.date_shifts(pids, key), pa.int32()),
        }
    )
    if len(set(tbl["new"].to_pylist())) != len(pids):
        raise PrivacyError("person pseudonym collision; re-run (a new salt is drawn)")
    register(con, "_mm_pmap_base", tbl)
    r = f"DATE {literal(ref.isoformat())}"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mm_pmap AS SELECT b.old, b.new, b.shift, q.refy, "
        "(q.refy - p.year_of_birth > 89) AS capped FROM _mm_pmap_base b "
        "JOIN person p ON p.person_id = b.old "
        f"JOIN (SELECT p.person_id, year(least(coalesce(d.death_date, {r}), {r})) AS refy "
        "FROM person p LEFT JOIN (SELECT person_id, min(death_date) AS death_date FROM death "
        "GROUP BY 1) d ON d.person_id = p.person_id) q ON q.person_id = b.old"
    )


def _id_columns() -> dict[str, list[tuple[str, str]]]:
    """Id family -> every (table, column) of the output holding ids of that family."""
    out: dict[str, list[tuple[str, str]]] = {}
    for spec in output_tables():
        if spec.name in REFERENCE_VOCABULARY:
            continue
        for c in spec.columns:
            if c.type == "bigint":
                fam = id_family(spec.name, c.name)
                if fam not in (None, "person", "event"):
                    out.setdefault(fam, []).append((spec.name, c.name))
    return out


def _id_maps(con: Any, rkey: bytes) -> None:
    """One pseudonym map per id family, over every value any column of the family holds."""
    for fam, cols in _id_columns().items():
        union = " UNION ".join(
            f"SELECT {ident(c)} AS v FROM {ident(t)} WHERE {ident(c)} IS NOT NULL" for t, c in cols
        )
        ids = [r[0] for r in con.execute(f"SELECT DISTINCT v FROM ({union})").fetchall()]
        new = pseudonym.pseudonyms(ids, fam, rkey)
        if len(set(new)) != len(ids):
            raise PrivacyError(f"{fam} pseudonym collision; re-run (a new salt is drawn)")
        register(
            con,
            id_map_table(fam),
            pa.table({"old": pa.array(ids, pa.int64()), "new": pa.array(new, pa.int64())}),
        )
    _event_maps(con)


def _event_maps(con: Any) -> None:
    """Polymorphic references to released rows: ``_mm_cost_event(domain, old, new)`` by cost
    domain, ``_mm_id_event(tbl, old, new)`` by table, ``_mm_id_event_unique(old, new)`` for
    ids that belong to one table only, and ``_mm_event_field(field, tbl)``: the OMOP field
    concepts (vocabulary ``CDM``, named ``table.column``) that say which table is meant.
    """
    parts = []
    for spec in output_tables():
        pk = spec.primary_key[0]
        if spec.name == "person" or len(spec.primary_key) != 1:
            continue
        if spec.name in REFERENCE_VOCABULARY or id_family(spec.name, pk) != spec.name:
            continue
        names = {spec.name.lower()}
        names |= {d.name.lower() for d in DOMAINS.values() if d.table == spec.name}
        owner = ""
        if spec.person_column:
            owner = f"JOIN _mm_pmap pm ON pm.old = t.{ident(spec.person_column)}"
        elif spec.name == "note_nlp":
            owner = (
                "JOIN note nn ON nn.note_id = t.note_id JOIN _mm_pmap pm ON pm.old = nn.person_id"
            )
        for n in sorted(names):
            parts.append(
                f"SELECT {literal(n)} AS domain, t.{ident(pk)} AS old, m.new, "
                f"{literal(spec.name)} AS tbl FROM {ident(spec.name)} t {owner} "
                f"JOIN {ident(id_map_table(spec.name))} m ON m.old = t.{ident(pk)}"
            )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _mm_cost_event AS {' UNION ALL '.join(parts)}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mm_id_event AS "
        "SELECT DISTINCT tbl, old, new FROM _mm_cost_event"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mm_id_event_unique AS SELECT old, any_value(new) AS new "
        "FROM _mm_id_event GROUP BY old HAVING count(*) = 1"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mm_event_field AS SELECT DISTINCT concept_id AS field, "
        "split_part(lower(concept_name), '.', 1) AS tbl FROM concept "
        "WHERE vocabulary_id = 'CDM' AND concept_name LIKE '%.%'"
    )


def _qi_frame(mode: str, sentinels: frozenset[dt.date]) -> str:
    """The person quasi-identifier frame as it will be written (before k)."""
    yob = Plan(_spec("person"), mode, sentinels).person_column("year_of_birth", "int")
    return (
        f"SELECT pm.old AS person_id, {yob} AS year_of_birth, t.gender_concept_id AS sex, "
        "t.race_concept_id AS race, t.ethnicity_concept_id AS ethnicity, "
        f"{zip3_sql('l.zip')} AS zip3, l.state AS state FROM person t "
        "JOIN _mm_pmap pm ON pm.old = t.person_id "
        "LEFT JOIN location l ON l.location_id = t.location_id"
    )


def _spec(name: str):
    return next(s for s in output_tables() if s.name == name)


def _count_sentinels(con: Any, sentinels: frozenset[dt.date]) -> int:
    lits = ", ".join(f"DATE {literal(d.isoformat())}" for d in sorted(sentinels))
    n = 0
    for spec in output_tables():
        if not spec.person_column:
            continue
        for c in spec.date_columns:
            n += con.execute(
                f"SELECT count(*) FROM {ident(spec.name)} t JOIN _mm_pmap pm "
                f"ON pm.old = t.{ident(spec.person_column)} "
                f"WHERE CAST(t.{ident(c)} AS DATE) IN ({lits})"
            ).fetchone()[0]
    return int(n)


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
        `out` exists (without `overwrite`) or is the source; a column of the schema has no
        reviewed policy; k cannot be reached.
    """
    config = config or DeidConfig()
    config.validate()
    missing = unclassified()
    if missing:
        raise PrivacyError(
            f"columns without a de-identification policy: {', '.join(missing)}; classify them "
            "in medmine.privacy.deid_policy before releasing"
        )
    key = key if key is not None else pseudonym.deid_key()
    rkey = release_key(key, new_salt())
    t0 = time.perf_counter()
    src, dst = Path(source), Path(out)
    if src.resolve() == dst.resolve():
        raise PrivacyError("the de-identified warehouse must be a new file, not the source")
    if dst.exists() and not overwrite:
        raise PrivacyError(f"{dst} exists; pass overwrite=True (--overwrite) to replace it")
    scrub_config = ScrubConfig.for_mode(config.mode, config.detection)
    rep = DeidReport(mode=config.mode, purpose=config.purpose, detection=scrub_config.detection)
    ref = config.reference_date or dt.date.today()
    sentinels = config.sentinels
    with Warehouse(src) as wh:
        con = wh.con
        f = eligible_persons(wh, config.purpose, config.policy)
        rep.consent_eligible, rep.consent_excluded = f.eligible, f.excluded
        pids = [r[0] for r in con.execute(f.person_ids_sql).fetchall()]
        _person_map(con, pids, rkey, key, ref)
        if config.k is not None:
            rep.k_anonymity = apply_k(
                con, _qi_frame(config.mode, sentinels), config.k, config.max_suppression
            )
        levels = rep.k_anonymity.levels if rep.k_anonymity else {}
        _id_maps(con, rkey)
        persons = {
            int(old): PersonDates(shift, int(refy), bool(capped))
            for old, shift, refy, capped in con.execute(
                "SELECT old, shift, refy, capped FROM _mm_pmap"
            ).fetchall()
        }
        scrubber = Scrubber(scrub_config)
        rep.notes_scrubbed, spans = scrub_notes(
            con, scrubber, persons, mode=config.mode, sentinels=sentinels, batch=config.note_batch
        )
        rep.phi_spans = dict(spans)
        rep.text_values_scrubbed = scrub_columns(
            con, scrubber, persons, mode=config.mode, sentinels=sentinels
        )
        rep.code_values_guarded = guard_codes(con, config.mode)
        rep.sentinel_dates_kept = _count_sentinels(con, sentinels)
        if dst.exists():
            dst.unlink()
            Path(str(dst) + ".wal").unlink(missing_ok=True)
        Warehouse(dst).close()  # create the schema (with keys) in the output
        con.execute(f"ATTACH {literal(dst)} AS _mm_out")
        try:
            for spec in output_tables():
                plan = Plan(spec, config.mode, sentinels, levels)
                target = qualified("_mm_out", spec.name)
                n = con.execute(f"INSERT INTO {target} {plan.select()}").fetchone()[0]
                rep.rows[spec.name] = int(n)
            for name in EMPTIED_TABLES:
                rep.rows[name] = 0
            rep.ages_capped = int(
                con.execute("SELECT count(*) FROM _mm_pmap WHERE capped").fetchone()[0]
            )
        finally:
            con.execute("DETACH _mm_out")
        rep.duration_s = time.perf_counter() - t0
        detail = {
            "mode": config.mode,
            "detection": rep.detection,
            "output": dst.name,
            "eligible": rep.consent_eligible,
            "excluded": rep.consent_excluded,
            "notes_scrubbed": rep.notes_scrubbed,
            "k": config.k,
            "k_suppressed": rep.k_anonymity.persons_suppressed if rep.k_anonymity else 0,
        }
        audit.append(
            con, None, "deid.export", "warehouse", rep.rows.get("person", 0), config.purpose, detail
        )
    with Warehouse(dst) as out_wh:
        audit.append(
            out_wh.con, None, "deid", "warehouse", sum(rep.rows.values()), config.purpose, detail
        )
    return rep
