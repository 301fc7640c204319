"""Every page for an existing warehouse (`medmine report`): loads, quality, profile, studies.

Each registered study (or those asked for) runs when the warehouse holds what it needs
(`Study.check_data`, then the study's own checks); one that cannot run is listed on the index
as not run, with the reason. Nothing is simulated.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from medmine.errors import ConfigError, MedmineError
from medmine.report import ReportLink, page_context, write_index
from medmine.run.pages import loads_link, not_run_link, quality_links, study_link
from medmine.run.pipeline import QualitySettings
from medmine.warehouse import Warehouse

__all__ = ["ReportBuild", "build_report", "study_configs"]


@dataclass
class ReportBuild:
    """What `build_report` wrote: the index, its entries, and the studies that did not run."""

    index: Path
    links: list[ReportLink] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def study_configs(
    names: Iterable[str] | None = None, options: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Each study's config, built before anything runs (default: every registered study).

    Raises
    ------
    ConfigError
        For an unknown study, options for a study not selected, or a bad option.
    """
    from medmine.studies import get_study, study_names

    selected = list(dict.fromkeys(names)) if names else study_names()
    options = options or {}
    stray = sorted(set(options) - set(selected))
    if stray:
        raise ConfigError(
            f"options given for {stray}, which will not run; selected: {', '.join(selected)}"
        )
    return {n: get_study(n).make_config(options.get(n, {})) for n in selected}


def build_report(
    warehouse: str | Path,
    out: str | Path,
    *,
    studies: Iterable[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    console: Console | None = None,
) -> ReportBuild:
    """Write the index and every page for `warehouse` into folder `out`.

    Quality results are stored in the warehouse (as `medmine quality` does) and each study
    run is audited (as `medmine study` does).

    Parameters
    ----------
    studies
        Studies to run (default: every registered study).
    options
        Study name -> ``{option: value}`` (values as text or typed).
    """
    from medmine.studies import MissingDataError, get_study

    console = console or Console()
    configs = study_configs(studies, options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    build = ReportBuild(out / "index.html")
    command = "medmine report"
    with Warehouse(warehouse) as wh:
        console.rule("[bold]quality")
        settings = QualitySettings(units=False, link=False)
        build.links += quality_links(wh, out, settings, console, command)
        for name, config in configs.items():
            console.rule(f"[bold]study {name}")
            study = get_study(name)
            try:
                study.check_data(wh)
                link, _ = study_link(wh, name, config, out, console, command)
            except MissingDataError as exc:
                build.not_run[name] = str(exc)
                build.links.append(not_run_link(study.title, str(exc)))
                console.print(f"not run: {exc}")
                continue
            except MedmineError as exc:
                build.failed[name] = str(exc)
                build.links.append(ReportLink(study.title, "", f"failed: {exc}", "fail"))
                console.print(f"[red]failed:[/red] {exc}")
                continue
            build.links.append(link)
        loads = loads_link(wh, out, command)
        context = page_context(wh, command=command)
    build.links.insert(0, loads)
    ran = len(configs) - len(build.not_run) - len(build.failed)
    parts = [f"{ran} of {len(configs)} studies ran"]
    if build.not_run:
        parts.append(f"{len(build.not_run)} could not (missing data; reasons below)")
    if build.failed:
        parts.append(f"{len(build.failed)} failed")
    intro = (
        f"Pages of warehouse <code>{html.escape(Path(warehouse).name)}</code> written by "
        f"<code>medmine report</code>: {', '.join(parts)}."
    )
    write_index(out, build.links, intro=intro, context=context)
    return build
