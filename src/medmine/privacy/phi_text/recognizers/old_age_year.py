"""Bare years ("born in 1931", "since 1948") in the text of a person over 89 only: for them a
year alone gives the age away, so Safe Harbor aggregates it (``ctx.aggregate_year``) and
expert mode tags it (``ctx.date_floor``). For everyone else a year is kept.
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Recognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS

_YEAR = re.compile(r"(?<![\d/.:-])(?:18|19|20)\d{2}(?!\d)(?![/.:-]\d)")


@RECOGNIZERS.register("old_age_year")
class OldAgeYearRecognizer(Recognizer):
    """Four-digit years, only when the note's person is over 89."""

    entities = (Entity.DATE,)

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:  # noqa: D102
        if ctx.aggregate_year is None and ctx.date_floor is None:
            return []
        return [Span(m.start(), m.end(), Entity.DATE, 0.9, self.name) for m in _YEAR.finditer(text)]
