"""Staffing view: nurses needed for a census forecast at a nurse-to-patient ratio.

Nurses per shift = ceil(census / patients_per_nurse), read at the forecast mean and at the
upper 80% and 95% bounds (planning to the upper bound covers the census with probability
about 90% and 97.5% on that day).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from medmine.errors import ConfigError


def staffing(forecast: pd.DataFrame, patients_per_nurse: float = 4.0) -> pd.DataFrame:
    """Add nurses_mean, nurses_hi80 and nurses_hi95 to a census forecast frame.

    >>> f = pd.DataFrame({"mean": [9.0], "hi80": [11.0], "hi95": [13.5]})
    >>> staffing(f, 4)[["nurses_mean", "nurses_hi80", "nurses_hi95"]].iloc[0].tolist()
    [3, 3, 4]
    """
    if not patients_per_nurse or patients_per_nurse <= 0:
        raise ConfigError(f"patients per nurse must be > 0; got {patients_per_nurse}")
    out = forecast.copy()
    for col in ("mean", "hi80", "hi95"):
        out[f"nurses_{col}"] = np.ceil(
            np.maximum(out[col].to_numpy(dtype=float), 0) / patients_per_nurse - 1e-9
        ).astype(int)
    return out
