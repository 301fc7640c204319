"""The quality page: failures first, grouped by root cause, with a fix hint per check type.

Order: headline counts; a table of root causes (failing first); one section per root cause
with its failing checks, then the passes that still have failing rows; errors; and, folded,
what did not apply, what passed and the Kahn category grid. Example rows are given by id
with their provenance as load id, source file fingerprint and record location
(``mm_source_record``), never the source path or file name: file names can carry a
patient's name (Synthea writes ``Given_Family_uuid.json``). No data value is printed.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import duckdb

from medmine.quality.checks import NOT_APPLICABLE_REASONS, CheckResult, QualityRun, Status
from medmine.quality.compare import Change
from medmine.report.context import PageContext
from medmine.report.html import render_page
from medmine.report.quality_causes import CAUSES, RootCause, cause_of, hint_for
from medmine.report.tables import html_table
from medmine.warehouse import Warehouse

_E = html.escape
_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.PASS: 2, Status.NOT_APPLICABLE: 3}
_COLUMNS = ["status", "check", "violated / rows", "% vs threshold (severity)", "example ids"]
#: The not-applicable reason of checks that need a vocabulary.
NO_VOCABULARY = NOT_APPLICABLE_REASONS["concept"]


def _pct(r: CheckResult) -> str:
    if r.pct_violated is None:
        return "–"
    if getattr(r, "severity", "rate") == "error":
        return f"{r.pct_violated:.2f}%; impossible data: any row fails"
    op = ">" if r.status == Status.FAIL else "≤"
    return f"{r.pct_violated:.2f}% {op} {r.threshold_pct:g}% threshold"


def _anchor(table: str | None, row_id: str) -> str:
    return f"ex-{table}-{row_id}".replace(" ", "_")


def _examples(r: CheckResult) -> str:
    links = " ".join(
        f"<a href='#{_E(_anchor(r.table_name, i))}'>{_E(i)}</a>" for i in r.example_ids
    )
    return f"<span class='ids'>{links}</span>" if links else ""


def _code_spans(text: str) -> str:
    """Escape `text`, then show `backticked` commands as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _E(text))


def _status_cell(r: CheckResult) -> str:
    if r.status == Status.FAIL:
        return "<span class='fail'>fail</span>"
    if r.status == Status.PASS and r.has_failing_rows:
        return "<span class='warn'>pass, with failing rows</span>"
    return f"<span class='muted'>{_E(str(r.status))}</span>"


def _result_rows(results: list[CheckResult]) -> list[list[Any]]:
    rows = []
    for r in results:
        rows.append(
            [
                _status_cell(r),
                f"<code>{_E(r.check_id)}</code><br><span class='muted'>{_E(r.description)}</span>"
                + _consequence_note(r),
                (f"{r.num_violated or 0:,} / {r.num_denominator or 0:,}", r.num_violated),
                (_E(_pct(r)), r.pct_violated),
                _examples(r),
            ]
        )
    return rows


def _consequence_note(r: CheckResult) -> str:
    n = getattr(r, "consequences", None)
    if not n:
        return ""
    return (
        f"<br><span class='warn'>{n:,} later rows of these persons are consequences of this "
        "failure (dated after the impossible death); they are counted here, not under "
        "before_death.</span>"
    )


def _vocabulary_notice(run: QualityRun) -> str:
    """Top-of-page notice when checks could not run for lack of a vocabulary."""
    blocked = [r for r in run.results if r.reason and NO_VOCABULARY in r.reason]
    if not blocked:
        return ""
    by_type = Counter(r.check_type for r in blocked)
    items = "".join(
        f"<li><code>{_E(t)}</code>: {n:,} checks</li>" for t, n in sorted(by_type.items())
    )
    return (
        "<div class='card warn' id='vocabulary-notice'><b>No vocabulary loaded: "
        f"{len(blocked):,} checks of {len(by_type)} types could not run.</b> Without the "
        "OHDSI concept table, concept ids cannot be verified (an id of the wrong domain "
        "would pass unseen) and sex-specific codes are matched against medmine's curated "
        "list of source codes only. Load a vocabulary (an Athena download) with "
        "<code>medmine vocab load ATHENA_DIR</code>, then run <code>medmine quality</code> "
        f"again.<details><summary>Checks that could not run</summary><ul>{items}</ul>"
        "</details></div>"
    )


