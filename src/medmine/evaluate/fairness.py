"""Fairness audit: discrimination, error rates and calibration per sex, race, ethnicity, age.

Built on fairlearn's `MetricFrame`. Groups are labelled from OMOP concept ids; disparity
ratios are ``min / max`` over the groups of an attribute (1 = parity; the "four-fifths"
rule of thumb flags ratios below 0.8).

>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"gender_concept_id": [8507, 8532] * 50, "age_at_index": [40] * 100})
>>> y = np.tile([0, 1, 1, 0], 25); p = np.where(y == 1, 0.8, 0.2)
>>> audit = fairness_audit(y, p, frame, threshold=0.5)
>>> float(audit.by_group.query("attribute == 'sex'")["tpr"].min())
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

#: OMOP concept ids of the demographic groups audited.
CONCEPT_LABELS: dict[int, str] = {
    8507: "male",
    8532: "female",
    8527: "white",
    8516: "black",
    8515: "asian",
    8657: "american indian or alaska native",
    8557: "native hawaiian or other pacific islander",
    38003563: "hispanic",
    38003564: "not hispanic",
    0: "unknown",
}

AGE_BINS = (0, 18, 45, 65, 75, 200)
AGE_LABELS = ("<18", "18-44", "45-64", "65-74", "75+")

#: Cohort frame column of each audited attribute.
ATTRIBUTES = {
    "sex": "gender_concept_id",
    "race": "race_concept_id",
    "ethnicity": "ethnicity_concept_id",
    "age group": "age_at_index",
}


def concept_label(concept_id: object) -> str:
    """Human label of a demographic concept id (``"other (<id>)"`` when unknown)."""
    try:
        cid = int(concept_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return "unknown"
    return CONCEPT_LABELS.get(cid, f"other ({cid})")


def age_group(age: pd.Series) -> pd.Series:
    """Age at index binned into <18, 18-44, 45-64, 65-74, 75+ ("unknown" when missing)."""
    binned = pd.cut(pd.to_numeric(age, errors="coerce"), AGE_BINS, right=False, labels=AGE_LABELS)
    return binned.cat.add_categories("unknown").fillna("unknown").astype(str)


def _auroc(y, p) -> float:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


@dataclass
class FairnessAudit:
    """Per-group metrics and per-attribute disparities."""

    by_group: pd.DataFrame
    disparities: pd.DataFrame
    threshold: float
    min_group_size: int

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (NaN as None)."""
        clean = lambda df: df.astype(object).where(df.notna(), None).to_dict("records")  # noqa: E731
        return {
            "threshold": self.threshold,
            "min_group_size": self.min_group_size,
            "by_group": clean(self.by_group),
            "disparities": clean(self.disparities),
        }


def fairness_audit(
    y,
    p,
    frame: pd.DataFrame,
    *,
    threshold: float = 0.5,
    min_group_size: int = 20,
) -> FairnessAudit:
    """Audit predictions `p` of outcomes `y` across the demographic columns of `frame`.

    Parameters
    ----------
    y, p
        Outcomes (0/1) and predicted risks, aligned with `frame` rows.
    frame
        Cohort rows with any of ``gender_concept_id``, ``race_concept_id``,
        ``ethnicity_concept_id``, ``age_at_index`` (or ``year_of_birth`` and ``index_date``).
    threshold
        Risk at or above which a row counts as flagged (for TPR and FPR).
    min_group_size
        Groups smaller than this are reported but left out of the disparity ratios.
    """
    from fairlearn.metrics import MetricFrame, false_positive_rate, true_positive_rate

    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    frame = frame.reset_index(drop=True)
    if "age_at_index" not in frame and {"year_of_birth", "index_date"} <= set(frame.columns):
        frame = frame.assign(
            age_at_index=pd.to_datetime(frame["index_date"]).dt.year - frame["year_of_birth"]
        )
    metrics = {
        "n": lambda yt, yp: len(yt),
        "prevalence": lambda yt, yp: float(np.mean(yt)),
        "mean_predicted": lambda yt, yp: float(np.mean(yp)),
        "auroc": _auroc,
        "tpr": lambda yt, yp: float(true_positive_rate(yt, yp >= threshold, pos_label=1)),
        "fpr": lambda yt, yp: float(false_positive_rate(yt, yp >= threshold, pos_label=1)),
        "flagged": lambda yt, yp: float(np.mean(yp >= threshold)),
    }
    groups, disparities = [], []
    for attribute, column in ATTRIBUTES.items():
        if column not in frame:
            continue
        if column == "age_at_index":
            feature = age_group(frame[column])
        else:
            feature = frame[column].map(concept_label)
        mf = MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=feature)
        g = mf.by_group.reset_index()
        g = g.rename(columns={g.columns[0]: "group"})
        g.insert(0, "attribute", attribute)
        g["n"] = g["n"].astype(int)
        # observed / expected: 1 = calibrated in the large within the group
        g["o_e_ratio"] = g["prevalence"] / g["mean_predicted"].where(g["mean_predicted"] > 0)
        groups.append(g)
        big = g[g["n"] >= min_group_size]
        for metric in ("auroc", "tpr", "fpr", "o_e_ratio", "flagged"):
            vals = big[metric].dropna()
            if len(vals) < 2:
                continue
            lo, hi = float(vals.min()), float(vals.max())
            disparities.append(
                {
                    "attribute": attribute,
                    "metric": metric,
                    "groups": len(vals),
                    "min": lo,
                    "max": hi,
                    "difference": hi - lo,
                    "ratio": lo / hi if hi > 0 else float("nan"),
                    "lowest_group": str(big.loc[vals.idxmin(), "group"]),
                }
            )
    by_group = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()
    return FairnessAudit(by_group, pd.DataFrame(disparities), threshold, min_group_size)
