"""Fingerprints of a stage's inputs: source files (size, mtime, SHA-256), settings, loads.

A fingerprint is the SHA-256 of a canonical JSON document, so equal inputs give equal
fingerprints across runs and machines (paths aside).

>>> digest({"b": 1, "a": (1, 2)}) == digest({"a": [1, 2], "b": 1})
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["digest", "file_entries", "key_fingerprint", "loads_digest", "sha256_file"]


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def digest(value: Any) -> str:
    """SHA-256 (hex) of `value` as canonical JSON (sorted keys; paths, dates as text)."""
    text = json.dumps(value, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_entries(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Size, modification time and SHA-256 of every file under `paths` (folders recursively).

    Touching a file (a new mtime) or adding one to a folder changes the entries, as does any
    change of content.
    """
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file()))
        else:
            files.append(p)
    out = []
    for f in files:
        st = f.stat()
        out.append(
            {
                "path": str(f.resolve()),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "sha256": sha256_file(f),
            }
        )
    return out


def key_fingerprint(key: bytes) -> str:
    """A slow, salted one-way tag of a pseudonym key: detects a key change, never reveals it."""
    return hashlib.pbkdf2_hmac("sha256", key, b"medmine-run-state", 200_000)[:8].hex()


def loads_digest(warehouse: str | Path) -> str:
    """Digest of the warehouse's loads (``mm_load`` ids, statuses and end times)."""
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse, read_only=True) as wh:
        rows = wh.con.execute(
            "SELECT load_id, status, CAST(finished_at AS VARCHAR) FROM mm_load ORDER BY load_id"
        ).fetchall()
    return digest([list(r) for r in rows])
