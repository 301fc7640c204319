"""The shared binary-prediction pipeline: split by person, tune, calibrate, evaluate, explain.

Every model (and any reference score such as LACE) is evaluated on the same held-out persons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from medmine.evaluate import (
    auprc_ci,
    auroc_ci,
    brier_score,
    calibration_figure,
    calibration_slope_intercept,
    fairness_audit,
    net_benefit,
    person_train_test_split,
    temporal_split,
    threshold_metrics,
)
from medmine.evaluate.explain import Explanation, explain
from medmine.evaluate.plausibility import check_scores
from medmine.evaluate.plots import decision_curve_figure, importance_figure, roc_figure
from medmine.evaluate.tree_rules import tree_rules
from medmine.mining.classify import PersonLevelSearchCV, l1_logistic_search, lightgbm_search
from medmine.studies._card import study_card
from medmine.studies.prediction import PredictionResult, StudyConfig

MODEL_LABELS = {
    "l1_logistic": "L1-logistic",
    "lightgbm": "LightGBM",
    "decision_tree": "Decision tree",
}
#: Cost-complexity pruning strengths searched for the decision tree (0 = unpruned).
TREE_GRID = {"ccp_alpha": [0.0, 0.0005, 0.001, 0.002, 0.005, 0.01]}


@dataclass
class Split:
    """Row positions of the training and test sets and how they were made."""

    train: np.ndarray
    test: np.ndarray
    method: str


@dataclass
class BinaryOutcome:
    """Everything the binary pipeline produced for one cohort."""

    split: Split
    models: dict[str, Any]
    test_predictions: dict[str, np.ndarray]
    metrics: pd.DataFrame
    thresholds: pd.DataFrame
    fairness: Any
    fairness_model: str
    explanations: dict[str, Explanation]
    figures: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, dict[str, float]] = field(default_factory=dict)
    background: dict[str, np.ndarray] = field(default_factory=dict)
    score_warnings: list[Any] = field(default_factory=list)
    tree_rules: pd.DataFrame | None = None


def make_split(frame: pd.DataFrame, y: np.ndarray, config: StudyConfig) -> Split:
    """Person-level random split, or temporal split when `config.temporal_cutoff` is set."""
    persons = frame["person_id"].to_numpy()
    if config.temporal_cutoff:
        ts = temporal_split(
            frame["index_date"],
            persons,
            cutoff=config.temporal_cutoff,
            outcome_window_end=frame.get("tar_end"),
        )
        return Split(ts.train, ts.test, f"temporal, cutoff {ts.cutoff.date()}")
    train, test = person_train_test_split(
        persons, test_size=config.test_size, stratify=y, random_state=config.random_state
    )
    return Split(train, test, f"person-level random split, {config.test_size:.0%} of persons")


def _estimator(name: str, config: StudyConfig) -> Any:
    common = {"n_splits": config.n_splits, "random_state": config.random_state}
    if name == "l1_logistic":
        return l1_logistic_search(config.l1_grid, **common)
    if name == "lightgbm":
        return lightgbm_search(config.lightgbm_grid, **common)
    if name == "decision_tree":
        from sklearn.tree import DecisionTreeClassifier

        # CART, depth-limited and pruned by cost complexity chosen on person-level folds; not
        # calibrated, so each leaf's risk is its training outcome rate (what the rules show).
        tree = DecisionTreeClassifier(
            max_depth=config.tree_max_depth,
            min_samples_leaf=config.tree_min_leaf,
            random_state=config.random_state,
        )
        return PersonLevelSearchCV(tree, TREE_GRID, calibration="none", **common)
    raise ValueError(f"unknown model {name!r}; use 'l1_logistic', 'lightgbm' or 'decision_tree'")


def evaluate_scores(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    persons: np.ndarray,
    config: StudyConfig,
    *,
    probabilities: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """One metrics row per score: AUROC/AUPRC with CIs, Brier and calibration (if a risk)."""
    rows = []
    for name, s in scores.items():
        is_prob = True if probabilities is None else probabilities.get(name, True)
        auc = auroc_ci(y, s, groups=persons, n_boot=config.n_boot, random_state=config.random_state)
        ap = auprc_ci(y, s, groups=persons, n_boot=config.n_boot, random_state=config.random_state)
        row = {
            "model": name,
            "auroc": auc.estimate,
            "auroc_lower": auc.lower,
            "auroc_upper": auc.upper,
            "auprc": ap.estimate,
            "auprc_lower": ap.lower,
            "auprc_upper": ap.upper,
            "brier": brier_score(y, s) if is_prob else float("nan"),
        }
        if is_prob:
            cal = calibration_slope_intercept(y, s)
            row.update(calibration_slope=cal.slope, calibration_intercept=cal.intercept)
        else:
            row.update(calibration_slope=float("nan"), calibration_intercept=float("nan"))
        row.update(n_test=int(len(y)), outcomes_test=int(np.sum(y)))
        rows.append(row)
    return pd.DataFrame(rows)


def _monotone(train: np.ndarray, y: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, str]:
    """Risks from a raw score by a map that can only keep its order (never inverts it).

    Logistic regression when its slope comes out positive; otherwise isotonic regression
    (non-decreasing), which flattens a score that ranks backwards instead of flipping it.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2 or len(np.unique(train)) < 2:
        return np.full(len(test), float(np.mean(y)) if len(y) else np.nan), "constant"
    lr = LogisticRegression().fit(train.reshape(-1, 1), y)
    slope = float(lr.coef_[0][0])
    if slope > 0:
        return lr.predict_proba(test.reshape(-1, 1))[:, 1], f"logistic, slope {slope:+.3f}"
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0, y_max=1)
    return iso.fit(train, y).predict(test), "isotonic (increasing); logistic slope was ≤ 0"


