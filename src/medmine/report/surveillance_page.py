"""Page of the surveillance study: each syndrome's series with expected counts, thresholds
and alarms, the alarms list, sparse-series warnings, and the detectors' evaluation on
simulated outbreaks (POD, false positives per week, timeliness) against published figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medmine.report.figures import figure_html
from medmine.report.html import Section
from medmine.report.tables import table_html
from medmine.studies.syndromic_surveillance import ALL_METHODS, SurveillanceResult, SyndromeRun
from medmine.surveillance.evaluation import EVAL_PARAMS, PUBLISHED, pod_table, summary_table
from medmine.surveillance.simulate import SCENARIOS

_COLORS = {
    "farrington": "#d62728",
    "nbcusum": "#9467bd",
    "glr": "#8c564b",
    "ears-c1": "#2ca02c",
    "ears-c2": "#17becf",
    "ears-c3": "#bcbd22",
    "oracle": "#000000",
}


def _series_figure(run: SyndromeRun, method: str) -> str:
    """Busiest area's counts, the main method's expected count and threshold, all alarms."""
    import plotly.graph_objects as go

    main = run.runs.get(method)
    if main is None:
        return ""
    f = main.frame
    area = f.groupby("area")["count"].sum().idxmax()
    a = f[f["area"] == area]
    fig = go.Figure()
    fig.add_scatter(
        x=a["date"], y=a["count"], name="count", mode="lines", line={"color": "#1f77b4"}
    )
    fig.add_scatter(
        x=a["date"],
        y=a["expected"],
        name=f"expected ({method})",
        mode="lines",
        line={"dash": "dot", "color": "#7f7f7f"},
    )
    fig.add_scatter(
        x=a["date"],
        y=a["threshold"],
        name=f"threshold ({method})",
        mode="lines",
        line={"dash": "dash", "color": _COLORS.get(method, "red")},
    )
    top = float(np.nanmax(a["count"].to_numpy(dtype=float))) if len(a) else 1.0
    for i, m in enumerate(ALL_METHODS):
        r = run.runs.get(m)
        if r is None:
            continue
        b = r.frame[(r.frame["area"] == area) & r.frame["alarm"]]
        if b.empty:
            continue
        fig.add_scatter(
            x=b["date"],
            y=np.full(len(b), top * (1.08 + 0.06 * i)),
            name=f"alarm {m}",
            mode="markers",
            marker={"symbol": "triangle-down", "size": 8, "color": _COLORS.get(m, "black")},
        )
    fig.update_layout(
        title=f"{run.syndrome}: area {area} (weekly persons with the syndrome)",
        height=380,
        xaxis_title="period",
        yaxis_title="persons",
    )
    return figure_html(fig)


def _alarm_rows(result: SurveillanceResult, method: str, limit: int = 300) -> list[dict[str, Any]]:
    rows = []
    for r in result.syndromes:
        res = r.runs.get(method)
        if res is None:
            continue
        sparse = set(res.sparse_areas)
        a = res.frame[res.frame["alarm"]]
        for x in a.itertuples():
            rows.append(
                {
                    "syndrome": r.syndrome,
                    "date": pd.Timestamp(x.date).date().isoformat(),
                    "area": x.area,
                    "count": int(x.count),
                    "expected": round(float(x.expected), 2),
                    "threshold": round(float(x.threshold), 2),
                    "q (BH)": float(x.qvalue),
                    "after FDR": bool(x.alarm_fdr),
                    "caution": "series too sparse" if x.area in sparse else "",
                }
            )
    return rows[-limit:]


def _pod_rows(tab: pd.DataFrame, label: str) -> list[dict[str, Any]]:
    """Rows of a method x column POD table, columns named by `label`."""
    return [
        {"method": m, **{label.format(c): round(float(v), 3) for c, v in r.items()}}
        for m, r in tab.iterrows()
    ]


def _evaluation_sections(ev: pd.DataFrame) -> list[Section]:
    import plotly.express as px

    summ = summary_table(ev)
    summ_rows = summ.assign(
        pod=summ["pod"].round(3),
        fpr_per_week=summ["fpr_per_week"].round(4),
        delay_weeks=summ["delay_weeks"].round(2),
        timeliness=summ["timeliness"].round(3),
    ).to_dict("records")
    matched = ev[ev["setting"] == "matched"]
    by_k = matched.groupby(["method", "k"], as_index=False)["pod"].mean()
    fig = px.line(
        by_k,
        x="k",
        y="pod",
        color="method",
        markers=True,
        height=380,
        title="Probability of detection by outbreak size at matched false-alarm rate",
        labels={"k": "outbreak size (baseline SDs)", "pod": "POD"},
    )
    per_sc = matched.pivot_table(index="scenario", columns="method", values="pod").round(3)
    sc_rows = [{"scenario": int(i), **row} for i, row in per_sc.to_dict("index").items()]
    params = [
        {
            "scenario": s.id,
            "theta": s.theta,
            "beta": s.beta,
            "gamma1": s.gamma1,
            "gamma2": s.gamma2,
            "m": s.m,
            "phi": s.phi,
        }
        for s in SCENARIOS
    ]
    checks = []
    ears = summ[(summ["setting"] == "matched") & summ["method"].str.startswith("ears")]
    cus = summ[(summ["setting"] == "matched") & (summ["method"] == "nbcusum")]
    orc = summ[(summ["setting"] == "matched") & (summ["method"] == "oracle")]
    lo, hi = PUBLISHED["nbcusum_pod"]
    if len(cus):
        pod = float(cus["pod"].iloc[0])
        checks.append(
            f"NB CUSUM POD at the matched rate: {pod:.0%}, "
            f"{'within' if lo <= pod <= hi else 'outside'} the {lo:.0%}-{hi:.0%} quoted in the "
            "issue, which comes from a different study design (below)."
        )
    if len(orc):
        checks.append(
            f"Ceiling: even the oracle (the true simulated mean and dispersion, one week at a "
            f"time) detects only {float(orc['pod'].iloc[0]):.0%} of these outbreaks at "
            f"{PUBLISHED['fpr_per_week']} false alarms per week: outbreaks of k = 2-3 baseline "
            "SDs spread over about two weeks add about 1-1.5 SD per week, far below a "
            "threshold that is crossed by chance once in 1,250 weeks."
        )
    if len(ears):
        checks.append(
            f"EARS POD at the matched rate: {ears['pod'].min():.1%}-"
            f"{ears['pod'].max():.1%} (Watkins et al.: {PUBLISHED['ears_pod'][0]:.0%}-"
            f"{PUBLISHED['ears_pod'][1]:.0%}); EARS's 7-9 week baselines cannot estimate a "
            "spread good enough for so low a false-alarm rate."
        )
    n_series = int(ev.groupby(["scenario", "k"])["n_series"].first().sum())
    if n_series < 1000:
        checks.append(
            f"Only {n_series} simulated series: each POD has a standard error of up to "
            f"{0.5 / np.sqrt(max(n_series / (len(SCENARIOS) * 4), 1)):.0%} per scenario cell; "
            "read differences of a few points as noise."
        )
    k_rows = _pod_rows(pod_table(ev, "k"), "k={:g}")
    g_rows = _pod_rows(pod_table(ev, "group"), "group {}")
    weeks = np.arange(1, 625)
    means = {
        g + 1: float(np.mean([s.mean(weeks).mean() for s in SCENARIOS[6 * g : 6 * g + 6]]))
        for g in range(7)
    }
    group_text = ", ".join(f"{g}: {m:.1f}" for g, m in means.items())
    eval_params = "; ".join(
        f"{m}: " + ", ".join(f"{k}={v:g}" for k, v in p.items()) for m, p in EVAL_PARAMS.items()
    )
    return [
        Section(
            "Detector evaluation on simulated outbreaks",
            table_html(summ_rows, name="evaluation_summary"),
            text=(
                "Simulated weekly series (624 weeks; last 49 monitored) from the Noufaily et al. "
                "(2013) negative-binomial model with past outbreaks and one current outbreak of "
                "k = 2, 3, 5, 10 baseline standard deviations, spread by log-normal delays. "
                "'default': each method's own thresholds; 'matched': thresholds set on "
                "outbreak-free twins so every method gives "
                f"{PUBLISHED['fpr_per_week']} false alarms per week. The 42 scenarios are "
                "Noufaily's (7 baseline groups x trend x 0-2 seasonal harmonics). Published "
                "runs of this design report defaults only; the matched-rate figures quoted "
                "in the issue come from another design (below), so compare orderings first. "
                "FPR is counted on the outbreak-free twins. "
                f"Evaluation settings: {eval_params}. " + " ".join(checks)
            ),
        ),
        Section(
            "Why the POD at 0.0008 false alarms per week is far below 80-93%",
            text=PUBLISHED["source"]
            + " The tables below give the POD at the matched rate by outbreak size and by "
            "baseline group (mean weekly count per group: "
            + group_text
            + "): groups 1, 2 and 4 average under three cases a week, where a k = 2-3 "
            "outbreak is a few cases.",
        ),
        Section(
            "POD by outbreak size k (matched rate)", table_html(k_rows, name="pod_by_k"), level=3
        ),
        Section(
            "POD by baseline group (matched rate)", table_html(g_rows, name="pod_by_group"), level=3
        ),
        Section(html=figure_html(fig)),
        Section(
            "POD per scenario at the matched rate",
            table_html(sc_rows, name="pod_by_scenario"),
            level=3,
        ),
        Section("Scenario parameters", table_html(params, name="scenarios"), level=3, details=True),
    ]


def surveillance_sections(result: SurveillanceResult) -> dict[str, Any]:
    """Template arguments: KPIs, per-syndrome series, alarms, evaluation."""
    cfg = result.config
    method = cfg.method if cfg else "farrington"
    tab = result.syndrome_table()
    sparse = int(tab[tab["method"] == method]["too sparse"].sum()) if len(tab) else 0
    kpis = [
        ("window", f"{result.window[0]} .. {result.window[1]}"),
        ("persons counted", result.n_persons),
        ("excluded by consent", result.n_excluded),
        ("syndromes", len(result.syndromes)),
        (f"{method} alarms", int(tab[tab["method"] == method]["alarms"].sum()) if len(tab) else 0),
        ("syndromes with too-sparse series", sparse),
    ]
    sections: list[Section] = []
    if sparse:
        sections.append(
            Section(
                "Read the alarms with care",
                text=(
                    f"{sparse} syndrome(s) have series too sparse for their method (mean below one "
                    "person per period or mostly empty periods). There a single case crosses "
                    "the threshold: an alarm means 'look at this case', not 'an outbreak'. Sparse "
                    "series are marked in the alarms table."
                ),
            )
        )
    sections.append(
        Section(
            "Syndromes and methods",
            table_html(tab.to_dict("records"), name="syndromes"),
            text=(
                "Persons with a syndrome code per period (a person counts once per period). "
                "Each method is fitted on the first periods it needs (EARS 7-9, CUSUM and GLR two "
                "years, Farrington five years and a window) and monitors the rest prospectively; "
                "'alarms after FDR' keeps alarms whose Benjamini-Hochberg q across areas is at "
                f"most {cfg.fdr_level if cfg else 0.05}."
            ),
        )
    )
    for r in result.syndromes:
        fig = _series_figure(r, method)
        text = r.description
        if not fig:
            text += f" — not monitored: {r.skipped.get(method, 'no data')}"
        sections.append(Section(r.syndrome, fig, text=text, level=3))
    sections.append(
        Section(
            f"Alarms ({method})",
            table_html(_alarm_rows(result, method), name="alarms", filters=True),
        )
    )
    if result.evaluation is not None and len(result.evaluation):
        sections += _evaluation_sections(result.evaluation)
    return {"kpis": kpis, "sections": sections, "subtitle": result.summary()}
