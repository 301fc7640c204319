"""Facility names: capitalised words ending in Hospital, Clinic, Medical Center and the like."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._letters import LETTER, UPPER

_KIND = (
    r"Hospital|Medical Center|Medical Centre|Clinic|Health Center|Health Centre|Infirmary|"
    r"Associates|Rehabilitation Center|Nursing Home|Care Center|Urgent Care|Pharmacy|"
    r"Health System|Healthcare|Medical Group|Family Practice|Physicians|Community Health"
)
_W = rf"{UPPER}(?:{LETTER}|['.&-])*"


@RECOGNIZERS.register("facility")
class FacilityRecognizer(PatternRecognizer):
    """Named hospitals, clinics and practices (title case or upper case)."""

    entities = (Entity.FACILITY,)
    patterns = (
        Pattern(
            re.compile(
                rf"\b(?:(?:St\.\s+)?{_W}\s+){{1,5}}(?:{_KIND})(?:\s+of\s+{_W}(?:\s+{_W})?)?\b"
            ),
            Entity.FACILITY,
            0.8,
        ),
        Pattern(
            re.compile(
                rf"\b(?:{UPPER}(?:{UPPER}|['.&-])+[\s,]+){{1,6}}(?:{_KIND.upper()}|PC|INC|LLC)\b"
            ),
            Entity.FACILITY,
            0.8,
        ),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Reject generic phrases ("The Hospital", "Urgent Care")."""
        words = text[start:end].split()
        generic = {"the", "a", "an", "this", "our", "your", "local", "general", "community"}
        return any(w.lower() not in generic for w in words[:-1])
