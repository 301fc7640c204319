"""Model cards and HTML pages of prediction studies."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import pandas as pd

from medmine.evaluate.model_card import ModelCard
from medmine.report import ReportLink, figure_html, render_page, table_html
from medmine.studies._result import StudyResult


def cohort_summary(cohort: Any) -> dict[str, Any]:
    """Rows, persons, outcome count and rate, index-date range of a built cohort."""
    f = cohort.frame
    out: dict[str, Any] = {
        "rows": int(len(f)),
        "persons": int(f["person_id"].nunique()) if len(f) else 0,
        "outcomes": int(f["outcome"].sum()) if len(f) else 0,
        "outcome_rate": float(f["outcome"].mean()) if len(f) else float("nan"),
    }
    if len(f):
        d = pd.to_datetime(f["index_date"])
        out["index_dates"] = f"{d.min().date()} to {d.max().date()}"
    if "target" in f and len(f):
        out["target_mean"] = float(f["target"].mean())
        out["target_median"] = float(f["target"].median())
    return out


def attrition_rows(attrition: list[Any]) -> list[dict[str, Any]]:
    """Attrition steps as table rows (with the rows removed by each step)."""
    rows, prev = [], None
    for s in attrition:
        rows.append(
            {
                "step": s.description,
                "persons": s.persons,
                "rows": s.rows,
                "rows removed": None if prev is None else max(prev - s.rows, 0),
            }
        )
        # the consent step counts eligible persons, not cohort rows: nothing to subtract from
        prev = None if s.description.startswith("consent") else s.rows
    return rows


def build_card(
    *,
    name: str,
    title: str,
    data_source: str,
    definition: Any,
    summary: dict[str, Any],
    attrition: list[Any],
    settings: Any,
    n_covariates: int,
    metrics: pd.DataFrame,
    split_method: str,
    models: dict[str, Any] | None = None,
    importance: pd.DataFrame | None = None,
    fairness: Any = None,
    intended_use: str,
    limitations: list[str],
) -> ModelCard:
    """Assemble a TRIPOD+AI-oriented model card from the pieces of a study."""
    import lightgbm
    import sklearn

    from medmine import __version__

    perf_cols = [
        c for c in metrics.columns if c not in ("calibration_slope", "calibration_intercept")
    ]
    cal_cols = ["model", "calibration_slope", "calibration_intercept", "brier"]
    return ModelCard(
        model_details={
            "study": name,
            "title": title,
            "models": {
                k: type(m).__name__ + f" {getattr(m, 'best_params_', '')}"
                for k, m in (models or {}).items()
            },
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "software": {
                "medmine": __version__,
                "scikit-learn": sklearn.__version__,
                "lightgbm": lightgbm.__version__,
            },
            "validation": split_method,
        },
        intended_use={
            "purpose": intended_use,
            "users": "analysts and clinical researchers evaluating risk models",
            "out_of_scope": "unsupervised clinical decisions; populations unlike the cohort",
            "consent_purpose": "research",
        },
        data={"source": data_source, **{k: v for k, v in summary.items() if k != "rows"}},
        cohort={
            "definition": definition.to_dict() if hasattr(definition, "to_dict") else definition,
            "rows": summary.get("rows"),
            "attrition": attrition_rows(attrition),
        },
        predictors={
            "covariate_settings": settings.to_dict() if hasattr(settings, "to_dict") else settings,
            "n_covariates": n_covariates,
            "top_predictors": [] if importance is None else importance.head(15),
        },
        performance={
            "test_set": split_method,
            "metrics": metrics[[c for c in perf_cols if c in metrics]],
        },
        calibration={"metrics": metrics[[c for c in cal_cols if c in metrics]]},
        fairness={}
        if fairness is None
        else {"model": fairness.get("model"), **fairness.get("audit", {})},
        limitations=limitations,
    )


def study_card(result: StudyResult, **details: Any) -> ModelCard:
    """`build_card` with the study's name, title, data source and cohort taken from `result`."""
    return build_card(
        name=result.name,
        title=result.title,
        data_source=result.data_source,
        definition=result.definition,
        summary=result.cohort_summary,
        attrition=result.attrition,
        **details,
    )


def _fmt_ci(row: pd.Series, metric: str) -> str:
    lo, hi = row.get(f"{metric}_lower"), row.get(f"{metric}_upper")
    if pd.isna(row.get(metric)):
        return ""
    if lo is None or pd.isna(lo):
        return f"{row[metric]:.3f}"
    return f"{row[metric]:.3f} ({lo:.3f}–{hi:.3f})"


def metrics_rows(metrics: pd.DataFrame) -> list[dict[str, Any]]:
    """Display rows: AUROC and AUPRC with 95% CI, Brier and calibration."""
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


def write_page(result: StudyResult, out_dir: str | Path) -> Path:
    """Write ``out_dir/study_<name>.html`` and the model card JSON next to it."""
    out = Path(out_dir)
    parts = [f"<p>Data: {html.escape(result.data_source)}</p>"]
    for note in result.notes:
        parts.append(f"<div class='card'><b>Note.</b> {html.escape(note)}</div>")
    s = result.cohort_summary
    kpis = "".join(
        f"<span class='kpi'><b>{html.escape(_kpi(v))}</b>{html.escape(k.replace('_', ' '))}</span>"
        for k, v in s.items()
    )
    parts.append(f"<h2>Cohort</h2><div class='card'>{kpis}</div>")
    parts.append("<h3>Attrition</h3>" + table_html(attrition_rows(result.attrition)))
    if not result.metrics.empty:
        parts.append(
            "<h2>Performance on the test set</h2>" + table_html(metrics_rows(result.metrics))
        )
    order = ["roc", "calibration", "decision_curve", "predicted_vs_observed"]
    figs = [k for k in order if k in result.figures] + sorted(
        k for k in result.figures if k not in order
    )
    for key in figs:
        parts.append(figure_html(result.figures[key]))
    for key, table in result.tables.items():
        if table is None or table.empty:
            continue
        parts.append(
            f"<h2>{html.escape(key)}</h2>" + table_html(_rounded(table).to_dict("records"))
        )
    if result.model_card is not None:
        card = result.model_card.write_json(out / f"study_{result.name}_model_card.json")
        parts.append(
            f"<h2>Model card</h2><p>JSON: <a href='{card.name}'>{card.name}</a></p>"
            + result.model_card.to_html()
        )
    return render_page(
        out / f"study_{result.name}.html",
        result.title,
        "".join(parts),
        subtitle=f"study {result.name}",
    )


def _kpi(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(4)
    return out


def link_for(result: StudyResult, page: Path) -> ReportLink:
    """Index link summarising a study's headline numbers."""
    m = result.metrics
    if not m.empty and "auroc" in m:
        head = "; ".join(
            f"{r.model} AUROC {r.auroc:.3f} ({r.auroc_lower:.3f}–{r.auroc_upper:.3f})"
            for r in m.itertuples()
            if "recalibrated" not in str(r.model)
        )
    elif not m.empty:
        head = "; ".join(f"{r.model} MAE {r.mae:.2f}, R² {r.r2:.3f}" for r in m.itertuples())
    else:
        head = "not fitted"
    rows = result.cohort_summary.get("rows", 0)
    return ReportLink(result.title, page.name, f"{rows:,} rows; {head}", result.status)