def _change_rows(changes: list[Change]) -> list[list[Any]]:
    return [
        [
            f"<code>{_E(c.check_id)}</code>",
            _E(f"{c.before_status or 'not run'} → {c.after_status}"),
            (f"{c.before_violated or 0:,} → {c.after_violated or 0:,}", c.after_violated),
            (f"{c.delta:+,}", c.delta),
            _E(f"{_pct_or_dash(c.before_pct)} → {_pct_or_dash(c.after_pct)}"),
        ]
        for c in changes
    ]


def _pct_or_dash(pct: float | None) -> str:
    return "–" if pct is None else f"{pct:.2f}%"


def _comparison(run: QualityRun) -> str:
    """The run-to-run comparison card (top of the page)."""
    cmp = getattr(run, "comparison", None)
    if cmp is None:
        return (
            "<div class='card' id='since-last-run'><b>Since the previous run:</b> this is the "
            "first run stored on this warehouse; the next run will list new failures, worse "
            "rates and fixed checks against it.</div>"
        )
    c = cmp.counts
    head = (
        f"<div class='card' id='since-last-run'><b>Since the previous run</b> "
        f"(<code>{_E(cmp.previous_run_id)}</code>, {_E(str(cmp.previous_run_at))}): "
        f"<span class='{'fail' if c['new_failures'] else 'ok'}'>{c['new_failures']:,} new "
        f"failures</span>, <span class='{'warn' if c['worse'] else 'ok'}'>{c['worse']:,} "
        f"worse</span>, <span class='ok'>{c['fixed']:,} fixed</span>, {c['better']:,} better "
        f"({c['compared']:,} checks compared).</div>"
    )
    cols = ["check", "status", "violated rows", "change", "% violated"]
    parts = [head]
    for kind, title in (
        ("new_failures", "New failures"),
        ("worse", "Worse (more violating rows or a higher rate)"),
        ("fixed", "Fixed"),
    ):
        changes = getattr(cmp, kind)
        if changes:
            parts.append(
                f"<h3>{title} ({len(changes):,})</h3>"
                + html_table(cols, _change_rows(changes), name=f"since_{kind}")
            )
    return "".join(parts)


def _rank(r: CheckResult) -> tuple[int, float]:
    flagged = r.status == Status.PASS and r.has_failing_rows
    order = 0 if r.status == Status.FAIL else (1 if flagged else 2)
    return order, -(r.pct_violated or 0.0)


