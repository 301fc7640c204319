"""Cities written before a state ("Bradford, MA") or as "lives in <City>"."""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import DigitRun, Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._geo import ABBR, STATE
from medmine.privacy.phi_text.recognizers._letters import LETTER, UPPER

_CW = rf"(?:St\.|Ft\.|Mt\.|{UPPER}(?:{LETTER}|['-])+)"
_CITY = rf"(?P<c>{_CW}(?:[ \t]+{_CW}){{0,2}})"


@RECOGNIZERS.register("city")
class CityRecognizer(PatternRecognizer):
    """City names in an address context."""

    entities = (Entity.CITY,)
    patterns = (
        Pattern(
            re.compile(rf"{_CITY},\s*{STATE}\b"),
            Entity.CITY,
            0.85,
            "c",
            gate=re.compile(r",\s*[A-Z]"),
        ),
        Pattern(
            re.compile(rf"{_CITY}\s+(?:{ABBR})\s+\d{{5}}\b"),
            Entity.CITY,
            0.8,
            "c",
            gate=DigitRun(5),
        ),
        Pattern(
            re.compile(rf"\b(?:Hospital|Clinic|Center|Centre|Home|Practice)\s+in\s+{_CITY}"),
            Entity.CITY,
            0.75,
            "c",
            anchors=frozenset({"hospital", "clinic", "center", "centre", "home", "practice"}),
        ),
        Pattern(
            re.compile(rf"{_CITY},\s*\d{{5}}(?:-\d{{4}})?\b"),
            Entity.CITY,
            0.8,
            "c",
            gate=re.compile(r",\s*\d{5}"),
        ),
        # counties: "Mercer County", "Orleans Parish", "Worcester County"
        Pattern(
            re.compile(rf"(?P<c>{_CW}(?:[ \t]+{_CW}){{0,2}}[ \t]+(?:County|Parish|Borough))\b"),
            Entity.CITY,
            0.8,
            "c",
            gate=re.compile(r"County|Parish|Borough"),
        ),
        Pattern(
            re.compile(
                rf"\b(?:lives|living|resides|residing|moved|relocated|born|from|visiting)\s+"
                rf"(?:alone\s+|with\s+(?:\w+\s+){{1,3}})?(?:in|to|from)\s+{_CITY}"
            ),
            Entity.CITY,
            0.75,
            "c",
            anchors=frozenset(
                ["lives", "living", "resides", "residing", "moved", "relocated", "born"]
                + ["from", "visiting"]
            ),
        ),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Reject clinical words before a state-like abbreviation ("DNR/DNI, OK to ...")."""
        words = text[start:end].lower().split()
        return not all(w.strip(".") in _vocab.clinical() for w in words)
