"""Study `drug_safety`: drug -> subsequent condition signals, and a self-controlled case series.

Screens every drug-outcome pair of the warehouse by disproportionality (PRR, ROR, IC with
intervals, Benjamini-Hochberg q-values; `medmine.mining.drug_safety`) over new users'
first exposures, then estimates the incidence rate ratio of one pair (``drug`` and
``outcome`` options, or the strongest signal) by a self-controlled case series. Items are
concept ids where the warehouse has them, else source codes (``source:SNOMED:...``), so the
study also runs on FHIR loads without an OMOP vocabulary.

The page warns where a figure should not be read at face value: few events, a rate ratio far
beyond what real drug-outcome pairs show (simulated data), and the confounding that
disproportionality cannot remove (by indication, by age).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from medmine.errors import ConfigError
from medmine.features.persons import select_persons
from medmine.mining.drug_safety import SccsEstimate, SignalSettings, item_key, sccs, screen
from medmine.studies.contract import FunctionStudy, StudyResult

#: A rate ratio above this is far beyond published drug-adverse event pairs (the strongest
#: well-known ones sit around 10-50); above it the page says the data look simulated.
IMPLAUSIBLE_IRR = 50.0
#: Fewer events than this in a signal's exposed cell: the page says the estimate is fragile.
FEW_EVENTS = 5


@dataclass(frozen=True)
class DrugSafetyConfig:
    """Settings of the drug-safety study."""

    window_days: int = 30
    min_count: int = 3
    alpha: float = 0.05
    #: Drug and outcome of the self-controlled case series (concept id or ``VOCAB:code``);
    #: None: the strongest signal.
    drug: str | None = None
    outcome: str | None = None
    purpose: str | None = "research"


@dataclass(kw_only=True)
class DrugSafetyResult(StudyResult):
    """Pairs screened, signals, and the case-series estimate of one pair."""

    name: str = "drug_safety"
    title: str = "Drug safety signals"
    config: DrugSafetyConfig
    pairs: pd.DataFrame
    n_exposures: int
    n_persons: int
    n_excluded: int
    sccs: SccsEstimate | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def signals(self) -> pd.DataFrame:
        """Pairs flagged as signals (ROR025 > 1, IC025 > 0, q <= alpha)."""
        return self.pairs[self.pairs["signal"]] if len(self.pairs) else self.pairs

    def summary(self) -> str:
        """Pairs tested, signals, and the case-series ratio."""
        text = f"{len(self.pairs):,} pairs tested, {len(self.signals):,} signals"
        if self.sccs is not None and self.sccs.irr == self.sccs.irr:
            s = self.sccs
            text += (
                f"; SCCS {s.drug_name} -> {s.outcome_name}: IRR {s.irr:.2f} "
                f"({s.irr_lo:.2f}-{s.irr_hi:.2f})"
            )
        return text

    def key_figures(self) -> dict[str, Any]:
        """Counts, the strongest signals and the case-series estimate."""
        top = self.signals.head(10)
        return {
            "pairs_tested": len(self.pairs),
            "signals": len(self.signals),
            "exposures": self.n_exposures,
            "persons": self.n_persons,
            "excluded_by_consent": self.n_excluded,
            "top_signals": [
                {
                    "drug": r.drug,
                    "outcome": r.cond,
                    "a": int(r.a),
                    "prr": round(float(r.prr), 3),
                    "ror": round(float(r.ror), 3),
                    "ror_ci": [round(float(r.ror_lo), 3), round(float(r.ror_hi), 3)],
                    "ic": round(float(r.ic), 3),
                    "ic_ci": [round(float(r.ic_lo), 3), round(float(r.ic_hi), 3)],
                    "q": float(r.q),
                }
                for r in top.itertuples()
            ],
            "sccs": self.sccs.as_dict() if self.sccs is not None else None,
            "warnings": list(self.warnings),
        }

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """Every pair tested with its measures (ids and codes, no person-level rows)."""
        return {"pairs": self.pairs}


def _names(wh: Any, keys: set[str]) -> dict[str, str]:
    """Display names of item keys: concept names, else source-code display texts."""
    out: dict[str, str] = {}
    ids = [int(k.split(":", 1)[1]) for k in keys if k.startswith("concept:")]
    if ids and wh.count("concept"):
        rows = wh.con.execute(
            "SELECT concept_id, concept_name FROM concept WHERE concept_id IN "
            "(SELECT unnest(?::BIGINT[]))",
            [ids],
        ).fetchall()
        out.update({f"concept:{i}": n for i, n in rows})
    codes = [k.split(":", 1)[1] for k in keys if k.startswith("source:")]
    if codes and wh.count("mm_source_concept"):
        rows = wh.con.execute(
            "SELECT vocabulary_id || ':' || code, display FROM mm_source_concept "
            "WHERE vocabulary_id || ':' || code IN (SELECT unnest(?::VARCHAR[]))",
            [codes],
        ).fetchall()
        out.update({f"source:{k}": n for k, n in rows if n})
    return out


def run(wh: Any, config: DrugSafetyConfig | None = None) -> DrugSafetyResult:
    """Screen drug-outcome pairs and estimate one pair by a self-controlled case series."""
    cfg = config or DrugSafetyConfig()
    settings = SignalSettings(cfg.window_days, cfg.min_count, cfg.alpha)
    sel = select_persons(wh, cfg.purpose)
    where = sel.where()
    pairs = screen(wh.con, settings, where)
    n_exp, n_per = wh.con.execute(
        f"SELECT count(*), count(DISTINCT person_id) FROM (SELECT DISTINCT person_id, "
        f"drug_concept_id, drug_source_value FROM drug_exposure {where})"
    ).fetchone()
    names = _names(wh, set(pairs["drug"]) | set(pairs["cond"])) if len(pairs) else {}
    pairs.insert(1, "drug_name", pairs["drug"].map(names).fillna(pairs["drug"]))
    pairs.insert(3, "outcome_name", pairs["cond"].map(names).fillna(pairs["cond"]))
    warnings: list[str] = []
    signals = pairs[pairs["signal"]]
    few = signals[signals["a"] < FEW_EVENTS]
    if len(few):
        warnings.append(
            f"{len(few)} of {len(signals)} signals rest on fewer than {FEW_EVENTS} exposed "
            "cases: their intervals are wide and one record more or less can flip them."
        )
    if len(signals):
        warnings.append(
            "Disproportionality is a screen, not an effect estimate: drugs given to one age "
            "group or for one indication (vaccines in children, antibiotics for infections) "
            "raise outcomes of that group or indication. Read each signal with the case "
            "series below or a comparative design."
        )
    drug, outcome = cfg.drug, cfg.outcome
    if (drug is None) != (outcome is None):
        raise ConfigError("give both drug and outcome for the case series, or neither")
    estimate = None
    if drug is None and len(signals):
        drug, outcome = signals.iloc[0]["drug"], signals.iloc[0]["cond"]
    if drug is not None and wh.count("observation_period"):
        estimate = sccs(wh.con, drug, outcome, cfg.window_days, where)
        more = _names(wh, {item_key(drug), item_key(outcome)})
        estimate = dataclasses.replace(
            estimate,
            drug_name=more.get(estimate.drug, estimate.drug),
            outcome_name=more.get(estimate.outcome, estimate.outcome),
        )
        if estimate.irr == estimate.irr and estimate.irr > IMPLAUSIBLE_IRR:
            warnings.append(
                f"The case-series rate ratio ({estimate.irr:.0f}) is far above any published "
                "drug-adverse event ratio: the outcome follows the exposure almost "
                "deterministically, as in simulated data (Eunomia/Synthea). The direction "
                "is informative; the size is not."
            )
        if estimate.events_risk < FEW_EVENTS:
            warnings.append(
                f"Only {estimate.events_risk} outcome events fall in a risk window: the "
                "case-series ratio is fragile."
            )
    elif drug is not None:
        warnings.append("No observation periods: the case series cannot be estimated.")
    status = "warn" if warnings else "ok"
    return DrugSafetyResult(
        config=cfg,
        data_source="warehouse",
        status=status,
        pairs=pairs,
        n_exposures=int(n_exp),
        n_persons=int(n_per),
        n_excluded=int(sel.excluded),
        sccs=estimate,
        warnings=warnings,
        notes=list(warnings),
    )


STUDY = FunctionStudy(
    "drug_safety",
    "Drug safety signals",
    DrugSafetyConfig,
    run,
    requires=(
        ("drug_exposure", "load drug data: medmine ingest omop|fhir|synthea-csv ..."),
        ("condition_occurrence", "load conditions: medmine ingest omop|fhir|synthea-csv ..."),
    ),
)
