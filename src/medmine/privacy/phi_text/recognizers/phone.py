"""Telephone and fax numbers (North American formats, with or without +1, ``NNN/NNN-NNNN``,
seven-digit local numbers after a phone word, extensions).
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS

_EXT = r"(?:\s*,?\s*(?:x|ext\.?|extension)\s*\d{1,6})?"
_PHONE = re.compile(
    r"(?<![\w/.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s./-])\d{3}[\s.-]\d{4}"
    rf"{_EXT}(?![\w/-])"
)
#: Seven-digit local numbers (555-0143) after a phone word or before an extension.
_LOCAL = re.compile(
    r"(?i:(?:phone|tel|telephone|cell|mobile|home|work|pager|beeper|fax|call(?:ed)?|"
    r"contact|reach(?:ed)?|at|or|number|no\.?|#|line|desk|office|direct)\s*[:#]?\s*)(?P<n>(?<!\d)\d{3}[-.]\d{4}"
    rf"{_EXT})(?![\w-])"
)
#: Extensions alone: "x4471", "ext. 2231".
_EXT_ALONE = re.compile(r"(?<![\w])(?i:ext\.?|extension|x)\s*\d{3,6}\b")


@RECOGNIZERS.register("phone")
class PhoneRecognizer(PatternRecognizer):
    """Phone numbers; FAX when "fax" precedes the number."""

    entities = (Entity.PHONE, Entity.FAX)
    patterns = (
        Pattern(_PHONE, Entity.PHONE, 0.9, gate=re.compile(r"\d{3}[\s.-]\d{4}")),
        Pattern(_LOCAL, Entity.PHONE, 0.85, "n", gate=re.compile(r"\d{3}[\s.-]\d{4}")),
        Pattern(_EXT_ALONE, Entity.PHONE, 0.7, anchors=frozenset({"ext", "x"})),
    )

    def analyze(self, text, ctx):  # noqa: D102
        spans = []
        for s in super().analyze(text, ctx):
            before = text[max(0, s.start - 15) : s.start].lower()
            ent = Entity.FAX if "fax" in before else Entity.PHONE
            spans.append(Span(s.start, s.end, ent, s.score, self.name))
        return spans
