"""Note text scrubbing, detect then transform: recognizers find typed PHI spans with a score,
operators (tag, redact, surrogate, generalize_date, shift_date) replace them per entity.

Recognizers are Philter-style rules plus literal deny-lists built from what the warehouse
knows about the note's person (`NoteContext`, see `medmine.privacy.phi_text.context`).
"""

from medmine.privacy.phi_text._base import Operator, Pattern, PatternRecognizer, Recognizer
from medmine.privacy.phi_text._model import (
    DEFAULT_SENTINEL_DATES,
    ENTITY_CLASS,
    Entity,
    NoteContext,
    Span,
)
from medmine.privacy.phi_text._parallel import scrub_parallel
from medmine.privacy.phi_text._registry import OPERATORS, RECOGNIZERS, Registry
from medmine.privacy.phi_text._scrubber import (
    DETECTIONS,
    EXPERT_OPERATORS,
    SAFE_HARBOR_OPERATORS,
    Scrubber,
    ScrubConfig,
    ScrubResult,
    merge_spans,
)

__all__ = [
    "DEFAULT_SENTINEL_DATES",
    "DETECTIONS",
    "ENTITY_CLASS",
    "EXPERT_OPERATORS",
    "OPERATORS",
    "RECOGNIZERS",
    "SAFE_HARBOR_OPERATORS",
    "Entity",
    "NoteContext",
    "Operator",
    "Pattern",
    "PatternRecognizer",
    "Recognizer",
    "Registry",
    "ScrubConfig",
    "ScrubResult",
    "Scrubber",
    "Span",
    "merge_spans",
    "scrub_parallel",
]
