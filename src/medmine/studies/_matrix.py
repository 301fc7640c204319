"""Covariates of a study: the warehouse covariates plus a few study-specific columns.

Study-specific ("extra") columns are computed from the cohort frame, so the same function
rebuilds them when a saved model scores a new person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from medmine.features import CovariateSettings, extract_covariates

#: Extra column name -> function(frame) -> values (known at the index date).
EXTRAS = {
    "index stay length (days)": lambda f: (
        pd.to_datetime(f["entry_end_date"]) - pd.to_datetime(f["entry_start_date"])
    ).dt.days.clip(lower=0),
}


@dataclass
class StudyMatrix:
    """Covariate matrix aligned with the cohort frame, with names and the reference."""

    X: sp.csr_matrix
    names: list[str]
    reference: pd.DataFrame
    settings: CovariateSettings
    extras: tuple[str, ...]


def build_matrix(
    wh: Any,
    cohort: Any,
    settings: CovariateSettings,
    *,
    extras: Sequence[str] = (),
    reference: pd.DataFrame | None = None,
) -> StudyMatrix:
    """Covariates of `cohort` (rows in frame order) plus the named `extras` columns."""
    cm = extract_covariates(wh, cohort, settings, reference=reference)
    pos = pd.Series(np.arange(len(cm.row_ids)), index=cm.row_ids)
    order = pos.loc[cohort.frame["row_id"].to_numpy()].to_numpy()
    X = cm.X[order]
    names = list(cm.columns)
    if extras:
        cols = [
            np.nan_to_num(np.asarray(EXTRAS[e](cohort.frame), dtype=np.float32)) for e in extras
        ]
        X = sp.hstack([X, sp.csr_matrix(np.column_stack(cols))], format="csr")
        names += list(extras)
    return StudyMatrix(X.tocsr().astype(np.float32), names, cm.reference, settings, tuple(extras))
