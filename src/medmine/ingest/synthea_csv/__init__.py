"""Synthea's CSV export -> person, visits, conditions, drugs, procedures, measurements, claims.

Files are recognised by name (``patients.csv``, ``encounters.csv``...) and read in dependency
order whatever order they are given in: organizations, providers, payers, patients,
payer_transitions, encounters, clinical files, claims, claims_transactions. Other Synthea files
(careplans, devices, imaging_studies, supplies) are counted and skipped as ``not_mapped``.
The mapping decisions (domains, visit concepts, identifiers, claim money) are those of
``docs/mapping.md``, shared with the FHIR reader; rows without an ``Id`` are identified by a
hash of all their columns, so only byte-identical rows are duplicates.

>>> from medmine.warehouse import Warehouse
>>> load([], Warehouse(":memory:")).reconciles
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from medmine.errors import SourceError
from medmine.ingest._emit import (
    SourceConcepts,
    expand_paths,
    file_error,
    open_csv,
    raw_csv_line,
    register,
    undecodable,
)
from medmine.ingest.progress import Progress
from medmine.ingest.synthea_csv import _claims as c
from medmine.ingest.synthea_csv import _finish
from medmine.ingest.synthea_csv import _maps as m
from medmine.ingest.synthea_csv._reader import SyntheaReader
from medmine.warehouse import LoadReport, LoadSession, Reason, Rejected, Warehouse

__all__ = ["FILES", "NOT_MAPPED", "load"]

#: File name -> (record type, mapper, required columns), in loading order.
FILES: dict[str, tuple[str, Callable[..., m.Mapped] | None, tuple[str, ...]]] = {
    "organizations.csv": ("Organization", m.organization, ("Id", "NAME")),
    "providers.csv": ("Provider", m.provider, ("Id", "ORGANIZATION", "NAME")),
    "payers.csv": ("Payer", None, ("Id", "NAME")),
    "patients.csv": ("Patient", m.patient, ("Id", "BIRTHDATE", "DEATHDATE", "GENDER", "RACE")),
    "payer_transitions.csv": ("PayerTransition", c.payer_transition, ("PATIENT", "PAYER")),
    "encounters.csv": (
        "Encounter",
        m.encounter,
        ("Id", "START", "STOP", "PATIENT", "ENCOUNTERCLASS", "CODE"),
    ),
    "conditions.csv": ("Condition", m.condition, ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE")),
    "medications.csv": (
        "Medication",
        m.medication,
        ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE"),
    ),
    "observations.csv": (
        "Observation",
        m.observation,
        ("DATE", "PATIENT", "ENCOUNTER", "CODE", "VALUE", "UNITS", "TYPE"),
    ),
    "procedures.csv": ("Procedure", m.procedure, ("START", "PATIENT", "ENCOUNTER", "CODE")),
    "immunizations.csv": ("Immunization", m.immunization, ("DATE", "PATIENT", "ENCOUNTER", "CODE")),
    "allergies.csv": ("Allergy", m.allergy, ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE")),
    "claims.csv": ("Claim", c.claim, ("Id", "PATIENTID", "PROVIDERID", "SERVICEDATE")),
    "claims_transactions.csv": (
        "ClaimTransaction",
        c.claim_transaction,
        ("ID", "CLAIMID", "CHARGEID", "PATIENTID", "TYPE", "AMOUNT", "FROMDATE"),
    ),
}
#: Synthea files recognised but not mapped (their rows are counted as skipped).
NOT_MAPPED = (
    "careplans.csv",
    "devices.csv",
    "imaging_studies.csv",
    "supplies.csv",
)
_ORDER = {name: i for i, name in enumerate(FILES)}


def load(
    paths: str | Path | Iterable[str | Path],
    warehouse: Warehouse,
    *,
    progress: Progress | None = None,
    **options: Any,
) -> LoadReport:
    """Load a Synthea CSV export folder (or some of its files) in one atomic load.

    Rows that refer to a patient neither in this load nor in the warehouse are quarantined
    (``dangling_reference``); unknown encounters, providers and organizations leave the
    reference empty and count a ``unresolved_reference`` warning; an unknown encounter class
    counts an ``invalid_code`` warning (visit concept 0). At the end of the load the claim
    transactions are summed into ``cost`` rows and claim amounts, and persons of the load get
    an observation period (see `medmine.ingest.synthea_csv._finish`).
    `progress` is called as ``progress(file, rows_read, None)`` after each file (see
    `medmine.ingest.progress`).
    """
    if options:
        raise TypeError(f"unknown option(s) for synthea_csv.load: {sorted(options)}")
    files = expand_paths(paths, ("*.csv",))
    known = [f for f in files if f.name in FILES or f.name in NOT_MAPPED]
    unknown = [f for f in files if f not in known]
    known.sort(key=lambda f: _ORDER.get(f.name, len(_ORDER)))
    with LoadSession(warehouse, "synthea_csv") as s:
        reader = SyntheaReader(s, SourceConcepts(s))
        done = 0
        for path in unknown:
            file_error(s, path, Reason.UNSUPPORTED_TYPE, "not a Synthea CSV file name")
        for path in known:
            n = _read_file(s, reader, path)
            register(s, path, n)
            done += n
            if progress:
                progress(path.name, done, None)
        s.flush()
        _finish.claim_money(s, reader)
        if reader.claims:
            _finish.claim_totals(s)
        _finish.observation_periods(s)
    return s.report


def _read_file(s: LoadSession, reader: SyntheaReader, path: Path) -> int:
    try:
        f, header, rows = open_csv(path)
    except SourceError as err:
        file_error(s, path, Reason.MALFORMED, err.reason)
        return 0
    with f:
        if path.name in NOT_MAPPED:
            n = sum(1 for values in rows if any(v.strip() for v in values))
            rtype = path.stem
            s.read(rtype, n)
            s.skip(rtype, Reason.NOT_MAPPED, n)
            return n
        rtype, mapper, required = FILES[path.name]
        missing = [c for c in required if c not in header]
        if missing:
            file_error(s, path, Reason.MALFORMED, f"header lacks Synthea column(s) {missing}")
            return 0
        n = 0
        for values in rows:
            if not any(v.strip() for v in values):
                continue
            n += 1
            _row(s, reader, path, f"line {rows.line_num}", rtype, mapper, header, values)
        return n


def _row(
    s: LoadSession,
    reader: SyntheaReader,
    path: Path,
    loc: str,
    rtype: str,
    mapper: Callable[..., m.Mapped] | None,
    header: list[str],
    values: list[str],
) -> None:
    s.read(rtype)
    if undecodable(values):
        s.quarantine(
            str(path),
            loc,
            rtype,
            Reason.MALFORMED,
            "row is not valid UTF-8",
            record=raw_csv_line(values),
        )
        return
    if len(values) != len(header):
        s.quarantine(
            str(path),
            loc,
            rtype,
            Reason.MALFORMED,
            f"row has {len(values)} columns, header has {len(header)}",
            record=raw_csv_line(values),
        )
        return
    rec = dict(zip(header, values, strict=True))
    if mapper is None:  # payers: names kept for display, no OMOP table
        payer = (rec.get("Id") or "").strip()
        if (rec.get("NAME") or "").strip().upper() == "NO_INSURANCE":
            reader.self_pay.add(payer)  # the patient pays: named as FHIR's self-pay Coverage
        reader.concepts.add("Payer", f"Organization/{payer}" if payer else "", rec.get("NAME"))
        s.skip(rtype, Reason.NOT_MAPPED)
        return
    reader.where = (str(path), loc)
    try:
        primary, secondary, key = mapper(reader, rec)
    except Rejected as err:
        if err.reason is Reason.DUPLICATE:  # loaded by an earlier load: a skip, not an error
            s.skip(rtype, Reason.DUPLICATE)
            return
        s.quarantine(str(path), loc, rtype, err.reason, err.detail, record=raw_csv_line(values))
        return
    if len(reader.transactions) >= _finish.STAGE_ROWS:
        _finish.stage(s, reader)
    s.add_record(
        rtype, primary, source_file=str(path), location=loc, source_key=key, secondary=secondary
    )
