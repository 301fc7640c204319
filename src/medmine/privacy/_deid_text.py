"""Text of a release: notes and free-text columns through the note scrubber, code columns
through the code guard, each as a temporary table `medmine.privacy._deid_plan` joins.

- ``_mm_notes(note_id, note_text, note_title)``: every note of a released person, scrubbed
  with that person's context (own names and identifiers, date offset, 90+ aggregation);
- ``_mm_text(k, pid, old, new)``: every distinct value of the other SCRUB columns, per person
  (``pid`` -1 for tables without one), scrubbed with every identity known in the warehouse;
- ``_mm_guard(k, old, new)``: values of CODE columns in which the guard (the warehouse's own
  identity values, e-mail addresses, SSNs) found something, with their scrubbed text. Values
  not listed are codes and are kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing as mp
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from medmine.privacy.deid_policy import REFERENCE_VOCABULARY, TEXT_POLICY, Text, output_tables
from medmine.privacy.phi_text import NoteContext, Scrubber, ScrubConfig
from medmine.privacy.phi_text.context import merged, person_contexts, shared_context
from medmine.warehouse.sql import ident

#: Recognizers of the code guard: high precision on codes (no long-digit or date rules).
GUARD_RECOGNIZERS = ("deny_list", "email", "ssn")


@dataclass(frozen=True)
class PersonDates:
    """What a person's text needs about dates: offset (expert), 90+ aggregation."""

    shift: int | None
    refy: int
    capped: bool


def register(con: Any, name: str, tbl: pa.Table) -> None:
    """Copy an Arrow table into a temporary DuckDB table `name`."""
    view = f"{name}_arrow"
    con.register(view, tbl)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
    con.unregister(view)


def _with_dates(
    ctx: NoteContext, p: PersonDates | None, mode: str, sentinels: frozenset[dt.date]
) -> NoteContext:
    if p is None:
        return dataclasses.replace(ctx, sentinel_dates=sentinels)
    return dataclasses.replace(
        ctx,
        date_shift_days=p.shift if mode == "expert" else None,
        aggregate_year=p.refy if p.capped and mode == "safe_harbor" else None,
        date_floor=dt.date(p.refy - 90, 1, 1) if p.capped and mode == "expert" else None,
        sentinel_dates=sentinels,
    )


def everyone_context(con: Any) -> NoteContext:
    """Shared deny-lists plus every person's names, streets and identifiers."""
    everyone = NoteContext()
    for c in person_contexts(con).values():
        everyone.person_names |= c.person_names
        everyone.ids |= c.ids
        everyone.streets |= c.streets
        everyone.zips |= c.zips
    return merged(shared_context(con), everyone)


#: Below this many notes a release scrubs them in one process (starting workers costs more).
PARALLEL_MIN_NOTES = 400

_WORKER: tuple[Scrubber, NoteContext, str, frozenset[dt.date]] | None = None
_CTX_CACHE: dict[int, NoteContext] = {}


def _init_worker(
    config: ScrubConfig, shared: NoteContext, mode: str, sentinels: frozenset[dt.date]
) -> None:
    global _WORKER  # noqa: PLW0603 - one scrubber and shared context per worker process
    _WORKER = (Scrubber(config), shared, mode, sentinels)
    _CTX_CACHE.clear()


def _scrub_one(
    task: tuple[int, str | None, str | None, NoteContext | None, PersonDates],
) -> tuple[str, str | None, list[str]]:
    assert _WORKER is not None
    scrubber, shared, mode, sentinels = _WORKER
    pid, text, title, own, pdates = task
    ctx = _CTX_CACHE.get(pid)
    if ctx is None:  # notes come ordered by person: one context per person at a time
        _CTX_CACHE.clear()
        base = merged(shared, own, surrogate_seed=str(pid))
        ctx = _CTX_CACHE[pid] = _with_dates(base, pdates, mode, sentinels)
    r = scrubber.scrub(text or "", ctx)
    new_title = scrubber.scrub(title, ctx).text if title else title
    return r.text, new_title, [s.entity.value for s in r.spans]


