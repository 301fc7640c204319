"""Clinical notes: a folder of text files plus an optional metadata CSV -> `note`.

Metadata columns: ``file`` (path relative to the folder), ``person``, ``date`` (required),
``note_type``, ``encounter``, ``title`` (optional). Files without a metadata row may carry
their metadata in the name: ``<person>_<YYYYMMDD>[_<note type>].txt``. Text is decoded as UTF-8
(with or without BOM), UTF-16 with BOM, else Windows-1252; empty and binary files are
quarantined. See ``docs/ingest-sources.md``.

>>> from medmine.warehouse import Warehouse
>>> load([], Warehouse(":memory:")).reconciles
True
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medmine.errors import SourceError
from medmine.ingest import codes
from medmine.ingest._emit import Lookup, open_csv, raw_csv_line
from medmine.ingest.progress import Progress
from medmine.ingest.validate import date_field, datetime_field
from medmine.warehouse import LoadReport, LoadSession, Reason, Rejected, Warehouse, stable_id

__all__ = ["METADATA_COLUMNS", "decode_text", "load"]

KIND = "notes"
METADATA_NAME = "metadata.csv"
METADATA_COLUMNS = ("file", "person", "date", "note_type", "encounter", "title")
_REQUIRED = ("file", "person", "date")
_NAME = re.compile(r"^(?P<person>[^_]+)_(?P<date>\d{8})(?:_(?P<type>.+))?$")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
MAX_RECORD_CHARS = 100_000  # quarantined text kept for fixing and reloading


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode note bytes; returns ``(text, encoding)``.

    A BOM decides (UTF-8, UTF-16); otherwise UTF-8, falling back to Windows-1252 and, for
    bytes that code page leaves undefined, Latin-1. NUL bytes without a UTF-16 BOM mean the file
    is not text (``ValueError``).
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc.replace("-sig", "")
    if b"\x00" in data:
        raise ValueError("binary content (NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


@dataclass
class _Meta:
    person: str
    date: str
    note_type: str = ""
    encounter: str = ""
    title: str = ""
    where: str = "file name"
    malformed: bool = False  # the metadata row's cell count differs from its header


def _read_metadata(path: Path) -> dict[str, tuple[_Meta, int]]:
    """Metadata rows keyed by normalised relative file path (with their line numbers)."""
    f, header, reader = open_csv(path)
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        f.close()
        raise SourceError(str(path), f"metadata header lacks column(s) {missing}",
                          f"expected columns {list(METADATA_COLUMNS)}")  # fmt: skip
    out: dict[str, tuple[_Meta, int]] = {}
    with f:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            malformed = len(values) != len(header)
            rec = dict(zip(header, values, strict=False))
            key = (rec.get("file") or "").strip().replace("\\", "/")
            meta = _Meta(
                person=(rec.get("person") or "").strip(),
                date=(rec.get("date") or "").strip(),
                note_type=(rec.get("note_type") or "").strip(),
                encounter=(rec.get("encounter") or "").strip(),
                title=(rec.get("title") or "").strip(),
                where=f"{path.name} line {reader.line_num}",
                malformed=malformed,
            )
            out[key] = (meta, reader.line_num)
    return out


def _note_date(meta: _Meta) -> tuple[dt.date, dt.datetime | None]:
    """The note's date, and its date-time when the metadata gives a time."""
    name = f"{meta.where}: date"
    if "T" in meta.date or ":" in meta.date:
        t = datetime_field(meta.date, name, required=True)
        assert t is not None
        return t.date(), t
    d = date_field(meta.date, name, required=True)
    assert d is not None
    return d, None


