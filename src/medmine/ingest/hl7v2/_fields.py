"""Typed access to a parsed HL7 v2 message: fields by position, unescaped; timestamps.

Splitting (segments, the delimiters declared in MSH-1/MSH-2) gives python-hl7's container
shape (`medmine.ingest.hl7v2._er7`, plain lists, tested equal to ``hl7.parse``); this module
reads it by position and decodes escape sequences itself, because python-hl7's ``unescape``
logs the field value (PHI) on bad sequences.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from medmine.ingest.hl7v2._er7 import parse as split_er7
from medmine.warehouse import Reason, Rejected

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
#: A number as sent in OBX-5 of NM, SN-like or ST results: optional comparator, sign, decimals.
_NUMBER = re.compile(r"^\s*(<=|>=|<>|<|>|=)?\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*$")
_TS = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?(?:([+-])(\d{2})(\d{2}))?$"
)


class Msg:
    """A parsed ER7 message with 1-based ``get(segment, field, repetition, component, sub)``."""

    def __init__(self, text: str) -> None:
        try:
            segments, seps, esc = split_er7(text)
        except (ValueError, IndexError):
            raise Rejected(Reason.MALFORMED, "message cannot be parsed as ER7") from None
        # seps: segment, field, repetition, component, subcomponent separators
        if len(seps) < 5 or not esc:
            raise Rejected(Reason.MALFORMED, "MSH-2 does not declare the encoding characters")
        self.field_sep, self.rep_sep, self.comp_sep, self.sub_sep = (
            seps[1],
            seps[2],
            seps[3],
            seps[4],
        )
        self.esc = esc
        self.segments: list[Any] = segments
        for seg in self.segments:
            if not _SEGMENT_ID.match(_leaf(seg[0]) if len(seg) else ""):
                raise Rejected(Reason.MALFORMED, "a segment has no valid 3-character id")

    @staticmethod
    def name(seg: Any) -> str:
        """The segment id (``PID``)."""
        return _leaf(seg[0])

    def first(self, name: str) -> Any | None:
        """The first segment called `name`, or None."""
        for seg in self.segments:
            if self.name(seg) == name:
                return seg
        return None

    def get(self, seg: Any, f: int, r: int = 1, c: int = 1, s: int = 1) -> str:
        """Unescaped value of field `f` (repetition `r`, component `c`, subcomponent `s`)."""
        return self.unescape(raw(seg, f, r, c, s)).strip()

    def reps(self, seg: Any, f: int) -> int:
        """Number of repetitions of field `f`."""
        if seg is None or f >= len(seg):
            return 0
        field = seg[f]
        if field and not isinstance(field[0], str):
            return len(field)
        return 1 if any(field) else 0

    def field_text(self, seg: Any, f: int) -> list[str]:
        """Each repetition of field `f` as unescaped text (components joined by a space)."""
        out = []
        for r in range(1, self.reps(seg, f) + 1):
            parts = []
            for c in range(1, 30):
                v = raw(seg, f, r, c)
                if v is None:
                    break
                parts.append(self.unescape(v))
            out.append(" ".join(p for p in parts if p))
        return out

    def unescape(self, value: str | None) -> str:
        r"""Decode HL7 escape sequences (``\F\ \S\ \T\ \R\ \E\ \.br\ \Xhh\``)."""
        if not value or self.esc not in value:
            return value or ""
        esc = self.esc
        simple = {
            "F": self.field_sep,
            "S": self.comp_sep,
            "T": self.sub_sep,
            "R": self.rep_sep,
            "E": esc,
            ".br": "\n",
            ".sp": "\n",
            "H": "",
            "N": "",
        }
        out: list[str] = []
        i = 0
        while i < len(value):
            ch = value[i]
            end = value.find(esc, i + 1) if ch == esc else -1
            if end == -1:
                out.append(ch)
                i += 1
                continue
            seq = value[i + 1 : end]
            if seq in simple:
                out.append(simple[seq])
            elif seq[:1] == "X" and len(seq) > 1 and len(seq) % 2 == 1:
                try:
                    out.append(bytes.fromhex(seq[1:]).decode("utf-8", errors="replace"))
                except ValueError:
                    out.append(value[i : end + 1])
            elif not seq:
                out.append(value[i : end + 1])
            # other sequences (character-set switches, formatting) are dropped
            i = end + 1
        return "".join(out)


def _leaf(x: Any) -> str:
    while isinstance(x, list):
        if not x:
            return ""
        x = x[0]
    return str(x) if x is not None else ""


def raw(seg: Any, f: int, r: int = 1, c: int = 1, s: int = 1) -> str | None:
    """Raw (escaped) value at a position in python-hl7's containers; None when absent."""
    if seg is None or f >= len(seg):
        return None
    field = seg[f]
    if not field:
        return None
    node: Any = field
    if isinstance(field[0], str):  # no repetition or component separators in the field
        return field[0] if (r, c, s) == (1, 1, 1) else None
    if r > len(node):
        return None
    node = node[r - 1]
    if isinstance(node, str):
        return node if (c, s) == (1, 1) else None
    if c > len(node):
        return None
    node = node[c - 1]
    if isinstance(node, str):
        return node if s == 1 else None
    if s > len(node):
        return None
    return _leaf(node[s - 1])


def parse_ts(value: str, field: str) -> dt.datetime | None:
    """Parse an HL7 TS/DTM (``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]``) to naive UTC.

    Raises
    ------
    Rejected
        With `Reason.INVALID_DATE`, naming `field` (never the value).
    """
    v = value.strip()
    if not v:
        return None
    m = _TS.match(v)
    if not m:
        raise Rejected(Reason.INVALID_DATE, f"{field} is not a valid HL7 timestamp")
    y, mo, d, h, mi, s, frac, sign, oh, om = m.groups()
    try:
        t = dt.datetime(
            int(y),
            int(mo or 1),
            int(d or 1),
            int(h or 0),
            int(mi or 0),
            int(s or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        raise Rejected(Reason.INVALID_DATE, f"{field} is not a valid date") from None
    if sign:
        offset = dt.timedelta(hours=int(oh), minutes=int(om))
        t = t - offset if sign == "+" else t + offset
    if not 1850 <= t.year <= 2200:
        raise Rejected(Reason.INVALID_DATE, f"{field} is outside the plausible range")
    return t


def parse_number(text: str) -> tuple[str, float] | None:
    """``"182"``, ``" 5.4 "``, ``"<0.5"``, ``">=60"`` -> (comparator, value); other text -> None.

    The comparator is ``""`` when none was sent.

    >>> parse_number("<0.5"), parse_number("Positive")
    (('<', 0.5), None)
    """
    m = _NUMBER.match(text)
    if m is None:
        return None
    return m.group(1) or "", float(m.group(2))
