"""Note-derived covariates: affirmed concept mentions of `note_nlp`, by domain and window.

The feature group that `CovariateSettings(notes=True)` adds to the covariate builder. A
mention counts only when it is **affirmed and about the patient**: ``term_exists = 'Y'`` and,
in ``term_modifiers``, not negated, not hypothetical, not uncertain, not about a relative or
another person ("denies chest pain", "rule out PE", "mother had breast cancer" and "return if
fever" give no feature). Historical mentions ("history of DVT", past-history sections) get
their own analyses (``note_<domain>_history``) or are left out.

**Time:** a mention is dated by its note (``note.note_date``) and used only when the note is
dated within the window, which ends at the settings' ``end_day`` (the day before the index
date by default), so no note written on or after the index date reaches a feature. The NLP
pipeline reads one note at a time (its terminology depends on no person's record), so a
later note cannot change the mentions of an earlier one.

**Identity:** the mention's concept id when it has one; otherwise its source code
(``source=VOCABULARY:code`` in ``term_modifiers``, e.g. the display of a SNOMED code loaded
from FHIR), the same key the coded covariates use; otherwise, for terms of the curated
lexicon, ``NLP:<preferred name>`` looked up from the lexicon (never from the note's text).
Covariate ids follow the covariate builder: ``300 + 10 * domain + window`` (current),
``400 + 10 * domain + window`` (historical).

>>> sorted(note_analyses([(None, -1)], historical=True))[:2]
[300, 310]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from medmine.features._sql import days_between, plus_days, temp_name
from medmine.nlp.terminology import Terminology, curated
from medmine.warehouse.schema import DOMAINS
from medmine.warehouse.sql import ident, literal

#: Analysis bases of affirmed current and historical note mentions.
NOTE_BASE, NOTE_HISTORY_BASE = 300, 400
#: Note domains in analysis order (``term_modifiers`` ``domain=`` values, lower case).
NOTE_DOMAINS = ("condition", "drug", "procedure", "measurement", "observation", "device")
#: Prefix of the keys of curated-lexicon terms that have neither concept id nor source code.
NLP_PREFIX = "NLP:"
#: A coded source value usable as a key (the covariate builder's rule: no free text).
_CODE = "^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$"


def is_note_analysis(analysis_id: int) -> bool:
    """True for the analysis ids of the note feature group."""
    return NOTE_BASE <= int(analysis_id) < NOTE_HISTORY_BASE + 100


def note_analyses(
    bounds: Sequence[tuple[int | None, int]], *, historical: bool = True
) -> dict[int, dict[str, Any]]:
    """Metadata of the note analyses for window `bounds`: analysis_id -> description."""
    out: dict[int, dict[str, Any]] = {}
    for i, d in enumerate(NOTE_DOMAINS):
        for k, (lo, hi) in enumerate(bounds):
            out[NOTE_BASE + 10 * i + k] = {"analysis": f"note_{d}", "start": lo, "end": hi}
            if historical:
                out[NOTE_HISTORY_BASE + 10 * i + k] = {
                    "analysis": f"note_{d}_history",
                    "start": lo,
                    "end": hi,
                }
    return out


def _mod(name: str) -> str:
    """SQL: the value of modifier `name` in ``x.term_modifiers`` ('' when absent)."""
    return f"coalesce(regexp_extract(coalesce(x.term_modifiers, ''), '(^|;){name}=([^;]*)', 2), '')"


#: SQL condition: an affirmed mention about the patient (OMOP ``term_exists`` plus medmine's
#: modifiers, so rows of another NLP system that set only ``term_exists`` still work).
AFFIRMED = (
    "x.term_exists = 'Y' AND "
    + " AND ".join(
        f"{_mod(m)} <> 'true'" for m in ("negated", "hypothetical", "uncertain", "family")
    )
    + f" AND {_mod('experiencer')} IN ('', 'patient')"
)
#: SQL condition: a historical mention.
HISTORICAL = f"(x.term_temporal = 'past' OR {_mod('historical')} = 'true')"


def _tables(con: Any) -> set[str]:
    """Tables of the main schema (read to the end: DuckDB refuses a registration while a
    result is still open).
    """
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@functools.lru_cache(maxsize=1)
def _lexicon() -> Terminology:
    return curated()


def curated_key(lexical_variant: str, lexicon: Terminology | None = None) -> str | None:
    """``NLP:<preferred name>`` of a lexical variant of the curated lexicon, else None.

    The key is built from the lexicon's preferred name, never from the text as written.

    >>> curated_key("DVT"), curated_key("Deep vein thrombosis"), curated_key("Mrs Smith")
    ('NLP:deep_vein_thrombosis', 'NLP:deep_vein_thrombosis', None)
    """
    term = (lexicon or _lexicon()).lookup(lexical_variant)
    if term is None or term.negative:
        return None
    slug = _slug(term.name)
    return f"{NLP_PREFIX}{slug}" if slug else None


def key_name(source_value: str) -> str | None:
    """Readable name of an ``NLP:`` key (``NLP:deep_vein_thrombosis`` -> deep vein thrombosis)."""
    if isinstance(source_value, str) and source_value.startswith(NLP_PREFIX):
        return source_value[len(NLP_PREFIX) :].replace("_", " ")
    return None


def _curated_keys_sql(con: Any) -> str:
    """An inline table ``(lexical_variant, nlp_key)`` of the warehouse's curated mentions."""
    rows = con.execute(
        "SELECT DISTINCT x.lexical_variant FROM note_nlp x "
        f"WHERE coalesce(x.note_nlp_concept_id, 0) = 0 AND {_mod('source')} = '' "
        "AND x.term_exists = 'Y' AND x.lexical_variant IS NOT NULL"
    ).fetchall()
    pairs = [(v, k) for (v,) in rows if (k := curated_key(v))]
    if not pairs:
        return (
            "(SELECT CAST(NULL AS VARCHAR) AS lexical_variant, "
            "CAST(NULL AS VARCHAR) AS nlp_key WHERE FALSE)"
        )
    values = ", ".join(f"({literal(v)}, {literal(k)})" for v, k in pairs)
    return f"(SELECT * FROM (VALUES {values}) AS _k(lexical_variant, nlp_key))"


