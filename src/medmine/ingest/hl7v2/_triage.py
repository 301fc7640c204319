"""What a message's acknowledgement can say before it is loaded: the warehouse-free checks.

In journal mode the listener acknowledges a message once it is in the durable journal, before
the warehouse has seen it. `triage` runs every check of `Hl7Reader.message` that needs no
warehouse state, with the same functions and in the same order, so it answers ``AR`` and
``AE`` exactly where the loader will refuse or quarantine, and gives the same segment
warnings. What it cannot know (whether the patient or visit already exists) is left to the
loader; where that turns a message into a quarantine, the ACK said ``AA`` and the message is
in ``mm_quarantine`` with its reason (counted as ``late_quarantined``; see
``docs/ingest-hl7v2.md``).
"""

from __future__ import annotations

import io

from medmine.ingest.hl7v2._ack import read_header
from medmine.ingest.hl7v2._adt import parse_pid, parse_pv1
from medmine.ingest.hl7v2._fields import Msg, parse_ts
from medmine.ingest.hl7v2._framing import RawMessage, iter_messages
from medmine.ingest.hl7v2._mllp import Frame
from medmine.ingest.hl7v2._reader import (
    ORU_TRIGGERS,
    PATIENT_TRIGGERS,
    SKIPPED_TRIGGERS,
    VISIT_ACTIONS,
    Outcome,
)
from medmine.ingest.hl7v2._results import read_results
from medmine.warehouse import Reason, Rejected


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


def triage(fr: Frame, max_frame_bytes: int) -> Outcome:
    """The outcome the loader will give this frame, as far as it does not depend on the
    warehouse (the parsed message rides along in `Outcome.msg` for the loader).
    """
    raw, problem = split_frame(fr, max_frame_bytes)
    if raw is None:
        assert problem is not None
        return Outcome("rejected", read_header(fr.data).get(10), *problem)
    try:
        msg = Msg(raw.text)
        msh = msg.segments[0]
        mtype, trigger = msg.get(msh, 9, 1, 1).upper(), msg.get(msh, 9, 1, 2).upper()
        control = msg.get(msh, 10)
    except Rejected as err:
        return Outcome("rejected", reason=str(err.reason), detail=err.detail)
    if mtype == "ADT" and not trigger:
        trigger = msg.get(msg.first("EVN"), 1).upper()
    if not mtype or not control:
        field = "MSH-9 message type" if not mtype else "MSH-10 message control id"
        return Outcome("rejected", control, str(Reason.MISSING_FIELD), f"{field} is empty", msg)
    out = Outcome("loaded", control_id=control, msg=msg)
    key = f"{msg.get(msh, 3)}|{msg.get(msh, 4)}|{control}"
    try:
        if mtype == "ADT" and trigger in SKIPPED_TRIGGERS:
            out.status, out.reason = "skipped", SKIPPED_TRIGGERS[trigger]
            return out
        if mtype == "ADT" and (trigger in VISIT_ACTIONS or trigger in PATIENT_TRIGGERS):
            p = parse_pid(msg)
            v = parse_pv1(msg, p.mrn)
            action = "patient" if trigger in PATIENT_TRIGGERS else VISIT_ACTIONS[trigger]
            no_key = "PV1-19 visit number and PV1-44 admit date/time are both empty"
            if action != "patient" and not v.key and trigger != "A08":
                raise Rejected(Reason.MISSING_FIELD, no_key)
            if action == "discharge" and (v.discharge or v.event_time) is None:
                raise Rejected(Reason.MISSING_FIELD, "PV1-45 discharge date/time is empty")
            results = read_results(msg, key, p.person_id, v.event_time, _NoConcepts())  # type: ignore[arg-type]
        elif mtype == "ORU" and trigger in ORU_TRIGGERS:
            p = parse_pid(msg)
            msg_time = parse_ts(msg.get(msh, 7), "MSH-7 message date/time")
            results = read_results(msg, key, p.person_id, msg_time, _NoConcepts())  # type: ignore[arg-type]
            if not results.n_obx:
                raise Rejected(Reason.MISSING_FIELD, "ORU message has no OBX segment")
            if not results.rows:
                out.status, out.reason = "skipped", "no_results"
        else:
            out.status, out.reason = "skipped", str(Reason.NOT_MAPPED)
            return out
    except Rejected as err:
        return Outcome("quarantined", control, str(err.reason), err.detail, msg)
    out.segment_errors = results.errors
    return out
