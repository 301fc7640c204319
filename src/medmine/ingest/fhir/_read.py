"""Streaming readers: find the input files, and yield their resources one at a time.

NDJSON (``.ndjson``, ``.ndjson.gz``) is read line by line, so memory stays flat whatever the
file size. A Bundle file (``.json``, ``.json.gz``) is parsed whole because its ``fullUrl`` index
is needed before any entry can be mapped; Bundles are per-patient or per-transaction and small
next to Bulk NDJSON exports. Bytes are hashed (SHA-256) and counted as they are read, which
drives the progress bar without a second pass over the file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from medmine.errors import SourceError
from medmine.ingest.limits import capped

SUFFIXES = (".ndjson", ".ndjson.gz", ".json", ".json.gz")
_CHUNK = 1 << 20
MODIFIER = b'"modifierExtension"'
_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, allowed at the start of a file
_RTYPE = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]{1,64})"')
_PATIENT_FILE = re.compile(r"(^|[^A-Za-z])Patient([^A-Za-z]|$)")
BOM = _BOM
#: The first ``"resourceType": "X"`` of a line (the type a line that is not JSON is counted as).
RTYPE = _RTYPE


def discover(paths: list[str | Path]) -> list[Path]:
    """Input files under `paths` (files as given, folders searched recursively), Patient files
    first so that references to patients can be checked as resources arrive.

    Raises
    ------
    SourceError
        When a path does not exist or a folder holds no FHIR file.
    """
    found: dict[Path, None] = {}
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(SUFFIXES))
            if not files:
                raise SourceError(str(p), "no .json, .json.gz, .ndjson or .ndjson.gz files")
            for f in files:
                found.setdefault(f.resolve(), None)
        elif p.is_file():
            found.setdefault(p.resolve(), None)
        else:
            raise SourceError(str(p), "does not exist")
    return sorted(found, key=lambda f: (not _PATIENT_FILE.search(f.name), str(f)))


def is_ndjson(path: Path) -> bool:
    """True for ``.ndjson`` / ``.ndjson.gz`` (one resource per line)."""
    return path.name.endswith((".ndjson", ".ndjson.gz"))


class _Hashing(io.RawIOBase):
    """A raw reader that hashes and counts the bytes going through it."""

    def __init__(self, f: Any, on_bytes: Callable[[int], None] | None) -> None:
        self._f = f
        self.sha = hashlib.sha256()
        self.size = 0
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)
        if n:
            self.sha.update(memoryview(b)[:n])
            self.size += n
            if self._on_bytes is not None:
                self._on_bytes(n)
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


class _Gunzip(io.RawIOBase):
    """Decompress gzip (one or more members) and hand out every byte before any damage.

    `gzip.GzipFile` reads through a buffer that drops what it decompressed in the same read
    when the stream turns out to be truncated; this reader returns all of it first and raises
    `EOFError` only on the next read, so a truncated file keeps every complete line.
    """

    def __init__(self, f: Any) -> None:
        self._f = f
        self._d: Any = None  # the current member's decompressor
        self._started = False

    def readable(self) -> bool:
        return True

    def _member(self, data: bytes) -> bytes:
        """Start a new member whose first bytes are `data` (returned)."""
        if not self._started and not data.startswith(b"\x1f\x8b"):
            raise gzip.BadGzipFile("not a gzipped file")
        self._started = True
        self._d = zlib.decompressobj(31)
        return data

    def readinto(self, b: Any) -> int:
        n = len(b)
        while True:
            d = self._d
            if d is not None and d.unconsumed_tail:
                data = d.decompress(d.unconsumed_tail, n)
            elif d is None or d.eof:
                rest = d.unused_data.lstrip(b"\0") if d is not None else b""
                if not rest:
                    rest = self._f.read(_CHUNK).lstrip(b"\0")
                    if not rest:
                        return 0  # the end, after whole members (or an empty file)
                data = self._member(rest)
                data = self._d.decompress(data, n)
            else:
                chunk = self._f.read(_CHUNK)
                if not chunk:
                    raise EOFError("compressed stream ends early")
                data = d.decompress(chunk, n)
            if data:
                b[: len(data)] = data
                return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


class Source:
    """One open input file: a buffered (decompressed) byte stream plus its running hash."""

    def __init__(self, path: Path, on_bytes: Callable[[int], None] | None = None) -> None:
        self.path = path
        self._raw = _Hashing(open(path, "rb"), on_bytes)  # noqa: SIM115  (closed in close())
        stream: Any = io.BufferedReader(self._raw, _CHUNK)
        if path.name.endswith(".gz"):
            # capped: a gzip bomb stops with a SourceError (the file is quarantined)
            stream = capped(_Gunzip(stream), path)
        self.stream = stream

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes read so far (the whole file once fully read)."""
        return self._raw.sha.hexdigest()

    @property
    def size(self) -> int:
        """Bytes of the file read so far."""
        return self._raw.size

    def drain(self) -> None:
        """Read the rest of the file so that the hash covers all of it."""
        while self._raw.readinto(bytearray(_CHUNK)):
            pass

    def close(self) -> None:
        """Close the file."""
        self.stream.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: A parse failure: (error message without content, best-guess resource type).
