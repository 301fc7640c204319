"""One load's worth of HL7 v2 messages: dispatch by type, ADT visit state, results.

`Hl7Reader.message` reads one message into the load and returns its `Outcome` (what an ACK
says about it); `Hl7Reader.finish` writes the patients and visits the load built up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medmine.ingest import codes
from medmine.ingest._emit import Lookup, SourceConcepts
from medmine.ingest.hl7v2._adt import (
    KIND,
    Origin,
    ParsedPid,
    ParsedPv1,
    PatientState,
    VisitState,
    close_visit,
    merge,
    new_person_rows,
    new_visit_row,
    parse_pid,
    parse_pv1,
    reopen_visit,
    update_visit_row,
    visit_facility,
    visit_id,
    visit_key,
)
from medmine.ingest.hl7v2._fields import Msg, parse_ts
from medmine.ingest.hl7v2._framing import RawMessage
from medmine.ingest.hl7v2._memory import Committed
from medmine.ingest.hl7v2._results import Results, SegmentError, note_row, read_results
from medmine.warehouse import LoadSession, Reason, Rejected, table_names
from medmine.warehouse import table as table_spec
from medmine.warehouse.sql import ident

#: ADT triggers that act on a visit, by what they do.
VISIT_ACTIONS = {
    "A01": "admit", "A04": "admit",  # admit / register
    "A02": "update", "A06": "update", "A07": "update", "A08": "update",  # transfer, class, update
    "A12": "update",  # cancel transfer: PV1 holds the restored state
    "A03": "discharge",
    "A11": "cancel_admit",
    "A13": "cancel_discharge",
}  # fmt: skip
#: ADT triggers that only add or update the patient (A05 pre-admission creates no visit yet).
PATIENT_TRIGGERS = ("A05", "A28", "A31")
#: ADT triggers skipped by design, each with its own skip reason.
SKIPPED_TRIGGERS = {"A40": "merge_not_applied"}
#: ORU triggers read as results (unsolicited results, and point-of-care/observation variants).
ORU_TRIGGERS = ("R01", "R30", "R31", "R32")
#: Warning reasons of this reader.
WARN_NOT_ADMITTED = "visit_not_admitted"
SKIP_NOTHING_TO_CANCEL = "nothing_to_cancel"


@dataclass
class Outcome:
    """What happened to one message: the basis of its acknowledgement.

    `status` is ``loaded`` (or an update that changed nothing), ``skipped`` (a type not loaded
    by design), ``quarantined`` (set aside with `reason`) or ``rejected`` (not parseable as an
    HL7 message at all). `segment_errors` lists segments set aside from a loaded message.
    """

    status: str
    control_id: str = ""
    reason: str = ""
    detail: str = ""
    msg: Msg | None = None
    segment_errors: list[SegmentError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Hl7Reader:
    """Turns messages into warehouse rows inside one `LoadSession`."""

    def __init__(
        self,
        s: LoadSession,
        concepts: SourceConcepts,
        committed: Committed | None = None,
    ) -> None:
        self.s = s
        self.concepts = concepts
        #: What a long-running caller (the listener) knows of the warehouse: patients, visits
        #: and identifier rows it need not look up or write again.
        self.committed = committed
        self.known_identifiers = committed.identifiers if committed is not None else set()
        self.patients: dict[str, PatientState] = {}
        self.visits: dict[str, VisitState] = {}
        self._visit_known: dict[str, bool] = {}
        self.lookup = Lookup(s)
        # rows read from the warehouse (or `committed`) in this load, by id
        self._read_persons: dict[int, tuple[dict[str, Any], dict[str, Any] | None] | None] = {}
        self._read_visits: dict[int, dict[str, Any] | None] = {}

    # ---- warehouse look-ups ----
    def _existing_visit(self, key: str) -> dict[str, Any] | None:
        vid = visit_id(key)
        if vid in self._read_visits:
            return self._read_visits[vid]
        c = self.committed
        if c is not None and vid in c.visits:
            row = c.visits[vid]
        elif c is not None and c.absent_visit(vid):
            row = None
        else:
            row = self.lookup.row("visit_occurrence", vid)
        self._read_visits[vid] = row
        return row

    def _existing_person(self, pid: int) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """The patient's person and identity rows in the warehouse, or None when new."""
        if pid in self._read_persons:
            return self._read_persons[pid]
        known = self.committed.persons if self.committed is not None else {}
        if pid in known:
            got = known[pid]
        elif self.committed is not None and self.committed.absent_person(pid):
            got = None
        else:
            person = self.lookup.row("person", pid)
            got = None
            if person is not None:
                cur = self.s.wh.con.execute(
                    "SELECT * FROM mm_person_identity WHERE source = ? AND person_id = ?",
                    [KIND, pid],
                )
                row = cur.fetchone()
                names = [d[0] for d in cur.description]
                got = (person, dict(zip(names, row, strict=True)) if row else None)
        self._read_persons[pid] = got
        return got

    # ---- dispatch ----
    def message(self, source_file: str, raw: RawMessage, parsed: Msg | None = None) -> Outcome:
        """Read one message; it is loaded, skipped or quarantined (never lost).

        `parsed` is `raw` already parsed (the journal's loader hands over the listener's parse).
        """
        s = self.s
        if raw.orphan:
            s.read("Segment")
            detail = "segments before any MSH header"
            s.quarantine(source_file, raw.location, "Segment", Reason.MALFORMED, detail,
                         record=raw.text)  # fmt: skip
            return Outcome("rejected", reason=str(Reason.MALFORMED), detail=detail)
        rtype = "Message"
        try:
            msg = parsed if parsed is not None else Msg(raw.text)
            msh = msg.segments[0]
            mtype, trigger = msg.get(msh, 9, 1, 1).upper(), msg.get(msh, 9, 1, 2).upper()
            control = msg.get(msh, 10)
        except Rejected as err:
            s.read(rtype)
            s.quarantine(source_file, raw.location, rtype, err.reason, err.detail, raw.text)
            return Outcome("rejected", reason=str(err.reason), detail=err.detail)
        if mtype == "ADT" and not trigger:  # v2.1/2.2 put the event only in EVN-1
            trigger = msg.get(msg.first("EVN"), 1).upper()
        if mtype:
            rtype = f"{mtype}^{trigger}" if trigger else mtype
        s.read(rtype)
        if not mtype or not control:  # cannot be routed or acknowledged: refused (AR)
            field = "MSH-9 message type" if not mtype else "MSH-10 message control id"
            detail = f"{field} is empty"
            s.quarantine(source_file, raw.location, rtype, Reason.MISSING_FIELD, detail, raw.text)
            return Outcome("rejected", control, str(Reason.MISSING_FIELD), detail, msg)
        out = Outcome("loaded", control_id=control, msg=msg)
        try:
            key = f"{msg.get(msh, 3)}|{msg.get(msh, 4)}|{control}"
            origin: Origin = (rtype, source_file, raw.location, f"MSH-10 {control}")
            if mtype == "ADT" and trigger in SKIPPED_TRIGGERS:
                s.skip(rtype, SKIPPED_TRIGGERS[trigger])
                out.status, out.reason = "skipped", SKIPPED_TRIGGERS[trigger]
                return out
            if mtype == "ADT" and (trigger in VISIT_ACTIONS or trigger in PATIENT_TRIGGERS):
                results = self._adt(msg, trigger, key, origin, out)
            elif mtype == "ORU" and trigger in ORU_TRIGGERS:
                results = self._oru(msg, key, origin, out)
            else:
                s.skip(rtype, Reason.NOT_MAPPED)
                out.status, out.reason = "skipped", str(Reason.NOT_MAPPED)
                return out
        except Rejected as err:
            s.quarantine(source_file, raw.location, rtype, err.reason, err.detail, raw.text)
            return Outcome("quarantined", control, str(err.reason), err.detail, msg)
        for e in results.errors:
            s.read("Segment")
            location = f"message {raw.number} (segment {raw.first_segment + e.index})"
            s.quarantine(source_file, location, "Segment", e.reason, e.detail,
                         record=str(msg.segments[e.index]))  # fmt: skip
        out.segment_errors = results.errors
        return out

    def set_aside(
        self, source_file: str, raw: RawMessage, reason: str, detail: str, parsed: Msg | None = None
    ) -> Outcome:
        """Quarantine a whole message for a reason found before loading: the listener's
        network side ran this reader's checks (`medmine.ingest.hl7v2._triage`) and answered
        ``AE``, so the warehouse keeps that answer even should the checks disagree now.
        """
        try:
            msg = parsed if parsed is not None else Msg(raw.text)
        except Rejected:
            return self.message(source_file, raw)  # (cannot happen: it parsed before)
        msh = msg.segments[0]
        mtype, trigger = msg.get(msh, 9, 1, 1).upper(), msg.get(msh, 9, 1, 2).upper()
        if mtype == "ADT" and not trigger:
            trigger = msg.get(msg.first("EVN"), 1).upper()
        rtype = f"{mtype}^{trigger}" if trigger else mtype
        self.s.read(rtype)
        self.s.quarantine(source_file, raw.location, rtype, reason, detail, raw.text)
        return Outcome("quarantined", msg.get(msh, 10), reason, detail, msg)

    def _patient_state(self, p: ParsedPid, origin: Origin) -> tuple[PatientState | None, Any]:
        """The patient's state, or (None, rows to create it); never mutates."""
        st = self.patients.get(p.mrn)
        if st is not None:
            return st, None
        existing = self._existing_person(p.person_id)
        if existing is not None:
            return None, ("existing", *existing)
        return None, ("new", *new_person_rows(p))

    def _touch_patient(
        self, p: ParsedPid, pending: Any, origin: Origin, authoritative: bool
    ) -> None:
        st = self.patients.get(p.mrn)
        if st is None:
            self.s.read("Patient")
            kind, person, identity = pending
            if kind == "existing":
                identity = identity or {"person_id": p.person_id, "source": KIND}
                st = PatientState(dict(person), dict(identity), [], origin,
                                  orig_person=person, orig_identity=identity)  # fmt: skip
            else:
                st = PatientState(person, identity, [], origin)
            self.patients[p.mrn] = st
        if authoritative:
            merge(st.person, p.person)
            merge(st.identity, p.identity)
        for identifier in p.identifiers:
            if identifier not in st.identifiers:
                st.identifiers.append(identifier)
        if p.death and authoritative:
            st.death = p.death

    # ---- ADT ----
    def _current_visit(self, key: str) -> tuple[VisitState | None, dict[str, Any] | None]:
        """The visit's state in this load and its row in the warehouse (either may be None)."""
        if not key:
            return None, None
        visit = self.visits.get(key)
        if visit is not None:
            return visit, None
        return None, self._existing_visit(key)

    def _adt(self, msg: Msg, trigger: str, key: str, origin: Origin, out: Outcome) -> Results:
        p = parse_pid(msg)
        _, pending = self._patient_state(p, origin)
        v = parse_pv1(msg, p.mrn)
        action = "patient" if trigger in PATIENT_TRIGGERS else VISIT_ACTIONS[trigger]
        # validate everything before changing any state
        visit, existing = self._current_visit(v.key)
        current = None
        if visit is not None and not visit.deleted:
            current = visit.row
        elif visit is None:
            current = existing
        row = self._visit_change(action, trigger, v, p.person_id, current, origin, out)
        results = read_results(msg, key, p.person_id, v.event_time, self.concepts)
        # apply
        authoritative = action not in ("discharge", "cancel_admit", "cancel_discharge")
        self._touch_patient(p, pending, origin, authoritative=authoritative)
        if action in ("cancel_admit", "cancel_discharge") and row is None:
            return results  # nothing to cancel: counted as skipped in _visit_change
        vid = None
        if row is None:  # patient-only message
            self.patients[p.mrn].updates.append(origin)
        else:
            if visit is None:
                visit = VisitState(row, orig=existing)
                self.visits[v.key] = visit
                if action == "admit" or existing is None:  # a new visit is its creator's record
                    visit.creator = origin
                else:
                    visit.updates.append((origin, p.mrn))
            else:
                if action == "admit" and visit.deleted:  # admitted again after a cancel
                    if visit.creator is not None:
                        self.s.skip(visit.creator[0], "cancelled")
                    visit.creator = origin
                else:
                    visit.updates.append((origin, p.mrn))
                visit.row = row
            visit.deleted = row is DELETED
            if visit.deleted:
                visit.row = current or {}
            else:
                vid = row["visit_occurrence_id"]
                if v.number:
                    visit.identifier = {
                        "table_name": "visit_occurrence",
                        "row_id": vid,
                        "system": v.facility or "urn:medmine:hl7v2:PV1-19",
                        "value": v.number,
                        "type_code": "VN",
                    }
            self._visit_known[v.key] = not visit.deleted
        self._add_results(results, vid, origin, "ADT OBX")
        return results

    def _visit_change(
        self,
        action: str,
        trigger: str,
        v: ParsedPv1,
        person_id: int,
        current: dict[str, Any] | None,
        origin: Origin,
        out: Outcome,
    ) -> dict[str, Any] | None:
        """`visit_change`, with its skip or warning counted in this load."""
        row, note = visit_change(action, trigger, v, person_id, current)
        if note == SKIP_NOTHING_TO_CANCEL:
            self.s.skip(origin[0], SKIP_NOTHING_TO_CANCEL)
            out.status, out.reason = "skipped", SKIP_NOTHING_TO_CANCEL
        elif note == WARN_NOT_ADMITTED:
            self._warn_not_admitted(origin, out)
        return row

    def _warn_not_admitted(self, origin: Origin, out: Outcome) -> None:
        self.s.warn(origin[0], WARN_NOT_ADMITTED)
        out.warnings.append(
            f"{origin[0]} for a visit never admitted: created from what this message holds"
        )

    # ---- results ----
    def _visit_ref(self, msg: Msg, mrn: str) -> int | None:
        pv1 = msg.first("PV1")
        if pv1 is None:
            return None
        try:
            admit = parse_ts(msg.get(pv1, 44), "PV1-44 admit date/time")
        except Rejected:
            admit = None
        key = visit_key(visit_facility(msg, pv1), mrn, msg.get(pv1, 19, 1, 1), admit)
        if not key:
            return None
        known = self._visit_known.get(key)
        if known is None:
            visit = self.visits.get(key)
            if visit is not None:
                known = not visit.deleted
            else:
                known = self._existing_visit(key) is not None
            self._visit_known[key] = known
        if not known:
            self.s.warn("ORU^R01", Reason.UNRESOLVED_REFERENCE)
            return None
        return visit_id(key)

    def _oru(self, msg: Msg, key: str, origin: Origin, out: Outcome) -> Results:
        p = parse_pid(msg)
        _, pending = self._patient_state(p, origin)
        msh = msg.segments[0]
        msg_time = parse_ts(msg.get(msh, 7), "MSH-7 message date/time")
        results = read_results(msg, key, p.person_id, msg_time, self.concepts)
        if not results.n_obx:
            raise Rejected(Reason.MISSING_FIELD, "ORU message has no OBX segment")
        self._touch_patient(p, pending, origin, authoritative=False)
        if not results.rows:
            self.s.skip(origin[0], "no_results")
            out.status, out.reason = "skipped", "no_results"
            return results
        vid = self._visit_ref(msg, p.mrn)
        self._add_results(results, vid, origin, None)
        return results

    def _add_results(
        self, results: Results, vid: int | None, origin: Origin, record_type: str | None
    ) -> None:
        """Write a message's measurements (and NTE notes) as one record.

        ORU results are the message's own record; ADT results ride as a record of
        `record_type` (``ADT OBX``) next to the patient and visit the message changes.
        """
        if not results.rows:
            return
        rows: list[tuple[str, dict[str, Any]]] = []
        for row, notes in results.rows:
            row["visit_occurrence_id"] = vid
            rows.append(("measurement", row))
            if notes:
                rows.append(("note", note_row(row, notes)))
        rtype = record_type or origin[0]
        if record_type:
            self.s.read(record_type)
        # every row is the record's own (one provenance statement per flush, not two)
        self.s.add_record(rtype, rows, source_file=origin[1], location=origin[2],
                          source_key=origin[3])  # fmt: skip

    # ---- end of load ----
    def finish(self) -> None:
        """Write final patient and visit rows; update rows that were already in the warehouse."""
        s = self.s
        con = s.wh.con
        changed_patients: set[str] = set()
        for mrn, st in self.patients.items():
            rtype, file, loc, _ = st.origin
            pid = st.person["person_id"]
            death = (
                [("death", {"person_id": pid, "death_date": st.death.date(),
                            "death_datetime": st.death, "death_type_concept_id": codes.TYPE_EHR})]
                if st.death else []
            )  # fmt: skip
            ids = [("mm_identifier", i) for i in st.identifiers]
            if st.orig_person is None:
                s.add_record(
                    "Patient",
                    [("person", st.person)],
                    source_file=file,
                    location=loc,
                    source_key=f"person {pid}",
                    secondary=[("mm_person_identity", st.identity), *ids, *death],
                )
                changed = True
            else:
                s.skip("Patient", Reason.DUPLICATE)
                for name, row in [*ids, *death]:
                    if name != "mm_identifier" or identifier_key(row) not in self.known_identifiers:
                        s.add_rows(name, row)
                changed = st.person != st.orig_person or st.identity != st.orig_identity
                if changed:
                    _update(con, "person", st.person, {"person_id": pid})
                    if not _update(con, "mm_person_identity", st.identity,
                                   {"person_id": pid, "source": KIND}):  # fmt: skip
                        s.add_rows("mm_person_identity", st.identity)
            if changed:
                changed_patients.add(mrn)
            for u in st.updates:
                self._resolve_update(u, changed)
        deleted: list[int] = []
        for v in self.visits.values():
            if v.deleted:
                self._finish_deleted(v, deleted)
                continue
            changed = v.orig is None or v.row != v.orig
            if v.orig is not None and changed:
                _update(con, "visit_occurrence", v.row,
                        {"visit_occurrence_id": v.row["visit_occurrence_id"]})  # fmt: skip
            if v.identifier is not None:
                s.add_rows("mm_identifier", v.identifier)
            if v.creator is not None:
                rtype, file, loc, key = v.creator
                s.add_record(rtype, [("visit_occurrence", v.row)], source_file=file,
                             location=loc, source_key=key)  # fmt: skip
            for u, mrn in v.updates:
                self._resolve_update(u, changed or mrn in changed_patients)
        if deleted:
            s.flush()  # rows of this load that point at the visits go in first
            _delete_visits(con, deleted)

    def _finish_deleted(self, v: VisitState, deleted: list[int]) -> None:
        """A visit whose admission was cancelled (A11): its row goes.

        When the visit was in the warehouse, the cancel and the updates count as loaded (they
        removed it); a visit admitted and cancelled within this load leaves nothing, so its
        messages count as skipped (``cancelled``) and reloading the same feed adds nothing.
        """
        if v.creator is not None:
            self.s.skip(v.creator[0], "cancelled")
        for u, _ in v.updates:
            rtype, file, loc, key = u
            if v.orig is None:
                self.s.skip(rtype, "cancelled")
            else:
                self.s.add_record(rtype, [], source_file=file, location=loc, source_key=key)
        deleted.append(visit_id_of(v))

    def remember(self, committed: Committed) -> None:
        """After this load committed: teach `committed` the rows it read and left behind."""
        persons = dict(self._read_persons)
        for st in self.patients.values():
            persons[st.person["person_id"]] = (st.person, st.identity)
        visits = dict(self._read_visits)
        for v in self.visits.values():
            visits[visit_id_of(v)] = None if v.deleted else v.row
        identifiers = {identifier_key(i) for st in self.patients.values() for i in st.identifiers}
        committed.learn(persons, visits, self.concepts.seen, identifiers)

    def _resolve_update(self, origin: Origin, changed: bool) -> None:
        """An update message counts as loaded when it changed something, else as a duplicate."""
        rtype, file, loc, key = origin
        if changed:
            self.s.add_record(rtype, [], source_file=file, location=loc, source_key=key)
        else:
            self.s.skip(rtype, Reason.DUPLICATE)


