"""MLLP framing (``VT message FS CR``) over asyncio streams, with a frame size limit.

Hand-rolled rather than python-hl7's ``hl7.mllp``: that reader buffers a whole frame before
it can tell the frame is too big and decodes it as text, while the listener must refuse an
oversized frame without holding it in memory and must see the raw bytes (byte-order marks,
Windows-1252 feeds) the file reader handles.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

VT, FS, CR = b"\x0b", b"\x1c", b"\r"
#: Bytes of an oversized frame kept to answer it (enough for its MSH segment).
HEAD_BYTES = 4096
_CHUNK = 1 << 16


@dataclass
class Frame:
    """One received frame: its bytes (only the head when `oversize`), and its full size."""

    data: bytes
    size: int
    oversize: bool = False


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP start and end blocks."""
    return VT + message + FS + CR


async def read_frames(reader: asyncio.StreamReader, limit: int) -> AsyncIterator[Frame]:
    """Yield the frames a peer sends until it closes the connection.

    Bytes outside frames (the CR after FS, keep-alive noise) are ignored. A frame larger than
    `limit` bytes is yielded as ``oversize`` with its first `HEAD_BYTES` only; the rest is
    read and discarded as it arrives, so memory stays bounded. A frame cut short by the peer
    closing is dropped: it was never acknowledged.
    """
    buf = bytearray()
    head = b""
    in_frame = False
    size = 0
    oversize = False
    while True:
        chunk = await reader.read(_CHUNK)
        if not chunk:
            return
        i = 0
        n = len(chunk)
        while i < n:
            if not in_frame:
                j = chunk.find(VT, i)
                if j < 0:
                    break
                in_frame, size, oversize = True, 0, False
                buf.clear()
                i = j + 1
                continue
            k = chunk.find(FS, i)
            end = k if k >= 0 else n
            size += end - i
            if not oversize:
                if size > limit:
                    oversize = True
                    head = bytes((buf + chunk[i:end])[:HEAD_BYTES])
                    buf.clear()
                else:
                    buf += chunk[i:end]
            if k < 0:
                break
            yield Frame(head if oversize else bytes(buf), size, oversize)
            buf.clear()
            in_frame = False
            i = k + 1
