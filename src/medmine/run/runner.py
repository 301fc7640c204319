"""`run_pipeline`: load → quality → de-identify → studies → report, skipping unchanged stages.

Each stage's input fingerprint covers its settings, the medmine version and the output
fingerprint of the stage it reads (its upstream):

* ``load``: the source files (size, mtime, SHA-256), formats and options; its output is the
  digest of the loads recorded in the warehouse (so a warehouse changed by hand is noticed);
* ``quality`` reads the load; ``deid`` reads the quality stage (it copies the normalised units
  and the person links); each ``study NAME`` reads the de-identified copy, or the load when
  there is none; ``report`` (loads page and index) reads the index entries of all of them.

A stage is skipped when its input fingerprint equals the one recorded when it last finished
and the files it wrote are still there. A failed stage stops the run; later stages are not
run, and the next run starts again at the failed stage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from medmine import __version__
from medmine.errors import ConfigError, MedmineError
from medmine.report import ReportLink, page_context, write_index
from medmine.run.fingerprint import digest, file_entries, key_fingerprint, loads_digest
from medmine.run.pages import loads_link, quality_links, study_link
from medmine.run.pipeline import Pipeline
from medmine.run.stages import StageOutput, deidentify_stage, load_stage
from medmine.run.state import RunState, StageRecord
from medmine.warehouse import Warehouse

__all__ = ["RunResult", "StageFailedError", "StageOutcome", "run_pipeline"]


class StageFailedError(MedmineError):
    """A stage of `medmine run` failed; the message names the stage and why."""


@dataclass
class StageOutcome:
    """How one stage went: ``done``, ``skipped`` (unchanged), ``failed`` or ``not run``."""

    name: str
    status: str
    duration_s: float = 0.0
    detail: str = ""


@dataclass
class RunResult:
    """The stages of one run, the index (if the run got there), the first error, the time.

    `duration_s` is the whole run, fingerprinting the inputs included.
    """

    pipeline: Pipeline
    outcomes: list[StageOutcome] = field(default_factory=list)
    index: Path | None = None
    error: BaseException | None = None
    failed_stage: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no stage failed."""
        return self.error is None

    def raise_for_failure(self) -> None:
        """Raise `StageFailedError` for an expected failure; re-raise anything else (a bug)."""
        exc = self.error
        if exc is None:
            return
        if isinstance(exc, MedmineError | OSError):
            reason = str(exc)
            if isinstance(exc, OSError) and exc.filename is not None:
                reason = f"{exc.strerror or type(exc).__name__}: {exc.filename}"
            raise StageFailedError(f"stage {self.failed_stage} failed: {reason}") from exc
        raise exc


@dataclass
class _Stage:
    name: str
    upstream: str | None
    inputs: Callable[[], Any]
    work: Callable[[], StageOutput]
    still_valid: Callable[[StageRecord], bool] = lambda rec: True


def _check_ownership(pipeline: Pipeline, state: RunState) -> None:
    """Refuse to rebuild a warehouse (or overwrite a de-identified copy) no run created."""
    wh = pipeline.warehouse
    if pipeline.sources and wh.exists() and not state.created_by_run(wh):
        raise ConfigError(
            f"warehouse {pipeline.warehouse} exists and was not built by `medmine run` "
            "(the load stage rebuilds it from the sources); give a new path in warehouse, "
            "or empty sources to run the later stages on it"
        )
    deid = pipeline.deid
    if (
        deid is not None
        and deid.out is not None
        and deid.out.exists()
        and not state.created_by_run(deid.out)
    ):
        raise ConfigError(
            f"de-identified warehouse {deid.out} exists and was not written by `medmine "
            "run`; give a new path in deid.out, or delete the file"
        )