def _mentions_sql(con: Any, end_day: int, lower: int | None) -> str:
    """Affirmed, keyed mentions of the cohort rows ``{rows}`` dated up to ``index + end_day``."""
    dom = f"lower(CASE WHEN {_mod('domain')} <> '' THEN {_mod('domain')} ELSE c.domain_id END)"
    dpos = "CASE " + " ".join(f"WHEN {dom} = '{d}' THEN {i}" for i, d in enumerate(NOTE_DOMAINS))
    cid = "coalesce(x.note_nlp_concept_id, 0)"
    low = "" if lower is None else f" AND n.note_date >= {plus_days('r.index_date', lower)}"
    return f"""
        SELECT r.row_id, r.person_id, x.note_id, n.note_date,
               {days_between("r.index_date", "n.note_date")} AS d,
               CASE WHEN {cid} <> 0 THEN {cid} ELSE 0 END AS concept_id,
               CASE WHEN {cid} <> 0 THEN CAST(NULL AS VARCHAR)
                    WHEN regexp_matches({_mod("source")}, '{_CODE}') THEN {_mod("source")}
                    ELSE k.nlp_key END AS source_value,
               {dpos} ELSE NULL END AS dpos,
               {HISTORICAL} AS hist
        FROM {{rows}} r JOIN note n ON n.person_id = r.person_id
        JOIN note_nlp x ON x.note_id = n.note_id
        LEFT JOIN concept c ON {cid} <> 0 AND c.concept_id = {cid}
        LEFT JOIN {_curated_keys_sql(con)} k
          ON {cid} = 0 AND k.lexical_variant = x.lexical_variant
        WHERE {AFFIRMED}
          AND n.note_date <= {plus_days("r.index_date", end_day)}{low}
    """


def note_sql(
    con: Any,
    bounds: Sequence[tuple[int | None, int]],
    *,
    end_day: int,
    counts: bool = False,
    historical: bool = True,
) -> str:
    """SQL of the note group: long rows ``(row_id, analysis_id, concept_id, source_value,
    value)`` over the cohort rows table ``{rows}``; value 1, or the number of notes with the
    mention when `counts`.
    """
    if not {"note_nlp", "note", "concept"} <= _tables(con):
        return (
            "SELECT CAST(NULL AS BIGINT) AS row_id, 0 AS analysis_id, 0 AS concept_id, "
            "CAST(NULL AS VARCHAR) AS source_value, 0.0 AS value WHERE FALSE"
        )
    starts = [lo for lo, _ in bounds]
    lower = None if any(lo is None for lo in starts) else min(starts)
    aggs = ", ".join(
        f"count(DISTINCT note_id) FILTER (WHERE d >= {lo}) AS w{k}"
        if lo is not None
        else f"count(DISTINCT note_id) AS w{k}"
        for k, lo in enumerate(starts)
    )
    keep = "" if historical else " AND NOT hist"
    value = "CAST(w{k} AS DOUBLE)" if counts else "1.0"
    unions = " UNION ALL ".join(
        f"SELECT row_id, CASE WHEN hist THEN {NOTE_HISTORY_BASE} ELSE {NOTE_BASE} END "
        f"+ 10 * dpos + {k} AS analysis_id, concept_id, source_value, "
        f"{value.format(k=k)} AS value FROM agg WHERE w{k} > 0"
        for k in range(len(bounds))
    )
    return f"""
    SELECT * FROM (
        WITH m AS ({_mentions_sql(con, end_day, lower)}),
        agg AS (
            SELECT row_id, concept_id, source_value, dpos, hist, {aggs} FROM m
            WHERE dpos IS NOT NULL AND (concept_id <> 0 OR source_value IS NOT NULL){keep}
            GROUP BY row_id, concept_id, source_value, dpos, hist
        )
        {unions}
    ) notes
    """


