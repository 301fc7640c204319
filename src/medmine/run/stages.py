"""The work of the load and de-identification stages (quality and studies: `run.pages`).

The load builds into ``<warehouse>.building`` and replaces the warehouse only when every
source loaded, so a failed or interrupted load leaves the previous warehouse as it was. The
previous warehouse's audit log is carried into the new one first, so the hash chain goes on
across rebuilds instead of starting afresh.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import secrets
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console

from medmine.errors import SourceError, WarehouseError
from medmine.report import ReportLink, page_context
from medmine.report.console import print_load_report
from medmine.run.formats import FORMATS
from medmine.run.pipeline import Pipeline, Source
from medmine.warehouse import LoadReport, Warehouse
from medmine.warehouse.sql import literal

__all__ = ["StageOutput", "deidentify_stage", "load_stage"]


@dataclass
class StageOutput:
    """What a stage produced: index entries, files written and anything later stages read.

    `output` is the fingerprint later stages depend on (None: the stage's input fingerprint,
    for stages whose result is fixed by their inputs).
    """

    links: list[ReportLink] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    output: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


def _building_files(building: Path) -> list[Path]:
    """The build's database and what DuckDB and medmine keep beside it (``<file>.*``: the
    write-ahead log, the audit head); every one of them belongs to the build.
    """
    if not building.parent.is_dir():
        return []
    return [building, *building.parent.glob(f"{glob_escape(building.name)}.*")]


def _remove_building(building: Path) -> None:
    for p in _building_files(building):
        p.unlink(missing_ok=True)


def _replace_database(building: Path, target: Path) -> None:
    """Move the build and its side files onto `target`, replacing their old counterparts."""
    Path(f"{target}.wal").unlink(missing_ok=True)
    for p in _building_files(building):
        os.replace(p, target.with_name(target.name + p.name[len(building.name) :]))


def _carry_audit(wh: Warehouse, previous: Path) -> None:
    """Copy the audit log of the warehouse being replaced, so its chain goes on."""
    try:
        wh.con.execute(f"ATTACH {literal(str(previous))} AS previous (READ_ONLY)")
        wh.con.execute("INSERT INTO mm_audit SELECT * FROM previous.mm_audit ORDER BY seq")
        wh.con.execute("DETACH previous")
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot carry the audit log of {previous} into its rebuild ({exc}); move the file "
            "away to start a new warehouse"
        ) from None


def load_stage(pipeline: Pipeline, console: Console) -> StageOutput:
    """Load every source into a new warehouse; replace ``pipeline.warehouse`` on success.

    Consent sources load last (they refer to persons loaded by the others).

    Raises
    ------
    SourceError
        When an input file could not be read at all, or a source yielded no records.
    """
    target = pipeline.warehouse
    building = target.with_name(target.name + ".building")
    _remove_building(building)
    target.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(enumerate(pipeline.sources), key=lambda t: t[1].format == "consent")
    consent_counts: dict[str, Any] = {}
    records = 0
    try:
        with Warehouse(building) as wh:
            if target.is_file():
                _carry_audit(wh, target)
            for i, src in ordered:
                where = f"sources[{i}] ({src.format})"
                if src.format == "consent":
                    counts = _load_consent(src, wh)
                    consent_counts = _add_counts(consent_counts, counts)
                    console.print(
                        f"consent: {counts.get('loaded', 0):,} decisions loaded of "
                        f"{counts.get('read', 0):,} read, {counts.get('unmatched_person', 0):,} "
                        f"for unknown persons, {counts.get('invalid', 0):,} invalid"
                    )
                    continue
                rep = _read(src, wh, console)
                print_load_report(rep, console)
                _check_loaded(where, src, rep, wh)
                records += rep.totals.read
    except BaseException:
        _remove_building(building)
        raise
    _replace_database(building, target)
    return StageOutput(
        outputs=[target],
        extra={"consent": consent_counts},
        detail=f"{len(pipeline.sources)} sources, {records:,} records read",
    )


def _read(src: Source, wh: Warehouse, console: Console) -> LoadReport:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    fmt = FORMATS[src.format]
    reader = importlib.import_module(fmt.reader)
    columns = (SpinnerColumn(), TextColumn("{task.description}: {task.completed:,}"))
    with Progress(*columns, console=console, transient=True) as prog:
        task = prog.add_task(src.format, total=None)

        def update(item: str, done: int, total: int | None) -> None:
            prog.update(task, completed=done, total=total)

        target: Any = src.paths[0] if fmt.one_path else list(src.paths)
        return reader.load(target, wh, progress=update, **src.options)


def _check_loaded(where: str, src: Source, rep: LoadReport, wh: Warehouse) -> None:
    """Refuse a load that was not committed, left files unread, or read nothing."""
    if rep.status != "committed":
        raise WarehouseError(f"{where}: the load ended {rep.status}; nothing of it was kept")
    bad = wh.con.execute(
        "SELECT source_file, message FROM mm_quarantine WHERE load_id = ? "
        "AND resource_type = 'File' ORDER BY source_file",
        [rep.load_id],
    ).fetchall()
    if bad:
        named = "; ".join(f"{Path(f).name}: {m}" for f, m in bad[:3])
        more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise SourceError(
            where,
            f"{len(bad)} input file(s) could not be read ({named}{more})",
            "fix them or take them out of paths, then run again",
        )
    if rep.totals.read == 0:
        raise SourceError(
            where,
            "no records were found in " + ", ".join(str(p) for p in src.paths),
            f"expected {FORMATS[src.format].what}",
        )


def _load_consent(src: Source, wh: Warehouse) -> dict[str, Any]:
    """Load consent CSVs and FHIR Consent files; returns their summed counts."""
    from medmine.privacy import consent

    files: list[Path] = []
    for p in src.paths:
        if p.is_dir():
            found = (f for f in p.rglob("*") if f.suffix.lower() in (".csv", ".json", ".ndjson"))
            files.extend(sorted(found))
        else:
            files.append(p)
    total: dict[str, Any] = {}
    for f in files:
        rep = consent.load_csv(f, wh) if f.suffix.lower() == ".csv" else consent.load_fhir([f], wh)
        total = _add_counts(total, rep)
    return total


def _add_counts(acc: dict[str, Any], rep: Any) -> dict[str, Any]:
    """Counts of two consent load reports added (reasons summed per reason)."""
    new = rep if isinstance(rep, dict) else dataclasses.asdict(rep)
    out = dict(acc)
    for k, v in new.items():
        if isinstance(v, dict):
            merged = dict(out.get(k, {}))
            for r, n in v.items():
                merged[r] = merged.get(r, 0) + n
            out[k] = merged
        else:
            out[k] = out.get(k, 0) + v
    return out


def deidentify_stage(pipeline: Pipeline, console: Console, consent: dict[str, Any]) -> StageOutput:
    """De-identify the warehouse into ``deid.out``, measure risk, verify audits, write the page.

    `consent` holds the counts of the consent sources loaded (empty when there were none).
    """
    from medmine.privacy.audit import verify
    from medmine.privacy.consent import ConsentLoadReport
    from medmine.privacy.deid import deidentify
    from medmine.privacy.risk import PERSON_QI_SQL, anonymize, assess
    from medmine.report.privacy_page import write_privacy_page

    s = pipeline.deid
    if s is None or s.out is None:
        raise WarehouseError("the pipeline has no deid section")
    ephemeral = s.key == "ephemeral"
    key = secrets.token_bytes(32) if ephemeral else None
    with console.status("de-identifying"):
        rep = deidentify(pipeline.warehouse, s.out, s.deid_config(), key=key, overwrite=True)
    with Warehouse(s.out, read_only=True) as dwh:
        risk = assess(dwh.con, PERSON_QI_SQL)
        anon = anonymize(dwh.con, PERSON_QI_SQL, target_k=s.target_k)
        out_audit = verify(dwh)
    with Warehouse(pipeline.warehouse, read_only=True) as wh:
        src_audit = verify(wh)
        context = page_context(wh, command=pipeline.command)
    page = write_privacy_page(
        pipeline.out / "privacy.html",
        consent_report=ConsentLoadReport(**consent) if consent else ConsentLoadReport(),
        deid_report=rep,
        risk=risk,
        anonymization=anon,
        source_audit=src_audit,
        output_audit=out_audit,
        example="",
        ephemeral_key=ephemeral,
        output_name=s.out.name,
        k_threshold=s.target_k,
        context=context,
    )
    ok = src_audit.ok and out_audit.ok
    low_k = risk.k < s.target_k
    summary = (
        f"{rep.rows.get('person', 0):,} persons de-identified ({rep.mode}), "
        f"{rep.consent_excluded:,} excluded by consent, k={risk.k}"
        + (f" (below the target k={s.target_k})" if low_k else "")
        + f", audit {'intact' if ok else 'BROKEN'}"
    )
    console.print(f"de-identified warehouse {s.out} ({rep.duration_s:.1f} s): {summary}")
    return StageOutput(
        links=[ReportLink("Privacy", page.name, summary, _status(ok, low_k))],
        outputs=[s.out, page],
        detail=summary,
    )


def _status(audit_ok: bool, low_k: bool) -> str:
    if not audit_ok:
        return "fail"
    return "warn" if low_k else "ok"
