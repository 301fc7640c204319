"""One load's worth of HL7 v2 messages: dispatch by type, ADT state, ORU results."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from medmine.ingest import codes
from medmine.ingest._emit import Lookup, SourceConcepts
from medmine.ingest.hl7v2._adt import (
    KIND,
    Origin,
    ParsedPid,
    PatientState,
    VisitState,
    close_visit,
    merge,
    new_person_rows,
    new_visit_row,
    parse_pid,
    parse_pv1,
    update_visit_row,
    visit_id,
)
from medmine.ingest.hl7v2._fields import Msg, parse_ts
from medmine.ingest.hl7v2._framing import RawMessage
from medmine.warehouse import LoadSession, Reason, Rejected, stable_id
from medmine.warehouse.sql import ident

ADT_TRIGGERS = ("A01", "A03", "A04", "A08")
#: SN comparators -> OMOP operator concepts.
OPERATORS = {"<": 4171756, "<=": 4171754, "=": 4172703, ">": 4172704, ">=": 4171755}
NUMBER = r"[-+]?\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^\s*({NUMBER})\s*-\s*({NUMBER})\s*$")
_BOUND = re.compile(rf"^\s*([<>]=?)\s*({NUMBER})\s*$")
_CANCELLED = ("X", "D", "W")  # OBX-11: cannot obtain, deleted, wrong


def parse_range(text: str) -> tuple[float | None, float | None]:
    """Reference range ``70-99``, ``<5``, ``>=10`` -> (low, high); other text -> (None, None)."""
    m = _RANGE.match(text)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = _BOUND.match(text)
    if m:
        x = float(m.group(2))
        return (None, x) if m.group(1).startswith("<") else (x, None)
    return None, None


class Hl7Reader:
    """Turns messages into warehouse rows inside one `LoadSession`."""

    def __init__(self, s: LoadSession, concepts: SourceConcepts) -> None:
        self.s = s
        self.concepts = concepts
        self.patients: dict[str, PatientState] = {}
        self.visits: dict[str, VisitState] = {}
        self._visit_known: dict[str, bool] = {}
        self.lookup = Lookup(s)

    # ---- warehouse look-ups ----
    def _existing_visit(self, number: str) -> dict[str, Any] | None:
        return self.lookup.row("visit_occurrence", visit_id(number))

    # ---- dispatch ----
    def message(self, source_file: str, raw: RawMessage) -> None:
        """Read one message; it is loaded, skipped or quarantined (never lost)."""
        s = self.s
        if raw.orphan:
            s.read("Segment")
            s.quarantine(
                source_file, raw.location, "Segment", Reason.MALFORMED,
                "segments before any MSH header", record=raw.text,
            )  # fmt: skip
            return
        rtype = "Message"
        try:
            msg = Msg(raw.text)
            msh = msg.segments[0]
            mtype, trigger = msg.get(msh, 9, 1, 1).upper(), msg.get(msh, 9, 1, 2).upper()
        except Rejected as err:
            s.read(rtype)
            s.quarantine(source_file, raw.location, rtype, err.reason, err.detail, raw.text)
            return
        if mtype:
            rtype = f"{mtype}^{trigger}" if trigger else mtype
        s.read(rtype)
        try:
            control = msg.get(msh, 10)
            if not mtype:
                raise Rejected(Reason.MISSING_FIELD, "MSH-9 message type is empty")
            if not control:
                raise Rejected(Reason.MISSING_FIELD, "MSH-10 message control id is empty")
            key = f"{msg.get(msh, 3)}|{msg.get(msh, 4)}|{control}"
            origin: Origin = (rtype, source_file, raw.location, f"MSH-10 {control}")
            if mtype == "ADT" and trigger in ADT_TRIGGERS:
                self._adt(msg, trigger, origin)
            elif (mtype, trigger) == ("ORU", "R01"):
                self._oru(msg, key, origin)
            else:
                s.skip(rtype, Reason.NOT_MAPPED)
        except Rejected as err:
            s.quarantine(source_file, raw.location, rtype, err.reason, err.detail, raw.text)

    # ---- patients ----
    def _patient_state(self, p: ParsedPid, origin: Origin) -> tuple[PatientState | None, Any]:
        """The patient's state, or (None, rows to create it); never mutates."""
        st = self.patients.get(p.mrn)
        if st is not None:
            return st, None
        person = self.lookup.row("person", p.person_id)
        if person is not None:
            cur = self.s.wh.con.execute(
                "SELECT * FROM mm_person_identity WHERE source = ? AND person_id = ?",
                [KIND, p.person_id],
            )
            got = cur.fetchone()
            identity = dict(zip([d[0] for d in cur.description], got, strict=True)) if got else None
            return None, ("existing", person, identity)
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
    def _adt(self, msg: Msg, trigger: str, origin: Origin) -> None:
        p = parse_pid(msg)
        st, pending = self._patient_state(p, origin)
        v = parse_pv1(msg)
        # validate everything before changing any state
        visit = self.visits.get(v.number) if v.number else None
        existing = None
        if v.number and visit is None:
            existing = self._existing_visit(v.number)
        current = visit.row if visit else existing
        if current is not None and current["person_id"] != p.person_id:
            raise Rejected(Reason.CONFLICT, "PV1-19 visit number belongs to another patient")
        if trigger in ("A01", "A04"):
            if not v.number:
                raise Rejected(Reason.MISSING_FIELD, "PV1-19 visit number is empty")
            if current is None:
                row = new_visit_row(v, p.person_id)
            else:
                row = dict(current)
                update_visit_row(row, v)
        elif trigger == "A03":
            if not v.number:
                raise Rejected(Reason.MISSING_FIELD, "PV1-19 visit number is empty")
            if current is None:
                raise Rejected(Reason.CONFLICT, "A03 discharges a visit that was never admitted")
            row = dict(current)
            end = v.discharge or v.event_time
            if end is None:
                raise Rejected(Reason.MISSING_FIELD, "PV1-45 discharge date/time is empty")
            close_visit(row, end, v.disposition)
        else:  # A08
            row = None
            if v.number:
                if current is None:
                    raise Rejected(Reason.CONFLICT, "A08 updates a visit that was never admitted")
                row = dict(current)
                update_visit_row(row, v)
        # apply
        self._touch_patient(p, pending, origin, authoritative=trigger != "A03")
        if row is None:  # A08 without a visit: a patient-only update
            self.patients[p.mrn].updates.append(origin)
            return
        if visit is None:
            visit = VisitState(row, orig=existing)
            self.visits[v.number] = visit
            if trigger in ("A01", "A04"):
                visit.creator = origin
            else:
                visit.updates.append((origin, p.mrn))
        else:
            visit.row = row
            visit.updates.append((origin, p.mrn))
        self._visit_known[v.number] = True

    # ---- ORU ----
    def _visit_ref(self, msg: Msg) -> int | None:
        pv1 = msg.first("PV1")
        number = msg.get(pv1, 19, 1, 1) if pv1 is not None else ""
        if not number:
            return None
        known = self._visit_known.get(number)
        if known is None:
            known = number in self.visits or self._existing_visit(number) is not None
            self._visit_known[number] = known
        if not known:
            self.s.warn("ORU^R01", Reason.UNRESOLVED_REFERENCE)
            return None
        return visit_id(number)

    def _oru(self, msg: Msg, key: str, origin: Origin) -> None:
        p = parse_pid(msg)
        _, pending = self._patient_state(p, origin)
        msh = msg.segments[0]
        msg_time = parse_ts(msg.get(msh, 7), "MSH-7 message date/time")
        obr_time: dt.datetime | None = None
        results: list[tuple[dict[str, Any], list[str]]] = []
        n_obx = 0
        for seg in msg.segments:
            name = msg.name(seg)
            if name == "OBR":
                obr_time = parse_ts(msg.get(seg, 7), "OBR-7 observation date/time")
            elif name == "OBX":
                n_obx += 1
                row = self._measurement(msg, seg, n_obx, key, p.person_id, obr_time or msg_time)
                results.append((row, []) if row else ({}, []))
            elif name == "NTE" and results and results[-1][0]:
                results[-1][1].extend(t for t in msg.field_text(seg, 3) if t)
        if not n_obx:
            raise Rejected(Reason.MISSING_FIELD, "ORU message has no OBX segment")
        rows = [(r, notes) for r, notes in results if r]
        self._touch_patient(p, pending, origin, authoritative=False)
        if not rows:
            self.s.skip(origin[0], "no_results")
            return
        vid = self._visit_ref(msg)
        out: list[tuple[str, dict[str, Any]]] = []
        for row, notes in rows:
            row["visit_occurrence_id"] = vid
            out.append(("measurement", row))
            if notes:
                out.append(("note", self._note(row, notes)))
        self.s.add_record(origin[0], out[:1], source_file=origin[1], location=origin[2],
                          source_key=origin[3], secondary=out[1:])  # fmt: skip

    def _measurement(
        self, msg: Msg, obx: Any, n: int, key: str, person_id: int, default_time: Any
    ) -> dict[str, Any] | None:
        where = f"OBX {n}"
        if msg.get(obx, 11).upper() in _CANCELLED:
            return None
        code = msg.get(obx, 3, 1, 1)
        if not code:
            raise Rejected(Reason.MISSING_FIELD, f"{where}: OBX-3 observation id is empty")
        vocab = codes.hl7v2_vocabulary(msg.get(obx, 3, 1, 3) or None)
        self.concepts.add(vocab, code, msg.get(obx, 3, 1, 2))
        vtype = msg.get(obx, 2).upper()
        number: float | None = None
        operator = None
        text: str | None = None
        if vtype == "NM":
            text = msg.get(obx, 5)
            if text:
                try:
                    number = float(text)
                except ValueError:
                    raise Rejected(
                        Reason.INVALID_VALUE, f"{where}: OBX-5 value is not a number (OBX-2 NM)"
                    ) from None
        elif vtype == "SN":
            comp, n1, sep, n2 = (msg.get(obx, 5, 1, c) for c in (1, 2, 3, 4))
            text = "".join((comp, n1, sep, n2))
            if comp and comp not in OPERATORS and comp != "<>":
                raise Rejected(Reason.INVALID_VALUE, f"{where}: OBX-5 comparator is unknown")
            if not sep and n1:
                try:
                    number = float(n1)
                except ValueError:
                    raise Rejected(
                        Reason.INVALID_VALUE, f"{where}: OBX-5 value is not a number (OBX-2 SN)"
                    ) from None
                operator = OPERATORS.get(comp or "=")
        elif vtype in ("CE", "CWE", "CNE"):
            vcode, vtext = msg.get(obx, 5, 1, 1), msg.get(obx, 5, 1, 2)
            vvocab = codes.hl7v2_vocabulary(msg.get(obx, 5, 1, 3) or None)
            if vcode:
                self.concepts.add(vvocab, vcode, vtext)
                text = codes.source_value(vvocab, vcode)
            else:
                text = vtext
        else:  # ST, TX, FT, TS, DT... kept as text, repetitions on separate lines
            text = "\n".join(msg.field_text(obx, 5))
        when = parse_ts(msg.get(obx, 14), "OBX-14 observation date/time") or default_time
        if when is None:
            raise Rejected(
                Reason.MISSING_FIELD, f"{where}: no observation time (OBX-14, OBR-7, MSH-7)"
            )
        unit, unit_system = msg.get(obx, 6, 1, 1), msg.get(obx, 6, 1, 3)
        if unit and unit_system:
            self.concepts.add(codes.hl7v2_vocabulary(unit_system), unit, msg.get(obx, 6, 1, 2))
        low, high = parse_range(msg.get(obx, 7))
        set_id = msg.get(obx, 1) or str(n)
        return {
            "measurement_id": stable_id(f"{KIND}:Measurement", f"{key}|{n}|{set_id}"),
            "person_id": person_id,
            "measurement_concept_id": 0,
            "measurement_date": when.date(),
            "measurement_datetime": when,
            "measurement_type_concept_id": codes.TYPE_EHR,
            "operator_concept_id": operator,
            "value_as_number": number,
            "unit_concept_id": 0 if unit else None,
            "range_low": low,
            "range_high": high,
            "measurement_source_value": codes.source_value(vocab, code),
            "measurement_source_concept_id": 0,
            "unit_source_value": unit or None,
            "value_source_value": text or None,
        }

    def _note(self, m: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        return {
            "note_id": stable_id(f"{KIND}:Note", str(m["measurement_id"])),
            "person_id": m["person_id"],
            "note_date": m["measurement_date"],
            "note_datetime": m["measurement_datetime"],
            "note_type_concept_id": codes.TYPE_EHR,
            "note_class_concept_id": codes.NOTE_CLASS_UNKNOWN,
            "note_title": "Result comment (NTE)",
            "note_text": "\n".join(notes),
            "encoding_concept_id": codes.ENCODING_UTF8,
            "language_concept_id": 0,
            "visit_occurrence_id": m["visit_occurrence_id"],
            "note_source_value": "HL7V2:NTE",
            "note_event_id": m["measurement_id"],
            "note_event_field_concept_id": 0,
        }

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
        for v in self.visits.values():
            changed = v.orig is None or v.row != v.orig
            if v.orig is not None and changed:
                _update(con, "visit_occurrence", v.row,
                        {"visit_occurrence_id": v.row["visit_occurrence_id"]})  # fmt: skip
            if v.creator is not None:
                rtype, file, loc, key = v.creator
                s.add_record(rtype, [("visit_occurrence", v.row)], source_file=file,
                             location=loc, source_key=key)  # fmt: skip
            for u, mrn in v.updates:
                self._resolve_update(u, changed or mrn in changed_patients)

    def _resolve_update(self, origin: Origin, changed: bool) -> None:
        """An update message counts as loaded when it changed something, else as a duplicate."""
        rtype, file, loc, key = origin
        if changed:
            self.s.add_record(rtype, [], source_file=file, location=loc, source_key=key)
        else:
            self.s.skip(rtype, Reason.DUPLICATE)


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