def visit_change(
    action: str, trigger: str, v: ParsedPv1, person_id: int, current: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, str]:
    """What an ADT message does to its visit, given the visit's `current` row (None: absent).

    Returns ``(row, note)``: the visit row after the message (`DELETED` for a cancelled
    admission; None: no visit change) and ``""``, `SKIP_NOTHING_TO_CANCEL` or
    `WARN_NOT_ADMITTED`. Raises `Rejected` before anything changes. One function for the
    loader (`Hl7Reader`) and the listener's network side (`medmine.ingest.hl7v2._triage`), so
    an acknowledgement sent before loading says what loading will do.
    """
    if action == "patient":
        return None, ""
    no_key = "PV1-19 visit number and PV1-44 admit date/time are both empty"
    if action in ("cancel_admit", "cancel_discharge"):
        if not v.key:
            raise Rejected(Reason.MISSING_FIELD, no_key)
        if current is None:
            return None, SKIP_NOTHING_TO_CANCEL
        if action == "cancel_admit":
            return DELETED, ""
        row = dict(current)
        reopen_visit(row)
        return row, ""
    if not v.key:
        if trigger == "A08":
            return None, ""  # an A08 without a visit: a patient-only update
        raise Rejected(Reason.MISSING_FIELD, no_key)
    if action == "discharge":
        end = v.discharge or v.event_time
        if end is None:
            raise Rejected(Reason.MISSING_FIELD, "PV1-45 discharge date/time is empty")
        note = ""
        if current is None:
            row = new_visit_row(v, person_id, from_discharge=True)
            note = WARN_NOT_ADMITTED
        else:
            row = dict(current)
        close_visit(row, end, v.disposition)
        return row, note
    if current is None:
        row = new_visit_row(v, person_id)
        return row, ("" if action == "admit" else WARN_NOT_ADMITTED)
    row = dict(current)
    update_visit_row(row, v)
    return row, ""