class _NotesReader:
    def __init__(
        self, s: LoadSession, person_ns: str | None, visit_ns: str | None, language: int
    ) -> None:
        self.s = s
        self.person_ns = person_ns
        self.visit_ns = visit_ns
        self.language = language
        self.lookup = Lookup(s)

    def _ref(self, ns: str | None, value: str, what: str) -> int:
        if ns:
            return stable_id(ns, value)
        try:
            return int(value)
        except ValueError:
            raise Rejected(
                Reason.INVALID_VALUE, f"{what} is not a warehouse id (set a namespace option)"
            ) from None

    def _exists_in(self, table: str, rid: int) -> bool:
        return self.lookup.exists(table, rid)

    def note(self, path: Path, rel: str, meta: _Meta | None) -> None:
        s = self.s
        s.read("Note")
        text: str | None = None
        try:
            data = path.read_bytes()
            try:
                text, encoding = decode_text(data)
            except ValueError:
                raise Rejected(Reason.MALFORMED, "file is not text (NUL bytes)") from None
            if not text.strip():
                raise Rejected(Reason.MISSING_FIELD, "file is empty")
            if meta is None:
                raise Rejected(
                    Reason.MISSING_FIELD,
                    "no metadata row and the file name is not <person>_<YYYYMMDD>[_<type>]",
                )
            row = self._row(rel, meta, text, encoding)
        except Rejected as err:
            record = text[:MAX_RECORD_CHARS] if text else None
            s.quarantine(str(path), "file", "Note", err.reason, err.detail, record=record)
            return
        except OSError as exc:
            s.quarantine(str(path), "file", "Note", Reason.MALFORMED,
                         f"file cannot be read ({exc.strerror})")  # fmt: skip
            return
        s.add_record(
            "Note", [("note", row)], source_file=str(path), location="file", source_key=rel
        )

    def _row(self, rel: str, meta: _Meta, text: str, encoding: str) -> dict[str, Any]:
        if meta.malformed:
            raise Rejected(
                Reason.MALFORMED,
                f"{meta.where}: row has a different number of cells than the header",
            )
        if not meta.person:
            raise Rejected(Reason.MISSING_FIELD, f"{meta.where}: person is empty")
        person_id = self._ref(self.person_ns, meta.person, "person")
        day, when = _note_date(meta)
        if not self._exists_in("person", person_id):
            raise Rejected(
                Reason.DANGLING_REFERENCE, f"{meta.where}: person matches no warehouse person"
            )
        visit_id = None
        if meta.encounter:
            visit_id = self._ref(self.visit_ns, meta.encounter, "encounter")
            if not self._exists_in("visit_occurrence", visit_id):
                self.s.warn("Note", Reason.UNRESOLVED_REFERENCE)
                visit_id = None
        return {
            "note_id": stable_id(f"{KIND}:Note", rel),
            "person_id": person_id,
            "note_date": day,
            "note_datetime": when,
            "note_type_concept_id": codes.TYPE_EHR,
            "note_class_concept_id": codes.NOTE_CLASS_UNKNOWN,
            "note_title": meta.title or meta.note_type or None,
            "note_text": text,
            "encoding_concept_id": codes.ENCODING_UTF8 if encoding.startswith("utf") else 0,
            "language_concept_id": self.language,
            "visit_occurrence_id": visit_id,
            "note_source_value": meta.note_type or None,
        }


def _meta_from_name(path: Path) -> _Meta | None:
    m = _NAME.match(path.stem)
    if not m:
        return None
    return _Meta(
        person=m.group("person"),
        date=m.group("date"),
        note_type=(m.group("type") or "").replace("_", " "),
    )


def load(
    paths: str | Path | Iterable[str | Path],
    warehouse: Warehouse,
    *,
    progress: Progress | None = None,
    metadata: str | Path | None = None,
    person_namespace: str | None = None,
    visit_namespace: str | None = None,
    language: str | None = None,
    **options: Any,
) -> LoadReport:
    """Load note files (``*.txt``) in one atomic load.

    Parameters
    ----------
    paths
        Folders (searched recursively for ``*.txt``) or single files.
    metadata
        Metadata CSV; by default ``metadata.csv`` in each folder is used when present.
    person_namespace, visit_namespace
        How ``person`` and ``encounter`` values become warehouse ids: ``None`` means they are
        warehouse ids already, otherwise ``stable_id(namespace, value)`` (for example
        ``"hl7v2:Patient"`` for MRNs and ``"hl7v2:Visit"`` for visit numbers of an HL7 feed).
    language
        ``"en"`` sets ``language_concept_id`` to English; by default it is 0 (unknown).
    progress
        Called as ``progress(note, notes_read, notes_total)`` after each note (see
        `medmine.ingest.progress`).

    Raises
    ------
    SourceError
        If a path does not exist or a metadata file lacks the required columns.
    """
    if options:
        raise TypeError(f"unknown option(s) for notes.load: {sorted(options)}")
    if isinstance(paths, str | Path):
        paths = [paths]
    explicit = _read_metadata(Path(metadata)) if metadata is not None else None
    plan: list[tuple[Path, str, _Meta | None]] = []
    listed_missing: list[tuple[Path, _Meta]] = []
    for root in map(Path, paths):
        if root.is_dir():
            meta = explicit
            if meta is None and (root / METADATA_NAME).is_file():
                meta = _read_metadata(root / METADATA_NAME)
            files = sorted(f for f in root.rglob("*.txt") if f.is_file())
            rels = {f.relative_to(root).as_posix(): f for f in files}
            for rel, f in rels.items():
                m = meta.get(rel, (None, 0))[0] if meta else None
                plan.append((f, rel, m or _meta_from_name(f)))
            for rel, (m, _) in (meta or {}).items():
                if rel not in rels:
                    listed_missing.append((root / rel, m))
        elif root.is_file():
            m = explicit.get(root.name, (None, 0))[0] if explicit else None
            plan.append((root, root.name, m or _meta_from_name(root)))
        else:
            raise SourceError(str(root), "no such file or folder", "check the path")
    lang = codes.LANGUAGE_ENGLISH if (language or "").lower() in ("en", "english") else 0
    with LoadSession(warehouse, KIND) as s:
        reader = _NotesReader(s, person_namespace, visit_namespace, lang)
        for i, (path, rel, meta) in enumerate(plan, 1):
            reader.note(path, rel, meta)
            if progress:
                progress(rel, i, len(plan))
        for path, m in listed_missing:
            s.read("Note")
            s.quarantine(
                str(path), m.where, "Note", Reason.MISSING_FIELD,
                "file listed in the metadata does not exist",
                record=raw_csv_line([path.name, m.person, m.date, m.note_type, m.encounter]),
            )  # fmt: skip
    return s.report
