"""What a message's acknowledgement says before it is loaded (journal mode).

In journal mode the listener acknowledges a message once it is in the durable journal, before
the warehouse has seen it. `triage` runs every check of `Hl7Reader.message`, with the same
functions (`visit_change`, `new_person_rows`...) and in the same order, against `Journaled`:
the warehouse's patients and visits as the listener found them plus the effect of every
message journaled since, which is exactly the state the loader will see when it reaches this
message (it applies the journal in order). So the ACK says ``AR``, ``AE`` or ``AA`` where
loading will refuse, quarantine or load, and gives the same segment warnings and skip reasons.
Only a fault while loading (``internal_error``) can still turn an ``AA`` into a quarantine
(``late_quarantined``; see ``docs/ingest-hl7v2.md``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from medmine.ingest.hl7v2._ack import read_header
from medmine.ingest.hl7v2._adt import ParsedPid, new_person_rows, parse_pid, parse_pv1, visit_id
from medmine.ingest.hl7v2._fields import Msg, parse_ts
from medmine.ingest.hl7v2._framing import RawMessage, iter_messages
from medmine.ingest.hl7v2._memory import Journaled
from medmine.ingest.hl7v2._mllp import Frame
from medmine.ingest.hl7v2._reader import (
    DELETED,
    ORU_TRIGGERS,
    PATIENT_TRIGGERS,
    SKIP_NOTHING_TO_CANCEL,
    SKIPPED_TRIGGERS,
    VISIT_ACTIONS,
    WARN_NOT_ADMITTED,
    Outcome,
    visit_change,
)
from medmine.ingest.hl7v2._results import read_results
from medmine.warehouse import Reason, Rejected

#: `Effect.visit` of a message that leaves its visit as it was.
_UNCHANGED: Any = object()


class _NoConcepts:
    """Source codes are written by the loader, not here."""

    def add(self, vocabulary_id: str, code: str | None, display: str | None = None) -> None:
        """Ignore a source code."""


def split_frame(
    fr: Frame, max_frame_bytes: int
) -> tuple[RawMessage | None, tuple[str, str] | None]:
    """``(the frame's one message, None)``, or ``(None, (reason, detail))`` when the frame is
    not one HL7 message (answered ``AR``).
    """
    if fr.oversize:
        return None, (
            "too_large",
            f"frame of {fr.size} bytes exceeds the limit of {max_frame_bytes} bytes; "
            "only its first bytes are kept",
        )
    msgs = list(iter_messages(io.BytesIO(fr.data)))
    if len(msgs) != 1 or msgs[0].orphan:
        if not any(not m.orphan for m in msgs):
            return None, (str(Reason.MALFORMED), "frame holds no HL7 message (no MSH segment)")
        detail = f"frame holds {len(msgs)} parts; send one message per frame"
        return None, (str(Reason.MALFORMED), detail)
    return msgs[0], None


@dataclass
class Effect:
    """What a message that loads changes in `Journaled` (applied once it is journaled)."""

    person_id: int | None = None
    visit_id: int | None = None
    visit: Any = _UNCHANGED  # the visit's start after the message, None when cancelled

    def apply(self, known: Journaled) -> None:
        """Record the message's effect."""
        if self.person_id is not None:
            known.add_person(self.person_id)
        if self.visit_id is not None and self.visit is not _UNCHANGED:
            known.set_visit(self.visit_id, self.visit)


def _stored_visit(known: Journaled, vid: int) -> dict[str, Any] | None:
    """The fields of a stored visit row that `visit_change` reads, or None when absent."""
    start = known.visit_start(vid)
    if start is None:
        return None
    return {"visit_occurrence_id": vid, "visit_start_datetime": start,
            "visit_start_date": start.date(), "visit_end_datetime": None,
            "visit_end_date": start.date()}  # fmt: skip


def triage(fr: Frame, max_frame_bytes: int, known: Journaled) -> tuple[Outcome, Effect]:
    """The outcome the loader will give this frame, given `known` (the patients and visits as
    of every message journaled before it), and what loading it changes there. The parsed
    message rides along in `Outcome.msg` for the loader.
    """
    none = Effect()
    raw, problem = split_frame(fr, max_frame_bytes)
    if raw is None:
        assert problem is not None
        return Outcome("rejected", read_header(fr.data).get(10), *problem), none
    try:
        msg = Msg(raw.text)
        msh = msg.segments[0]
        mtype, trigger = msg.get(msh, 9, 1, 1).upper(), msg.get(msh, 9, 1, 2).upper()
        control = msg.get(msh, 10)
    except Rejected as err:
        return Outcome("rejected", reason=str(err.reason), detail=err.detail), none
    if mtype == "ADT" and not trigger:
        trigger = msg.get(msg.first("EVN"), 1).upper()
    if not mtype or not control:
        field = "MSH-9 message type" if not mtype else "MSH-10 message control id"
        detail = f"{field} is empty"
        return Outcome("rejected", control, str(Reason.MISSING_FIELD), detail, msg), none
    out = Outcome("loaded", control_id=control, msg=msg)
    key = f"{msg.get(msh, 3)}|{msg.get(msh, 4)}|{control}"
    effect = Effect()
    try:
        if mtype == "ADT" and trigger in SKIPPED_TRIGGERS:
            out.status, out.reason = "skipped", SKIPPED_TRIGGERS[trigger]
            return out, none
        if mtype == "ADT" and (trigger in VISIT_ACTIONS or trigger in PATIENT_TRIGGERS):
            p = parse_pid(msg)
            _check_patient(p, known)
            v = parse_pv1(msg, p.mrn)
            action = "patient" if trigger in PATIENT_TRIGGERS else VISIT_ACTIONS[trigger]
            vid = visit_id(v.key) if v.key else None
            current = _stored_visit(known, vid) if vid is not None else None
            row, note = visit_change(action, trigger, v, p.person_id, current)
            results = read_results(msg, key, p.person_id, v.event_time, _NoConcepts())  # type: ignore[arg-type]
            effect.person_id = p.person_id
            if note == SKIP_NOTHING_TO_CANCEL:
                out.status, out.reason = "skipped", SKIP_NOTHING_TO_CANCEL
            elif note == WARN_NOT_ADMITTED:
                out.warnings.append(
                    f"{mtype}^{trigger} for a visit never admitted: created from what this "
                    "message holds"
                )
            if row is not None:
                effect.visit_id = visit_id(v.key)
                effect.visit = None if row is DELETED else row["visit_start_datetime"]
        elif mtype == "ORU" and trigger in ORU_TRIGGERS:
            p = parse_pid(msg)
            _check_patient(p, known)
            msg_time = parse_ts(msg.get(msh, 7), "MSH-7 message date/time")
            results = read_results(msg, key, p.person_id, msg_time, _NoConcepts())  # type: ignore[arg-type]
            if not results.n_obx:
                raise Rejected(Reason.MISSING_FIELD, "ORU message has no OBX segment")
            effect.person_id = p.person_id
            if not results.rows:
                out.status, out.reason = "skipped", "no_results"
        else:
            out.status, out.reason = "skipped", str(Reason.NOT_MAPPED)
            return out, none
    except Rejected as err:
        return Outcome("quarantined", control, str(err.reason), err.detail, msg), none
    out.segment_errors = results.errors
    return out, effect


def _check_patient(p: ParsedPid, known: Journaled) -> None:
    """A patient neither stored nor created by a journaled message needs a birth date."""
    if not known.has_person(p.person_id):
        new_person_rows(p)  # raises `Rejected` as the loader will
