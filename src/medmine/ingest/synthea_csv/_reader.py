"""The Synthea CSV reader's state: ids seen in this load and reference resolution.

The row mappers (`_maps`) use this module; it uses none of them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from medmine.ingest._emit import Lookup, SourceConcepts
from medmine.warehouse import LoadSession, Reason, Rejected, stable_id

KIND = "synthea_csv"

#: Set name -> (id namespace, table).
_REFS = {
    "patients": ("Patient", "person"),
    "encounters": ("Encounter", "visit_occurrence"),
    "providers": ("Provider", "provider"),
    "organizations": ("Organization", "care_site"),
}


def sid(kind: str, key: str) -> int:
    """Stable id in the ``synthea_csv:<kind>`` namespace."""
    return stable_id(f"{KIND}:{kind}", key)


class SyntheaReader:
    """Source ids loaded so far (this load), with warehouse look-ups for earlier loads."""

    def __init__(self, s: LoadSession, concepts: SourceConcepts) -> None:
        self.s = s
        self.concepts = concepts
        self.patients: set[str] = set()
        self.encounters: set[str] = set()
        self.providers: set[str] = set()
        self.organizations: set[str] = set()
        #: encounter id -> its organization id (a claim's billing organisation, issue 16)
        self.encounter_org: dict[str, str] = {}
        self.claims: set[str] = set()
        self.transactions: list[Transaction] = []
        self.where = ("", "")  # (source file, location) of the row being mapped
        #: payers.csv ids NAMEd NO_INSURANCE: a transition to one is self-pay (docs/mapping.md)
        self.self_pay: set[str] = set()
        self.lookup = Lookup(s)

    def exists(self, table: str, rid: int) -> bool:
        """Whether a row with primary key `rid` is already in the warehouse (cached)."""
        return self.lookup.exists(table, rid)

    def _known(self, name: str, source_id: str) -> int | None:
        kind, table = _REFS[name]
        rid = sid(kind, source_id)
        if source_id in getattr(self, name) or self.exists(table, rid):
            return rid
        return None

    def person(self, rec: dict[str, str], col: str) -> int:
        """The person id a row refers to; a missing or unknown patient rejects the row."""
        v = (rec.get(col) or "").strip()
        if not v:
            raise Rejected(Reason.MISSING_FIELD, f"{col} is empty")
        rid = self._known("patients", v)
        if rid is None:
            raise Rejected(Reason.DANGLING_REFERENCE, f"{col} matches no patient")
        return rid

    def ref(self, name: str, table: str, source_id: str | None, rtype: str) -> Any:
        """An optional reference: its id when known, else None and a warning."""
        if not source_id:
            return None
        rid = self._known(name, source_id)
        if rid is None:
            self.s.warn(rtype, Reason.UNRESOLVED_REFERENCE)
        return rid


class Transaction(NamedTuple):
    """A money transaction of one claim line, kept until the end of the load."""

    cost_id: int
    line_id: int
    claim_cost_id: int
    claim_id: int
    paid_by_payer: float
    paid_by_patient: float
    copay: float
    adjustment: float
    source_key: str
    source_file: str
    location: str