def _plan(p: Pipeline, console: Console, state: RunState, links: list[ReportLink]) -> list[_Stage]:
    out = str(p.out)
    stages = []
    if p.sources:
        sources = [dataclasses.asdict(s) for s in p.sources]
        stages.append(
            _Stage(
                "load",
                None,
                lambda: {
                    "warehouse": str(p.warehouse),
                    "sources": sources,
                    "files": [file_entries(s.paths) for s in p.sources],
                },
                lambda: _with_output(load_stage(p, console), loads_digest(p.warehouse)),
                lambda rec: p.warehouse.is_file() and loads_digest(p.warehouse) == rec.output,
            )
        )
    else:
        stages.append(
            _Stage(
                "load",
                None,
                lambda: {"existing": str(p.warehouse), "loads": loads_digest(p.warehouse)},
                lambda: StageOutput(
                    output=loads_digest(p.warehouse), detail="no sources: existing warehouse"
                ),
            )
        )
    if p.quality is not None:
        settings = p.quality
        inputs = {"settings": settings, "out": out}
        stages.append(_Stage("quality", "load", lambda: inputs, _quality(p, console)))
    study_upstream = "load"
    if p.deid is not None:
        deid = p.deid
        stages.append(
            _Stage(
                "deid",
                "quality" if p.quality is not None else "load",
                lambda: {"settings": deid, "key": _key_tag(deid.key), "out": out},
                lambda: deidentify_stage(p, console, _consent_counts(p, state)),
            )
        )
        study_upstream = "deid"
    for spec in p.studies:
        stages.append(
            _Stage(
                f"study {spec.name}",
                study_upstream,
                lambda spec=spec: {
                    "config": spec.config,
                    "warehouse": str(p.study_warehouse),
                    "out": out,
                },
                lambda spec=spec: _study(p, spec, console),
            )
        )
    stages.append(
        _Stage(
            "report",
            "load",
            lambda: {"links": [dataclasses.asdict(link) for link in links], "out": out},
            lambda: _report(p, links),
        )
    )
    return stages


def _creates(p: Pipeline, stage: str) -> Path | None:
    """The database file a stage (re)creates: the warehouse (load), the copy (deid)."""
    if stage == "load" and p.sources:
        return p.warehouse
    if stage == "deid" and p.deid is not None:
        return p.deid.out
    return None


def _with_output(output: StageOutput, fingerprint: str) -> StageOutput:
    output.output = fingerprint
    return output


def _key_tag(mode: str) -> str:
    """What of the pseudonym key enters the fingerprint: a one-way tag, or "ephemeral"."""
    if mode == "ephemeral":
        return "ephemeral"
    from medmine.privacy.pseudonym import deid_key

    return key_fingerprint(deid_key())


def _quality(p: Pipeline, console: Console) -> Callable[[], StageOutput]:
    def work() -> StageOutput:
        p.out.mkdir(parents=True, exist_ok=True)
        with Warehouse(p.warehouse) as wh:
            links = quality_links(wh, p.out, p.quality, console, p.command)
        return StageOutput(
            links=links,
            outputs=[p.out / link.href for link in links],
            detail=links[0].summary if links else "",
        )

    return work


def _consent_counts(p: Pipeline, state: RunState) -> dict[str, Any]:
    """Counts of the consent loaded by the load stage (or present in an existing warehouse)."""
    rec = state.stages.get("load")
    if rec is not None and rec.extra.get("consent"):
        return dict(rec.extra["consent"])
    with Warehouse(p.warehouse, read_only=True) as wh:
        n = wh.count("mm_consent")
    return {"read": n, "loaded": n} if n else {}


def _study(p: Pipeline, spec: Any, console: Console) -> StageOutput:
    with Warehouse(p.study_warehouse) as wh:
        link, result = study_link(wh, spec.name, spec.config, p.out, console, p.command)
    saved = list((getattr(result, "saved_models", None) or {}).values())
    return StageOutput(links=[link], outputs=[p.out / link.href, *saved], detail=link.summary)


