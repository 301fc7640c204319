"""Ages over 89 ("92-year-old", "age 95", "93 yo"); younger ages are not PHI."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_AGE = r"(?P<age>9\d|1[0-4]\d)"


@RECOGNIZERS.register("age_over_89")
class AgeOver89Recognizer(PatternRecognizer):
    """The number of an age of 90 or more."""

    entities = (Entity.AGE,)
    patterns = (
        Pattern(
            re.compile(rf"\b{_AGE}(?:\s*|-)(?:years?|yrs?|y)\.?(?:\s*|-)(?:old|o\b|of age)", re.I),
            Entity.AGE,
            0.95,
            "age",
            gate=re.compile(r"(?:9\d|1[0-4]\d)[\s-]*[Yy]"),
        ),
        Pattern(
            re.compile(rf"\b{_AGE}\s*(?:yo|y/o|y\.o\.)\b", re.I),
            Entity.AGE,
            0.95,
            "age",
            gate=re.compile(r"(?:9\d|1[0-4]\d)\s*[Yy]"),
        ),
        Pattern(
            re.compile(rf"\b(?:age[d:]?|aged)\s*{_AGE}\b", re.I),
            Entity.AGE,
            0.9,
            "age",
            anchors=frozenset({"age"}),
        ),
        # AGE: ninety-six
        Pattern(
            re.compile(
                r"\b(?:age[d:]?|aged)\s*(?P<age>(?:ninety|one hundred)"
                r"(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?)\b",
                re.I,
            ),
            Entity.AGE,
            0.9,
            "age",
            anchors=frozenset({"age"}),
        ),
        # (93 y), 95 yrs,
        Pattern(
            re.compile(rf"\b{_AGE}[ \t]?(?:y|yrs?|years?)(?=[ \t]*[),;]|[ \t]*$)", re.M),
            Entity.AGE,
            0.8,
            "age",
            gate=re.compile(r"(?:9\d|1[0-4]\d)[ \t]?y"),
        ),
        # 90F, 96Y M, 93M, 91 y F, (92 F)
        Pattern(
            re.compile(rf"(?<![\w.]){_AGE}[ \t]?(?:[MF]|Y(?:[ \t]?[MF])?|y[ \t]?[MF])(?![\w/])"),
            Entity.AGE,
            0.85,
            "age",
            gate=re.compile(r"(?:9\d|1[0-4]\d)[ \t]?[MFYy]"),
        ),
        # turns 99, turned 90, is 94 years, (92, ...) after a name is left to recall mode
        Pattern(
            re.compile(rf"\b(?:turns?|turned|turning|will be|now)[ \t]+{_AGE}\b", re.I),
            Entity.AGE,
            0.85,
            "age",
            anchors=frozenset({"turn", "will be", "now"}),
        ),
        # "Cyril Parkinson (92, ...)": an age in brackets right after a name
        Pattern(
            re.compile(r"(?<=[A-Za-z])[ \t]+\((?P<age>9\d|1[01]\d)(?=[,)])"),
            Entity.AGE,
            0.6,
            "age",
            gate=re.compile(r"\((?:9\d|1[01]\d)[,)]"),
        ),
        # ninety-one year-old, one hundred and two years old, ninety-two y/o
        Pattern(
            re.compile(
                r"\b(?P<age>(?:ninety|one hundred(?: and)?)(?:[- ](?:one|two|three|four|five|"
                r"six|seven|eight|nine|ten|eleven|twelve))?)[- ]"
                r"(?:(?:years?|yr)[- ]?(?:old|of age)|y/?o\b|y\.o\.)",
                re.I,
            ),
            Entity.AGE,
            0.9,
            "age",
            anchors=frozenset({"ninety", "one hundred"}),
        ),
    )
