"""``medmine notes``: work on free-text notes held in files (JSON Lines), no warehouse needed.

Subcommands are added to `app` one per function; ``scrub`` de-identifies notes.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from medmine.cli._common import EXIT_INPUT, err_console, fail, friendly_errors

app = typer.Typer(
    help="Notes in JSON Lines files: de-identify them (scrub).",
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