def fit_binary(
    X: Any,
    names: list[str],
    frame: pd.DataFrame,
    config: StudyConfig,
    *,
    reference_scores: Mapping[str, tuple[np.ndarray, bool]] | None = None,
    split: Split | None = None,
) -> BinaryOutcome:
    """Fit the configured models on the training persons and evaluate all on the test persons.

    Parameters
    ----------
    reference_scores
        Name -> (score per row, is_probability) of a reference score (e.g. LACE); a score that
        is not a probability is evaluated for discrimination and, recalibrated by logistic
        regression on the training rows, for calibration and net benefit.
    """
    y = frame["outcome"].to_numpy().astype(int)
    persons = frame["person_id"].to_numpy()
    split = split or make_split(frame, y, config)
    tr, te = split.train, split.test
    models: dict[str, Any] = {}
    preds: dict[str, np.ndarray] = {}
    for key in config.models:
        label = MODEL_LABELS.get(key, key)
        model = _estimator(key, config).fit(X[tr], y[tr], groups=persons[tr])
        models[label] = model
        preds[label] = model.predict_proba(X[te])[:, 1]
    probs = dict.fromkeys(preds, True)
    recal: dict[str, np.ndarray] = {}
    recal_how: dict[str, str] = {}
    for name, (score, is_prob) in (reference_scores or {}).items():
        score = np.asarray(score, dtype=float)
        preds[name] = score[te]
        probs[name] = is_prob
        if not is_prob:
            recal[f"{name} (recalibrated)"], recal_how[f"{name} (recalibrated)"] = _monotone(
                score[tr], y[tr], score[te]
            )
    metrics = evaluate_scores(y[te], preds, persons[te], config, probabilities=probs)
    for label, model in models.items():
        i = metrics.index[metrics["model"] == label][0]
        metrics.loc[i, "cv_auroc"] = model.best_score_
        metrics.loc[i, "best_params"] = str(model.best_params_)
    risk = {k: v for k, v in preds.items() if probs[k]} | recal
    if recal:
        cal_rows = evaluate_scores(y[te], recal, persons[te], config)
        cal_rows["recalibration"] = cal_rows["model"].map(recal_how)
        metrics = pd.concat([metrics, cal_rows], ignore_index=True)
    score_warnings = [w for k, p in preds.items() for w in check_scores(k, p)]
    rules = None
    for label, model in models.items():
        if isinstance(model, PersonLevelSearchCV) and label == MODEL_LABELS["decision_tree"]:
            rules = tree_rules(
                model.estimator_, list(names), X[tr], y[tr], X_test=X[te], y_test=y[te]
            )
    thr = pd.concat(
        [threshold_metrics(y[te], p, config.thresholds).assign(model=k) for k, p in risk.items()],
        ignore_index=True,
    )
    best = max(models, key=lambda k: metrics.set_index("model").loc[k, "auroc"]) if models else ""
    fair_t = config.fairness_threshold
    if fair_t is None:
        fair_t = float(np.mean(y[tr])) if len(tr) else 0.5
    audit = fairness_audit(y[te], preds[best], frame.iloc[te], threshold=fair_t) if best else None
    explanations = {
        label: explain(m, X[te], names, max_rows=config.shap_rows, random_state=config.random_state)
        for label, m in models.items()
    }
    figures = {
        "roc": roc_figure({k: (y[te], p) for k, p in preds.items()}),
        "calibration": calibration_figure({k: (y[te], p) for k, p in risk.items()}),
        "decision_curve": decision_curve_figure(
            {k: net_benefit(y[te], p) for k, p in risk.items()}
        ),
    }
    for label, e in explanations.items():
        figures[f"shap_{label}"] = importance_figure(e.importance, f"SHAP importance: {label}")
    Xtr = X[tr]
    background = {"mean": np.asarray(Xtr.mean(axis=0)).ravel()} if len(tr) else {}
    return BinaryOutcome(
        split=split,
        models=models,
        test_predictions=preds,
        metrics=metrics,
        thresholds=thr,
        fairness=audit,
        fairness_model=best,
        explanations=explanations,
        figures=figures,
        background=background,
        score_warnings=score_warnings,
        tree_rules=rules,
    )


