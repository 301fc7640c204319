"""HL7 v2 (ER7) messages -> person, visit_occurrence, measurement (and note for NTE comments).

Files may hold single messages, FHS/BHS batches or MLLP-framed streams, with CR, LF or CRLF
segment terminators and any delimiters declared in MSH-1/MSH-2. ADT messages admit, transfer,
update, discharge and cancel visits; ORU results (and OBX in ADT messages) become measurements
with units and reference ranges. `Listener` serves the same reading as a live MLLP feed with
acknowledgements, `send_all` is its client. See ``docs/ingest-hl7v2.md``.

>>> from medmine.warehouse import Warehouse
>>> load([], Warehouse(":memory:")).reconciles
True
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medmine.errors import SourceError
from medmine.ingest._emit import SourceConcepts, expand_paths, register
from medmine.ingest.hl7v2._ack import Ack
from medmine.ingest.hl7v2._framing import PATTERNS, iter_messages
from medmine.ingest.hl7v2._listener import Listener, run
from medmine.ingest.hl7v2._reader import Hl7Reader
from medmine.ingest.hl7v2._results import parse_range
from medmine.ingest.hl7v2._sender import (
    MllpClient,
    SendReport,
    client_ssl_context,
    read_message_files,
    send_all,
)
from medmine.ingest.hl7v2._settings import ListenerConfig, ListenerStats
from medmine.ingest.progress import Progress
from medmine.warehouse import LoadReport, LoadSession, Warehouse

__all__ = [
    "PATTERNS",
    "Ack",
    "Listener",
    "ListenerConfig",
    "ListenerStats",
    "MllpClient",
    "SendReport",
    "client_ssl_context",
    "load",
    "parse_range",
    "read_message_files",
    "run",
    "send_all",
]


def load(
    paths: str | Path | Iterable[str | Path],
    warehouse: Warehouse,
    *,
    progress: Progress | None = None,
    **options: Any,
) -> LoadReport:
    """Load HL7 v2 files in one atomic load.

    Record types in the report are message types (``ADT^A01``, ``ORU^R01``...) plus
    ``Patient``: each distinct patient (MRN) seen, loaded when new, skipped as a duplicate when
    already in the warehouse. `progress` is called as ``progress(file, messages_read, None)``
    after each file (see `medmine.ingest.progress`).
    """
    if options:
        raise TypeError(f"unknown option(s) for hl7v2.load: {sorted(options)}")
    files = expand_paths(paths, PATTERNS)
    with LoadSession(warehouse, "hl7v2") as s:
        reader = Hl7Reader(s, SourceConcepts(s))
        done = 0
        for path in files:
            n = 0
            try:
                f = path.open("rb")
            except OSError as exc:
                raise SourceError(str(path), f"cannot be opened ({exc.strerror})") from None
            with f:
                for raw in iter_messages(f):
                    n += 1
                    reader.message(str(path), raw)
            register(s, path, n)
            done += n
            if progress:
                progress(path.name, done, None)
        reader.finish()
    return s.report
