"""Split a byte stream of HL7 v2 ER7 into messages, whatever the framing.

Plain files, FHS/BHS batches and MLLP streams (VT ... FS CR) are read the same way: MLLP
control bytes, CR, LF and CRLF (mixed freely) all end a segment, blank lines are skipped, a
UTF-8 byte-order mark or whitespace before a segment is dropped, a segment starting with
``MSH`` starts a message, and batch envelope segments (FHS, BHS, BTS, FTS) are dropped. The file
is read in blocks, so memory holds one message at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

#: File name patterns searched in folders.
PATTERNS = ("*.hl7", "*.HL7", "*.er7", "*.mllp", "*.txt")
_SPLIT = re.compile(rb"[\r\n\x0b\x1c]")
ENVELOPE = (b"FHS", b"BHS", b"BTS", b"FTS")
BOM = b"\xef\xbb\xbf"
_BLOCK = 1 << 16


@dataclass
class RawMessage:
    """One message as text, with its position in the file (1-based message and segment)."""

    number: int
    first_segment: int
    text: str
    orphan: bool = False  # segments found before any MSH (not a message at all)

    @property
    def location(self) -> str:
        """Human-readable location, e.g. ``message 3 (segment 12)``."""
        if self.orphan:
            return f"segment {self.first_segment}"
        return f"message {self.number} (segment {self.first_segment})"


def decode_segment(raw: bytes) -> str:
    """Decode one segment: UTF-8, or Windows-1252 for legacy feeds (never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _segments(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Yield ``(segment number, bytes)`` for each non-empty segment."""
    buf = b""
    n = 0
    for block in iter(lambda: stream.read(_BLOCK), b""):
        buf += block
        parts = _SPLIT.split(buf)
        buf = parts.pop()
        for p in parts:
            if p.strip():
                n += 1
                yield n, p
    if buf.strip():
        yield n + 1, buf


def iter_messages(stream: BinaryIO) -> Iterator[RawMessage]:
    """Yield the messages of an ER7 byte stream in order."""
    current: list[str] = []
    first = 0
    count = 0
    orphan: list[str] = []
    orphan_first = 0
    for segno, raw in _segments(stream):
        seg = raw.lstrip()
        while seg.startswith(BOM):  # a BOM per concatenated file, perhaps after blank lines
            seg = seg[len(BOM) :].lstrip()
        if not seg:
            continue
        if seg[:3] in ENVELOPE:
            continue
        if seg[:3] == b"MSH":
            if orphan:
                yield RawMessage(0, orphan_first, "\r".join(orphan), orphan=True)
                orphan = []
            if current:
                yield RawMessage(count, first, "\r".join(current))
            count += 1
            current = [decode_segment(seg)]
            first = segno
        elif current:
            current.append(decode_segment(seg))
        else:
            if not orphan:
                orphan_first = segno
            orphan.append(decode_segment(seg))
    if orphan:
        yield RawMessage(0, orphan_first, "\r".join(orphan), orphan=True)
    if current:
        yield RawMessage(count, first, "\r".join(current))