@dataclass(frozen=True)
class NoteOverlap:
    """How far the note features restate the coded record, over a cohort's rows.

    ``facts`` counts distinct (row, concept or code) pairs of affirmed patient mentions in
    notes dated before the window end that carry a concept id or a source code (curated-only
    terms cannot be compared with codes); ``coded`` those whose concept or code is also
    recorded for the person in any event table by the same date; ``rows_with_notes`` cohort rows
    with at least one such mention.
    """

    rows: int
    rows_with_notes: int
    facts: int
    coded: int

    @property
    def share_coded(self) -> float:
        """Share of note facts that are also coded (NaN without facts)."""
        return self.coded / self.facts if self.facts else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "rows": self.rows,
            "rows_with_notes": self.rows_with_notes,
            "note_facts_with_code": self.facts,
            "also_coded": self.coded,
            "share_also_coded": None if not self.facts else round(self.share_coded, 4),
        }


def note_overlap(wh: Any, frame: pd.DataFrame, *, end_day: int = -1) -> NoteOverlap:
    """Compare the affirmed note mentions of cohort rows with their coded events.

    Parameters
    ----------
    wh
        The warehouse the cohort was built in.
    frame
        Cohort rows (``row_id, person_id, index_date``); consent was applied when they were
        selected.
    end_day
        Last day relative to the index date of both the notes and the coded events.
    """
    con = wh.con
    rows = temp_name("noterows")
    n = len(frame)
    have = _tables(con)
    if not n or not {"note_nlp", "note", "concept"} <= have:
        return NoteOverlap(n, 0, 0, 0)
    data = pa.table(
        {
            "row_id": pa.array(frame["row_id"].to_numpy(dtype="int64")),
            "person_id": pa.array(frame["person_id"].to_numpy(dtype="int64")),
            "index_date": pa.array(
                pd.to_datetime(frame["index_date"]).to_numpy().astype("datetime64[D]")
            ),
        }
    )
    coded = " UNION ALL ".join(
        f"SELECT person_id, {ident(d.concept_column)} AS concept_id, "
        f"{ident(d.source_value_column)} AS source_value, {ident(d.start_column)} AS dt "
        f"FROM {ident(d.table)}"
        for name, d in DOMAINS.items()
        if name in NOTE_DOMAINS and d.table in have
    )
    view = f"{rows}_src"
    con.register(view, data)
    try:
        con.execute(f"CREATE TEMP TABLE {ident(rows)} AS SELECT * FROM {ident(view)}")
        mentions = _mentions_sql(con, end_day, None).replace("{rows}", ident(rows))
        got = con.execute(
            f"""
            WITH m AS (SELECT DISTINCT row_id, person_id, note_date, concept_id, source_value
                       FROM ({mentions}) q
                       WHERE concept_id <> 0 OR (source_value IS NOT NULL
                             AND NOT starts_with(source_value, '{NLP_PREFIX}'))),
            f AS (SELECT m.row_id, m.concept_id, m.source_value, r.index_date, m.person_id
                  FROM m JOIN {ident(rows)} r ON r.row_id = m.row_id
                  GROUP BY ALL),
            e AS ({coded})
            SELECT count(*) AS facts,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM e WHERE e.person_id = f.person_id
                         AND e.dt <= {plus_days("f.index_date", end_day)}
                         AND ((f.concept_id <> 0 AND e.concept_id = f.concept_id)
                              OR (f.source_value IS NOT NULL
                                  AND e.source_value = f.source_value)))) AS coded,
                   count(DISTINCT row_id) AS rows_with_notes
            FROM f
            """
        ).fetchone()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {ident(rows)}")
        con.unregister(view)
    facts, also, with_notes = (int(v or 0) for v in got)
    return NoteOverlap(n, with_notes, facts, also)


def note_columns(reference: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the note covariates among the columns of a covariate reference."""
    if reference is None or reference.empty:
        return np.zeros(0, dtype=bool)
    return reference["analysis_id"].astype("int64").map(is_note_analysis).to_numpy(dtype=bool)
