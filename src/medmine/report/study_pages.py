"""Write a study's page and its machine-readable output from its `StudyResult`.

One function for every study: `write_study` picks the page builder for the result's type,
renders the shared study template, and writes beside the page

* ``study_<name>.json``: status, summary, notes, the key figures, the page context
  (medmine version, time, warehouse file name and load ids) and how to reproduce it (the
  ``medmine study`` command and the full configuration);
* ``study_<name>/<table>.parquet`` and ``.csv``: every output table (ids and codes only).

Every page prints the command and configuration that produced it (`medmine.report.reproduce`).

Studies never render HTML themselves; a new study adds a page builder here.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from medmine.evaluate.model_card import plain
from medmine.report.context import PageContext, resolve
from medmine.report.html import ReportLink, render_page, render_study_body
from medmine.report.reproduce import Reproduction, reproduction
from medmine.studies import StudyResult

#: Page builders of the studies added since: result class name -> "module:function"; the
#: function takes the result and returns the template arguments. A new study adds one line.
PAGE_BUILDERS: dict[str, str] = {
    "DrugSafetyResult": "medmine.report.drug_safety_page:drug_safety_sections",
    "PgxResult": "medmine.report.pgx_page:pgx_sections",
    "SurveillanceResult": "medmine.report.surveillance_page:surveillance_sections",
    "ForecastResult": "medmine.report.forecast_page:forecast_sections",
}


def _builder(result: StudyResult) -> Callable[..., dict[str, Any]]:
    """The page builder for `result`'s type (imported lazily: each pulls Plotly)."""
    target = PAGE_BUILDERS.get(type(result).__name__)
    if target:
        import importlib

        module, function = target.split(":")
        build = getattr(importlib.import_module(module), function)
        return lambda r, out: build(r)
    from medmine.studies.claims_fraud import FraudResult
    from medmine.studies.comorbidity_rules import RulesResult
    from medmine.studies.phenotypes import PhenotypeResult
    from medmine.studies.prediction import PredictionResult

    if isinstance(result, PredictionResult):
        from medmine.report.prediction_page import prediction_sections

        return prediction_sections
    if isinstance(result, PhenotypeResult):
        from medmine.report.phenotypes_page import phenotype_sections

        return lambda r, out: phenotype_sections(r)
    if isinstance(result, RulesResult):
        from medmine.report.rules_page import rules_sections

        return lambda r, out: rules_sections(r)
    if isinstance(result, FraudResult):
        from medmine.report.claims_fraud_page import fraud_sections

        return lambda r, out: fraud_sections([("Warehouse claims", r)])
    raise TypeError(f"no page builder for {type(result).__name__}; add one in medmine.report")


def write_study(
    result: StudyResult,
    out_dir: str | Path,
    *,
    sections: Sequence[tuple[str, StudyResult]] | None = None,
    context: PageContext | None = None,
    study: str | None = None,
    reproduce_notes: Sequence[str] = (),
) -> ReportLink:
    """Write ``study_<name>.html`` with its JSON and tables; return the index link.

    Parameters
    ----------
    sections
        Claims fraud only: several results of the same study on one page, each under its
        title; their tables are written with a numbered prefix.
    context
        `page_context(wh)` of the warehouse the study ran on: printed on the page, written
        into the JSON and used as ``-w`` of the reproducing command.
    study
        Registered study name when the result was renamed (default ``result.name``).
    reproduce_notes
        Caveats on reproducing the page, e.g. figures only the demo's simulator can give.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = resolve(context)
    parts = list(sections) if sections else [("", result)]
    repro = [
        reproduction(r, ctx, study=study, title=title, notes=tuple(reproduce_notes))
        for title, r in parts
    ]
    downloads = write_outputs(result.name, parts, out, context=ctx, reproduce=repro)
    if sections:
        from medmine.report.claims_fraud_page import fraud_sections

        args = fraud_sections(list(sections))
        summary = " | ".join(r.summary() for _, r in parts)
        status = _worst(r.status for _, r in parts)
        notes = [n for _, r in parts for n in r.notes]
    else:
        args = _builder(result)(result, out)
        summary, status, notes = result.summary(), result.status, result.notes
    subtitle = args.pop("subtitle", "")
    body = render_study_body(
        data_source=result.data_source if not sections else "",
        notes=notes,
        downloads=downloads,
        reproduce=repro,
        **args,
    )
    page = render_page(
        out / f"study_{result.name}.html", result.title, body, subtitle=subtitle, context=ctx
    )
    return ReportLink(result.title, page.name, summary, status)


def _worst(statuses: Any) -> str:
    order = {"ok": 0, "warn": 1, "fail": 2}
    return max(statuses, key=lambda s: order.get(s, 2), default="ok")


def write_outputs(
    name: str,
    parts: Sequence[tuple[str, StudyResult]],
    out_dir: Path,
    *,
    context: PageContext | None = None,
    reproduce: Sequence[Reproduction] = (),
) -> dict[str, Any]:
    """Write the JSON summary and the tables; returns the links for the page.

    The JSON holds, per result, its figures and how to reproduce it (`reproduce`, one per
    part), and once the page context (version, time, warehouse file name and load ids).
    """
    folder = out_dir / f"study_{name}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tables = []
    entries = []
    for i, (title, r) in enumerate(parts, start=1):
        prefix = f"{i}_" if len(parts) > 1 else ""
        stems = []
        for stem, frame in r.output_tables().items():
            if frame is None:
                continue
            full = prefix + _stem(stem)
            write_table(frame, folder / f"{full}.parquet")
            frame_for_csv(frame).to_csv(folder / f"{full}.csv", index=False)
            stems.append(full)
            tables.append((full, f"{folder.name}/{full}.parquet", f"{folder.name}/{full}.csv"))
        entries.append(
            {
                "section": title or None,
                "study": r.name,
                "title": r.title,
                "status": r.status,
                "summary": r.summary(),
                "data_source": r.data_source,
                "notes": list(r.notes),
                "figures": r.key_figures(),
                "tables": stems,
                "reproduce": reproduce[i - 1].to_dict() if len(reproduce) >= i else None,
            }
        )
    doc = entries[0] if len(entries) == 1 else {"study": name, "sections": entries}
    doc["generated_by"] = resolve(context).to_dict()
    json_path = out_dir / f"study_{name}.json"
    json_path.write_text(json.dumps(plain(doc), indent=2, default=str), encoding="utf-8")
    return {"json": json_path.name, "tables": tables}


def _stem(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or "table"


def frame_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """Item sets as ``;``-joined sorted text; other values as they are."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: "; ".join(sorted(map(str, v))) if isinstance(v, set | frozenset) else v
            )
    return out


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as Parquet; object columns of mixed types are written as text."""
    df = frame_for_csv(frame).reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for col in df.columns:
            if df[col].dtype == object:
                df[col] = df[col].map(lambda v: None if v is None else str(v))
        table = pa.Table.from_pandas(df, preserve_index=False)
    import pyarrow.parquet as pq

    pq.write_table(table, path)
    return path
