"""OBX segments -> measurement rows, for ORU results and for the vitals ADT messages carry.

A bad OBX (no OBX-3 code, an NM value that is not a number, an invalid OBX-14) costs that
segment only: it is returned as a `SegmentError` for the reader to quarantine, and the other
results of the message still load. NTE segments after an OBX become that result's comment.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from medmine.ingest import codes
from medmine.ingest._emit import SourceConcepts
from medmine.ingest.hl7v2._adt import KIND
from medmine.ingest.hl7v2._fields import Msg, parse_number, parse_ts
from medmine.warehouse import Reason, Rejected, stable_id

#: Comparators (SN, or written before a number) -> OMOP operator concepts.
OPERATORS = {"<": 4171756, "<=": 4171754, "=": 4172703, ">": 4172704, ">=": 4171755}
NUMBER = r"[-+]?\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^\s*({NUMBER})\s*-\s*({NUMBER})\s*$")
_BOUND = re.compile(rf"^\s*([<>]=?)\s*({NUMBER})\s*$")
_CANCELLED = ("X", "D", "W")  # OBX-11: cannot obtain, deleted, wrong
#: OBX-2 value types whose OBX-5 is read as a number when it holds one (text otherwise).
_NUMERIC_TEXT = ("ST", "")


def parse_range(text: str) -> tuple[float | None, float | None]:
    """Reference range ``70-99``, ``<5``, ``>=10`` -> (low, high); other text -> (None, None)."""
    m = _RANGE.match(text)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = _BOUND.match(text)
    if m:
        x = float(m.group(2))
        return (None, x) if m.group(1).startswith("<") else (x, None)
    return None, None


@dataclass
class SegmentError:
    """A segment set aside while the rest of its message loads."""

    index: int  # position in the message (0 = MSH)
    reason: Reason
    detail: str  # names the field and problem, never the value


@dataclass
class Results:
    """The results of one message: measurement rows with their NTE comments, and bad segments."""

    rows: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)
    n_obx: int = 0
    errors: list[SegmentError] = field(default_factory=list)


def read_results(
    msg: Msg,
    key: str,
    person_id: int,
    default_time: dt.datetime | None,
    concepts: SourceConcepts,
) -> Results:
    """Read every OBX of `msg` (OBR-7 is the time of the OBX after it, else `default_time`)."""
    out = Results()
    obr_time: dt.datetime | None = None
    obr_bad = False
    last: tuple[dict[str, Any], list[str]] | None = None
    for i, seg in enumerate(msg.segments):
        name = msg.name(seg)
        if name == "OBR":
            obr_bad = False
            try:
                obr_time = parse_ts(msg.get(seg, 7), "OBR-7 observation date/time")
            except Rejected as err:
                out.errors.append(SegmentError(i, err.reason, f"OBR: {err.detail}"))
                obr_time, obr_bad = None, True
        elif name == "OBX":
            out.n_obx += 1
            last = None
            fallback = None if obr_bad else (obr_time or default_time)
            try:
                row, used = _measurement(msg, seg, out.n_obx, key, person_id, fallback)
            except Rejected as err:
                out.errors.append(SegmentError(i, err.reason, err.detail))
                continue
            if row is not None:
                for vocab, code, display in used:
                    concepts.add(vocab, code, display)
                last = (row, [])
                out.rows.append(last)
        elif name == "NTE" and last is not None:
            last[1].extend(t for t in msg.field_text(seg, 3) if t)
    return out


def _measurement(
    msg: Msg, obx: Any, n: int, key: str, person_id: int, default_time: dt.datetime | None
) -> tuple[dict[str, Any] | None, list[tuple[str, str, str]]]:
    """One OBX as a measurement row (None when OBX-11 cancels it) and the codes it uses."""
    where = f"OBX {n}"
    if msg.get(obx, 11).upper() in _CANCELLED:
        return None, []
    code, system = msg.get(obx, 3, 1, 1), msg.get(obx, 3, 1, 3)
    display = msg.get(obx, 3, 1, 2)
    if not code:  # the alternate identifier (CE-4..6) when the primary one is empty
        code, display, system = (msg.get(obx, 3, 1, c) for c in (4, 5, 6))
    if not code:
        raise Rejected(Reason.MISSING_FIELD, f"{where}: OBX-3 observation identifier is empty")
    vocab = codes.hl7v2_vocabulary(system or None)
    used = [(vocab, code, display)]
    vtype = msg.get(obx, 2).upper()
    number: float | None = None
    operator = None
    text: str | None = None
    if vtype == "NM":
        text = msg.get(obx, 5)
        if text:
            got = parse_number(text)
            if got is None:
                raise Rejected(
                    Reason.INVALID_VALUE, f"{where}: OBX-5 value is not a number (OBX-2 NM)"
                )
            comp, number = got
            operator = OPERATORS.get(comp) if comp else None
    elif vtype == "SN":
        comp, n1, sep, n2 = (msg.get(obx, 5, 1, c) for c in (1, 2, 3, 4))
        text = "".join((comp, n1, sep, n2))
        if comp and comp not in OPERATORS and comp != "<>":
            raise Rejected(Reason.INVALID_VALUE, f"{where}: OBX-5 comparator is unknown")
        if not sep and n1:
            got = parse_number(n1)
            if got is None or got[0]:
                raise Rejected(
                    Reason.INVALID_VALUE, f"{where}: OBX-5 value is not a number (OBX-2 SN)"
                )
            number = got[1]
            operator = OPERATORS.get(comp or "=")
    elif vtype in ("CE", "CWE", "CNE"):
        vcode, vtext = msg.get(obx, 5, 1, 1), msg.get(obx, 5, 1, 2)
        vvocab = codes.hl7v2_vocabulary(msg.get(obx, 5, 1, 3) or None)
        if vcode:
            used.append((vvocab, vcode, vtext))
            text = codes.source_value(vvocab, vcode)
        else:
            text = vtext
    else:  # ST, TX, FT, TS, DT... kept as text, repetitions on separate lines
        text = "\n".join(msg.field_text(obx, 5))
        got = parse_number(text) if vtype in _NUMERIC_TEXT and text else None
        if got is not None:  # an ST result holding a number (common for lab values)
            comp, number = got
            operator = OPERATORS.get(comp) if comp else None
    when = parse_ts(msg.get(obx, 14), f"{where}: OBX-14 observation date/time") or default_time
    if when is None:
        raise Rejected(
            Reason.MISSING_FIELD, f"{where}: no valid observation time (OBX-14, OBR-7, MSH-7)"
        )
    unit, unit_system = msg.get(obx, 6, 1, 1), msg.get(obx, 6, 1, 3)
    if unit and unit_system:
        used.append((codes.hl7v2_vocabulary(unit_system), unit, msg.get(obx, 6, 1, 2)))
    low, high = parse_range(msg.get(obx, 7))
    set_id = msg.get(obx, 1) or str(n)
    row = {
        "measurement_id": stable_id(f"{KIND}:Measurement", f"{key}|{n}|{set_id}"),
        "person_id": person_id,
        "measurement_concept_id": 0,
        "measurement_date": when.date(),
        "measurement_datetime": when,
        "measurement_type_concept_id": codes.TYPE_EHR,
        "operator_concept_id": operator,
        "value_as_number": number,
        "unit_concept_id": 0 if unit else None,
        "range_low": low,
        "range_high": high,
        "measurement_source_value": codes.source_value(vocab, code),
        "measurement_source_concept_id": 0,
        "unit_source_value": unit or None,
        "value_source_value": text or None,
    }
    return row, used


def note_row(m: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The `note` row holding the NTE comments of measurement `m`."""
    return {
        "note_id": stable_id(f"{KIND}:Note", str(m["measurement_id"])),
        "person_id": m["person_id"],
        "note_date": m["measurement_date"],
        "note_datetime": m["measurement_datetime"],
        "note_type_concept_id": codes.TYPE_EHR,
        "note_class_concept_id": codes.NOTE_CLASS_UNKNOWN,
        "note_title": "Result comment (NTE)",
        "note_text": "\n".join(notes),
        "encoding_concept_id": codes.ENCODING_UTF8,
        "language_concept_id": 0,
        "visit_occurrence_id": m["visit_occurrence_id"],
        "note_source_value": "HL7V2:NTE",
        "note_event_id": m["measurement_id"],
        "note_event_field_concept_id": 0,
    }
