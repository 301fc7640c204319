"""The LACE index for 30-day readmission, computed from the warehouse.

LACE (van Walraven et al., CMAJ 2010;182:551-557) adds four parts, 0-19 points in total:

* **L**ength of stay in days: <1 → 0, 1 → 1, 2 → 2, 3 → 3, 4-6 → 4, 7-13 → 5, ≥14 → 7;
* **A**cuity, emergent admission → 3;
* **C**harlson comorbidity index: 0-3 → same points, ≥4 → 5;
* **E**mergency department visits in the 6 months before admission: one point each, at most 4.

Acuity is taken from the data: the stay's visit is "Emergency Room and Inpatient Visit" (262),
or an emergency visit (9203) starts on the admission day or the day before, or a visit of the
stay was admitted from the emergency room (8870). When the warehouse records no emergency
information at all, stays without a planned procedure (`planned_concepts`) are counted as
emergent and `LaceResult.acuity_source` says so.

>>> lace_points([0, 1, 5, 20], emergent=[0, 1, 0, 1], charlson=[0, 5, 2, 1], ed_visits=[0, 6, 1, 0])
array([ 0, 13,  7, 11])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

EMERGENCY_INPATIENT = 262
EMERGENCY_VISIT = 9203
FROM_EMERGENCY_ROOM = 8870
#: Planned procedures (elective PCI, CABG): stays with one count as non-emergent when the data
#: hold no emergency information.
PLANNED_PROCEDURES = (4216130, 4336464)


def _los_points(d: np.ndarray) -> np.ndarray:
    return np.select([d < 1, d <= 3, d <= 6, d <= 13], [0, d, 4, 5], 7).astype(int)


def lace_points(
    los_days: Sequence[float],
    emergent: Sequence[bool],
    charlson: Sequence[float],
    ed_visits: Sequence[float],
) -> np.ndarray:
    """LACE score from its four parts (vectorised)."""
    d = np.asarray(los_days, dtype=float)
    c = np.asarray(charlson, dtype=float)
    e = np.asarray(ed_visits, dtype=float)
    a = np.asarray(emergent, dtype=bool)
    c_pts = np.where(c >= 4, 5, np.clip(c, 0, 3)).astype(int)
    return _los_points(d) + 3 * a.astype(int) + c_pts + np.clip(e, 0, 4).astype(int)


@dataclass
class LaceResult:
    """LACE parts and score per cohort row (frame order) and where acuity came from."""

    parts: pd.DataFrame  # los_days, emergent, charlson, ed_visits_6m, lace
    acuity_source: str


def compute_lace(
    wh: Any,
    frame: pd.DataFrame,
    charlson: np.ndarray,
    *,
    planned_concepts: Sequence[int] = PLANNED_PROCEDURES,
) -> LaceResult:
    """LACE of every row of a readmission cohort (index date = discharge).

    `charlson` is the Charlson index per row, as computed by the covariate layer (conditions
    before the index date).
    """
    rows = pd.DataFrame(
        {
            "_pos": np.arange(len(frame), dtype=np.int64),
            "person_id": frame["person_id"].to_numpy(dtype=np.int64),
            "adm": pd.to_datetime(frame["entry_start_date"]).dt.date,
            "dis": pd.to_datetime(frame["entry_end_date"]).dt.date,
            "concept": frame["entry_concept_id"].fillna(0).to_numpy(dtype=np.int64),
        }
    )
    con = wh.con
    has_er = con.execute(
        f"SELECT count(*) FROM visit_occurrence WHERE visit_concept_id IN "
        f"({EMERGENCY_INPATIENT}, {EMERGENCY_VISIT}) OR admitted_from_concept_id = "
        f"{FROM_EMERGENCY_ROOM}"
    ).fetchall()[0][0]
    planned = ", ".join(str(int(c)) for c in planned_concepts) or "NULL"
    con.register("_lace_rows", rows)
    try:
        got = con.execute(
            f"""
            SELECT r._pos,
              (r.concept = {EMERGENCY_INPATIENT} OR EXISTS (
                 SELECT 1 FROM visit_occurrence v WHERE v.person_id = r.person_id AND (
                   (v.visit_concept_id = {EMERGENCY_VISIT}
                    AND v.visit_start_date BETWEEN r.adm - INTERVAL 1 DAY AND r.adm)
                   OR (v.admitted_from_concept_id = {FROM_EMERGENCY_ROOM}
                       AND v.visit_start_date = r.adm)))) AS er_evidence,
              EXISTS (SELECT 1 FROM procedure_occurrence p WHERE p.person_id = r.person_id
                      AND p.procedure_concept_id IN ({planned})
                      AND p.procedure_date BETWEEN r.adm AND r.dis) AS planned,
              (SELECT count(*) FROM visit_occurrence v WHERE v.person_id = r.person_id
                 AND v.visit_concept_id IN ({EMERGENCY_VISIT}, {EMERGENCY_INPATIENT})
                 AND v.visit_start_date >= r.adm - INTERVAL 182 DAY
                 AND v.visit_start_date < r.adm) AS ed_visits
            FROM _lace_rows r ORDER BY r._pos
            """
        ).df()
    finally:
        con.unregister("_lace_rows")
    if has_er:
        emergent = got["er_evidence"].to_numpy(dtype=bool)
        source = "emergency visits / ER-and-inpatient visits / admitted from ER"
    else:
        emergent = ~got["planned"].to_numpy(dtype=bool)
        source = (
            "no emergency information in this warehouse: stays without a planned procedure "
            "(PCI, CABG) counted as emergent"
        )
    los = pd.to_datetime(frame["entry_end_date"]) - pd.to_datetime(frame["entry_start_date"])
    los_days = los.dt.days.to_numpy(dtype=float)
    ed = got["ed_visits"].to_numpy(dtype=float)
    parts = pd.DataFrame(
        {
            "los_days": los_days,
            "emergent": emergent,
            "charlson": np.asarray(charlson, dtype=float),
            "ed_visits_6m": ed,
        }
    )
    parts["lace"] = lace_points(los_days, emergent, charlson, ed)
    return LaceResult(parts, source)
