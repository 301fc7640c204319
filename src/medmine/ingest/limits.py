"""A cap on decompressed input: a small gzip file cannot expand past a per-file limit.

A 2 MB gzip "bomb" expands to gigabytes; read whole (a FHIR Bundle) or as one endless line
(NDJSON without newlines), it exhausts memory and the load dies with a ``MemoryError``
traceback. Readers wrap every decompressing stream in `capped`, or open files with
`open_capped`; past the cap the read stops with a `SourceError` that names the file and the
cap and says how to raise it, so the loader quarantines that file and goes on.

The cap is ``MEDMINE_MAX_DECOMPRESSED`` (bytes, or with a unit: ``512M``, ``8G``), default
`DEFAULT_MAX_DECOMPRESSED` (1 GiB per file; a reader that holds a whole file in memory,
such as a Bundle parser, may pass a smaller `max_bytes`). Uncompressed files are read as
they are: their size is already what is on disk.

>>> import gzip, io
>>> data = gzip.compress(b"x" * 10_000)
>>> try:
...     capped(gzip.GzipFile(fileobj=io.BytesIO(data)), "bomb.json.gz", 1_000).read()
... except SourceError as exc:
...     print(exc.reason)
decompressed content exceeds the cap of 1,000 bytes (MEDMINE_MAX_DECOMPRESSED)
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
from pathlib import Path
from typing import Any, BinaryIO

from medmine.errors import ConfigError, SourceError

#: Environment variable holding the per-file cap on decompressed bytes.
MAX_ENV = "MEDMINE_MAX_DECOMPRESSED"
#: Default cap: 1 GiB of decompressed content per file.
DEFAULT_MAX_DECOMPRESSED = 1 << 30
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
#: Suffix -> opener of the compressed formats `open_capped` understands.
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_CHUNK = 1 << 16


def parse_size(text: str) -> int:
    """Bytes in `text`: a whole number with an optional unit K, M, G or T (powers of 1024).

    >>> parse_size("512M"), parse_size("8G"), parse_size("1000")
    (536870912, 8589934592, 1000)
    """
    m = _SIZE.match(text)
    if not m or int(m.group(1)) == 0:
        raise ConfigError(
            f"{MAX_ENV} must be a positive number of bytes, optionally with K, M, G or T "
            f"(e.g. 8G); got {text!r}"
        )
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def max_decompressed() -> int:
    """The cap in bytes: `MEDMINE_MAX_DECOMPRESSED` if set, else the default."""
    text = os.environ.get(MAX_ENV, "")
    return parse_size(text) if text.strip() else DEFAULT_MAX_DECOMPRESSED


def _human(n: int) -> str:
    for unit, size in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n:,} bytes"


class _Capped(io.RawIOBase):
    """A raw reader that counts the bytes it hands out and stops past `limit`."""

    def __init__(self, inner: Any, name: str, limit: int) -> None:
        self._inner = inner
        self._name = name
        self.limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        # Never ask for more than one byte past the cap, so memory stays bounded by it.
        room = self.limit - self.count + 1
        view = memoryview(b)[: max(1, min(len(b), room))]
        data = self._inner.read(len(view))
        n = len(data)
        view[:n] = data
        self.count += n
        if self.count > self.limit:
            raise SourceError(
                self._name,
                f"decompressed content exceeds the cap of {_human(self.limit)} ({MAX_ENV})",
                f"if the file is genuine, raise the cap, e.g. {MAX_ENV}=8G",
            )
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def capped(stream: Any, name: str | Path, max_bytes: int | None = None) -> BinaryIO:
    """Wrap a (decompressing) binary stream so that reading past `max_bytes` raises.

    Parameters
    ----------
    stream
        Anything with ``read(n)``: a `gzip.GzipFile`, a `bz2.BZ2File`...
    name
        The file, as error messages should name it.
    max_bytes
        The cap; ``None`` uses `max_decompressed`.

    Raises
    ------
    SourceError
        On the read that goes past the cap (never a ``MemoryError``).
    """
    limit = max_decompressed() if max_bytes is None else int(max_bytes)
    if limit <= 0:
        raise ConfigError(f"the decompressed-size cap must be positive; got {limit}")
    return io.BufferedReader(_Capped(stream, str(name), limit), _CHUNK)  # type: ignore[return-value]


def open_capped(path: str | Path, max_bytes: int | None = None) -> BinaryIO:
    """Open `path` for binary reading, decompressing ``.gz``, ``.bz2`` and ``.xz`` under the
    cap; other files are opened as they are.

    >>> # with open_capped("Observation.ndjson.gz") as f: for line in f: ...
    """
    p = Path(path)
    opener = _OPENERS.get(p.suffix.lower())
    if opener is None:
        return open(p, "rb")  # noqa: SIM115 - the caller closes it
    return capped(opener(p, "rb"), p, max_bytes)
