"""Evaluation of prediction models: metrics with CIs, calibration, splits, SHAP, fairness, cards.

Submodules: `metrics` (AUROC/AUPRC with person-level bootstrap CIs, Brier, thresholds, net
benefit, regression errors), `calibration`, `splits` (person-level and temporal), `explain`
(SHAP), `fairness` (fairlearn `MetricFrame` by sex, race, ethnicity, age), `model_card`
and `plots`.

>>> from medmine.evaluate import auroc_ci, person_train_test_split
"""

from medmine.evaluate.calibration import (
    Calibration,
    calibration_figure,
    calibration_slope_intercept,
    calibration_table,
)
from medmine.evaluate.fairness import FairnessAudit, fairness_audit
from medmine.evaluate.metrics import (
    BootstrapCI,
    auprc_ci,
    auroc_ci,
    bootstrap_ci,
    brier_score,
    net_benefit,
    regression_metrics,
    threshold_metrics,
)
from medmine.evaluate.model_card import REQUIRED_SECTIONS, ModelCard
from medmine.evaluate.splits import TemporalSplit, person_train_test_split, temporal_split

__all__ = [
    "REQUIRED_SECTIONS",
    "BootstrapCI",
    "Calibration",
    "FairnessAudit",
    "ModelCard",
    "TemporalSplit",
    "auprc_ci",
    "auroc_ci",
    "bootstrap_ci",
    "brier_score",
    "calibration_figure",
    "calibration_slope_intercept",
    "calibration_table",
    "fairness_audit",
    "net_benefit",
    "person_train_test_split",
    "regression_metrics",
    "temporal_split",
    "threshold_metrics",
]
