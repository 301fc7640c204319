"""Pages of prediction studies: cohort and attrition, metrics with CIs, figures, model card.

Covariate names carry a time window such as ``[-365,-1]``; every page explains the notation
next to the results (`WINDOW_LEGEND`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from medmine.report.html import Section, figure_html, table_html
from medmine.report.model_card_page import card_html
from medmine.studies.prediction import PredictionResult, attrition_rows

#: Figures shown first, in this order; any others follow sorted by name.
FIGURE_ORDER = ("roc", "calibration", "decision_curve", "predicted_vs_observed")


def _fmt_ci(row: pd.Series, metric: str) -> str:
    lo, hi = row.get(f"{metric}_lower"), row.get(f"{metric}_upper")
    if pd.isna(row.get(metric)):
        return ""
    if lo is None or pd.isna(lo):
        return f"{row[metric]:.3f}"
    return f"{row[metric]:.3f} ({lo:.3f}–{hi:.3f})"


def metrics_rows(metrics: pd.DataFrame) -> list[dict[str, Any]]:
    """Display rows: AUROC and AUPRC with 95% CI, Brier and calibration (or MAE, RMSE, R²)."""
    rows = []
    for _, r in metrics.iterrows():
        row = {"model": r["model"]}
        if "auroc" in r:
            row["AUROC (95% CI)"] = _fmt_ci(r, "auroc")
            row["AUPRC (95% CI)"] = _fmt_ci(r, "auprc")
            for k, label in (
                ("brier", "Brier"),
                ("calibration_slope", "cal. slope"),
                ("calibration_intercept", "cal. intercept"),
            ):
                row[label] = None if pd.isna(r.get(k)) else round(float(r[k]), 3)
            row["test rows"] = int(r["n_test"])
            row["test outcomes"] = int(r["outcomes_test"])
        else:
            for k in ("mae", "rmse", "r2"):
                if k in r:
                    row[k.upper() if k != "r2" else "R²"] = round(float(r[k]), 3)
        rows.append(row)
    return rows


def rounded(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """A copy with float columns rounded for display."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(digits)
    return out


#: How to read the window notation of covariate names (shown on every prediction page).
WINDOW_LEGEND = (
    "<div class='card legend'><b>Reading covariate names.</b> A name such as "
    "<code>condition:4027663 Peptic ulcer [-365,-1]</code> is <i>domain:concept id concept "
    "name [start,end]</i>. The window <code>[start,end]</code> counts days relative to the "
    "index date (day 0), both ends included: <code>[-365,-1]</code> is the year before the "
    "index date without the index day; <code>[-30,0]</code> is the last 30 days and the index "
    "day; <code>any</code> as start means no limit (any time before). Concept covariates are 1 "
    "when the concept is recorded in the window (or the number of records, with counts); "
    "<code>visit_count</code> counts visits, <code>lab_last</code> is the last value of the "
    "test in its window, in the unit it was recorded in. "
    "<code>Charlson comorbidity index [any,-1]</code> scores all conditions before the index "
    "date.</div>"
)


def warnings_section(result: PredictionResult) -> Section:
    """The plausibility warnings first on the page, each with its reason (or that none fired)."""
    warnings = list(getattr(result, "warnings", []) or [])
    if not warnings:
        body = (
            "<div class='card'><b>Plausibility checks:</b> no warning (AUROC ≤ 0.95, no dominant "
            "feature, ≥ 50 test events, calibration slopes in 0.7–1.3, no empty feature "
            "domain, baselines above chance).</div>"
        )
        return Section(html=body)
    items = "".join(
        f"<li><b>{html.escape(w.code)}</b> ({html.escape(w.subject)}): "
        f"{html.escape(w.message)}</li>"
        for w in warnings
    )
    return Section(
        html=(
            f"<div class='card warning'><b>⚠ {len(warnings)} plausibility warning"
            f"{'s' if len(warnings) != 1 else ''}: read before trusting the figures.</b>"
            f"<ul class='plausibility'>{items}</ul></div>"
        )
    )


def note_section(comparison: Any) -> Section:
    """AUROC with and without note features, the paired CI of the difference, and why."""
    rows = [
        {
            "model": r["model"],
            "AUROC with note features (95% CI)": (
                f"{r['auroc_with_notes']:.3f} ({r['auroc_with_notes_lower']:.3f}–"
                f"{r['auroc_with_notes_upper']:.3f})"
            ),
            "AUROC without (95% CI)": (
                f"{r['auroc_without_notes']:.3f} ({r['auroc_without_notes_lower']:.3f}–"
                f"{r['auroc_without_notes_upper']:.3f})"
            ),
            "difference (paired 95% CI)": (
                f"{r['difference']:+.3f} ({r['difference_lower']:+.3f} to "
                f"{r['difference_upper']:+.3f})"
            ),
            "note features": int(r["note_features"]),
            "test rows with note features": (
                f"{int(r['test_rows_with_note_features'])} of {int(r['test_rows'])}"
            ),
        }
        for r in comparison.table.to_dict("records")
    ]
    intro = (
        "<p>Each model is refitted without the note features on the same training persons and "
        "evaluated on the same test persons; the CI of the difference comes from a paired "
        "person-level bootstrap (both models scored on each resample). Note features are "
        "affirmed patient mentions from <code>note_nlp</code> (negated, hypothetical, uncertain "
        "and family mentions left out; historical ones apart) in notes dated before the index "
        "date.</p>"
    )
    body = "".join(f"<p>{html.escape(m)}</p>" for m in comparison.messages)
    table = table_html(rows, name="note features comparison") if rows else ""
    return Section(
        "Note features: AUROC with and without (same test persons)", intro + table + body
    )


def prediction_sections(result: PredictionResult, out_dir: Path) -> dict[str, Any]:
    """Template arguments of a prediction study page; writes the model card JSON beside it."""
    sections = [warnings_section(result)]
    sections.append(
        Section(
            "Attrition", table_html(attrition_rows(result.attrition), name="attrition"), level=3
        )
    )
    if not result.feature_domains.empty:
        sections.append(
            Section(
                "Features by domain (standard concepts and source codes)",
                table_html(result.feature_domains.to_dict("records"), name="feature domains"),
                level=3,
            )
        )
    if not result.metrics.empty:
        sections.append(
            Section(
                "Performance on the test set",
                table_html(metrics_rows(result.metrics), name="performance"),
            )
        )
        sections.append(Section(html=WINDOW_LEGEND))
    if getattr(result, "note_comparison", None) is not None:
        sections.append(note_section(result.note_comparison))
    figs = [k for k in FIGURE_ORDER if k in result.figures] + sorted(
        k for k in result.figures if k not in FIGURE_ORDER
    )
    sections += [Section(html=figure_html(result.figures[k])) for k in figs]
    for key, table in result.tables.items():
        if table is None or table.empty:
            continue
        sections.append(Section(key, table_html(rounded(table).to_dict("records"), name=key)))
    if result.model_card is not None:
        card = result.model_card.write_json(out_dir / f"study_{result.name}_model_card.json")
        sections.append(
            Section(
                "Model card",
                f"<p>JSON: <a href='{card.name}'>{card.name}</a></p>"
                + card_html(result.model_card),
            )
        )
    return {
        "kpi_heading": "Cohort",
        "kpis": [(k.replace("_", " "), v) for k, v in result.cohort_summary.items()],
        "sections": sections,
        "subtitle": f"study {result.name}",
    }
