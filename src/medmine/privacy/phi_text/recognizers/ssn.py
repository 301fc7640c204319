"""US Social Security numbers (dashed, spaced, or nine digits after an SSN keyword)."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS


@RECOGNIZERS.register("ssn")
class SsnRecognizer(PatternRecognizer):
    """Social Security numbers."""

    entities = (Entity.SSN,)
    patterns = (
        Pattern(
            re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
            Entity.SSN,
            0.95,
            gate=re.compile(r"-\d\d-\d{4}"),
        ),
        Pattern(
            re.compile(r"(?<![\d-])\d{3} \d{2} \d{4}(?![\d-])"),
            Entity.SSN,
            0.7,
            gate=re.compile(r" \d\d \d{4}"),
        ),
        Pattern(
            re.compile(
                r"\b(?:SSN|social security(?: number| no\.?)?)\s*[:#]?\s*(?P<v>\d{9})\b", re.I
            ),
            Entity.SSN,
            0.95,
            "v",
            anchors=frozenset({"ssn", "social security"}),
        ),
    )