def _report(p: Pipeline, links: list[ReportLink]) -> StageOutput:
    with Warehouse(p.warehouse, read_only=True) as wh:
        loads = loads_link(wh, p.out, p.command)
        context = page_context(wh, command=p.command)
    intro = f"Built by <code>{html.escape(p.command)}</code> into " + (
        f"<code>{html.escape(p.warehouse.name)}</code>"
    )
    if p.deid is not None and p.deid.out is not None:
        intro += (
            f"; studies ran on the de-identified copy <code>{html.escape(p.deid.out.name)}</code>"
        )
    index = write_index(p.out, [loads, *links], intro=intro + ".", context=context)
    return StageOutput(outputs=[p.out / loads.href, index], detail=str(index))


def run_pipeline(
    pipeline: Pipeline, *, console: Console | None = None, force: bool = False
) -> RunResult:
    """Run every stage of `pipeline` whose inputs changed since it last finished.

    Parameters
    ----------
    force
        Run every stage, changed or not.

    Returns
    -------
    RunResult
        The outcome of every stage; `RunResult.raise_for_failure` raises the first error.

    Raises
    ------
    ConfigError
        Before anything runs, when the run would replace a warehouse it did not build.
    """
    console = console or Console()
    began = time.perf_counter()
    state = RunState.read(pipeline.state_path)
    _check_ownership(pipeline, state)
    if state.pipeline and state.pipeline != str(pipeline.path):
        console.print(
            f"[yellow]note:[/yellow] {pipeline.warehouse.name} was last run by "
            f"{state.pipeline}; stages whose inputs differ from that run are redone"
        )
    state.pipeline = str(pipeline.path)
    result = RunResult(pipeline)
    links: list[ReportLink] = []
    fingerprints: dict[str, str] = {}
    for stage in _plan(pipeline, console, state, links):
        if result.error is not None:
            result.outcomes.append(StageOutcome(stage.name, "not run"))
            continue
        console.rule(f"[bold]{stage.name}")
        started = time.perf_counter()
        try:
            upstream = fingerprints.get(stage.upstream) if stage.upstream else None
            fp = digest(
                {"stage": stage.name, "medmine": __version__, "upstream": upstream,
                 "inputs": stage.inputs()}
            )  # fmt: skip
            rec = state.stages.get(stage.name)
            if (
                not force
                and rec is not None
                and rec.input == fp
                and rec.outputs_exist()
                and stage.still_valid(rec)
            ):
                console.print(f"unchanged since {rec.finished_at}: skipped")
                fingerprints[stage.name] = rec.output
                links.extend(rec.report_links())
                result.outcomes.append(StageOutcome(stage.name, "skipped", 0.0, "unchanged"))
                continue
            state.stages.pop(stage.name, None)
            created = _creates(pipeline, stage.name)
            if created is not None:
                state.mark_created(created)  # before the work: a half-made file is ours too
            state.save()
            output = stage.work()
        except Exception as exc:  # noqa: BLE001 - recorded, reported by raise_for_failure
            elapsed = time.perf_counter() - started
            result.error, result.failed_stage = exc, stage.name
            result.outcomes.append(StageOutcome(stage.name, "failed", elapsed, str(exc)))
            continue
        elapsed = time.perf_counter() - started
        rec = StageRecord(
            input=fp,
            output=output.output or fp,
            finished_at=dt.datetime.now().isoformat(timespec="seconds"),
            duration_s=round(elapsed, 3),
            outputs=[str(Path(o).resolve()) for o in output.outputs],
            links=[dataclasses.asdict(link) for link in output.links],
            extra=output.extra,
        )
        state.stages[stage.name] = rec
        state.save()
        fingerprints[stage.name] = rec.output
        links.extend(output.links)
        if stage.name == "report":
            result.index = pipeline.out / "index.html"
        result.outcomes.append(StageOutcome(stage.name, "done", elapsed, output.detail))
    if result.index is None and result.error is None:
        result.index = pipeline.out / "index.html"
    result.duration_s = time.perf_counter() - began
    return result
