"""Plausibility checks of a prediction result: warnings a reader must see before trusting it.

Each check is data (a code, a rule, a reason); `check_prediction` runs them over the metrics
table and the other pieces of a study and returns `PlausibilityWarning` objects that the page
shows with their reason. Thresholds are in `PlausibilityLimits`.

>>> import pandas as pd
>>> m = pd.DataFrame([{"model": "LightGBM", "auroc": 0.99, "outcomes_test": 19,
...                    "calibration_slope": 1.6}])
>>> sorted(w.code for w in check_prediction(m))
['calibration_slope', 'few_test_events', 'too_good']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np
import pandas as pd


class Check(StrEnum):
    """Reason codes of the plausibility warnings (machine-readable, stable)."""

    TOO_GOOD = "too_good"
    DOMINANT_FEATURE = "dominant_feature"
    FEW_TEST_EVENTS = "few_test_events"
    CALIBRATION_SLOPE = "calibration_slope"
    FLAT_THRESHOLDS = "flat_thresholds"
    EMPTY_DOMAIN = "empty_domain"
    BASELINE_BELOW_CHANCE = "baseline_below_chance"
    IDENTICAL_SCORES = "identical_scores"
    IMPLAUSIBLE_INPUT = "implausible_input"
    LEAKAGE = "leakage"
    IMPLAUSIBLE_LIFT = "implausible_lift"


@dataclass(frozen=True)
class PlausibilityLimits:
    """Where a figure stops being plausible.

    Parameters
    ----------
    max_auroc
        Above this an AUROC more likely reflects an artefact or leakage than medicine.
    dominant_share
        A single feature carrying more than this share of the total importance.
    min_test_events
        Fewer outcome events in the test set give CIs too wide to compare models.
    slope_range
        Calibration slopes outside this range: over- or under-fitted risks.
    """

    max_auroc: float = 0.95
    dominant_share: float = 0.5
    min_test_events: int = 50
    slope_range: tuple[float, float] = (0.7, 1.3)


@dataclass(frozen=True)
class PlausibilityWarning:
    """One warning: reason code, the model or input it concerns, and the plain-language reason."""

    code: str
    subject: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON and tables."""
        return asdict(self)


def _w(check: Check, subject: str, message: str) -> PlausibilityWarning:
    return PlausibilityWarning(check.value, subject, message)


