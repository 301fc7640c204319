"""Page of the drug-safety study: signal volcano, every pair tested, and the case series."""

from __future__ import annotations

from typing import Any

import numpy as np

from medmine.report.figures import figure_html
from medmine.report.html import Section
from medmine.report.tables import table_html
from medmine.studies.drug_safety import DrugSafetyResult

_COLS = [
    *("drug_name", "outcome_name", "a", "b", "c", "d", "prr", "prr_lo", "prr_hi"),
    *("ror", "ror_lo", "ror_hi", "ic", "ic_lo", "ic_hi", "q", "evans", "signal"),
]


def _rows(result: DrugSafetyResult) -> list[dict[str, Any]]:
    df = result.pairs
    if df.empty:
        return []
    out = df[_COLS].copy()
    for c in ("prr", "prr_lo", "prr_hi", "ror", "ror_lo", "ror_hi", "ic", "ic_lo", "ic_hi"):
        out[c] = out[c].round(3)
    out["q"] = out["q"].map(lambda v: f"{v:.1e}")
    return out.rename(columns={"drug_name": "drug", "outcome_name": "outcome"}).to_dict("records")


def drug_safety_sections(result: DrugSafetyResult) -> dict[str, Any]:
    """Template arguments: KPIs, method, volcano plot, pair table and the case series."""
    import plotly.express as px

    cfg = result.config
    df = result.pairs
    plot = ""
    if len(df):
        view = df.assign(
            log2_ror=np.log2(df["ror"]),
            minus_log10_q=-np.log10(df["q"].clip(lower=1e-300)),
            label=df["drug_name"].astype(str) + " → " + df["outcome_name"].astype(str),
        )
        fig = px.scatter(
            view,
            x="log2_ror",
            y="minus_log10_q",
            color="signal",
            hover_name="label",
            hover_data=["a", "prr", "ic", "ic_lo"],
            height=420,
            title="Every pair tested: log2 ROR vs −log10 q (colour = signal)",
        )
        plot = figure_html(fig)
    sections = [
        Section(html=plot),
        Section(
            f"Pairs tested ({len(df):,}; {len(result.signals):,} signals)",
            table_html(_rows(result), name="pairs", filters=True),
            text="a: new users of the drug whose first outcome came within the window; b: "
            "the other new users of the drug at risk; c, d: the same for every other drug. "
            "Sort or filter any column (>x, <x for numbers).",
        ),
    ]
    s = result.sccs
    if s is not None:
        rows = [
            {
                "drug": s.drug_name or s.drug,
                "outcome": s.outcome_name or s.outcome,
                "risk window (days)": s.window_days,
                "cases": s.cases,
                "informative cases": s.informative_cases,
                "events in risk windows": s.events_risk,
                "events in control time": s.events_control,
                "risk days": s.days_risk,
                "control days": s.days_control,
                "IRR": None if s.irr != s.irr else round(s.irr, 3),
                "95% CI": "" if s.irr != s.irr else f"{s.irr_lo:.3g}–{s.irr_hi:.3g}",
                "p": "" if s.p != s.p else f"{s.p:.1e}",
            }
        ]
        sections.append(
            Section(
                "Self-controlled case series",
                table_html(rows, name="sccs"),
                text="Persons with the outcome only; incidence in the risk windows after each "
                "exposure vs the same persons' other observed time, by conditional Poisson "
                "regression (statsmodels), so every time-invariant confounder cancels. Not "
                "adjusted for age within a person. " + (s.note or ""),
            )
        )
    return {
        "kpis": [
            ("new-user exposures", result.n_exposures),
            ("persons exposed", result.n_persons),
            ("pairs tested", len(df)),
            ("signals", len(result.signals)),
            ("excluded by consent", result.n_excluded),
        ],
        "intro": f"New users' first exposure to each drug; an outcome counts when its first "
        f"occurrence falls within {cfg.window_days} days after the start. Pairs with at least "
        f"{cfg.min_count} such cases are tested: PRR and ROR with 95% intervals, the shrunk "
        "information component IC (BCPNN) with its 95% credibility interval, one-sided Fisher "
        f"exact tests with Benjamini–Hochberg q. Signal: ROR025 > 1, IC025 > 0 and q ≤ "
        f"{cfg.alpha}. Evans' rule (PRR ≥ 2, χ² ≥ 4, a ≥ 3) is shown beside it.",
        "sections": sections,
        "subtitle": result.summary(),
    }
