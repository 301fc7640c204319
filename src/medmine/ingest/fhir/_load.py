"""The load driver: read every file, map every resource, and account for each one through a
`LoadSession` (loaded, skipped or quarantined), then run the end-of-load SQL passes.

Mapped records are handed to the session in batches, column-wise (`LoadSession.add_table`):
one Arrow table per warehouse table for the records' primary rows, which decides duplicates,
then their other rows. Turning the rows of a batch into Arrow in one call per table is several
times cheaper than appending every column of every row in Python.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from array import array
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pyarrow as pa

from medmine.errors import SourceError
from medmine.ingest.fhir._bulk import BULK_LINES, classify
from medmine.ingest.fhir._bulk import connection as bulk_connection
from medmine.ingest.fhir._check import check_modifiers, check_rows
from medmine.ingest.fhir._map import MAPPERS, R4_TYPES
from medmine.ingest.fhir._mappings import setwise_mappings
from medmine.ingest.fhir._read import (
    BOM,
    MODIFIER,
    RTYPE,
    Source,
    bundle_document,
    bundle_index,
    entry_id,
    entry_keys,
    is_ndjson,
    ndjson_lines,
)
from medmine.ingest.fhir._refs import Context, undated_dates
from medmine.ingest.fhir._setwise import SetwiseMapping, apply
from medmine.ingest.fhir._sql import finish_load
from medmine.ingest.fhir._values import Skip
from medmine.ingest.progress import Progress
from medmine.warehouse import (
    LoadSession,
    Provenance,
    Reason,
    Rejected,
    TableBatch,
    rows_to_arrow,
    stable_id,
)
from medmine.warehouse.sql import ident

#: Records mapped before each duplicate check and flush (bounds memory).
BATCH_RECORDS = 20_000
#: With set-wise types, read NDJSON in chunks classified by DuckDB (`_bulk`) instead of line
#: by line. Off: measured on 126,812 resources it is no faster (reading 4.05-4.69 CPU-s against
#: 3.95-4.14 line by line; orjson and the per-line deferral cost about what DuckDB's
#: classification costs, docs/ingest-fhir.md). Tests run it, so it stays exact.
BULK_NDJSON = False
#: Records waiting for a Patient not seen yet (beyond this they are quarantined at once).
MAX_WAITING = 50_000
_RAW_COLUMNS = (
    "raw_id",
    "source_file",
    "location",
    "checksum",
    "resource_type",
    "resource_id",
    "full_url",
    "resource",
)
_NAME = re.compile(r"[A-Za-z]{1,64}")
_BUGS = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    OverflowError,
    AssertionError,
    RecursionError,
)


def _own_date(obs: dict[str, Any]) -> bool:
    """Whether an Observation carries a date of its own (effective[x] with a start)."""
    period = obs.get("effectivePeriod")
    return (
        obs.get("effectiveDateTime") is not None
        or obs.get("effectiveInstant") is not None
        or (isinstance(period, dict) and period.get("start") is not None)
        or not isinstance(period, dict | None)
    )


class _Rec(NamedTuple):
    rtype: str
    rows: list[tuple[str, dict[str, Any]]]
    extra: list[tuple[str, dict[str, Any]]]
    file: str
    loc: str
    key: str
    warnings: int
    person: int | None
    raw: Any


class Loader:
    """Loads FHIR files into one open `LoadSession`."""

    def __init__(
        self,
        session: LoadSession,
        progress: Progress | None = None,
        *,
        keep_raw: bool = True,
        setwise: bool = True,
    ) -> None:
        self.s = session
        self.keep_raw = keep_raw
        self.raw: dict[str, list[Any]] = {k: [] for k in _RAW_COLUMNS}  # mm_fhir_resource rows
        self.con = session.wh.con
        self.progress = progress
        known = self.con.execute("SELECT person_id FROM person").fetchnumpy()["person_id"]
        self.ctx = Context(session.load_id, set(known.tolist()))
        self.batch: list[_Rec] = []
        self.waiting: list[_Rec] = []
        self.concepts: list[dict[str, Any]] = []  # source codes met since the last batch
        self._lost_patients: dict[int, str] = {}  # person id -> why its Patient was not loaded
        self._prev_quarantine: dict[str, set[tuple[str, str]]] = {}
        #: NDJSON Observations with no date of their own, mapped at the end of the load when
        #: every DiagnosticReport and Encounter of it is in the raw store.
        self.undated: list[tuple[dict[str, Any], str, str, bytes]] = []
        self._finishing = False
        self._reloaded: set[str] = set()  # files whose content an earlier load read
        self._loaded_sha = {
            r[0]
            for r in self.con.execute(
                "SELECT sha256 FROM mm_load_file WHERE source_kind = ?", [session.source_kind]
            ).fetchall()
        }
        self._file_name = ""
        self._modifiers = False  # the current line or bundle mentions modifierExtension
        #: Types mapped set-wise at the end of the load (their JSON is in the raw store).
        mappings = setwise_mappings() if keep_raw and setwise else {}
        self.setwise: dict[str, SetwiseMapping] = mappings
        self._setwise_types = list(self.setwise)
        self._setwise_names = {t.encode() for t in self._setwise_types}
        self._deferred = array("q")  # raw_id of each deferred resource, in read order
        self._deferred_seq = array("q")  # its position in the read order (`_seq`)
        self._seq = 0  # resources met so far (the order source codes are first seen in)
        self._forced_seq: int | None = None  # a fallback's own position
        #: With set-wise types, source codes wait until the end of the load, each with where
        #: it was first seen ``(seq, order)``, so that the first display seen wins as it does
        #: when every resource is mapped in read order.
        self._held: dict[tuple[str, str], tuple[tuple[int, int], str | None]] = {}
        self._deferred_type = array("b")  # its type (index into _setwise_types)
        self._file_deferred = 0  # where the current file's deferred resources start
        self._plain_keys = True  # every entry of the current Bundle is identified by its id
        self._no_defer = False  # mapping the set-wise fallbacks: map them here
        self._done = 0
        self._total = 0
        self._bulk_con: Any = None  # DuckDB connection classifying NDJSON lines (`_bulk`)
        self._last_line = 0  # the last non-blank NDJSON line read (for a truncated file)

    # ---- files ----
    def run(self, files: list[Path]) -> None:
        """Load every file, then resolve what could only be resolved at the end."""
        self._total = sum(f.stat().st_size for f in files)
        try:
            for f in files:
                self._file(f)
        finally:
            if self._bulk_con is not None:
                self._bulk_con.close()
                self._bulk_con = None
        self._map_undated()
        self._map_setwise()
        for rec in self.waiting:
            if rec.person in self.ctx.known_persons:
                self._add(rec)
            else:
                why = self._lost_patients.get(rec.person)  # type: ignore[arg-type]
                msg = (
                    f"{rec.rtype} refers to a Patient quarantined in this load ({why})"
                    if why is not None
                    else f"{rec.rtype} refers to a Patient that is neither in this load nor "
                    "in the warehouse"
                )
                self._quarantine(
                    rec.file, rec.loc, rec.rtype, Reason.DANGLING_REFERENCE, msg, rec.raw
                )
        self.waiting = []
        self._flush()
        self._flush_raw()
        finish_load(self.s)

    def _on_bytes(self, n: int) -> None:
        self._done += n
        if self.progress is not None:
            self.progress(self._file_name, self._done, self._total)

    def _file(self, path: Path) -> None:
        name = str(path)
        self._file_name = path.name
        self._file_deferred = len(self._deferred)
        self._plain_keys = True
        where = "file"
        try:
            with Source(path, self._on_bytes) as src:
                if is_ndjson(path) and self.setwise and BULK_NDJSON:
                    self._last_line = 0
                    try:
                        n = self._ndjson_bulk(src, name)
                    finally:
                        where = f"line {self._last_line}" if self._last_line else "file"
                elif is_ndjson(path):
                    n = 0
                    self.ctx.new_source(None)
                    for n, obj, raw in ndjson_lines(src):  # noqa: B007
                        where = f"line {n}"
                        self._ndjson_line(name, where, obj, raw)
                else:
                    n = self._bundle(src, name)
                src.drain()
                if self.keep_raw:
                    self._forget_raw_if_loaded_before(name, src.sha256)
                self.s.register_file(name, src.sha256, src.size, n)
        except SourceError as exc:
            self._file_error(name, where, exc.reason)
        except gzip.BadGzipFile:
            self._file_error(name, where, "not a gzip file")
        except EOFError:
            if where.startswith("line "):  # NDJSON: every complete line before it was read
                self.s.read("File")
                msg = (
                    f"{path.name}: compressed stream ends early (truncated file) after {where}, "
                    "the last complete line; every line up to it was read"
                )
                self._quarantine(name, f"after {where}", "File", Reason.MALFORMED, msg, None)
            else:
                self._file_error(name, where, "compressed stream ends early (truncated file)")
        except zlib.error:
            self._file_error(name, where, "corrupt compressed data")
        except OSError as exc:
            self._file_error(name, where, f"cannot be read ({exc.strerror or 'I/O error'})")

    def _ndjson_line(self, name: str, where: str, obj: Any, raw: bytes) -> None:
        """Account for one parsed NDJSON line (a resource, or a `BadLine`)."""
        if type(obj) is tuple:
            self.s.read(obj[1])
            self._quarantine(name, where, obj[1], Reason.MALFORMED, obj[0], raw)
        else:
            self._modifiers = MODIFIER in raw
            self._resource(obj, None, name, where, raw)
            if len(self.raw["location"]) >= BATCH_RECORDS:
                self._flush_raw()

    def _ndjson_bulk(self, src: Source, name: str) -> int:
        """Read an NDJSON file in chunks of lines classified by DuckDB (`_bulk.classify`).

        Lines of a set-wise type with the plain shape the set-wise path defers go straight
        into the raw store (no Python parse; they are mapped at the end of the load); every
        other line takes the per-line path, in order. Each resource's position in the read
        order (``seq``) is its line number, as if every line had been read one by one.
        Returns the number of lines.
        """
        self.ctx.new_source(None)
        if self._bulk_con is None:
            self._bulk_con = bulk_connection()
        base = self._seq
        n = 0
        lines: list[bytes] = []
        numbers: list[int] = []
        try:
            for n, line in enumerate(src.stream, start=1):  # noqa: B007
                if n == 1 and line.startswith(BOM):
                    line = line[3:]
                lines.append(line)
                numbers.append(n)
                if len(lines) >= BULK_LINES:
                    self._ndjson_chunk(name, base, lines, numbers)
                    lines, numbers = [], []
        finally:
            # a truncated .gz: every complete line before the damage is still read
            if lines:
                self._ndjson_chunk(name, base, lines, numbers)
            self._seq = base + n
        return n

    def _ndjson_chunk(self, name: str, base: int, lines: list[bytes], numbers: list[int]) -> None:
        """Load one chunk of NDJSON lines (see `_ndjson_bulk`)."""
        texts = [ln.strip() for ln in lines]
        keep = [i for i, t in enumerate(texts) if t]
        if not keep:
            return
        self._last_line = numbers[keep[-1]]
        # Lines whose first resourceType (near the start) is another type skip DuckDB: they
        # take the per-line path anyway (a contained resource first only costs the fast path).
        wanted = self._setwise_names
        cand = [i for i in keep if (m := RTYPE.search(texts[i], 0, 512)) is None or m[1] in wanted]
        found = classify(self._bulk_con, [texts[i] for i in cand], self._setwise_types)
        fast = {i: f for i, f in zip(cand, found, strict=True) if f is not None}
        slow = [i for i in keep if i not in fast]
        if fast:
            self._defer_lines(name, base, texts, numbers, fast)
        loads = orjson.loads
        try:
            for i in slow:
                raw = lines[i]
                where = f"line {numbers[i]}"
                self._forced_seq = base + numbers[i]
                try:
                    obj: Any = loads(raw)
                except orjson.JSONDecodeError:
                    m = RTYPE.search(raw)
                    obj = ("line is not valid JSON", m.group(1).decode() if m else "Unknown")
                self._ndjson_line(name, where, obj, raw)
        finally:
            self._forced_seq = None

    def _defer_lines(
        self,
        name: str,
        base: int,
        texts: list[bytes],
        numbers: list[int],
        fast: dict[int, tuple[str, str]],
    ) -> None:
        """Put the chunk's deferrable lines (`fast`: line index -> type and id) in the raw
        store and in the deferred list.
        """
        raw_ids, seqs, types = array("q"), array("q"), array("b")
        c: dict[str, list[Any]] = {k: [] for k in _RAW_COLUMNS}
        blake = hashlib.blake2b
        counts: dict[str, int] = defaultdict(int)
        index = {t: k for k, t in enumerate(self._setwise_types)}
        for i, (rtype, rid) in fast.items():
            counts[rtype] += 1
            text = texts[i]
            loc = f"line {numbers[i]}"
            checksum = blake(text, digest_size=16).hexdigest()
            raw_id = stable_id("fhir:raw", f"{name}\x1f{loc}\x1f{checksum}")
            c["location"].append(loc)
            c["checksum"].append(checksum)
            c["resource_type"].append(rtype)
            c["resource_id"].append(rid if len(rid) <= 256 else None)
            c["resource"].append(text)
            raw_ids.append(raw_id)
            seqs.append(base + numbers[i])
            types.append(index[rtype])
        for rtype, k in counts.items():
            self.s.read(rtype, k)
        m = len(raw_ids)
        cols = {
            "raw_id": pa.array(raw_ids, pa.int64()),
            "source_file": pa.array([name] * m, pa.string()),
            "location": pa.array(c["location"], pa.string()),
            "checksum": pa.array(c["checksum"], pa.string()),
            "resource_type": pa.array(c["resource_type"], pa.string()),
            "resource_id": pa.array(c["resource_id"], pa.string()),
            "full_url": pa.nulls(m, pa.string()),
            "resource": pa.array(c["resource"], pa.binary()).cast(pa.string()),
            "load_id": pa.array([self.s.load_id] * m, pa.string()),
        }
        self.s.add_table("mm_fhir_resource", pa.table(cols), record_type=None, primary=False)
        self._deferred.extend(raw_ids)
        self._deferred_seq.extend(seqs)
        self._deferred_type.extend(types)

    def _file_error(self, name: str, where: str, reason: str) -> None:
        self.s.read("File")
        msg = f"file not loaded from {where} on: {reason}"
        self._quarantine(name, where, "File", Reason.MALFORMED, msg, None)

    def _bundle(self, src: Source, name: str) -> int:
        doc, self._modifiers = bundle_document(src)
        if not isinstance(doc, dict):
            raise SourceError(name, "not a JSON object")
        rtype = doc.get("resourceType")
        if rtype == "Bundle":
            entries = doc.get("entry") or []
            if not isinstance(entries, list):
                raise SourceError(name, "Bundle.entry is not a list")
        elif isinstance(rtype, str):  # a file holding a single resource
            entries = [{"resource": doc}]
        else:
            raise SourceError(name, "neither a Bundle nor a FHIR resource (no resourceType)")
        keys = entry_keys(doc.get("type"), entries)
        self._plain_keys = all(
            k == entry_id(e) for e, k in zip(entries, keys, strict=True) if isinstance(e, dict)
        )
        self.ctx.new_source(bundle_index(entries, keys), entries, keys)
        # Patients first, so references to them can be checked as the rest arrives.
        order = sorted(
            range(len(entries)),
            key=lambda i: (
                not (
                    isinstance(entries[i], dict)
                    and isinstance(entries[i].get("resource"), dict)
                    and entries[i]["resource"].get("resourceType") == "Patient"
                )
            ),
        )
        for i in order:
            e = entries[i]
            res = e.get("resource") if isinstance(e, dict) else None
            fid = entry_id(e) if isinstance(e, dict) else None
            key = keys[i]
            rt = res.get("resourceType") if isinstance(res, dict) else None
            label = rt if isinstance(rt, str) and _NAME.fullmatch(rt) else "?"
            loc = f"entry[{i}] {label}/{fid}" if fid and len(fid) <= 64 else f"entry[{i}]"
            if not isinstance(e, dict):
                self.s.read("Unknown")
                msg = "Bundle entry is not a JSON object"
                self._quarantine(name, loc, "Unknown", Reason.MALFORMED, msg, None, e)
                continue
            if res is None:
                # valid R4: a transaction's DELETE/GET entry, a response-only entry
                self.s.read("BundleEntry")
                self.s.skip("BundleEntry", Reason.NO_RESOURCE)
                continue
            self._resource(res, fid, name, loc, None, e.get("fullUrl"), key)
        if len(self.raw["location"]) >= BATCH_RECORDS:
            self._flush_raw()
        return len(entries)

    # ---- resources ----
    def _resource(
        self,
        obj: Any,
        fid: Any,
        file: str,
        loc: str,
        raw: bytes | None,
        url: Any = None,
        key: str | None = None,
    ) -> None:
        s = self.s
        if self._forced_seq is None:
            self._seq += 1
        seq = self._seq if self._forced_seq is None else self._forced_seq
        if not isinstance(obj, dict):
            s.read("Unknown")
            self._quarantine(file, loc, "Unknown", Reason.MALFORMED, "not a JSON object", raw, obj)
            return
        rtype = obj.get("resourceType")
        if (
            rtype == "Observation"
            and raw is not None
            and self.keep_raw
            and not self._finishing
            and len(self.undated) < MAX_WAITING
            and not _own_date(obj)
        ):
            self.undated.append((obj, file, loc, raw))  # NDJSON: its report may come later
            return
        raw_id = self._keep_raw(obj, rtype, fid, file, loc, raw, url) if self.keep_raw else None
        if not isinstance(rtype, str) or not _NAME.fullmatch(rtype):
            s.read("Unknown")
            reason = Reason.MISSING_FIELD if rtype is None else Reason.UNSUPPORTED_TYPE
            msg = "resourceType is missing" if rtype is None else "resourceType is not a name"
            self._quarantine(file, loc, "Unknown", reason, msg, raw, obj)
            return
        s.read(rtype)
        mapper = MAPPERS.get(rtype)
        if mapper is None:
            if rtype in R4_TYPES:
                s.skip(rtype, Reason.NOT_MAPPED)
            else:
                msg = f"{rtype} is not a FHIR R4 resource type"
                self._quarantine(file, loc, rtype, Reason.UNSUPPORTED_TYPE, msg, raw, obj)
            return
        fid = obj.get("id") or fid
        if not isinstance(fid, str) or not fid:
            msg = f"{rtype}.id is missing"
            self._quarantine(file, loc, rtype, Reason.MISSING_FIELD, msg, raw, obj)
            return
        if key is not None and key != fid:
            fid = key  # fullUrl identity (a document or collection Bundle)
        if (
            raw_id is not None
            and rtype in self.setwise
            and not self._no_defer
            and not self._modifiers
            and self._plain_keys
            and fid == obj.get("id")
            and (rtype != "Observation" or _own_date(obj))
        ):
            self._deferred.append(raw_id)  # mapped set-wise at the end of the load
            self._deferred_seq.append(seq)
            self._deferred_type.append(self._setwise_types.index(rtype))
            return
        ctx = self.ctx
        ctx.begin(rtype)
        try:
            if self._modifiers:
                check_modifiers(rtype, obj)
            rows = mapper(obj, fid, ctx)
            check_rows(rtype, rows)
            check_rows(rtype, ctx.extra)
        except Rejected as rj:
            self._quarantine(file, loc, rtype, rj.reason, rj.detail, raw, obj)
            if rtype == "Patient":  # its resources will say why they cannot load
                self._lost_patients[stable_id("fhir:Patient", fid)] = rj.detail.split(":")[0]
        except Skip as sk:
            s.skip(rtype, sk.reason)
        except _BUGS as exc:
            msg = f"{rtype} has an unexpected structure ({type(exc).__name__})"
            self._quarantine(file, loc, rtype, Reason.INVALID_VALUE, msg, raw, obj)
        else:
            ctx.accept()
            rec = _Rec(
                rtype,
                rows,
                ctx.extra,
                file,
                loc,
                f"{rtype}/{fid}",
                ctx.warnings,
                ctx.waiting_person,
                raw if raw is not None else obj,
            )
            if rtype == "Patient":
                ctx.known_persons.add(rows[0][1]["person_id"])
            if rec.person is None:
                self._add(rec)
            elif len(self.waiting) < MAX_WAITING:
                self.waiting.append(rec)
            else:
                msg = f"{rtype} refers to a Patient not loaded before it"
                self._quarantine(file, loc, rtype, Reason.DANGLING_REFERENCE, msg, raw, obj)
        finally:
            if ctx.concepts:
                if self.setwise:
                    for i, c in enumerate(ctx.concepts):
                        self._hold_code((seq, i), c["vocabulary_id"], c["code"], c["display"])
                else:
                    self.concepts.extend(ctx.concepts)
                ctx.concepts.clear()

    def _quarantine(
        self,
        file: str,
        loc: str,
        rtype: str,
        reason: Reason,
        message: str,
        raw: bytes | None,
        obj: Any = None,
    ) -> None:
        """Quarantine a record, unless an earlier load already quarantined it (then: skip)."""
        prev = self._prev_quarantine.get(file)
        if prev is None:
            self.s.flush()  # the connection must be idle (a batch may be being written)
            rows = self.con.execute(
                "SELECT location, reason_code FROM mm_quarantine WHERE source_file = ?", [file]
            ).fetchall()
            prev = self._prev_quarantine[file] = set(rows)
        if (loc, str(reason)) in prev:
            self.s.skip(rtype, Reason.DUPLICATE)
            return
        if isinstance(raw, bytes | bytearray):
            record = bytes(raw).decode("utf-8", "replace").rstrip("\r\n")
        elif obj is not None or raw is not None:
            try:
                record = orjson.dumps(obj if obj is not None else raw).decode()
            except TypeError:
                record = None
        else:
            record = None
        self.s.quarantine(file, loc, rtype, reason, message, record=record)

    def _map_undated(self) -> None:
        """Map the NDJSON Observations without a date of their own, now that the raw store
        holds every DiagnosticReport and Encounter of the load (in any file).
        """
        if not self.undated:
            return
        self._flush_raw()
        self.s.flush()
        self.ctx.new_source(None)
        self.ctx.use_dates(undated_dates(self.con, self.ctx, [u[0] for u in self.undated]))
        self._finishing = True
        for obj, file, loc, raw in self.undated:
            self._modifiers = MODIFIER in raw
            self._resource(obj, None, file, loc, raw)
        self.undated = []
        self.ctx.new_source(None)

    def _map_setwise(self) -> None:
        """Map the deferred resources set-wise (`_setwise.apply`), type by type; the ones the
        SQL does not cover go to the per-resource mapper, as they would have.
        """
        if not len(self._deferred):
            self._release_codes()
            return
        self._flush()
        self._flush_raw()
        self.s.flush()
        deferred = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
            {
                "seq": pa.array(self._deferred_seq, pa.int64()),
                "raw_id": pa.array(self._deferred, pa.int64()),
                "t": pa.array(self._deferred_type, pa.int8()),
            }
        )
        self.con.execute("CREATE OR REPLACE TEMP TABLE __fhir_deferred AS SELECT * FROM deferred")
        del deferred
        present = set(self._deferred_type)
        self._deferred, self._deferred_type = array("q"), array("b")
        self._deferred_seq = array("q")
        try:
            for i, rtype in enumerate(self._setwise_types):
                if i not in present:
                    continue
                source = (
                    "SELECT d.seq, r.source_file, r.location, r.resource FROM __fhir_deferred d "
                    f"JOIN mm_fhir_resource r ON r.raw_id = d.raw_id WHERE d.t = {i}"
                )
                done = apply(self.s, self.setwise[rtype], source)
                for seq, order, vocab, code, display in done.codes:
                    self._hold_code((seq, order), vocab, code, display)
                self._fallback(done.fallback, rtype)
        finally:
            _drop_work_tables(self.con)
        self._release_codes()

    def _hold_code(self, at: tuple[int, int], vocab: str, code: str, display: str | None) -> None:
        """Keep a source code met at `at` unless it was met earlier in the read order."""
        got = self._held.get((vocab, code))
        if got is None or at < got[0]:
            self._held[(vocab, code)] = (at, display)

    def _release_codes(self) -> None:
        """Queue the held source codes (first seen first) for ``mm_source_concept``."""
        held, self._held = self._held, {}
        for (vocab, code), (_, display) in sorted(held.items(), key=lambda kv: kv[1][0]):
            self.concepts.append(
                {
                    "vocabulary_id": vocab,
                    "code": code,
                    "display": display,
                    "load_id": self.s.load_id,
                }
            )

    def _unparsable(self, file: str, loc: str, rtype: str, text: str) -> None:
        """A deferred line DuckDB read but ``orjson`` cannot: malformed, as on the per-line
        path (`_bulk` keeps the known differences off the set-wise path; this is the net).
        """
        data = text.encode()
        m = RTYPE.search(data)
        guess = m.group(1).decode() if m else "Unknown"
        self.s.read(rtype, -1)
        self.s.read(guess)
        self.s.flush()
        self.con.execute(
            "DELETE FROM mm_fhir_resource WHERE load_id = ? AND source_file = ? AND location = ?",
            [self.s.load_id, file, loc],
        )
        msg = "line is not valid JSON"
        self._quarantine(file, loc, guess, Reason.MALFORMED, msg, data)

    def _fallback(self, rows: list[tuple[int, str, str, str]], rtype: str) -> None:
        """Map deferred resources ``(seq, source_file, location, JSON text)`` of type `rtype`
        one at a time.
        """
        if not rows:
            return
        self._no_defer = True
        current = None
        try:
            for seq, file, loc, text in rows:
                if file != current:
                    current = file
                    self.ctx.new_source(self._file_index(file))
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError:
                    self._unparsable(file, loc, rtype, text)
                    continue
                data = text.encode()
                self._modifiers = MODIFIER in data
                ndjson = loc.startswith("line ")
                raw = data if ndjson else None
                self.s.read(obj["resourceType"], -1)  # counted when it was read
                self.keep_raw, keep = False, self.keep_raw
                self._forced_seq, seen = seq, self.ctx.seen_codes
                self.ctx.seen_codes = set()  # its codes count from where it was read
                try:
                    self._resource(obj, None, file, loc, raw)
                finally:
                    self.keep_raw, self._forced_seq, self.ctx.seen_codes = keep, None, seen
        finally:
            self._no_defer = False
            self.ctx.new_source(None)

    def _file_index(self, file: str) -> dict[str, tuple[str, str]]:
        """The ``fullUrl`` index of a Bundle file, from the raw store (ids are the keys of
        the Bundles whose resources are deferred).
        """
        self.s.flush()
        rows = self.con.execute(
            "SELECT full_url, resource_type, resource_id FROM mm_fhir_resource "
            "WHERE source_file = ? AND full_url IS NOT NULL AND resource_id IS NOT NULL "
            "AND resource_type <> 'Unknown' ORDER BY location",
            [file],
        ).fetchall()
        return {url: (rtype, rid) for url, rtype, rid in rows}

    def _undefer_file(self, name: str) -> None:
        """Map the current file's deferred resources now (its raw rows are about to go)."""
        start = self._file_deferred
        if len(self._deferred) <= start:
            return
        n = len(self._deferred) - start
        ids = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
            {"pos": pa.array(range(n), pa.int64()), "raw_id": pa.array(self._deferred[start:])}
        )
        rows = self.con.execute(
            "SELECT ids.pos, r.location, r.resource FROM ids "
            "JOIN mm_fhir_resource r USING (raw_id) "
            "WHERE r.source_file = ? ORDER BY ids.pos",
            [name],
        ).fetchall()
        seqs = self._deferred_seq[start:]
        types = self._deferred_type[start:]
        del self._deferred[start:]
        del self._deferred_type[start:]
        del self._deferred_seq[start:]
        self._no_defer = True
        try:
            for pos, loc, text in rows:
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError:
                    self._unparsable(name, loc, self._setwise_types[types[pos]], text)
                    continue
                data = text.encode()
                self._modifiers = MODIFIER in data
                self.s.read(obj["resourceType"], -1)  # counted when it was read
                self._forced_seq, seen = seqs[pos], self.ctx.seen_codes
                self.ctx.seen_codes = set()
                try:
                    raw = data if loc.startswith("line ") else None
                    self._resource(obj, None, name, loc, raw)
                finally:
                    self._forced_seq, self.ctx.seen_codes = None, seen
        finally:
            self._no_defer = False

    def _keep_raw(
        self, obj: dict[str, Any], rtype: Any, fid: Any, file: str, loc: str, raw: Any, url: Any
    ) -> int | None:
        """Queue the resource's JSON text for the raw store (``mm_fhir_resource``); returns
        its ``raw_id`` (None when it is not kept).
        """
        if file in self._reloaded:
            return None
        if isinstance(raw, bytes | bytearray):
            text = bytes(raw).strip()
            if text.startswith(b"\xef\xbb\xbf"):
                text = text[3:]
        else:
            try:
                text = orjson.dumps(obj)
            except TypeError:  # an integer beyond 64 bits: orjson parsed it, cannot write it
                return None
        rid = obj.get("id")
        if not isinstance(rid, str):
            rid = fid if isinstance(fid, str) else None
        c = self.raw
        checksum = hashlib.blake2b(text, digest_size=16).hexdigest()
        raw_id = stable_id("fhir:raw", f"{file}\x1f{loc}\x1f{checksum}")
        c["raw_id"].append(raw_id)
        c["source_file"].append(file)
        c["location"].append(loc)
        c["checksum"].append(checksum)
        c["resource_type"].append(
            rtype if isinstance(rtype, str) and _NAME.fullmatch(rtype) else "Unknown"
        )
        c["resource_id"].append(rid if rid is None or len(rid) <= 256 else None)
        c["full_url"].append(url if isinstance(url, str) else None)
        c["resource"].append(text.decode("utf-8", "replace"))
        return raw_id

    def _forget_raw_if_loaded_before(self, name: str, sha256: str) -> None:
        """A file whose content an earlier load read (from any path) adds no raw resource."""
        if sha256 not in self._loaded_sha:
            self._loaded_sha.add(sha256)
            return
        self._reloaded.add(name)
        self._flush_raw()
        self.s.flush()
        self._undefer_file(name)
        self.con.execute(
            "DELETE FROM mm_fhir_resource WHERE load_id = ? AND source_file = ?",
            [self.s.load_id, name],
        )

    def _flush_raw(self) -> None:
        """Hand the queued raw resources to the session (``INSERT OR IGNORE``: idempotent)."""
        c = self.raw
        if not c["location"]:
            return
        n = len(c["location"])
        cols = {k: pa.array(v, pa.int64() if k == "raw_id" else pa.string()) for k, v in c.items()}
        cols["load_id"] = pa.array([self.s.load_id] * n, pa.string())
        self.s.add_table("mm_fhir_resource", pa.table(cols), record_type=None, primary=False)
        self.raw = {k: [] for k in _RAW_COLUMNS}

    # ---- batching ----
    def _add(self, rec: _Rec) -> None:
        self.batch.append(rec)
        if len(self.batch) >= BATCH_RECORDS:
            self._flush()

    def _flush(self) -> None:
        """Load the batch; records already in the warehouse or the batch count as duplicates.

        The batch is written on the session's worker thread while the next one is mapped.
        """
        recs, self.batch = self.batch, []
        s = self.s
        s.flush()  # quarantined records
        if recs:
            kept = self._add_primary_rows(recs)
            loaded = [r for r, k in zip(recs, kept, strict=True) if k]
            for rec in loaded:
                if rec.warnings:
                    s.warn(rec.rtype, Reason.UNRESOLVED_REFERENCE, rec.warnings)
                if rec.rtype == "Patient" and rec.rows[0][1]["year_of_birth"] is None:
                    s.warn("Patient", Reason.MISSING_FIELD)  # no birthDate: year unknown
            self._add_other_rows(loaded)
        if self.concepts:
            concepts, self.concepts = self.concepts, []
            rows = rows_to_arrow("mm_source_concept", concepts)
            s.add_table("mm_source_concept", rows, record_type=None, primary=False)
        s.flush(wait=False)  # written while the next batch is mapped

    def _add_primary_rows(self, recs: list[_Rec]) -> list[bool]:
        """Add each record's primary row; returns which records are not duplicates."""
        by_table: dict[str, list[int]] = defaultdict(list)
        for i, rec in enumerate(recs):
            by_table[rec.rows[0][0]].append(i)
        batches = [
            _batch(name, [recs[i] for i in idx], [recs[i].rows[0][1] for i in idx])
            for name, idx in by_table.items()
        ]
        kept = [True] * len(recs)
        for idx, mask in zip(by_table.values(), self.s.add_tables(batches), strict=True):
            for i, k in zip(idx, mask.tolist(), strict=True):
                kept[i] = k
        return kept

    def _add_other_rows(self, recs: list[_Rec]) -> None:
        """Add the loaded records' other rows (with provenance) and extra rows (without)."""
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        origin: dict[str, list[_Rec]] = defaultdict(list)
        extra: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in recs:
            for name, row in rec.rows[1:]:
                rows[name].append(row)
                origin[name].append(rec)
            for name, row in rec.extra:
                extra[name].append(row)
        batches = [_batch(name, origin[name], rows[name], primary=False) for name in rows]
        batches += [
            TableBatch(name, rows_to_arrow(name, table_rows), None, primary=False)
            for name, table_rows in extra.items()
        ]
        self.s.add_tables(batches)


def _drop_work_tables(con: Any) -> None:
    """Drop the temp tables of the set-wise mappings (named ``__...``)."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary "
        "AND (starts_with(table_name, '__') OR table_name = 'mm_fhir_system')"
    ).fetchall():
        con.execute(f"DROP TABLE IF EXISTS temp.{ident(name)}")


def _batch(
    name: str, recs: list[_Rec], rows: list[dict[str, Any]], *, primary: bool = True
) -> TableBatch:
    """Rows of table `name` with the provenance of the records they come from."""
    return TableBatch(
        name,
        rows_to_arrow(name, rows),
        [r.rtype for r in recs],
        Provenance([r.file for r in recs], [r.loc for r in recs], [r.key for r in recs]),
        primary,
    )
