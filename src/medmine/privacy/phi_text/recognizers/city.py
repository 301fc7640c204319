"""Cities written before a state ("Bradford, MA") or as "lives in <City>"."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._geo import STATE

_CITY = r"(?P<c>[A-Z][a-zA-Z'.-]+(?:\s+[A-Z][a-zA-Z'.-]+){0,2})"


@RECOGNIZERS.register("city")
class CityRecognizer(PatternRecognizer):
    """City names in an address context."""

    entities = (Entity.CITY,)
    patterns = (
        Pattern(re.compile(rf"{_CITY},\s*{STATE}\b"), Entity.CITY, 0.85, "c"),
        Pattern(
            re.compile(
                rf"\b(?:lives|living|resides|residing|moved|relocated|born|from|visiting)\s+"
                rf"(?:alone\s+|with\s+\w+\s+)?(?:in|to|from)\s+{_CITY}"
            ),
            Entity.CITY,
            0.75,
            "c",
        ),
    )