def identifier_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """The primary key of an ``mm_identifier`` row."""
    return (row["table_name"], row["row_id"], row["system"], row["value"])


#: Marker row of a visit whose admission is cancelled.
DELETED: dict[str, Any] = {}


def visit_id_of(v: VisitState) -> int:
    """The id of a visit state's row (also when the row was cancelled)."""
    row = v.orig or v.row
    return int(row["visit_occurrence_id"])


def _delete_visits(con: Any, ids: list[int]) -> None:
    """Remove cancelled visits: their row and provenance; rows pointing at them keep the
    patient and lose the visit (``visit_occurrence_id`` NULL).
    """
    marks = ", ".join("?" for _ in ids)
    for name in table_names():
        if name != "visit_occurrence" and "visit_occurrence_id" in table_spec(name).column_names:
            con.execute(
                f"UPDATE {ident(name)} SET visit_occurrence_id = NULL "
                f"WHERE visit_occurrence_id IN ({marks})",
                ids,
            )
    con.execute(f"DELETE FROM visit_occurrence WHERE visit_occurrence_id IN ({marks})", ids)
    con.execute(
        "DELETE FROM mm_source_record WHERE table_name = 'visit_occurrence' "
        f"AND row_id IN ({marks})",
        ids,
    )
    con.execute(
        f"DELETE FROM mm_identifier WHERE table_name = 'visit_occurrence' AND row_id IN ({marks})",
        ids,
    )


def _update(con: Any, table: str, row: dict[str, Any], where: dict[str, Any]) -> int:
    """UPDATE one row in place; returns the number of rows changed."""
    cols = [c for c in row if c not in where]
    sets = ", ".join(f"{ident(c)} = ?" for c in cols)
    cond = " AND ".join(f"{ident(c)} = ?" for c in where)
    cur = con.execute(
        f"UPDATE {ident(table)} SET {sets} WHERE {cond}", [*(row[c] for c in cols), *where.values()]
    )
    got = cur.fetchone()
    return int(got[0]) if got else 0
