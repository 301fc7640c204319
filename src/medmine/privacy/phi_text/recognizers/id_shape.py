"""Recall mode: tokens shaped like identifiers wherever they are ("KCH-8842016",
"S26-03318", "5585-26-00813", "LT-5CG1304XKP", "#440917", "PT61100482_face.jpg").

A token (text between spaces, brackets and commas) is an identifier when it mixes letters
and at least three digits, or joins digit groups with hyphens into at least six digits, or
is ``#`` and four or more digits. Measurements (``500mg``, ``12.5``), times and shift ranges
(``0700-1900``), clinical codes with few digits (``HbA1c``, ``COVID-19``, ``CHA2DS2``) and
dates (found by the date rules first) are not.
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Recognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS

_SEP = r"\s,;\[\]{}<>\"'"
#: Tokens (runs between separators) holding at least three digits: the only candidates.
_TOKEN = re.compile(rf"(?<![^{_SEP}])[^{_SEP}\d]*(?:\d[^{_SEP}\d]*){{3,}}")
_UNITS = re.compile(
    r"(?i)\d+(?:\.\d+)?(?:mg|mcg|g|kg|ml|l|mmol|meq|iu|units?|u|cc|mm|cm|m|km|in|ft|lbs?|oz|"
    r"hrs?|h|min|mins|sec|s|d|days?|wks?|w|mo|yrs?|y|yo|am|pm|x|k|hz|mhz|ghz|gb|mb|kb|"
    r"bpm|mmhg|st|nd|rd|th|f|c|%)(?:/\w+)?"
)
_TIME_RANGE = re.compile(r"(?:[01]\d|2[0-4])[0-5]\d-(?:[01]\d|2[0-4])[0-5]\d")
#: Code shapes: ICD-10 (I20.9, E11.65, S33.5XXA), HCPCS (A0427, J1885), NDC-like ranges.
_CODE_SHAPE = re.compile(
    r"[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?|[A-V]\d{4}|[A-Z]\d{2}\.\d{1,3}[A-Z]?"
)
#: Clinical notations shaped like identifiers: protein variants in amino-acid letters (V600E,
#: p.L858R; not a lot number "X4471K"), TNM stages
#: (T4aN1bM0), HLA alleles (HLA-B*5801), HGVS variants (c.68_69delAG, c.1799T>A) and
#: gravida/para counts (G2P1001).
_NOTATION = re.compile(
    r"(?:p\.)?[ACDEFGHIKLMNPQRSTVWY]\d{2,4}(?:[ACDEFGHIKLMNPQRSTVWY*]|fs\*?\d*)|[cpyr]?T(?:[0-4]|is|x)[a-d]?N[0-3x][a-c]?M[01x][a-c]?"
    r"|HLA-[A-Z]{1,4}\d?\*\d{2,4}(?::\d{2,4})*|[cgmnr]\.[-*]?\d[\w*>+_.-]*"
    r"|G\d{1,2}P\d{1,4}(?:-\d{1,4})*"
)
#: Drug application numbers in product names ("nda020800 0.3 ml epinephrine ...").
_PRODUCT = re.compile(r"(?i)(?:a?nda|bla)\d{6}")
#: Vocabulary codes follow their system's name ("LOINC 2345-7", "ICD-10 E11.9").
_CODE_BEFORE = re.compile(
    r"(?i)\b(?:snomed(?:[ -]?ct)?|loinc|rxnorm|rxcui|icd(?:-?1[01](?:-?cm)?)?|cpt|hcpcs|ndc|"
    r"cvx)[ \t:#-]*$"
)
#: Date shapes, placeholders included (9999-12-31): the date rules decide about them.
_DATE_SHAPE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}")
_DECIMAL = re.compile(
    r"[$]?\d{1,3}(?:,\d{3})*(?:\.\d+)?[%]?|\d+(?:\.\d+)?|\d{1,4}(?:\.\d+)?-\d{1,4}(?:\.\d+)?"
)


@RECOGNIZERS.register("id_shape")
class IdShapeRecognizer(Recognizer):
    """Identifier-shaped tokens (recall mode only)."""

    entities = (Entity.ID,)
    recall_only = True

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:  # noqa: D102
        out = []
        for m in _TOKEN.finditer(text):
            tok, start = _balanced(m.group(), m.start())
            digits = sum(map(str.isdigit, tok))
            if digits < 3:
                continue
            letters = sum(map(str.isalpha, tok))
            if tok.startswith("#") and digits >= 4 and letters == 0:
                out.append(Span(start, start + len(tok), Entity.ID, 0.55, self.name))
                continue
            if any(
                r.fullmatch(tok)
                for r in (
                    _UNITS,
                    _TIME_RANGE,
                    _DECIMAL,
                    _DATE_SHAPE,
                    _PRODUCT,
                    _CODE_SHAPE,
                    _NOTATION,
                )
            ):
                continue
            if _CODE_BEFORE.search(text, max(0, m.start() - 20), m.start()):
                continue
            if "/" in tok or ":" in tok:
                continue  # dates, times, ratios and URLs have their own rules
            mixed = letters > 0 and digits >= 3
            grouped = letters == 0 and "-" in tok and digits >= 6
            if mixed or grouped:
                out.append(Span(start, start + len(tok), Entity.ID, 0.55, self.name))
        return out


def _balanced(tok: str, start: int) -> tuple[str, int]:
    """`tok` less trailing sentence punctuation and unbalanced outer brackets, with its
    new start: "(KCH-8842016)," -> "KCH-8842016"; "(01)0088(17)29" stays whole.
    """
    tok = tok.rstrip(".:!?")
    if tok.startswith("(") and tok.endswith(")") and tok.count("(") == tok.count(")") == 1:
        return tok[1:-1], start + 1
    while tok.startswith("(") and tok.count("(") > tok.count(")"):
        tok, start = tok[1:], start + 1
    while tok.endswith(")") and tok.count(")") > tok.count("("):
        tok = tok[:-1].rstrip(".:!?")
    return tok, start