def report_binary(
    result: PredictionResult,
    out: BinaryOutcome,
    mat: Any,
    cohort: Any,
    config: StudyConfig,
    *,
    intended_use: str,
    limitations: list[str],
    tables: Mapping[str, pd.DataFrame] | None = None,
    wh: Any = None,
    baselines: tuple[str, ...] = (),
    required_domains: tuple[str, ...] = (),
) -> None:
    """Fill `result` from `out`: metrics, figures, tables, warnings, model card, saved models.

    `tables` (study-specific) come first, then the decision tree's rules and the threshold,
    fairness and top-predictor tables every binary study shows. Plausibility warnings (and the
    leakage probe, given `wh`) are added to ``result.warnings``. Models are saved when
    `config.model_dir` is set.
    """
    from medmine.studies.scoring import save_study_models

    add_checks(
        result,
        out,
        mat,
        cohort,
        config,
        wh=wh,
        baselines=baselines,
        required_domains=required_domains,
    )
    result.metrics = out.metrics
    result.models = out.models
    result.figures = out.figures
    rules = {}
    if out.tree_rules is not None:
        rules["Decision tree rules (leaf share and outcome rate, training and test)"] = (
            out.tree_rules
        )
    result.tables = {
        **(tables or {}),
        **rules,
        "Metrics at risk thresholds": out.thresholds,
        f"Fairness audit ({out.fairness_model})": out.fairness.by_group,
        "Fairness disparities (min/max over groups of 20+)": out.fairness.disparities,
    }
    for label, e in out.explanations.items():
        result.tables[f"Top predictors: {label} (mean |SHAP|)"] = e.importance.head(15)
    result.model_card = study_card(
        result,
        settings=config.covariates,
        n_covariates=len(mat.names),
        metrics=out.metrics,
        split_method=out.split.method,
        models=out.models,
        importance=out.explanations[out.fairness_model].importance,
        fairness={"model": out.fairness_model, "audit": out.fairness.to_dict()},
        intended_use=intended_use,
        limitations=[*limitations, *warning_lines(result)],
    )
    if config.model_dir is not None:
        result.saved_models = save_study_models(result, out, mat, cohort, config.model_dir)


