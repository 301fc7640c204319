"""Tag: replace the span with its type in brackets (``[NAME]``, ``[DATE]``...)."""

from __future__ import annotations

from dataclasses import dataclass

from medmine.privacy.phi_text._base import Operator
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import OPERATORS

_TAGS = {
    Entity.PATIENT: "NAME",
    Entity.CLINICIAN: "NAME",
    Entity.AGE: "AGE 90+",
    Entity.OTHER: "PHI",
}


@OPERATORS.register("tag")
@dataclass
class Tag(Operator):
    """Irreversible; keeps the kind of information for readers."""

    reversible = False

    def operate(self, text: str, span: Span, ctx: NoteContext) -> str:  # noqa: D102
        return f"[{_TAGS.get(span.entity, span.entity.value)}]"
