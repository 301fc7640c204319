"""Reference resolution and the per-record mapping context.

A FHIR reference becomes a warehouse row id without any lookup when it names its target:
``Type/id``, ``https://server/fhir/Type/id[/_history/n]`` and, inside a Bundle, ``urn:uuid:…``
through the Bundle's ``fullUrl`` index. Row ids are ``stable_id("fhir:<Type>", id)``, so a
reference to a resource in a file not read yet resolves to the id that resource will get.

Conditional references (``Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999…``) need
the target's identifier: they resolve at once against identifiers seen earlier in the load,
otherwise they are kept in ``mm_reference`` and resolved by an SQL pass over ``mm_identifier``
at the end of the load. An optional reference that cannot be resolved is kept verbatim in
``mm_reference`` and counted as a warning; a required one that cannot be resolved rejects the
resource (``dangling_reference``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import orjson

from medmine.ingest.fhir._values import TEXT_ONLY, code_of, parse_datetime
from medmine.warehouse import Reason, Rejected, stable_id

#: Resource types whose identifiers are indexed for conditional references.
IDENTIFIED_TYPES = frozenset({"Patient", "Practitioner", "Organization", "Location"})

_CACHE_MAX = 200_000


def split_reference(ref: str) -> tuple[str, str] | tuple[str, str, str] | None:
    """Parse a non-``urn:`` reference.

    Returns ``(type, id)`` for literal references, ``(type, system, value)`` for conditional
    ``Type?identifier=system|value`` references, None when it cannot be parsed.

    >>> split_reference("https://server/fhir/Patient/123/_history/2")
    ('Patient', '123')
    >>> split_reference("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999")
    ('Practitioner', 'http://hl7.org/fhir/sid/us-npi', '9999')
    """
    if "?" in ref:
        rtype, _, query = ref.partition("?")
        rtype = rtype.rsplit("/", 1)[-1]
        for part in query.split("&"):
            key, _, val = part.partition("=")
            if key == "identifier" and val:
                system, bar, value = unquote(val).rpartition("|")
                if not bar:
                    system, value = "", value
                if value and rtype[:1].isupper():
                    return rtype, system, value
        return None
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2:
        return None
    rtype, rid = parts[-2], parts[-1]
    if not rtype[:1].isupper() or not rtype.isalpha() or not rid or len(rid) > 64:
        return None
    return rtype, rid


def _date_of(res: dict[str, Any], *fields: str) -> Any:
    """The first of `fields` (a Period gives its start) that parses as a date, else None."""
    for f in fields:
        v = res.get(f)
        if isinstance(v, dict):
            v = v.get("start")
        if v is not None:
            try:
                return parse_datetime(v, f)
            except Rejected:
                return None
    return None


class Context:
    """What a mapper needs besides the resource: reference resolution, code registration and
    the extra rows (identifiers, source concepts, kept references) of the current record.
    """

    def __init__(self, load_id: str, known_persons: set[int]) -> None:
        self.load_id = load_id
        self.known_persons = known_persons
        self.bundle: dict[str, tuple[str, str]] = {}
        self.identifiers: dict[tuple[str, str, str], int] = {}
        self.seen_codes: set[tuple[str, str]] = set()
        #: mm_source_concept rows, written whatever happens to the record that carried them.
        self.concepts: list[dict[str, Any]] = []
        self._cache: dict[str, tuple[str, int] | None] = {}
        self._entries: list[Any] = []
        self._keys: list[str | None] = []
        self._dates: tuple[dict[int, Any], dict[int, Any]] | None = None
        # per record
        self.rtype = ""
        self.extra: list[tuple[str, dict[str, Any]]] = []
        self.warnings = 0
        self.waiting_person: int | None = None
        self._idents: list[tuple[tuple[str, str, str], int]] = []

    def new_source(
        self,
        bundle_index: dict[str, tuple[str, str]] | None,
        entries: list[Any] | None = None,
        keys: list[str | None] | None = None,
    ) -> None:
        """Start a new file or Bundle (``fullUrl`` index, entries and their identity keys)."""
        self.bundle = bundle_index or {}
        self._cache.clear()
        self._entries = entries or []
        self._keys = keys or []
        self._dates: tuple[dict[int, Any], dict[int, Any]] | None = None

    def observation_date(self, r: dict[str, Any], oid: int) -> Any:
        """``(date, datetime)`` for an Observation with no date of its own, else None: the
        date of a DiagnosticReport of the same Bundle that lists it in ``result``, else the
        start of its Encounter when that is in the same Bundle.
        """
        if not self._entries and self._dates is None:
            return None
        if self._dates is None:
            self._dates = self._bundle_dates()
        by_report, by_encounter = self._dates
        got = by_report.get(oid)
        if got is None:
            enc = r.get("encounter")
            ref = enc.get("reference") if isinstance(enc, dict) else None
            target = self._literal(ref) if isinstance(ref, str) else None
            if target is not None and len(target) == 2 and target[0] == "Encounter":
                got = by_encounter.get(target[1])
        return got

    def use_dates(self, dates: tuple[dict[int, Any], dict[int, Any]]) -> None:
        """Dates for `observation_date` from outside a Bundle (see `undated_dates`)."""
        self._dates = dates

    def _bundle_dates(self) -> tuple[dict[int, Any], dict[int, Any]]:
        """Observation row id -> its report's date; Encounter row id -> its start."""
        by_report: dict[int, Any] = {}
        by_encounter: dict[int, Any] = {}
        for i, e in enumerate(self._entries):
            res = e.get("resource") if isinstance(e, dict) else None
            if not isinstance(res, dict):
                continue
            rtype, rid = res.get("resourceType"), res.get("id")
            if i < len(self._keys) and self._keys[i]:
                rid = self._keys[i]
            if rtype == "DiagnosticReport":
                when = _date_of(res, "effectiveDateTime", "effectivePeriod", "issued")
                results = res.get("result")
                if when is None or not isinstance(results, list):
                    continue
                for ref in results:
                    ref = ref.get("reference") if isinstance(ref, dict) else None
                    target = self._literal(ref) if isinstance(ref, str) else None
                    if target is not None and len(target) == 2 and target[0] == "Observation":
                        by_report.setdefault(target[1], when)
            elif rtype == "Encounter" and isinstance(rid, str):
                when = _date_of(res, "period")
                if when is not None:
                    by_encounter[stable_id("fhir:Encounter", rid)] = when
        return by_report, by_encounter

    def begin(self, rtype: str) -> None:
        """Start mapping one resource of type `rtype`."""
        self.rtype = rtype
        self.extra = []
        self.warnings = 0
        self.waiting_person = None
        self._idents: list[tuple[tuple[str, str, str], int]] = []

    def accept(self) -> None:
        """The current record is being loaded: index its identifiers for later references."""
        for key, rid in self._idents:
            self.identifiers[key] = rid

    # ---- references ----
    def _literal(self, ref: str) -> tuple[str, int] | tuple[str, str, str] | None:
        hit = self._cache.get(ref, False)
        if hit is not False:
            return hit
        target: tuple[str, str] | None = self.bundle.get(ref)
        if target is None and not ref.startswith("urn:"):
            parsed = split_reference(ref)
            if parsed is not None and len(parsed) == 3:
                return parsed
            target = parsed  # type: ignore[assignment]
        out = None if target is None else (target[0], stable_id(f"fhir:{target[0]}", target[1]))
        if len(self._cache) > _CACHE_MAX:
            self._cache.clear()
        self._cache[ref] = out
        return out

    def ref(
        self,
        value: Any,
        field: str,
        *,
        table: str,
        row_id: int,
        column: str,
        target: tuple[str, ...],
        required: bool = False,
    ) -> int | None:
        """Row id of the resource a Reference points to, or None.

        Parameters
        ----------
        value
            The FHIR Reference (a dict with ``reference``), possibly None.
        field
            Field path used in messages (``"Condition.subject"``).
        table, row_id, column
            The warehouse cell the id goes to (where an unresolved reference is kept).
        target
            Resource types this column accepts; references to other types give None.
        required
            Rejected the resource (missing_field / dangling_reference) when it does not resolve.
        """
        ref = value.get("reference") if isinstance(value, dict) else None
        if not isinstance(ref, str) or not ref:
            if required:
                raise Rejected(Reason.MISSING_FIELD, f"{field} is missing")
            return None
        got = self._literal(ref)
        if got is not None and len(got) == 3:
            rtype, system, ident = got  # conditional reference
            rid = self.identifiers.get((rtype, system, ident))
            if rid is not None and rtype in target:
                return rid
            if required:
                raise Rejected(
                    Reason.DANGLING_REFERENCE,
                    f"{field} is a conditional reference matching no {rtype} loaded before it",
                )
            self._keep(ref, table, row_id, column, rtype, system, ident)
            return None
        if got is None:
            if required:
                raise Rejected(Reason.DANGLING_REFERENCE, f"{field} resolves to no resource")
            self._keep(ref, table, row_id, column, target[0], None, None)
            return None
        rtype, rid = got
        if rtype not in target:
            if required:
                raise Rejected(
                    Reason.INVALID_VALUE, f"{field} refers to a {rtype}, expected {target[0]}"
                )
            # e.g. a Claim billed by an Organization: no column for it, but keep the link.
            self._keep(ref, table, row_id, column, rtype, None, None, resolved=rid)
            return None
        return rid

    def person(self, value: Any, field: str, table: str, row_id: int) -> int:
        """person_id of a required subject/patient reference (defers unknown persons)."""
        pid = self.ref(
            value,
            field,
            table=table,
            row_id=row_id,
            column="person_id",
            target=("Patient",),
            required=True,
        )
        assert pid is not None
        if pid not in self.known_persons:
            self.waiting_person = pid
        return pid

    def _keep(
        self,
        ref: str,
        table: str,
        row_id: int,
        column: str,
        target: str,
        system: str | None,
        value: str | None,
        resolved: int | None = None,
    ) -> None:
        if system is None and resolved is None:  # conditional ones: counted at the end
            self.warnings += 1
        self.extra.append(
            (
                "mm_reference",
                {
                    "table_name": table,
                    "row_id": row_id,
                    "column_name": column,
                    "reference": ref,
                    "resource_type": self.rtype,
                    "target_type": target,
                    "system": system,
                    "value": value,
                    "resolved_id": resolved,
                    "load_id": self.load_id,
                },
            )
        )

    # ---- identifiers and codes ----
    def add_identifiers(self, r: dict[str, Any], rtype: str, table: str, row_id: int) -> None:
        """Store the resource's identifiers in ``mm_identifier`` and index them."""
        for ident in r.get("identifier") or ():
            if not isinstance(ident, dict):
                continue
            value = ident.get("value")
            if not isinstance(value, str) or not value:
                continue
            system = ident.get("system") or ""
            t = code_of(ident.get("type"))
            self.extra.append(
                (
                    "mm_identifier",
                    {
                        "table_name": table,
                        "row_id": row_id,
                        "system": system,
                        "value": value,
                        "type_code": t[1] if t else None,
                    },
                )
            )
            self._idents.append(((rtype, system, value), row_id))

    def code(self, cc: Any, field: str, *, required: bool = False) -> tuple[str, str] | None:
        """``(vocabulary_id, code)`` of a CodeableConcept, registering it in mm_source_concept."""
        got = code_of(cc)
        if got is None:
            if required:
                # valid R4: a concept given only as text (concept 0, the text as source value)
                text = cc.get("text") if isinstance(cc, dict) else None
                if text is not None and not isinstance(text, str):
                    raise Rejected(Reason.INVALID_VALUE, f"{field}.text is not a string")
                if text and text.strip():
                    return TEXT_ONLY, text
                raise Rejected(Reason.MISSING_FIELD, f"{field} has no coded value")
            return None
        vocab, code, display = got
        key = (vocab, code)
        if key not in self.seen_codes:
            self.seen_codes.add(key)
            self.concepts.append(
                {"vocabulary_id": vocab, "code": code, "display": display, "load_id": self.load_id}
            )
        return key


