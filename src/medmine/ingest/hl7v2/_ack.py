"""HL7 v2 acknowledgements (original mode): ``AA`` loaded, ``AE`` quarantined, ``AR`` refused.

The ACK answers with the message's own delimiters, swaps sending and receiving application and
facility, echoes MSH-10 in MSA-2 and puts the reason in MSA-3 and in an ERR segment
(HL7 table 0357 code, severity, and the reason text in ERR-8). A message that loaded with a
segment set aside gets ``AA`` with an ERR of severity ``W`` per such segment. Reason texts
name fields and problems, never values (no PHI).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from dataclasses import dataclass

#: Reason code -> HL7 table 0357 (message error condition codes).
ERROR_CODES = {
    "malformed": ("100", "Segment sequence error"),
    "missing_field": ("101", "Required field missing"),
    "invalid_date": ("102", "Data type error"),
    "invalid_value": ("102", "Data type error"),
    "invalid_code": ("103", "Table value not found"),
    "conflict": ("205", "Duplicate key identifier"),
    "dangling_reference": ("204", "Unknown key identifier"),
    "too_large": ("207", "Application internal error"),
    "internal_error": ("207", "Application internal error"),
}
_DEFAULT_ERROR = ("207", "Application internal error")
#: Outcome status -> MSA-1 acknowledgement code.
ACK_CODES = {"loaded": "AA", "skipped": "AA", "quarantined": "AE", "rejected": "AR"}
_ids = itertools.count(1)
_PREFIX = f"{os.getpid():x}"


@dataclass(frozen=True)
class Header:
    """The MSH fields an ACK needs, read leniently from raw text (also from broken messages)."""

    field_sep: str = "|"
    encoding: str = "^~\\&"
    fields: tuple[str, ...] = ()

    def get(self, n: int) -> str:
        """Raw MSH-`n` (``""`` when absent); MSH-1 is the field separator."""
        if n == 1:
            return self.field_sep
        return self.fields[n - 1] if n - 1 < len(self.fields) else ""

    @property
    def comp_sep(self) -> str:
        """The component separator."""
        return self.encoding[0] if self.encoding else "^"


def read_header(data: bytes | str) -> Header:
    """The MSH of the first message in `data`, or a default header when there is none."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    start = text.find("MSH")
    if start < 0 or len(text) < start + 8:
        return Header()
    line = text[start:]
    for end in ("\r", "\n"):
        cut = line.find(end)
        if cut >= 0:
            line = line[:cut]
    sep = line[3]
    if sep.isalnum() or sep.isspace():
        return Header()
    parts = line.split(sep)
    # parts[0] is "MSH", parts[1] MSH-2; MSH-n is parts[n - 1] for n >= 2
    encoding = parts[1] if len(parts) > 1 and 2 <= len(parts[1]) <= 5 else "^~\\&"
    return Header(sep, encoding, ("", *parts[1:]))


def escape(text: str, h: Header) -> str:
    """Escape delimiter characters in `text` for a field of a message with header `h`."""
    enc = (h.encoding + "^~\\&")[:4]
    comp, rep, esc, sub = enc[0], enc[1], enc[2], enc[3]
    out = text.replace(esc, f"{esc}E{esc}")
    for ch, code in ((h.field_sep, "F"), (comp, "S"), (rep, "R"), (sub, "T")):
        out = out.replace(ch, f"{esc}{code}{esc}")
    return out.replace("\r", " ").replace("\n", " ")


def build_ack(
    header: Header,
    code: str,
    text: str = "",
    reason: str = "",
    *,
    warnings: list[tuple[str, int, str, str]] | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """An ACK message for a message with `header`.

    Parameters
    ----------
    header
        The acknowledged message's MSH (`read_header`).
    code
        ``AA``, ``AE`` or ``AR``.
    text, reason
        For AE/AR: the reason text (MSA-3, ERR-8) and reason code (ERR-3 via `ERROR_CODES`).
    warnings
        ``(segment id, occurrence, reason code, text)`` of segments set aside from a loaded
        message: one ERR of severity W each.
    """
    h = header
    f = h.field_sep
    comp = h.comp_sep
    sub = (h.encoding + "^~\\&")[3]
    now = now or dt.datetime.now(dt.UTC)
    trigger = h.get(9).split(comp)[1] if comp in h.get(9) else ""
    version = h.get(12) or "2.5.1"
    modern = not version.split(comp)[0].startswith(("2.1", "2.2", "2.3", "2.4"))
    msh = [
        "MSH",
        h.encoding,
        h.get(5) or "MEDMINE",
        h.get(6),
        h.get(3),
        h.get(4),
        now.strftime("%Y%m%d%H%M%S+0000"),
        "",
        f"ACK{comp}{trigger}{comp}ACK" if trigger else "ACK",
        f"MM{_PREFIX}{next(_ids)}",
        h.get(11) or "P",
        version,
    ]
    segments = [f.join(msh)]
    msa = ["MSA", code, h.get(10)]
    if text:  # the reason of an AE/AR, or why an AA message was skipped by design
        msa.append(escape(text, h))
    segments.append(f.join(msa))

    def err(severity: str, reason_code: str, message: str, location: str = "") -> str:
        num, label = ERROR_CODES.get(reason_code, _DEFAULT_ERROR)
        cwe = f"{num}{comp}{label}{comp}HL70357"
        if modern:
            return f.join(["ERR", "", location, cwe, severity, "", "", "", escape(message, h)])
        eld = f"{location}{comp}{comp}{comp}{num}{sub}{label}{sub}HL70357"
        return f.join(["ERR", eld])

    if code != "AA":
        segments.append(err("E", reason, text))
    for seg_id, occurrence, reason_code, message in warnings or []:
        segments.append(err("W", reason_code, message, f"{seg_id}{comp}{occurrence}"))
    return ("\r".join(segments) + "\r").encode("utf-8")


@dataclass(frozen=True)
class Ack:
    """A received acknowledgement: MSA-1 code, MSA-2 control id, MSA-3 text."""

    code: str
    control_id: str
    text: str
    raw: str


def parse_ack(data: bytes) -> Ack:
    """Read MSA of an ACK (lenient; the sender side of `medmine send hl7`)."""
    text = data.decode("utf-8", "replace")
    h = read_header(text)
    for seg in text.replace("\n", "\r").split("\r"):
        if seg.startswith("MSA"):
            parts = seg.split(h.field_sep)
            parts += [""] * 4
            return Ack(parts[1], parts[2], parts[3], text)
    return Ack("", "", "", text)
