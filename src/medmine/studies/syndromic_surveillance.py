"""Syndromic surveillance study: weekly syndrome counts from the warehouse by area (and age
band), every detector run over them with BH control across areas, and the detectors'
evaluation on simulated outbreaks (Noufaily et al. 2013 design).

Consent: persons are selected by `select_persons` for purpose ``external_sharing`` (the FHIR
``PUBHLTH`` reason maps there: surveillance results are shared with public-health bodies);
set ``purpose`` to None to count everyone, as mandatory reporting may require.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medmine.features.persons import select_persons
from medmine.studies.contract import FunctionStudy, StudyResult
from medmine.surveillance.counts import counts_table, syndromic_counts
from medmine.surveillance.evaluation import PUBLISHED, evaluate, summary_table
from medmine.surveillance.monitor import MonitorResult, monitor_table
from medmine.surveillance.syndromes import get_syndrome, load_syndromes

#: Methods run on every syndrome series (the first is the one whose alarms are listed).
ALL_METHODS = ("farrington", "nbcusum", "glr", "ears-c1", "ears-c2", "ears-c3")


@dataclass
class SurveillanceConfig:
    """Settings of the surveillance study."""

    syndromes: tuple[str, ...] = ("ILI", "GI", "respiratory", "rash")
    syndrome_file: Path | None = None
    method: str = "farrington"
    freq: str = "weekly"
    area: str = "state"
    by_age: bool = False
    start: str | None = None
    end: str | None = None
    years: int = 10
    fdr_level: float = 0.05
    purpose: str | None = "external_sharing"
    evaluate: bool = True
    eval_n: int = 10
    eval_seed: int = 1


@dataclass(kw_only=True)
class SyndromeRun:
    """One syndrome: its counts and each method's monitoring result (all areas)."""

    syndrome: str
    description: str
    counts: pd.DataFrame
    runs: dict[str, MonitorResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class SurveillanceResult(StudyResult):
    """Per syndrome runs, the simulation evaluation and the consent counts."""

    syndromes: list[SyndromeRun] = field(default_factory=list)
    evaluation: pd.DataFrame | None = None
    n_persons: int = 0
    n_excluded: int = 0
    window: tuple[str, str] = ("", "")

    def summary(self) -> str:
        """Syndromes, alarms of the main method and sparse series, in one line."""
        m = self.config.method if self.config else "farrington"
        alarms = sum(r.runs[m].n_alarms for r in self.syndromes if m in r.runs)
        sparse = sum(1 for r in self.syndromes if m in r.runs and r.runs[m].sparse_areas)
        return (
            f"{len(self.syndromes)} syndromes, {alarms} {m} alarms "
            f"{self.window[0]}..{self.window[1]}; {sparse} with too-sparse series"
        )

    def syndrome_table(self) -> pd.DataFrame:
        """One row per syndrome x method: periods, areas, mean count, alarms, warnings."""
        rows = []
        for r in self.syndromes:
            mean = float(r.counts["count"].mean()) if len(r.counts) else 0.0
            for m in ALL_METHODS:
                if m in r.runs:
                    res = r.runs[m]
                    mon = res.frame[res.frame["status"] == "monitored"]
                    rows.append(
                        {
                            "syndrome": r.syndrome,
                            "method": m,
                            "areas": res.frame["area"].nunique(),
                            "monitored periods": int(mon["date"].nunique()),
                            "mean count": round(mean, 2),
                            "alarms": res.n_alarms,
                            "alarms after FDR": int(mon["alarm_fdr"].sum()),
                            "too sparse": len(res.sparse_areas) > 0,
                            "warning": "; ".join(res.warnings[:2]),
                        }
                    )
                else:
                    rows.append(
                        {
                            "syndrome": r.syndrome,
                            "method": m,
                            "areas": 0,
                            "monitored periods": 0,
                            "mean count": round(mean, 2),
                            "alarms": 0,
                            "alarms after FDR": 0,
                            "too sparse": True,
                            "warning": r.skipped.get(m, ""),
                        }
                    )
        return pd.DataFrame(rows)

    def key_figures(self) -> dict[str, Any]:
        """Consent counts, alarms per syndrome and method, evaluation summary."""
        out: dict[str, Any] = {
            "n_persons": self.n_persons,
            "n_excluded": self.n_excluded,
            "window": list(self.window),
        }
        tab = self.syndrome_table()
        out["alarms"] = {f"{r.syndrome}/{r.method}": int(r.alarms) for r in tab.itertuples()}
        if self.evaluation is not None and len(self.evaluation):
            s = summary_table(self.evaluation)
            out["evaluation"] = s.round(4).to_dict("records")
        return out

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """Syndromes, counts, monitoring rows and the evaluation tables."""
        tabs: dict[str, pd.DataFrame] = {"syndromes": self.syndrome_table()}
        counts = [r.counts.assign(syndrome=r.syndrome) for r in self.syndromes]
        if counts:
            tabs["counts"] = pd.concat(counts, ignore_index=True)
        alarms = []
        for r in self.syndromes:
            for m, res in r.runs.items():
                f = res.frame[res.frame["status"] == "monitored"]
                alarms.append(f.assign(syndrome=r.syndrome, method=m))
        if alarms:
            tabs["monitoring"] = pd.concat(alarms, ignore_index=True)
        if self.evaluation is not None:
            tabs["evaluation"] = self.evaluation
            tabs["evaluation_summary"] = summary_table(self.evaluation)
        return tabs


def _window(wh: Any, cfg: SurveillanceConfig) -> tuple[str, str]:
    if cfg.start and cfg.end:
        return cfg.start, cfg.end
    last = wh.con.execute("SELECT max(condition_start_date) FROM condition_occurrence").fetchone()
    end = pd.Timestamp(cfg.end or last[0] or pd.Timestamp.today())
    start = pd.Timestamp(cfg.start) if cfg.start else end - pd.DateOffset(years=cfg.years)
    return str(start.date()), str(end.date())


def run(wh: Any, cfg: SurveillanceConfig) -> SurveillanceResult:
    """Count each syndrome, run every detector, evaluate the detectors on simulations."""
    persons = select_persons(wh, cfg.purpose)
    extra = load_syndromes(cfg.syndrome_file) if cfg.syndrome_file else {}
    start, end = _window(wh, cfg)
    notes: list[str] = []
    runs: list[SyndromeRun] = []
    for name in cfg.syndromes:
        syn = get_syndrome(name, extra)
        df = syndromic_counts(
            wh,
            syn,
            freq=cfg.freq,
            area=cfg.area,
            start=start,
            end=end,
            persons_sql=persons.person_ids_sql,
            age_bands=None if not cfg.by_age else (0, 5, 25, 50, 65),
        )
        sr = SyndromeRun(syndrome=syn.name, description=syn.description, counts=df)
        runs.append(sr)
        if df.empty:
            for m in ALL_METHODS:
                sr.skipped[m] = "no events in the window"
            notes.append(f"{syn.name}: no matching events {start}..{end}; nothing to monitor")
            continue
        table = counts_table(
            df,
            freq=cfg.freq,
            by_age=cfg.by_age,
            start=start,
            end=end,
            source=f"syndrome {syn.name}",
        )
        for m in ALL_METHODS:
            try:
                sr.runs[m] = monitor_table(table, m, fdr_level=cfg.fdr_level)
            except Exception as exc:  # noqa: BLE001 - a too-short series is reported, not fatal
                sr.skipped[m] = str(exc)
        primary = sr.runs.get(cfg.method)
        if primary is None:
            notes.append(f"{syn.name}: {cfg.method} not run: {sr.skipped.get(cfg.method, '')}")
        elif primary.sparse_areas:
            notes.append(
                f"{syn.name}: {len(primary.sparse_areas)} of {len(table.areas)} series too "
                "sparse for confident alarms (mean below 1 per period or mostly zeros); "
                "read their alarms as single cases, not outbreaks"
            )
    evaluation = None
    if cfg.evaluate:
        evaluation = evaluate(n=cfg.eval_n, seed=cfg.eval_seed)
        notes.append(
            "Detector evaluation runs on simulated series (Noufaily et al. 2013 design; "
            "its 42 scenarios, see the page), not on this warehouse. " + PUBLISHED["source"]
        )
    status = (
        "warn"
        if any(r.runs.get(cfg.method) is None or r.runs[cfg.method].sparse_areas for r in runs)
        else "ok"
    )
    return SurveillanceResult(
        name="surveillance",
        title="Syndromic surveillance: outbreak detection",
        data_source="warehouse",
        status=status,
        notes=notes,
        syndromes=runs,
        evaluation=evaluation,
        n_persons=persons.eligible,
        n_excluded=persons.excluded,
        window=(start, end),
    )


STUDY = FunctionStudy(
    "surveillance",
    "Syndromic surveillance: outbreak detection",
    SurveillanceConfig,
    run,
    requires=(("condition_occurrence", "load conditions with `medmine ingest ...`"),),
)