def scrub_notes(
    con: Any,
    scrubber: Scrubber,
    persons: dict[int, PersonDates],
    *,
    mode: str,
    sentinels: frozenset[dt.date],
    batch: int,
    jobs: int = 0,
) -> tuple[int, Counter[str]]:
    """Scrub the notes of released persons into ``_mm_notes``; (notes, spans per entity).

    Notes are scrubbed on `jobs` processes (0: one per CPU core) when there are at least
    `PARALLEL_MIN_NOTES`; each worker holds the shared deny-lists once and gets the person's
    own context with each note. The output is the same as with one process.
    """
    person_sql = "SELECT old FROM _mm_pmap"
    shared = shared_context(con)
    own = person_contexts(
        con, f"SELECT DISTINCT person_id FROM note WHERE person_id IN ({person_sql})"
    )
    ((n_notes,),) = con.execute(
        f"SELECT count(*) FROM note WHERE person_id IN ({person_sql})"
    ).fetchall()
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    counts: Counter[str] = Counter()
    reader = con.sql(
        "SELECT note_id, person_id, note_text, note_title FROM note "
        f"WHERE person_id IN ({person_sql}) ORDER BY person_id"
    ).to_arrow_reader(batch)
    pool = None
    if jobs > 1 and n_notes >= PARALLEL_MIN_NOTES and "fork" in mp.get_all_start_methods():
        pool = mp.get_context("fork").Pool(
            jobs, initializer=_init_worker, initargs=(scrubber.config, shared, mode, sentinels)
        )
    else:
        _init_worker(scrubber.config, shared, mode, sentinels)
    n = 0
    chunks: list[pa.Table] = []
    try:
        for rb in reader:
            d = rb.to_pydict()
            tasks = [
                (pid, text, title, own.get(pid), persons[pid])
                for pid, text, title in zip(
                    d["person_id"], d["note_text"], d["note_title"], strict=True
                )
            ]
            done = (
                pool.imap(_scrub_one, tasks, chunksize=32)
                if pool is not None
                else map(_scrub_one, tasks)
            )
            texts, titles = [], []
            for new_text, new_title, entities in done:
                counts.update(entities)
                texts.append(new_text)
                titles.append(new_title)
                n += 1
            chunks.append(
                pa.table(
                    {
                        "note_id": pa.array(d["note_id"], pa.int64()),
                        "note_text": pa.array(texts, pa.string()),
                        "note_title": pa.array(titles, pa.string()),
                    }
                )
            )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    schema = pa.schema(
        [("note_id", pa.int64()), ("note_text", pa.string()), ("note_title", pa.string())]
    )
    register(con, "_mm_notes", pa.concat_tables(chunks) if chunks else schema.empty_table())
    return n, counts


def _person_sql(name: str, person_column: str | None) -> tuple[str, str]:
    if person_column:
        return f"t.{ident(person_column)}", f"{ident(name)} t"
    if name == "note_nlp":
        return "nn.person_id", "note_nlp t JOIN note nn ON nn.note_id = t.note_id"
    return "-1", f"{ident(name)} t"


def scrub_columns(
    con: Any,
    scrubber: Scrubber,
    persons: dict[int, PersonDates],
    *,
    mode: str,
    sentinels: frozenset[dt.date],
) -> int:
    """Scrub every distinct (person, value) of the SCRUB columns outside `note` into
    ``_mm_text``; returns the number of values scrubbed.
    """
    everyone = everyone_context(con)
    ctxs: dict[int, NoteContext] = {}
    keys, pids, olds, news = [], [], [], []
    for spec in output_tables():
        for col, policy in TEXT_POLICY.get(spec.name, {}).items():
            if policy is not Text.SCRUB or spec.name == "note":
                continue
            pid_sql, src = _person_sql(spec.name, spec.person_column)
            c = f"t.{ident(col)}"
            rows = con.execute(
                f"SELECT DISTINCT {pid_sql} AS pid, {c} FROM {src} WHERE {c} IS NOT NULL"
            ).fetchall()
            for pid, v in rows:
                if pid != -1 and pid not in persons:
                    continue  # not released
                ctx = ctxs.get(pid)
                if ctx is None:
                    ctx = ctxs[pid] = _with_dates(everyone, persons.get(pid), mode, sentinels)
                keys.append(f"{spec.name}.{col}")
                pids.append(pid)
                olds.append(v)
                news.append(scrubber.scrub(str(v), ctx).text)
    register(
        con,
        "_mm_text",
        pa.table(
            {
                "k": pa.array(keys, pa.string()),
                "pid": pa.array(pids, pa.int64()),
                "old": pa.array(olds, pa.string()),
                "new": pa.array(news, pa.string()),
            }
        ),
    )
    return len(olds)


def guard_codes(con: Any, mode: str) -> int:
    """Check every distinct value of the CODE columns; register ``_mm_guard`` with those
    in which an identity value was found; returns how many.
    """
    everyone = everyone_context(con)
    cfg = ScrubConfig.for_mode(mode)
    guard = Scrubber(ScrubConfig(recognizers=GUARD_RECOGNIZERS, operators=cfg.operators))
    keys, olds, news = [], [], []
    for spec in output_tables():
        if spec.name in REFERENCE_VOCABULARY:
            continue  # vocabulary releases (Athena), not data about anyone
        for col, policy in TEXT_POLICY.get(spec.name, {}).items():
            if policy is not Text.CODE:
                continue
            rows = con.execute(
                f"SELECT DISTINCT {ident(col)} FROM {ident(spec.name)} "
                f"WHERE {ident(col)} IS NOT NULL"
            ).fetchall()
            for (v,) in rows:
                r = guard.scrub(str(v), everyone)
                if r.spans:
                    keys.append(f"{spec.name}.{col}")
                    olds.append(v)
                    news.append(r.text)
    register(
        con,
        "_mm_guard",
        pa.table(
            {
                "k": pa.array(keys, pa.string()),
                "old": pa.array(olds, pa.string()),
                "new": pa.array(news, pa.string()),
            }
        ),
    )
    return len(olds)
