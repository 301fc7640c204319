"""Run the pipeline over the warehouse's `note` table into OMOP `note_nlp`: one row per
mention, resumable (notes already processed by the same pipeline version are skipped; rows of
an older version are replaced), one transaction per batch.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from medmine.nlp.pipeline import Mention, Pipeline
from medmine.nlp.terminology import Terminology, terminology_from_duckdb
from medmine.warehouse.schema import table
from medmine.warehouse.sql import ident

Progress = Callable[[int, int], None]
#: Notes processed, by pipeline version (notes without any mention leave no `note_nlp` row,
#: so resuming needs its own record); ids and versions only, no text. Declared in
#: `medmine.warehouse.schema`.
DONE_TABLE = "mm_nlp_note"


@dataclass(frozen=True)
class NlpReport:
    """What one run did."""

    pipeline: str
    notes_total: int
    notes_skipped: int
    notes_processed: int
    mentions: int
    seconds: float

    @property
    def notes_per_second(self) -> float:
        """Processed notes per wall-clock second."""
        return self.notes_processed / self.seconds if self.seconds else 0.0


def term_modifiers(m: Mention) -> str:
    """``term_modifiers`` text: every modifier as ``key=value``, ``;``-separated.

    >>> from medmine.nlp import Pipeline
    >>> term_modifiers(Pipeline().process("No fever.")[0])
    'negated=true;historical=false;hypothetical=false;uncertain=false;experiencer=patient;family=false;domain=Observation'
    """
    b = {True: "true", False: "false"}
    parts = [
        f"negated={b[m.negated]}",
        f"historical={b[m.historical]}",
        f"hypothetical={b[m.hypothetical]}",
        f"uncertain={b[m.uncertain]}",
        f"experiencer={m.experiencer}",
        f"family={b[m.family]}",
        f"domain={m.domain}",
    ]
    if m.section:
        parts.append(f"section={m.section}")
    if m.source:
        parts.append(f"source={m.source}")
    return ";".join(parts)


def rows_for_note(
    note_id: int, text: str, mentions: Sequence[Mention], system: str, now: dt.datetime
) -> list[dict[str, Any]]:
    """`note_nlp` rows (without ids) of one note's mentions."""
    out = []
    for m in mentions:
        a, b = max(0, m.start - 40), min(len(text), m.end + 40)
        out.append(
            {
                "note_id": note_id,
                "section_concept_id": 0,
                "snippet": " ".join(text[a:b].split()),
                "offset": f"{m.start}-{m.end}",
                "lexical_variant": m.text,
                "note_nlp_concept_id": m.concept_id,
                "note_nlp_source_concept_id": 0,
                "nlp_system": system,
                "nlp_date": now.date(),
                "nlp_datetime": now,
                "term_exists": "Y" if m.term_exists else "N",
                "term_temporal": "past" if m.historical else "present",
                "term_modifiers": term_modifiers(m),
            }
        )
    return out


_WORKER: Pipeline | None = None


def _init(t: Terminology) -> None:
    global _WORKER
    _WORKER = Pipeline(t)


def _work(item: tuple[int, str]) -> tuple[int, list[Mention]]:
    assert _WORKER is not None
    return item[0], _WORKER.process(item[1])


def _pending(con: Any, system: str, batch: int) -> Iterator[list[tuple[int, str]]]:
    cur = con.execute(
        "SELECT note_id, note_text FROM note WHERE note_id NOT IN "
        f"(SELECT note_id FROM {DONE_TABLE} WHERE nlp_system = ?) ORDER BY note_id",
        [system],
    )
    while True:
        rows = cur.fetchmany(batch)
        if not rows:
            return
        yield [(int(i), t or "") for i, t in rows]


def run_notes(
    wh: Any,
    pipeline: Pipeline | None = None,
    *,
    jobs: int = 1,
    batch: int = 500,
    progress: Progress | None = None,
) -> NlpReport:
    """Fill `note_nlp` from `note` with ``pipeline`` (terminology from the warehouse's
    `concept` and `mm_source_concept` tables plus the curated lexicon when omitted).

    Parameters
    ----------
    wh
        An open, writable `medmine.warehouse.Warehouse`.
    jobs
        Worker processes (1: in this process).
    progress
        Called with ``(notes done, notes to do)`` after each batch.
    """
    t0 = time.perf_counter()
    con = wh.con
    pipe = pipeline or Pipeline(terminology_from_duckdb(con))
    system = pipe.version
    # declared in the warehouse schema (created when the warehouse is opened for writing);
    # the DDL again only for a connection that skipped that
    con.execute(table(DONE_TABLE).ddl())
    total = con.execute("SELECT count(*) FROM note").fetchone()[0]
    todo = con.execute(
        "SELECT count(*) FROM note WHERE note_id NOT IN "
        f"(SELECT note_id FROM {DONE_TABLE} WHERE nlp_system = ?)",
        [system],
    ).fetchone()[0]
    # read everything pending first: the cursor must not stay open across write transactions
    batches = list(_pending(con, system, batch))
    pool = mp.get_context("spawn").Pool(jobs, _init, (pipe.terminology,)) if jobs > 1 else None
    done = mentions = 0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    try:
        for items in batches:
            texts = dict(items)
            results = (
                pool.map(_work, items, chunksize=max(1, len(items) // (4 * jobs)))
                if pool
                else [(i, pipe.process(t)) for i, t in items]
            )
            rows: list[dict[str, Any]] = []
            for note_id, ms in results:
                rows += rows_for_note(note_id, texts[note_id], ms, system, now)
            ids = [i for i, _ in items]
            with wh.transaction() as c:
                c.execute("DELETE FROM note_nlp WHERE note_id IN (SELECT unnest(?))", [ids])
                if rows:
                    start = c.execute(
                        "SELECT coalesce(max(note_nlp_id), 0) FROM note_nlp"
                    ).fetchone()[0]
                    for k, r in enumerate(rows, start=1):
                        r["note_nlp_id"] = start + k
                    tbl = pa.Table.from_pylist(rows)  # noqa: F841 (read by DuckDB by name)
                    cols = ", ".join(ident(n) for n in tbl.column_names)
                    c.execute(f"INSERT INTO note_nlp ({cols}) SELECT {cols} FROM tbl")
                c.execute(f"DELETE FROM {DONE_TABLE} WHERE note_id IN (SELECT unnest(?))", [ids])
                c.execute(f"INSERT INTO {DONE_TABLE} SELECT unnest(?), ?, ?", [ids, system, now])
            done += len(items)
            mentions += len(rows)
            if progress:
                progress(done, todo)
    finally:
        if pool:
            pool.close()
            pool.join()
    return NlpReport(
        system, int(total), int(total - todo), done, mentions, round(time.perf_counter() - t0, 3)
    )