def check_prediction(
    metrics: pd.DataFrame,
    *,
    importance: Mapping[str, pd.DataFrame] | None = None,
    thresholds: pd.DataFrame | None = None,
    baselines: Sequence[str] = (),
    limits: PlausibilityLimits | None = None,
) -> list[PlausibilityWarning]:
    """Warnings about the metrics of every model, its importances and threshold table.

    Parameters
    ----------
    metrics
        One row per model (``model``, ``auroc``, ``outcomes_test``, ``calibration_slope``...).
    importance
        Model -> importance table (``feature`` and ``mean_abs_shap``, or ``importance``).
    thresholds
        The metrics-at-thresholds table (``model``, ``threshold``, ``sensitivity`` ...).
    baselines
        Names of raw clinical scores (LACE, Charlson): below 0.5 they rank backwards.
    """
    lim = limits or PlausibilityLimits()
    out: list[PlausibilityWarning] = []
    if metrics is None or metrics.empty or "auroc" not in metrics:
        return out
    base = set(baselines)
    events_done = False
    for r in metrics.itertuples(index=False):
        model, auc = str(r.model), float(getattr(r, "auroc", np.nan))
        if "recalibrated" in model:
            continue
        if not np.isnan(auc) and auc > lim.max_auroc:
            out.append(
                _w(
                    Check.TOO_GOOD,
                    model,
                    f"AUROC {auc:.3f} is above {lim.max_auroc}: real clinical outcomes are rarely "
                    "this predictable. Suspect a data artefact (e.g. fixed gaps of a simulator) or "
                    "leakage; look at the top predictors and run the leakage probe.",
                )
            )
        if model in base and not np.isnan(auc) and auc < 0.5:
            out.append(
                _w(
                    Check.BASELINE_BELOW_CHANCE,
                    model,
                    f"{model} ranks below chance here (AUROC {auc:.3f} < 0.5): higher scores go "
                    "with fewer outcomes in this data. It is reported raw, never inverted; its "
                    "recalibration is monotone and cannot flip it.",
                )
            )
        n_ev = getattr(r, "outcomes_test", None)
        if n_ev is not None and not events_done and int(n_ev) < lim.min_test_events:
            events_done = True
            out.append(
                _w(
                    Check.FEW_TEST_EVENTS,
                    "test set",
                    f"Only {int(n_ev)} outcome events in the test set (fewer than "
                    f"{lim.min_test_events}): confidence intervals are wide and differences "
                    "between models are not reliable.",
                )
            )
        slope = getattr(r, "calibration_slope", np.nan)
        if slope is not None and not pd.isna(slope) and model not in base:
            lo, hi = lim.slope_range
            if not lo <= float(slope) <= hi:
                kind = (
                    "over-fitted (risks too extreme)" if slope < lo else "under-fitted (too flat)"
                )
                out.append(
                    _w(
                        Check.CALIBRATION_SLOPE,
                        model,
                        f"Calibration slope {float(slope):.2f} is outside {lo}–{hi}: the risks "
                        f"are {kind}; recalibrate before using them as probabilities.",
                    )
                )
    for model, imp in (importance or {}).items():
        col = "mean_abs_shap" if "mean_abs_shap" in imp else "importance"
        if imp is None or imp.empty or col not in imp:
            continue
        vals = imp[col].to_numpy(dtype=float)
        total = float(np.nansum(np.abs(vals)))
        if total <= 0:
            continue
        top = int(np.nanargmax(np.abs(vals)))
        share = abs(vals[top]) / total
        if share > lim.dominant_share:
            feat = str(imp["feature"].iloc[top])
            out.append(
                _w(
                    Check.DOMINANT_FEATURE,
                    model,
                    f"One feature carries {share:.0%} of {model}'s importance: {feat}. A single "
                    "dominant feature is often an artefact or leakage; check how it is recorded.",
                )
            )
    if thresholds is not None and not thresholds.empty and "model" in thresholds:
        cols = [c for c in ("sensitivity", "specificity", "ppv", "npv") if c in thresholds]
        for model, t in thresholds.groupby("model", sort=False):
            if len(t) > 1 and t[cols].round(6).drop_duplicates().shape[0] == 1:
                out.append(
                    _w(
                        Check.FLAT_THRESHOLDS,
                        str(model),
                        "Identical sensitivity, specificity, PPV and NPV at every threshold: the "
                        "risks do not spread across the thresholds (all above or all below).",
                    )
                )
    return out


def check_scores(name: str, scores: np.ndarray) -> list[PlausibilityWarning]:
    """A warning when every score of `name` is identical (nothing to rank or calibrate)."""
    s = np.asarray(scores, dtype=float)
    if len(s) and np.nanmax(s) == np.nanmin(s):
        return [
            _w(
                Check.IDENTICAL_SCORES,
                name,
                f"All {len(s)} test scores of {name} are identical ({float(s[0]):.3g}): AUROC is "
                "0.5 by construction and no calibration slope can be estimated.",
            )
        ]
    return []


def check_domains(
    counts: pd.DataFrame, wanted: Sequence[str], *, required: Sequence[str] = ()
) -> list[PlausibilityWarning]:
    """Warnings for feature domains asked for that produced no feature.

    `counts` is `medmine.features.covariates.feature_domains` output; domains in `required`
    are named as needed by the study.
    """
    have = set(counts["domain"]) if counts is not None and not counts.empty else set()
    out = []
    for d in wanted:
        if d not in have:
            need = " The study needs it." if d in required else ""
            out.append(
                _w(
                    Check.EMPTY_DOMAIN,
                    d,
                    f"No {d} feature was built: the {d} domain is empty for this cohort (or every "
                    f"code is rarer than the prevalence filter).{need}",
                )
            )
    return out


def input_warning(subject: str, message: str) -> PlausibilityWarning:
    """A warning about implausible input data (long stays, negative durations...)."""
    return _w(Check.IMPLAUSIBLE_INPUT, subject, message)


def leakage_warning(subject: str, message: str) -> PlausibilityWarning:
    """A warning raised by the leakage probe."""
    return _w(Check.LEAKAGE, subject, message)


def lift_warning(subject: str, message: str) -> PlausibilityWarning:
    """A warning about a gain from added features that is more likely artefact than value."""
    return _w(Check.IMPLAUSIBLE_LIFT, subject, message)


def warnings_frame(warnings: Sequence[PlausibilityWarning]) -> pd.DataFrame:
    """The warnings as a table (``code, subject, message``)."""
    return pd.DataFrame([w.to_dict() for w in warnings], columns=["code", "subject", "message"])
