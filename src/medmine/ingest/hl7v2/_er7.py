"""ER7 splitting into nested lists, shaped exactly as python-hl7's ``hl7.parse`` containers.

`Msg` reads messages through python-hl7's container shape (segment -> field -> repetition
-> component -> subcomponent, a level kept as ``[text]`` when its text holds no separator
of that level or below). python-hl7 builds a container object per element (about 135 for a
seven-segment ORU: 0.32 ms and 60 KB per message, measured); the listener parses every
message on its network side, so this module produces the same shape as plain lists
(0.055 ms and 14 KB). Equality with python-hl7 on random and fixture messages is tested
(``tests/ingest/hl7v2/test_er7.py``).
"""

from __future__ import annotations

from typing import Any

_HEADERS = ("MSH", "BHS", "FHS")


class Segment(list[Any]):
    """One segment's fields (index 0 is the segment id); ``str()`` gives its text back."""

    __slots__ = ("text",)

    def __init__(self, fields: list[Any], text: str) -> None:
        super().__init__(fields)
        self.text = text

    def __str__(self) -> str:
        return self.text


def separators(text: str) -> tuple[str, str]:
    """``(separators, escape)``: segment, field, repetition, component and subcomponent
    separators as python-hl7 reads them from MSH-1/MSH-2 (defaults for missing ones).

    Raises
    ------
    ValueError
        The text does not start with an MSH, BHS or FHS segment.
    """
    if text[:3] not in _HEADERS:
        raise ValueError("the first segment must be MSH, FHS or BHS")
    sep0 = text[3]  # IndexError on a bare "MSH", as python-hl7
    seps = text[3 : text.find(sep0, 4)]
    rep = seps[2] if len(seps) > 2 else "~"
    comp = seps[1] if len(seps) > 1 else "^"
    sub = seps[4] if len(seps) > 4 else "&"
    esc = seps[3] if len(seps) > 3 else "\\"
    out = "\r" + seps[0] + rep + comp + sub
    if len(set(out)) != len(out):  # python-hl7 fails an internal assertion on these
        raise ValueError("the separators are not distinct")
    return out, esc


def _split(text: str, seps: str, level: int) -> Any:
    """Split a field's text at `level` like python-hl7: 2 into repetitions, 3 into
    components, 4 into subcomponents; a level whose separators (and those below) are all
    absent stays ``[text]``.
    """
    if level > 4:
        return text
    for s in seps[level:]:
        if s in text:
            break
    else:
        return [text]
    return [_split(x, seps, level + 1) for x in text.split(seps[level])]


def parse(text: str) -> tuple[list[Segment], str, str]:
    """``(segments, separators, escape)`` of one ER7 message (python-hl7's shape).

    Raises
    ------
    ValueError, IndexError
        The text is not an ER7 message (where python-hl7 raises too).
    """
    text = text.strip()
    seps, esc = separators(text)
    segments: list[Segment] = []
    field_sep = seps[1]
    for seg_text in text.split("\r"):
        if not any(s in seg_text for s in seps[1:]):
            segments.append(Segment([seg_text], seg_text))
            continue
        rest = seg_text
        head: list[Any] = []
        if seg_text[:3] in _HEADERS:
            sep0 = seg_text[3]
            end = seg_text.find(sep0, 4)
            head = [[seg_text[:3]], [sep0], [seg_text[4:end]]]
            rest = seg_text[end + 1 :]
        fields = head + [_split(x, seps, 2) for x in rest.split(field_sep)] if rest else head
        segments.append(Segment(fields, seg_text))
    return segments, seps, esc
