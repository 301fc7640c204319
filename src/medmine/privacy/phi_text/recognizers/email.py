"""E-mail addresses."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS


@RECOGNIZERS.register("email")
class EmailRecognizer(PatternRecognizer):
    """E-mail addresses."""

    entities = (Entity.EMAIL,)
    patterns = (
        Pattern(
            re.compile(r"\b[\w.%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
            Entity.EMAIL,
            0.99,
            gate=re.compile("@"),
        ),
    )
