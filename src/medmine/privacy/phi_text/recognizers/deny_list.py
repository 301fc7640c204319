"""What the warehouse knows about the note's person: their own names, address, city, ZIP and
identifiers, plus clinician and facility names, matched literally (high precision).
"""

from __future__ import annotations

import functools
import re

from medmine.privacy.phi_text._base import Recognizer, literal_regex
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS

_PHONE = re.compile(r"\+?[\d\s().-]{10,16}")
_SSN = re.compile(r"\d{3}-?\d{2}-?\d{4}")


def _other(v: str) -> bool:
    return "@" not in v and not _PHONE.fullmatch(v) and not _SSN.fullmatch(v)


@functools.lru_cache(maxsize=4096)
def _compiled(values: frozenset[str], ignore_case: bool) -> re.Pattern[str] | None:
    return literal_regex(set(values), ignore_case=ignore_case)


def _name_variants(names: set[str]) -> frozenset[str]:
    out = set()
    for n in names:
        n = n.strip()
        if len(n) < 2:
            continue
        out |= {n, n.upper(), n.title(), n.capitalize()}
    return frozenset(out)


def _zip_variants(zips: set[str]) -> frozenset[str]:
    out = set()
    for z in zips:
        d = re.sub(r"\D", "", z or "")
        if len(d) >= 5:
            out |= {d[:5], d, f"{d[:5]}-{d[5:]}" if len(d) == 9 else d}
    return frozenset(out)


@RECOGNIZERS.register("deny_list")
class DenyListRecognizer(Recognizer):
    """Literal matches of the values in the note's `NoteContext`."""

    entities = (
        Entity.PATIENT,
        Entity.CLINICIAN,
        Entity.STREET,
        Entity.CITY,
        Entity.ZIP,
        Entity.ID,
        Entity.FACILITY,
    )

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """Find every literal occurrence of a known value."""
        plan = (
            (_name_variants(ctx.person_names), False, Entity.PATIENT, 0.95),
            (_name_variants(ctx.clinician_names), False, Entity.CLINICIAN, 0.9),
            (frozenset(ctx.streets), True, Entity.STREET, 0.95),
            (_name_variants(ctx.cities), False, Entity.CITY, 0.85),
            (_zip_variants(ctx.zips), False, Entity.ZIP, 0.95),
            (frozenset(v for v in ctx.ids if "@" in v), True, Entity.EMAIL, 0.99),
            (
                frozenset(v for v in ctx.ids if _PHONE.fullmatch(v) and not _SSN.fullmatch(v)),
                True,
                Entity.PHONE,
                0.99,
            ),
            (frozenset(v for v in ctx.ids if _SSN.fullmatch(v)), True, Entity.SSN, 0.99),
            (frozenset(v for v in ctx.ids if _other(v)), True, Entity.ID, 0.99),
            (frozenset(ctx.facilities), True, Entity.FACILITY, 0.9),
        )
        out = []
        for values, icase, ent, score in plan:
            rx = _compiled(values, icase)
            if rx is None:
                continue
            out += [Span(m.start(), m.end(), ent, score, self.name) for m in rx.finditer(text)]
        return out
