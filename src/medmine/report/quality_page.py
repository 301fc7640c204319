"""The quality page: failures grouped by check type with the threshold next to each percentage,
passes that still have failing rows, errors, and the provenance of example rows.

Only ids, counts and provenance (source file and location from ``mm_source_record``) appear on
the page, never data values.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path

from medmine.quality.checks import CheckResult, QualityRun, Status
from medmine.report.html import render_page
from medmine.warehouse import Warehouse

_E = html.escape


def _pct(r: CheckResult) -> str:
    if r.pct_violated is None:
        return "–"
    op = ">" if r.status == Status.FAIL else "≤"
    return f"{r.pct_violated:.2f}% {op} {r.threshold_pct:g}% threshold"


def _anchor(table: str | None, row_id: str) -> str:
    return f"ex-{table}-{row_id}".replace(" ", "_")


def _examples(r: CheckResult) -> str:
    return " ".join(f"<a href='#{_E(_anchor(r.table_name, i))}'>{_E(i)}</a>" for i in r.example_ids)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_E(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _result_rows(results: list[CheckResult], flag: bool = False) -> list[list[str]]:
    rows = []
    for r in results:
        where = ".".join(x for x in (r.table_name, r.column_name) if x)
        row = [
            f"<code>{_E(r.check_id)}</code><br><span class='muted'>{_E(r.description)}</span>",
            _E(where),
            f"{r.num_violated or 0:,} / {r.num_denominator or 0:,}",
            _E(_pct(r)),
            _examples(r),
        ]
        if flag:
            row.insert(3, f"<span class='warn'>{_E(r.flag)}</span>")
        rows.append(row)
    return rows


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
                found[(table, str(rid))] = (f, loc, load)
    out = []
    for table in sorted(wanted):
        rows = []
        for i in sorted(wanted[table], key=lambda x: (len(x), x)):
            f, loc, load = found.get((table, i), ("(no provenance recorded)", "", ""))
            rows.append(
                [
                    f"<span id='{_E(_anchor(table, i))}'><code>{_E(i)}</code></span>",
                    _E(f),
                    _E(loc),
                    _E(load),
                ]  # fmt: skip
            )
        out.append(
            f"<h3>{_E(table)}</h3>" + _table(["row id", "source file", "location", "load"], rows)
        )
    return "".join(out)


def write_quality_page(path: str | Path, run: QualityRun, wh: Warehouse | None = None) -> Path:
    """Write the quality page of `run`; `wh` supplies provenance of example rows."""
    s = run.summary
    kpis = "".join(
        f"<span class='kpi'><b class='{cls}'>{s[k]:,}</b>{label}</span>"
        for k, label, cls in (
            ("checks", "checks", ""),
            ("check_types", "check types", ""),
            ("pass", "pass", "ok"),
            ("pass_with_failing_rows", "pass, with failing rows", "warn"),
            ("fail", "fail", "fail"),
            ("not_applicable", "not applicable", "muted"),
            ("error", "error", "fail"),
        )
    )
    parts = [
        f"<div class='card'>{kpis}<div class='muted'>run <code>{_E(run.run_id)}</code>, "
        f"{run.duration_s:.1f} s. A check fails when its violated percentage exceeds its "
        "threshold; a pass can still have failing rows (flagged below).</div></div>"
    ]
    # Kahn category x status
    grid: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in run.results:
        grid[(r.kahn_category, r.context)][r.status] += 1
    statuses = [st.value for st in Status]
    rows = [
        [_E(cat), _E(ctx)] + [f"{grid[(cat, ctx)][st]:,}" for st in statuses]
        for cat, ctx in sorted(grid)
    ]
    parts.append("<h2>By Kahn category</h2>" + _table(["category", "context", *statuses], rows))
    # failures grouped by check type
    fails = run.by_status(Status.FAIL)
    parts.append(f"<h2 class='fail'>Failures ({len(fails):,})</h2>")
    by_type: dict[str, list[CheckResult]] = defaultdict(list)
    for r in fails:
        by_type[r.check_type].append(r)
    for ctype, rs in sorted(by_type.items()):
        head = f"{ctype} — {rs[0].kahn_category}/{rs[0].kahn_subcategory or '-'}"
        parts.append(
            f"<h3>{_E(head)} ({len(rs)})</h3>"
            + _table(
                ["check", "where", "violated / rows", "% vs threshold", "example ids"],
                _result_rows(rs),
            )  # fmt: skip
        )
    flagged = [r for r in run.results if r.status == Status.PASS and r.has_failing_rows]
    parts.append(f"<h2 class='warn'>Passed with failing rows ({len(flagged):,})</h2>")
    parts.append(
        _table(
            ["check", "where", "violated / rows", "flag", "% vs threshold", "example ids"],
            _result_rows(flagged, flag=True),
        )  # fmt: skip
    )
    errors = run.by_status(Status.ERROR)
    parts.append(f"<h2 class='fail'>Errors ({len(errors):,})</h2>")
    parts.append(
        _table(
            ["check", "error"],
            [[f"<code>{_E(r.check_id)}</code>", _E(r.error or "")] for r in errors],
        )  # fmt: skip
        if errors
        else "<p class='ok'>No check failed to run.</p>"
    )
    na = Counter(r.check_type for r in run.by_status(Status.NOT_APPLICABLE))
    parts.append(
        f"<details><summary>Not applicable ({sum(na.values()):,}: empty tables)</summary>"
        + _table(["check type", "checks"], [[_E(k), f"{v:,}"] for k, v in sorted(na.items())])
        + "</details>"
    )
    passed = [r for r in run.results if r.status == Status.PASS and not r.has_failing_rows]
    parts.append(
        f"<details><summary>Passed without failing rows ({len(passed):,})</summary>"
        + _table(
            ["check", "where", "violated / rows", "% vs threshold", "example ids"],
            _result_rows(passed),
        )  # fmt: skip
        + "</details>"
    )
    shown = fails + flagged
    parts.append("<h2>Example rows (ids and provenance only)</h2>" + _provenance(wh, shown))
    return render_page(
        path,
        "Data quality",
        "".join(parts),
        subtitle="Kahn framework checks: conformance, completeness, plausibility",
    )
