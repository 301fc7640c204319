"""Shift a date by the person's offset (Expert Determination mode), keeping its format.

Sentinel dates (``ctx.sentinel_dates``) are kept as written: shifting a known placeholder
such as 2099-12-31 would publish the offset. For a person over 89 a shifted date earlier than
``ctx.date_floor`` (January 1 of the year of birth shown) is raised to it.
"""

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
        parsed = _dates.parse(text, day_first=ctx.day_first)
        if parsed is None or ctx.date_shift_days is None:
            return "[DATE]"
        date, render, year_known = parsed
        if not year_known:
            return "[DATE]"
        if date in ctx.sentinel_dates:
            return text
        new = date + dt.timedelta(days=ctx.date_shift_days)
        if ctx.date_floor is not None and new < ctx.date_floor:
            new = ctx.date_floor
        return render(new)
