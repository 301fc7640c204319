"""Model cards oriented on TRIPOD+AI: what the model is for, on which data, how well it does.

A `ModelCard` is plain data (sections of JSON-ready dicts) written as JSON;
`medmine.report.model_card_page` renders it as HTML.

>>> card = ModelCard(model_details={"name": "demo"})
>>> sorted(card.to_dict()) == sorted(REQUIRED_SECTIONS)
True
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Sections every card carries (TRIPOD+AI items in brackets).
REQUIRED_SECTIONS: tuple[str, ...] = (
    "model_details",  # model type, version, software, date [title, model building]
    "intended_use",  # purpose, users, setting, out-of-scope uses [objectives]
    "data",  # source, dates, counts [source of data]
    "cohort",  # definition and attrition [participants, outcome]
    "predictors",  # covariates, their windows, top predictors [predictors]
    "performance",  # discrimination with CIs, Brier, thresholds [model performance]
    "calibration",  # slope, intercept [model performance]
    "fairness",  # per-group metrics and disparities [fairness]
    "limitations",  # [limitations, interpretation]
)


def plain(obj: Any) -> Any:
    """Convert numpy, pandas and dataclass values into JSON-ready Python values."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return plain(obj.to_dict("records"))
    if hasattr(obj, "__dataclass_fields__"):
        return plain(asdict(obj))
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, pd.Timestamp | dt.date | dt.datetime):
        return obj.isoformat()
    if obj is pd.NaT:
        return None
    return obj


@dataclass
class ModelCard:
    """The sections of a model card; each is a JSON-ready dict (or list for limitations)."""

    model_details: dict[str, Any] = field(default_factory=dict)
    intended_use: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    cohort: dict[str, Any] = field(default_factory=dict)
    predictors: dict[str, Any] = field(default_factory=dict)
    performance: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] = field(default_factory=dict)
    limitations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """All sections as plain JSON-ready values."""
        return {name: plain(getattr(self, name)) for name in REQUIRED_SECTIONS}

    def to_json(self) -> str:
        """The card as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def write_json(self, path: str | Path) -> Path:
        """Write the JSON card; returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_json(), encoding="utf-8")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """Inverse of `to_dict` (unknown keys are ignored)."""
        return cls(**{k: data[k] for k in REQUIRED_SECTIONS if k in data})
