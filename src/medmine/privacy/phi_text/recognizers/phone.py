"""Telephone and fax numbers (North American formats, with or without +1, extensions)."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS

_PHONE = re.compile(
    r"(?<![\w/.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
    r"(?:\s*(?:x|ext\.?)\s*\d{1,5})?(?![\w/-])"
)


@RECOGNIZERS.register("phone")
class PhoneRecognizer(PatternRecognizer):
    """Phone numbers; FAX when "fax" precedes the number."""

    entities = (Entity.PHONE, Entity.FAX)
    patterns = (Pattern(_PHONE, Entity.PHONE, 0.9),)

    def analyze(self, text, ctx):  # noqa: D102
        spans = []
        for s in super().analyze(text, ctx):
            before = text[max(0, s.start - 15) : s.start].lower()
            ent = Entity.FAX if "fax" in before else Entity.PHONE
            spans.append(Span(s.start, s.end, ent, s.score, self.name))
        return spans
