"""Shift a date by the person's offset (Expert Determination mode), keeping its format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from medmine.privacy.phi_text import _dates
from medmine.privacy.phi_text._base import Operator
from medmine.privacy.phi_text._model import NoteContext, Span
from medmine.privacy.phi_text._registry import OPERATORS


@OPERATORS.register("shift_date")
@dataclass
class ShiftDate(Operator):
    """Add ``ctx.date_shift_days`` to a parsed date; unparseable dates become ``[DATE]``.

    Reversible only by whoever holds the de-identification key (which fixes the offset).
    """

    reversible = True

    def operate(self, text: str, span: Span, ctx: NoteContext) -> str:  # noqa: D102
        parsed = _dates.parse(text)
        if parsed is None or ctx.date_shift_days is None:
            return "[DATE]"
        date, render, year_known = parsed
        if not year_known:
            return "[DATE]"
        return render(date + dt.timedelta(days=ctx.date_shift_days))
