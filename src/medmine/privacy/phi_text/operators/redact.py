"""Redact: replace the span with a fixed mask (default ``***``)."""

from __future__ import annotations

from dataclasses import dataclass

from medmine.privacy.phi_text._base import Operator
from medmine.privacy.phi_text._model import NoteContext, Span
from medmine.privacy.phi_text._registry import OPERATORS


@OPERATORS.register("redact")
@dataclass
class Redact(Operator):
    """Irreversible removal."""

    mask: str = "***"
    reversible = False

    def validate(self) -> None:
        """The mask must not be None."""
        if self.mask is None:
            raise ValueError("The 'mask' parameter of Redact must be a string. Got None instead.")

    def operate(self, text: str, span: Span, ctx: NoteContext) -> str:  # noqa: D102
        return self.mask
