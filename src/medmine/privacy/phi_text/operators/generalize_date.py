"""Generalise a date to its year (Safe Harbor); dates without a year become ``[DATE]``.

Sentinel dates (``ctx.sentinel_dates``: "open-ended" 2099-12-31 and the like) are kept as
written; for a person over 89 (``ctx.aggregate_year``) every date becomes that one year.
"""

from __future__ import annotations

from dataclasses import dataclass

from medmine.privacy.phi_text import _dates
from medmine.privacy.phi_text._base import Operator
from medmine.privacy.phi_text._model import NoteContext, Span
from medmine.privacy.phi_text._registry import OPERATORS


@OPERATORS.register("generalize_date")
@dataclass
class GeneralizeDate(Operator):
    """Keep the year only (irreversible)."""

    reversible = False

    def operate(self, text: str, span: Span, ctx: NoteContext) -> str:  # noqa: D102
        parsed = _dates.parse(text, day_first=ctx.day_first)
        if parsed is not None and parsed[2] and parsed[0] in ctx.sentinel_dates:
            return text
        if ctx.aggregate_year is not None:
            return str(ctx.aggregate_year)
        return str(parsed[0].year) if parsed is not None and parsed[2] else "[DATE]"
