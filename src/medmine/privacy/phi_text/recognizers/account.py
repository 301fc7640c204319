"""Identifiers that the digit-shaped rules miss: user names and logins (``login kvodick``,
``userid mgarcia7``), emergency-vehicle and unit numbers (``Unit M-27``, ``Medic 14``),
pager numbers (``pager 4471``), keyed ids written in digit groups (``member W1234 5678 90``)
and keyed codes of capitals and hyphens with no digit (``reference ABX-CC``).

A login-like value must look like an account name: it holds a digit, ``.``, ``_`` or ``@``,
or it is a lower-case word that is no English or clinical word ("user friendly" is not).
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_LOGIN = re.compile(
    r"(?i:\b(?:login|log-in|logon|user(?:[ _-]?(?:name|id))?|userid|username|handle|"
    r"screen[ _]?name|network[ _]id|account[ _]name|sign-?in)\b)[ \t]*[:#=]?[ \t]*"
    r"(?P<v>[A-Za-z][\w.@-]{2,}[A-Za-z0-9])"
)
_LOGIN_STARTS = frozenset(
    ["login", "log-in", "logon", "user", "handle", "screen", "network", "account", "sign"]
)
_VEHICLE = re.compile(
    r"(?i:\b(?:medic|engine|ambulance|truck|rescue|squad|ladder|rig|ems unit)\b)[ \t]*#?[ \t]*"
    r"(?P<v>[A-Z]{0,3}-?\d{1,4}[A-Z]?)\b"
)
_UNIT = re.compile(r"(?i:\bunit\b)[ \t]*#?[ \t]*(?P<v>[A-Z]{1,3}-\d{1,4}[A-Z]?)\b")
_PAGER = re.compile(
    r"(?i:\b(?:pager|beeper|vocera|spectralink)\b)[ \t]*(?:#|no\.?|number)?[ \t]*[:#]?[ \t]*"
    r"(?P<v>\d{3,6})(?![\d-])"
)
_KEYS = (
    r"member(?:[ \t]*(?:id|no\.?|#|number))?|subscriber(?:[ \t]*(?:id|no\.?|#))?|"
    r"policy(?:[ \t]*(?:id|no\.?|#|number))?|account(?:[ \t]*(?:no\.?|#|number))?|acct\.?|"
    r"medicaid(?:[ \t]*(?:id|no\.?|#))?|medicare(?:[ \t]*(?:id|no\.?|#))?|mrn|id|"
    r"group(?:[ \t]*(?:id|no\.?|#))?"
)
_GROUPED = re.compile(
    rf"(?i:\b(?:{_KEYS}))[ \t]*[:#]?[ \t]*"
    r"(?P<v>[A-Z]{1,3}\d{2,}(?:[ ]\d{2,6}){1,3})(?![ \t]*(?:mg|mcg|g|ml|units?|%))\b"
)
_CODE_KEYS = (
    r"ref(?:erence)?|confirmation|conf|ticket|tracking|case|claim|auth(?:orization)?|order|"
    r"account|acct|member|policy|mrn|record|voucher|requisition|req"
)
_LETTER_CODE = re.compile(
    rf"(?i:\b(?:{_CODE_KEYS})\b(?:[ \t]*(?:no\.?|#|number|id))?)[ \t]*[:#]?[ \t]*"
    r"(?P<v>[A-Z]{2,}(?:-[A-Z0-9]{2,})+)\b"
)


_LOGIN_BEFORE = re.compile(
    r"(?:login|log-in|logon|user|userid|username|handle|name|id|sign-?in)\W*$"
)


@RECOGNIZERS.register("account")
class AccountRecognizer(PatternRecognizer):
    """Logins, vehicle and unit numbers, pagers, grouped and letter-only keyed ids."""

    entities = (Entity.ID, Entity.PHONE)
    patterns = (
        Pattern(_LOGIN, Entity.ID, 0.8, "v", anchors=_LOGIN_STARTS),
        Pattern(
            _VEHICLE,
            Entity.ID,
            0.75,
            "v",
            anchors=frozenset(
                ["medic", "engine", "ambulance", "truck", "rescue", "squad", "ladder", "rig"]
                + ["ems unit"]
            ),
        ),
        Pattern(_UNIT, Entity.ID, 0.75, "v", anchors=frozenset(["unit"])),
        Pattern(
            _PAGER,
            Entity.PHONE,
            0.8,
            "v",
            anchors=frozenset(["pager", "beeper", "vocera", "spectralink"]),
        ),
        Pattern(
            _GROUPED,
            Entity.ID,
            0.85,
            "v",
            anchors=frozenset(
                ["member", "subscriber", "policy", "account", "acct", "medicaid", "medicare"]
                + ["mrn", "id", "group"]
            ),
        ),
        Pattern(
            _LETTER_CODE,
            Entity.ID,
            0.8,
            "v",
            anchors=frozenset(
                ["ref", "confirmation", "conf", "ticket", "tracking", "case", "claim", "auth"]
                + ["order", "account", "acct", "member", "policy", "mrn", "record", "voucher"]
                + ["requisition", "req"]
            ),
        ),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """A login value must look like an account name (see the module docstring)."""
        value = text[start:end]
        before = text[max(0, start - 40) : start].lower()
        if _LOGIN_BEFORE.search(before):
            if any(c.isdigit() or c in "._@" for c in value):
                return True
            low = value.lower()
            return (
                value.islower()
                and low not in _vocab.english()
                and low not in _vocab.clinical()
                and low not in _vocab.lexicon()
            )
        return True