def _causes(results: list[CheckResult]) -> list[tuple[RootCause, dict[str, list[CheckResult]]]]:
    """Failing and flagged results by root cause and check type, most failures first."""
    grouped: dict[str, dict[str, list[CheckResult]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        grouped[cause_of(r.check_type).key][r.check_type].append(r)

    def weight(types: dict[str, list[CheckResult]]) -> tuple[int, int, int]:
        rs = [r for v in types.values() for r in v]
        fails = sum(r.status == Status.FAIL for r in rs)
        return -fails, -(len(rs) - fails), -sum(r.num_violated or 0 for r in rs)

    out = []
    for key, types in sorted(grouped.items(), key=lambda kv: (weight(kv[1]), kv[0])):
        ordered = dict(sorted(types.items(), key=lambda kv: (min(_rank(r) for r in kv[1]), kv[0])))
        for rs in ordered.values():
            rs.sort(key=_rank)
        out.append((CAUSES[key], ordered))
    return out


def _cause_summary(groups: list[tuple[RootCause, dict[str, list[CheckResult]]]]) -> str:
    rows = []
    for cause, types in groups:
        rs = [r for v in types.values() for r in v]
        fails = [r for r in rs if r.status == Status.FAIL]
        rows.append(
            [
                f"<a href='#cause-{cause.key}'>{_E(cause.title)}</a>",
                (f"<span class='{'fail' if fails else 'muted'}'>{len(fails):,}</span>", len(fails)),
                (f"{len(rs) - len(fails):,}", len(rs) - len(fails)),
                (
                    f"{sum(r.num_violated or 0 for r in fails):,}",
                    sum(r.num_violated or 0 for r in fails),
                ),
                _E(", ".join(types)),
            ]
        )
    if not rows:
        return "<p class='ok'>No check failed and no passing check has failing rows.</p>"
    return html_table(
        ["root cause", "failing checks", "passing, with failing rows", "rows violated "
         "(failing checks)", "check types"],
        rows,
        name="root_causes",
    )  # fmt: skip


def _cause_sections(groups: list[tuple[RootCause, dict[str, list[CheckResult]]]]) -> str:
    parts = []
    for cause, types in groups:
        n_fail = sum(r.status == Status.FAIL for v in types.values() for r in v)
        cls = "fail" if n_fail else "warn"
        parts.append(
            f"<h2 id='cause-{cause.key}' class='{cls}'>{_E(cause.title)}</h2>"
            f"<p>{_E(cause.explanation)}</p>"
        )
        for ctype, rs in types.items():
            fails = sum(r.status == Status.FAIL for r in rs)
            head = (
                f"{ctype} ({rs[0].kahn_category}/{rs[0].kahn_subcategory or '-'}): "
                f"{fails} failing, {len(rs) - fails} passing with failing rows"
            )
            hint = _code_spans(hint_for(ctype))
            parts.append(
                f"<h3>{_E(head)}</h3><div class='hint'><b>Fix:</b> {hint}</div>"
                + html_table(_COLUMNS, _result_rows(rs), name=ctype)
            )
    return "".join(parts)


def _safe_location(location: str, source_file: str) -> str:
    """The record location with any mention of its source file (path or name) removed."""
    if not location:
        return ""
    out = location
    path = Path(source_file.split(":", 1)[0] if source_file else "")
    names = {source_file, str(path), path.name, path.stem, path.name.split(".")[0]}
    for name in sorted((n for n in names if n and len(n) > 2), key=len, reverse=True):
        out = out.replace(name, "[file]")
    return out


def _file_keys(wh: Warehouse, loads: set[str]) -> dict[tuple[str, str], str]:
    """(load id, source file) -> ``file k of n, sha256 …`` from ``mm_load_file``."""
    if not loads:
        return {}
    try:
        rows = wh.con.execute(
            "SELECT load_id, source_file, sha256, "
            "row_number() OVER (PARTITION BY load_id ORDER BY source_file), "
            "count(*) OVER (PARTITION BY load_id) FROM mm_load_file "
            "WHERE list_contains(?, load_id)",
            [sorted(loads)],
        ).fetchall()
    except duckdb.Error:  # a warehouse without mm_load_file
        return {}
    return {(load, f): f"file {k} of {n}, sha256 {sha[:12]}" for load, f, sha, k, n in rows}


def _provenance(wh: Warehouse | None, results: list[CheckResult]) -> str:
    wanted: dict[str, set[str]] = defaultdict(set)
    for r in results:
        if r.table_name and r.example_ids and r.check_type not in ("cdm_field", "cdm_table"):
            wanted[r.table_name].update(r.example_ids)
    if not wanted:
        return "<p class='muted'>No example rows.</p>"
    found: dict[tuple[str, str], tuple[str, str, str]] = {}
    if wh is not None:
        for table, ids in wanted.items():
            numeric = [int(i) for i in ids if i.lstrip("-").isdigit()]
            if not numeric:
                continue
            rows = wh.con.execute(
                "SELECT row_id, source_file, location, load_id FROM mm_source_record "
                "WHERE table_name = ? AND list_contains(?, row_id)",
                [table, numeric],
            ).fetchall()
            for rid, f, loc, load in rows:
                found[(table, str(rid))] = (f or "", loc or "", load or "")
    files = _file_keys(wh, {load for _, _, load in found.values()}) if wh is not None else {}
    out = []
    for table in sorted(wanted):
        rows = []
        for i in sorted(wanted[table], key=lambda x: (len(x), x)):
            f, loc, load = found.get((table, i), ("", "", ""))
            rows.append(
                [
                    f"<span id='{_E(_anchor(table, i))}'><code>{_E(i)}</code></span>",
                    f"<code>{_E(load)}</code>"
                    if load
                    else "<span class='muted'>no provenance recorded</span>",
                    _E(files.get((load, f), "")),
                    _E(_safe_location(loc, f)),
                ]  # fmt: skip
            )
        out.append(
            f"<h3>{_E(table)}</h3>"
            + html_table(["row id", "load", "source file", "record location"], rows, name=table)
        )
    return "".join(out)


def _kpis(run: QualityRun) -> str:
    s = run.summary
    kpis = "".join(
        f"<span class='kpi'><b class='{cls}'>{s[k]:,}</b>{label}</span>"
        for k, label, cls in (
            ("fail", "fail", "fail"),
            ("pass_with_failing_rows", "pass, with failing rows", "warn"),
            ("error", "error", "fail"),
            ("pass", "pass", "ok"),
            ("not_applicable", "not applicable", "muted"),
            ("checks", "checks", ""),
            ("check_types", "check types", ""),
        )
    )
    return (
        f"<div class='card'>{kpis}<div class='muted'>run <code>{_E(run.run_id)}</code>, "
        f"{run.duration_s:.1f} s. A check of impossible data (severity <i>error</i>: "
        "negative durations, death before birth, values beyond physiological limits, units "
        "of the wrong dimension) fails on a single row; a rate check fails when its violated "
        "percentage exceeds its threshold, and can pass with failing rows (listed with the "
        f"failures). Thresholds and severities: {_E(getattr(run, 'settings_source', 'defaults'))}"
        " (<code>medmine quality thresholds</code> lists them; <code>--config FILE</code> "
        "overrides them).</div></div>"
    )


def _folded(run: QualityRun) -> str:
    parts = []
    na: Counter[tuple[str, str]] = Counter(
        (r.check_type, _na_reason(r)) for r in run.by_status(Status.NOT_APPLICABLE)
    )
    parts.append(
        f"<details><summary>Not applicable ({sum(na.values()):,})</summary>"
        + html_table(
            ["check type", "reason", "checks"],
            [[_E(k), _E(reason), f"{v:,}"] for (k, reason), v in sorted(na.items())],
            name="not_applicable",
        )
        + "</details>"
    )
    passed = [r for r in run.results if r.status == Status.PASS and not r.has_failing_rows]
    parts.append(
        f"<details><summary>Passed without failing rows ({len(passed):,})</summary>"
        + html_table(_COLUMNS, _result_rows(passed), name="passed")
        + "</details>"
    )
    grid: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in run.results:
        grid[(r.kahn_category, r.context)][r.status] += 1
    statuses = [st.value for st in Status]
    rows = [
        [_E(cat), _E(ctx)] + [f"{grid[(cat, ctx)][st]:,}" for st in statuses]
        for cat, ctx in sorted(grid)
    ]
    parts.append(
        "<details><summary>By Kahn category</summary>"
        + html_table(["category", "context", *statuses], rows, name="kahn_categories")
        + "</details>"
    )
    return "".join(parts)


def _na_reason(r: CheckResult) -> str:
    reason: Any = getattr(r, "reason", None) or r.error
    return str(reason) if reason else "nothing to check (no rows in the table or column)"


def write_quality_page(
    path: str | Path,
    run: QualityRun,
    wh: Warehouse | None = None,
    *,
    context: PageContext | None = None,
) -> Path:
    """Write the quality page of `run`; `wh` supplies the provenance of example rows.

    `context` is the page's identity (`medmine.report.page_context(wh)`).
    """
    fails = run.by_status(Status.FAIL)
    flagged = [r for r in run.results if r.status == Status.PASS and r.has_failing_rows]
    groups = _causes(fails + flagged)
    errors = run.by_status(Status.ERROR)
    parts = [
        _vocabulary_notice(run),
        _kpis(run),
        _comparison(run),
        "<h2>Root causes</h2><p>Failing checks grouped by what usually causes them, failures "
        "first. Each group below says what to do per check type.</p>",
        _cause_summary(groups),
        _cause_sections(groups),
        f"<h2 class='{'fail' if errors else 'ok'}'>Errors ({len(errors):,})</h2>",
        html_table(
            ["check", "error"],
            [[f"<code>{_E(r.check_id)}</code>", _E(r.error or "")] for r in errors],
            name="errors",
        )
        if errors
        else "<p class='ok'>No check failed to run.</p>",
        _folded(run),
        "<h2>Example rows (ids and provenance only)</h2><p class='muted'>Provenance is the "
        "load, the source file's position in that load and its SHA-256 fingerprint (compare "
        "with <code>sha256sum</code>), and the record's location in the file; file names and "
        "paths are not shown because they can carry patients' names.</p>",
        _provenance(wh, fails + flagged),
    ]
    return render_page(
        path,
        "Data quality",
        "".join(parts),
        subtitle="Kahn framework checks: conformance, completeness, plausibility",
        context=context,
    )
