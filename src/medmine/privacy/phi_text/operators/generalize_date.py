"""Generalise a date to its year (Safe Harbor); dates without a year become ``[DATE]``."""

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
        year = _dates.year_of(text)
        return str(year) if year is not None else "[DATE]"