def add_checks(
    result: PredictionResult,
    out: BinaryOutcome | None,
    mat: Any,
    cohort: Any,
    config: StudyConfig,
    *,
    wh: Any = None,
    baselines: tuple[str, ...] = (),
    required_domains: tuple[str, ...] = (),
    test_rows: Any = None,
) -> None:
    """Plausibility warnings, feature domains and the leakage probe of a fitted study.

    `out` is ``None`` for studies that are not binary (length of stay): only the domain,
    input and leakage checks then run, the probe on `test_rows` (default: all rows).
    """
    from medmine.evaluate.leakage import leakage_probe
    from medmine.evaluate.plausibility import check_domains, check_prediction, leakage_warning
    from medmine.features.covariates import feature_domains

    result.feature_domains = feature_domains(mat.reference)
    wanted = tuple(config.covariates.domains)
    if config.covariates.include_labs:
        wanted += ("lab_last",)
    for w in check_domains(result.feature_domains, wanted, required=required_domains):
        result.warn(w)
    if out is not None:
        importance = {k: e.importance for k, e in out.explanations.items()}
        for w in check_prediction(
            out.metrics, importance=importance, thresholds=out.thresholds, baselines=baselines
        ):
            result.warn(w)
        for w in out.score_warnings:
            result.warn(w)
    if wh is not None and config.leakage_probe:
        test = out.split.test if out is not None else test_rows
        report = leakage_probe(wh, cohort, mat, rows=test, random_state=config.random_state)
        result.leakage = report
        result.notes.append(report.summary())
        if not report.clean:
            why = report.summary()
            if config.covariates.end_day == 0:
                why += (
                    " These covariates include the index day (end_day = 0) by design: check "
                    "that each of these records is known at the moment of prediction (a "
                    "diagnosis coded at discharge but dated at admission is not)."
                )
            result.warn(leakage_warning("covariates", why))


def require_day_resolution(wh: Any, study: str) -> None:
    """Refuse a time-dependent study on a warehouse whose dates were generalised to the year.

    Raises
    ------
    MissingDataError
        When 95% or more of the visit dates fall on 1 January (a Safe Harbor copy): windows
        in days would read every gap as 0 or 365 days (0-day gaps as readmissions).
    """
    from medmine.features.dates import year_generalised
    from medmine.studies.contract import MissingDataError

    res = year_generalised(wh)
    if res.generalised:
        raise MissingDataError(
            f"study {study!r} needs day-level dates, but {res.on_january_first} of "
            f"{res.visits} visit dates fall on 1 January: this warehouse's dates look "
            "generalised to the year (a Safe Harbor copy). Gaps and windows in days cannot be "
            "measured on it; run the study on the identified or date-shifted warehouse instead."
        )


def input_checks(result: PredictionResult, wh: Any, cohort: Any, visit_concept_ids: Any) -> None:
    """Warnings about implausible stays: excluded long stays and negative durations."""
    from medmine.evaluate.plausibility import input_warning
    from medmine.features.dates import negative_durations

    steps = list(cohort.attrition)
    for i, step in enumerate(steps):
        if step.description.startswith("stays longer than") and i > 0:
            removed = max(steps[i - 1].rows - step.rows, 0)
            if removed:
                limit = step.description.split(" excluded")[0]
                result.warn(
                    input_warning(
                        "stays",
                        f"{removed} {limit} were excluded as implausible (a visit left open); "
                        "see the attrition table.",
                    )
                )
    neg = negative_durations(wh, tuple(visit_concept_ids))
    if neg:
        result.warn(
            input_warning(
                "visits",
                f"{neg} inpatient visits end before they start (negative duration); each "
                "counts as a stay of 0 days.",
            )
        )


def warning_lines(result: PredictionResult) -> list[str]:
    """The plausibility warnings of `result` as model-card limitation lines."""
    return [f"Plausibility warning ({w.code}, {w.subject}): {w.message}" for w in result.warnings]