BadLine = tuple[str, str]


def ndjson_lines(src: Source) -> Iterator[tuple[int, Any, bytes]]:
    """Yield ``(line_number, resource_or_BadLine, raw_line)`` for each non-blank line."""
    loads = orjson.loads
    for n, line in enumerate(src.stream, start=1):
        if n == 1 and line.startswith(_BOM):  # valid UTF-8, and common from Windows tools
            line = line[3:]
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            if not line.strip():
                continue
            m = _RTYPE.search(line)
            yield n, ("line is not valid JSON", m.group(1).decode() if m else "Unknown"), line
            continue
        yield n, obj, line


def bundle_document(src: Source) -> tuple[Any, bool]:
    """Parse a whole ``.json`` file; raises `SourceError` when it is not JSON.

    Returns the document and whether its text mentions ``modifierExtension`` at all (when
    not, no resource of it needs searching for one).
    """
    data = src.stream.read()
    if data.startswith(_BOM):
        data = data[3:]
    try:
        return orjson.loads(data), MODIFIER in data
    except orjson.JSONDecodeError:
        raise SourceError(str(src.path), "not valid JSON") from None


#: Bundle types whose entries are identified by their ``fullUrl``: a document or a collection
#: is a self-contained set of resources, and two of them (from two systems) may hold different
#: resources under the same ``Type/id``. Transactions and the rest keep ``Type/id`` identity.
FULLURL_IDENTITY = frozenset({"document", "collection"})


def entry_keys(bundle_type: Any, entries: list[Any]) -> list[str | None]:
    """The identity of each entry's resource: the key its row ids are made from.

    ``Type/id`` identity (the resource id) in general; in a document or collection Bundle, the
    entry's ``fullUrl`` when it gives one (unless it is just ``urn:uuid:<id>``), so that the
    same ``Type/id`` in two such Bundles is two resources and the same ``fullUrl`` is one.
    """
    by_url = bundle_type in FULLURL_IDENTITY
    out: list[str | None] = []
    for e in entries:
        rid = entry_id(e) if isinstance(e, dict) else None
        url = e.get("fullUrl") if isinstance(e, dict) else None
        if by_url and rid and isinstance(url, str) and url.strip() and url != f"urn:uuid:{rid}":
            out.append(url)
        else:
            out.append(rid)
    return out


def bundle_index(
    entries: list[Any], keys: list[str | None] | None = None
) -> dict[str, tuple[str, str]]:
    """``fullUrl -> (resourceType, identity key)`` for the entries of a Bundle.

    With `keys` (from `entry_keys`) that differ from the ids (fullUrl identity), relative
    ``Type/id`` references inside the Bundle resolve to its entry too, as FHIR's Bundle
    resolution rules say, when only one entry of the Bundle has that ``Type/id``.
    """
    index: dict[str, tuple[str, str]] = {}
    local: dict[str, tuple[str, str] | None] = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            continue
        url, res = e.get("fullUrl"), e.get("resource")
        if not isinstance(res, dict):
            continue
        rtype, rid = res.get("resourceType"), entry_id(e)
        if not isinstance(rtype, str) or not rid:
            continue
        key = keys[i] if keys is not None and keys[i] else rid
        if isinstance(url, str):
            index[url] = (rtype, key)
        if key != rid:
            rel = f"{rtype}/{rid}"
            local[rel] = None if rel in local else (rtype, key)
    for rel, target in local.items():
        if target is not None:
            index.setdefault(rel, target)
    return index


def entry_id(entry: dict[str, Any]) -> str | None:
    """The id of a Bundle entry's resource, else the uuid of its ``urn:uuid:`` fullUrl."""
    res = entry.get("resource")
    rid = res.get("id") if isinstance(res, dict) else None
    if isinstance(rid, str) and rid:
        return rid
    url = entry.get("fullUrl")
    if isinstance(url, str) and url.startswith("urn:uuid:") and len(url) > 9:
        return url[9:]
    return None
