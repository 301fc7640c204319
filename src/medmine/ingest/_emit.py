"""Small helpers the file readers share: source concepts, files, CSV rows, warehouse look-ups.

Records themselves are written through `LoadSession` (`add_record`, with `secondary` rows for
rows many records share, or `add_table` column-wise); this module holds what is left over.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medmine.errors import SourceError
from medmine.warehouse import LoadSession, Reason, table
from medmine.warehouse.sql import ident

Rows = list[tuple[str, dict[str, Any]]]


def file_error(s: LoadSession, path: Path, reason: Reason, message: str) -> None:
    """Count a file that cannot be read at all as one quarantined ``File`` record."""
    s.read("File")
    s.quarantine(str(path), "file", "File", reason, message)


class SourceConcepts:
    """Writes each distinct ``(vocabulary_id, code)`` seen in a load once to `mm_source_concept`."""

    def __init__(self, s: LoadSession) -> None:
        self.s = s
        self.seen: set[tuple[str, str]] = set()

    def add(self, vocabulary_id: str, code: str | None, display: str | None = None) -> None:
        """Record a source code (and its display text, if the source gives one)."""
        if not code:
            return
        key = (vocabulary_id, code)
        if key in self.seen:
            return
        self.seen.add(key)
        self.s.add_rows(
            "mm_source_concept",
            {
                "vocabulary_id": vocabulary_id,
                "code": code,
                "display": display or None,
                "load_id": self.s.load_id,
            },
        )


def expand_paths(paths: str | Path | Iterable[str | Path], patterns: tuple[str, ...]) -> list[Path]:
    """Files named by `paths`; folders are searched recursively for `patterns` (sorted).

    Raises
    ------
    SourceError
        If a path does not exist.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found: set[Path] = set()
            for pat in patterns:
                found.update(f for f in p.rglob(pat) if f.is_file())
            out.extend(sorted(found))
        elif p.is_file():
            out.append(p)
        else:
            raise SourceError(str(p), "no such file or folder", "check the path")
    return out


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def register(s: LoadSession, path: Path, records: int) -> None:
    """Record a read file in `mm_load_file` (by content hash)."""
    s.register_file(str(path), file_sha256(path), path.stat().st_size, records)


def open_csv(path: Path) -> tuple[Any, list[str], Any]:
    """Open a CSV file; return ``(file, header, reader)`` with the header already read.

    Raises
    ------
    SourceError
        If the file is empty (no header line) or not CSV. Undecodable bytes in a row are
        kept as surrogates for `undecodable` to flag.
    """
    # surrogateescape: an undecodable byte spoils one row (see `undecodable`), not the file
    f = path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        f.close()
        raise SourceError(str(path), "empty file, no header line") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        f.close()
        raise SourceError(str(path), f"unreadable CSV ({type(exc).__name__})") from None
    return f, [h.strip() for h in header], reader


def undecodable(values: list[str]) -> bool:
    """True when a row read by `open_csv` holds bytes that are not UTF-8."""
    for v in values:
        if not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def raw_csv_line(values: list[str]) -> str:
    """The CSV text of a parsed row (for the quarantine's `record` column).

    Undecodable bytes become U+FFFD so the text can be stored.
    """
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    text = buf.getvalue()
    if not text.isascii():
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


class Lookup:
    """Point look-ups of rows already in the warehouse, skipped for tables empty at load start.

    Readers track the ids they create themselves, so a table that was empty when the load
    began can answer "not there" without a query (the common first load).
    """

    def __init__(self, s: LoadSession) -> None:
        self.s = s
        self._empty: dict[str, bool] = {}
        self._exists: dict[tuple[str, int], bool] = {}

    def empty(self, table_name: str) -> bool:
        """Whether `table_name` held no row when first asked in this load."""
        if table_name not in self._empty:
            got = self.s.wh.con.execute(f"SELECT 1 FROM {ident(table_name)} LIMIT 1").fetchone()
            self._empty[table_name] = got is None
        return self._empty[table_name]

    def exists(self, table_name: str, rid: int) -> bool:
        """Whether a row with primary key `rid` is in the warehouse (cached per id)."""
        key = (table_name, rid)
        if key not in self._exists:
            self._exists[key] = self.row(table_name, rid) is not None
        return self._exists[key]

    def row(self, table_name: str, rid: int) -> dict[str, Any] | None:
        """The row with primary key `rid`, as a dict, or None."""
        if self.empty(table_name):
            return None
        pk = table(table_name).primary_key[0]
        cur = self.s.wh.con.execute(
            f"SELECT * FROM {ident(table_name)} WHERE {ident(pk)} = ?", [rid]
        )
        got = cur.fetchone()
        if got is None:
            return None
        return dict(zip([d[0] for d in cur.description], got, strict=True))
