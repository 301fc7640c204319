"""Surrogate: replace the span with a realistic fake of the same kind, the same fake for the
same value within a person (seeded by the context), so the note stays readable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from medmine.privacy.phi_text._base import Operator
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import OPERATORS

_FIRST = ("Alex", "Jordan", "Casey", "Morgan", "Riley", "Taylor", "Jamie", "Avery", "Quinn")
_LAST = ("Smithson", "Lindqvist", "Okonkwo", "Marchetti", "Haddad", "Novak", "Tanaka", "Varga")
_CITY = ("Springfield", "Riverton", "Fairview", "Greenville", "Madison", "Clinton")
_FAC = ("Lakeside Clinic", "Hillcrest Hospital", "Valley Health Center")


def _pick(seq: tuple[str, ...], key: str) -> str:
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return seq[h % len(seq)]


def _digits(key: str, n: int) -> str:
    h = hashlib.sha256(key.encode()).hexdigest()
    return "".join(str(int(c, 16) % 10) for c in h[:n])


@OPERATORS.register("surrogate")
@dataclass
class Surrogate(Operator):
    """Irreversible without the seed; fakes are deterministic per (person, value)."""

    reversible = False

    def operate(self, text: str, span: Span, ctx: NoteContext) -> str:  # noqa: D102
        key = f"{ctx.surrogate_seed}\x1f{span.entity}\x1f{text.lower()}"
        e = span.entity
        if e in (Entity.PATIENT, Entity.CLINICIAN):
            parts = text.split()
            if len(parts) == 1:
                return _pick(_LAST if text[:1].isupper() else _FIRST, key)
            return f"{_pick(_FIRST, key)} {_pick(_LAST, key + 'l')}"
        if e in (Entity.PHONE, Entity.FAX):
            return f"555-01{_digits(key, 2)}-{_digits(key + 'x', 4)}"
        if e == Entity.EMAIL:
            return f"user{_digits(key, 4)}@example.org"
        if e == Entity.SSN:
            return f"000-00-{_digits(key, 4)}"
        if e == Entity.ID:
            return f"ID{_digits(key, 7)}"
        if e == Entity.STREET:
            return f"{_digits(key, 3)} Main Street"
        if e == Entity.CITY:
            return _pick(_CITY, key)
        if e == Entity.ZIP:
            return "00000"
        if e == Entity.FACILITY:
            return _pick(_FAC, key)
        if e == Entity.URL:
            return "https://example.org/"
        if e == Entity.IP:
            return "192.0.2.1"
        if e == Entity.AGE:
            return "90+"
        return f"[{e.value}]"