def undated_dates(
    con: Any, ctx: Context, observations: list[dict[str, Any]]
) -> tuple[dict[int, Any], dict[int, Any]]:
    """Dates for NDJSON Observations without their own, found set-wise in the raw store.

    Returns ``(observation row id -> its DiagnosticReport's date, Encounter row id -> its
    start)`` like a Bundle's, from every DiagnosticReport and Encounter in ``mm_fhir_resource``
    (this load's and earlier ones') that lists or holds one of `observations`.
    """
    wanted_obs = {f"Observation/{o['id']}" for o in observations if isinstance(o.get("id"), str)}
    wanted_enc = set()
    for o in observations:
        enc = o.get("encounter")
        ref = enc.get("reference") if isinstance(enc, dict) else None
        got = split_reference(ref) if isinstance(ref, str) and not ref.startswith("urn:") else None
        if got is not None and len(got) == 2 and got[0] == "Encounter":
            wanted_enc.add(got[1])
    by_report: dict[int, Any] = {}
    by_encounter: dict[int, Any] = {}
    if wanted_obs:
        rows = con.execute(
            """
            WITH r AS (
                SELECT source_file, location, resource::JSON AS j FROM mm_fhir_resource
                WHERE resource_type = 'DiagnosticReport'
            ), refs AS (
                SELECT source_file, location, j,
                       unnest(json_extract_string(j, '$.result[*].reference')) AS ref
                FROM r WHERE json_type(j, '$.result') = 'ARRAY'
            )
            SELECT regexp_extract(ref, '(Observation/[^/]+)(/_history/[^/]*)?$', 1) AS obs,
                   json_extract(j, '$.effectiveDateTime')::VARCHAR,
                   json_extract(j, '$.effectivePeriod')::VARCHAR,
                   json_extract(j, '$.issued')::VARCHAR
            FROM refs WHERE obs IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY source_file, location
            """,
            [sorted(wanted_obs)],
        ).fetchall()
        for obs, *fields in rows:
            res = {
                k: orjson.loads(v)
                for k, v in zip(
                    ("effectiveDateTime", "effectivePeriod", "issued"), fields, strict=True
                )
                if v is not None
            }
            when = _date_of(res, "effectiveDateTime", "effectivePeriod", "issued")
            if when is not None:
                by_report.setdefault(stable_id("fhir:Observation", obs.split("/", 1)[1]), when)
    if wanted_enc:
        rows = con.execute(
            "SELECT resource_id, json_extract(resource::JSON, '$.period')::VARCHAR "
            "FROM mm_fhir_resource WHERE resource_type = 'Encounter' "
            "AND resource_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY source_file, location",
            [sorted(wanted_enc)],
        ).fetchall()
        for rid, period in rows:
            when = _date_of({"period": orjson.loads(period)}, "period") if period else None
            if when is not None:
                by_encounter.setdefault(stable_id("fhir:Encounter", rid), when)
    return by_report, by_encounter
