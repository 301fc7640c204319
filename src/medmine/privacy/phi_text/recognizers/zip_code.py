"""ZIP codes after a state or a ZIP keyword (bare five-digit numbers are too often clinical)."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import DigitRun, Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._geo import STATE
from medmine.privacy.phi_text.recognizers._letters import LOWER, UPPER

#: Every ZIP pattern needs five digits in a row.
_FIVE = DigitRun(5)
_Z = r"(?P<z>\d{5}(?:-?\d{4})?)(?!\d)"


@RECOGNIZERS.register("zip")
class ZipRecognizer(PatternRecognizer):
    """ZIP and ZIP+4 codes in an address context."""

    entities = (Entity.ZIP,)
    patterns = (
        Pattern(re.compile(rf"\b{STATE}\.?,?\s+{_Z}"), Entity.ZIP, 0.9, "z", gate=_FIVE),
        Pattern(re.compile(rf"\b{UPPER}{LOWER}+,\s+{_Z}"), Entity.ZIP, 0.8, "z", gate=_FIVE),
        Pattern(
            re.compile(rf"\b(?:zip|postal)(?:\s*code)?\s*[:#]?\s*{_Z}", re.I),
            Entity.ZIP,
            0.95,
            "z",
            gate=_FIVE,
        ),
    )
