"""``medmine notes``: work on free-text notes held in files (JSON Lines), no warehouse needed.

Subcommands are added to `app` one per function; ``scrub`` de-identifies notes, ``extract``
and ``nlp`` run the clinical NLP pipeline (`medmine.nlp`) on files and on the warehouse.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from medmine.cli._common import EXIT_INPUT, WarehouseOpt, err_console, fail, friendly_errors

app = typer.Typer(
    help="Notes: de-identify files (scrub), extract concepts from files (extract) or from "
    "the warehouse's notes into note_nlp (nlp).",
    no_args_is_help=True,
)


def _records(path: Path, skipped: list[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each valid line; invalid lines are reported and counted."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                skipped.append(n)
                err_console.print(
                    f"{path}:{n}: not UTF-8 text; line skipped", highlight=False, soft_wrap=True
                )
                continue
            if not line.strip():
                continue
            why = None
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                why = f"not valid JSON ({exc.msg} at column {exc.colno})"
            else:
                if not isinstance(obj, dict):
                    why = "not a JSON object"
                elif "id" not in obj:
                    why = "no 'id'"
                elif not isinstance(obj.get("text"), str):
                    why = "no 'text' string"
            if why:  # the message never echoes the line: it may hold PHI
                skipped.append(n)
                err_console.print(
                    f"{path}:{n}: {why}; line skipped", highlight=False, soft_wrap=True
                )
                continue
            yield n, obj


@app.command("scrub")
@friendly_errors
def scrub(
    input_path: Annotated[
        Path, typer.Argument(metavar="IN.jsonl", help="One JSON object per line: id, text.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSON Lines file.")],
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="recall: a word survives only if known to be safe (Safe Harbor default); "
            "precise: pattern rules only (fewer false alarms, lower recall).",
        ),
    ] = "recall",
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes (0: one per CPU core).")] = 0,
) -> None:
    """De-identify notes: each output line is the input object with ``text`` scrubbed
    and ``spans`` (start, end, type in the original text) added. Dates keep their year.

    A malformed line is reported on stderr with its line number and skipped.
    """
    from medmine.privacy.phi_text import DETECTIONS, ScrubConfig, scrub_parallel

    if mode not in DETECTIONS:
        raise fail(f"--mode must be one of {', '.join(DETECTIONS)}; got {mode!r}")
    if jobs < 0:
        raise fail(f"--jobs must be 0 (one per core) or more; got {jobs}")
    if not input_path.is_file():
        raise fail(f"file not found: {input_path}", EXIT_INPUT)
    if out.resolve() == input_path.resolve():
        raise fail("--out must differ from the input file")
    skipped: list[int] = []
    pending: deque[dict[str, Any]] = deque()

    def texts() -> Iterator[str]:
        for _n, obj in _records(input_path, skipped):
            pending.append(obj)
            yield obj["text"]

    written = 0
    spans_found = 0
    with open(out, "w", encoding="utf-8") as f:
        for res in scrub_parallel(texts(), ScrubConfig(detection=mode), jobs=jobs):
            obj = pending.popleft()
            obj["text"] = res.text
            obj["spans"] = [
                {"start": s.start, "end": s.end, "type": s.entity.value} for s in res.spans
            ]
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            written += 1
            spans_found += len(res.spans)
    err_console.print(
        f"{written} notes scrubbed ({spans_found} spans, mode {mode}) -> {out}; "
        f"{len(skipped)} lines skipped",
        highlight=False,
        soft_wrap=True,
    )
    if written == 0 and skipped:
        raise typer.Exit(EXIT_INPUT)


@app.command("nlp")
@friendly_errors
def nlp(
    warehouse: WarehouseOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes.")] = 1,
    batch: Annotated[int, typer.Option("--batch", help="Notes per transaction.")] = 500,
) -> None:
    """Extract concept mentions with ConText modifiers from the warehouse's notes into
    ``note_nlp``. Resumable: notes already processed by the same pipeline version are skipped.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from medmine.config import warehouse_path
    from medmine.nlp.note_nlp import run_notes
    from medmine.warehouse import Warehouse

    if jobs < 1:
        raise fail(f"--jobs must be 1 or more; got {jobs}")
    if batch < 1:
        raise fail(f"--batch must be 1 or more; got {batch}")
    path = warehouse_path(warehouse)
    if path != ":memory:" and not Path(path).exists():
        raise fail(f"warehouse {path} does not exist; build one with `medmine ingest`", EXIT_INPUT)
    with Warehouse(path) as wh:
        cols = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*cols, console=err_console) as prog:
            task = prog.add_task("notes", total=None)

            def update(done: int, total: int) -> None:
                prog.update(task, total=total, completed=done)

            rep = run_notes(wh, jobs=jobs, batch=batch, progress=update)
    err_console.print(
        f"{rep.notes_processed} notes processed, {rep.notes_skipped} already done by "
        f"{rep.pipeline}; {rep.mentions} mentions written to note_nlp in {rep.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )


@app.command("extract")
@friendly_errors
def extract(
    input_path: Annotated[
        Path, typer.Argument(metavar="IN.jsonl", help="One JSON object per line: id, text.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSON Lines file.")],
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            "-w",
            help="Also match the concept names and code displays of this warehouse "
            "(default: the curated lexicon only).",
        ),
    ] = None,
) -> None:
    """Extract concept mentions from notes in a file: each output line is the input object
    with ``mentions`` added (start, end, text, concept_id, concept_name, domain, negated,
    historical, family, hypothetical, uncertain, section). Malformed lines are reported on
    stderr with their line number and skipped.
    """
    from medmine.nlp import Pipeline
    from medmine.nlp.terminology import terminology_from_duckdb
    from medmine.warehouse import Warehouse

    if not input_path.is_file():
        raise fail(f"file not found: {input_path}", EXIT_INPUT)
    if out.resolve() == input_path.resolve():
        raise fail("--out must differ from the input file")
    if warehouse:
        if not Path(warehouse).exists():
            raise fail(f"warehouse {warehouse} does not exist", EXIT_INPUT)
        with Warehouse(warehouse, read_only=True) as wh:
            pipe = Pipeline(terminology_from_duckdb(wh.con))
    else:
        pipe = Pipeline()
    keys = (
        "start",
        "end",
        "text",
        "concept_id",
        "concept_name",
        "domain",
        "negated",
        "historical",
        "family",
        "hypothetical",
        "uncertain",
        "section",
    )
    skipped: list[int] = []
    written = found = 0
    with open(out, "w", encoding="utf-8") as f:
        for _n, obj in _records(input_path, skipped):
            ms = pipe.process(obj["text"])
            obj["mentions"] = [
                {k: getattr(m, k) for k in keys} | {"experiencer": m.experiencer} for m in ms
            ]
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            written += 1
            found += len(ms)
    err_console.print(
        f"{written} notes, {found} mentions ({pipe.version}) -> {out}; "
        f"{len(skipped)} lines skipped",
        highlight=False,
        soft_wrap=True,
    )
    if written == 0 and skipped:
        raise typer.Exit(EXIT_INPUT)
