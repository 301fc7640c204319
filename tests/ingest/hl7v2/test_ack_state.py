"""Journal mode answers AE where loading will quarantine, also when it takes warehouse state.

A patient first seen without a birth date, a new visit without any start time and a discharge
before the stored admission depend on what earlier messages did, which the warehouse may not
hold yet when the ACK is sent: the network side keeps the patients and visits as of the last
journaled message (`Journaled`), so each ACK code (and text) equals load mode's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
import logging
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmine.ingest import hl7v2
from medmine.ingest._emit import SourceConcepts
from medmine.ingest.hl7v2 import _reader
from medmine.ingest.hl7v2._framing import iter_messages
from medmine.ingest.hl7v2._journal import Entry, Journal
from medmine.ingest.hl7v2._memory import Journaled
from medmine.ingest.hl7v2._mllp import Frame
from medmine.ingest.hl7v2._reader import Hl7Reader
from medmine.ingest.hl7v2._triage import triage
from medmine.warehouse import LoadSession, Warehouse

from .feed import oru, running


def adt(
    control: str,
    trigger: str,
    visit: str,
    *,
    mrn: str = "K-1",
    birth: str = "19600101",
    msh_time: str = "20240301080000",
    admit: str = "",
    discharge: str = "",
) -> bytes:
    """An ADT message for patient `mrn` and visit number `visit` at facility KLINIK."""
    pv1 = ["PV1", "1", "I"] + [""] * 16 + [f"{visit}^^^KLINIK^VN"] + [""] * 24
    pv1 += [admit, discharge]
    segs = [
        f"MSH|^~\\&|ADT|KLINIK|MEDMINE|KLINIK|{msh_time}||ADT^{trigger}|{control}|P|2.5.1",
        f"PID|1||{mrn}^^^KLINIK^MR||Roe^Rita||{birth}|F",
        "|".join(pv1),
    ]
    return "\r".join(segs).encode() + b"\r"


def _send(wh, messages, **config):
    async def scenario():
        async with running(wh, **config) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            return [await c.send(m) for m in messages], lis

    return asyncio.run(scenario())


NO_BIRTH = oru(5, patient=50).replace(b"||19700101|F", b"|||F")
#: an update for visit V9 with no admit time, no event time and no message time
NO_TIMES = adt("U1", "A08", "V9", msh_time="")
NO_START = "PV1-44 admit date/time and EVN-2/MSH-7 are empty"
BEFORE = "discharge date/time precedes the admission"


def test_state_outcomes_in_journal_mode_equal_load_mode(tmp_path):
    messages = [
        NO_BIRTH,  # a new patient without a birth date
        oru(1, patient=1),
        oru(2, patient=1).replace(b"||19700101|F", b"|||F"),  # known from a journaled message
        NO_TIMES,  # a new visit without any start time
        adt("A1", "A01", "V9", admit="20240301070000"),
        NO_TIMES,  # the visit admitted by the message before: an update
        adt("D1", "A03", "V9", discharge="20240201100000"),  # before the journaled admission
        adt("D2", "A03", "V9", discharge="20240305100000"),
        adt("C1", "A11", "V9"),  # the admission cancelled: the visit is gone
        adt("C2", "A13", "V9"),  # nothing to cancel
        NO_TIMES,  # a new visit again
        adt("D3", "A03", "V10", admit="20240310000000", discharge="20240309000000"),
    ]
    by_journal, lis = _send(Warehouse(tmp_path / "j.duckdb"), messages)
    by_load, _ = _send(Warehouse(tmp_path / "l.duckdb"), messages, ack_after="load")
    codes = ["AE", "AA", "AA", "AE", "AA", "AA", "AE", "AA", "AA", "AA", "AE", "AE"]
    assert [a.code for a in by_load] == codes
    assert [a.code for a in by_journal] == codes
    assert [a.text for a in by_journal] == [a.text for a in by_load]
    assert by_journal[3].text == NO_START and by_journal[6].text == BEFORE
    assert by_journal[9].text == "not loaded by design (nothing_to_cancel)"
    assert lis.stats.late_quarantined == 0 and lis.stats.applied == len(messages)
    q = "SELECT resource_type, reason_code, message FROM mm_quarantine ORDER BY ALL"
    journaled, loaded = Warehouse(tmp_path / "j.duckdb"), Warehouse(tmp_path / "l.duckdb")
    assert journaled.con.execute(q).fetchall() == loaded.con.execute(q).fetchall()
    assert len(journaled.con.execute(q).fetchall()) == 5


def test_state_from_an_earlier_run_comes_from_the_warehouse(tmp_path):
    """A second listener on the same warehouse: the admission and the patient it stored count
    (read once at start), and a cancelled visit in the warehouse does not."""
    wh = Warehouse(tmp_path / "w.duckdb")
    first = [adt("A1", "A01", "V7", admit="20240301070000"), oru(3, patient=3),
             adt("A2", "A01", "V8", admit="20240301070000"), adt("C1", "A11", "V8")]  # fmt: skip
    acks, _ = _send(wh, first)
    assert [a.code for a in acks] == ["AA"] * 4
    second = [
        adt("D1", "A03", "V7", discharge="20240201100000"),
        oru(4, patient=3).replace(b"||19700101|F", b"|||F"),
        adt("U1", "A08", "V7", msh_time=""),
        adt("U2", "A08", "V8", msh_time=""),  # V8 was cancelled: a new visit, no start
    ]
    acks, lis = _send(wh, second)
    assert [(a.code, a.text) for a in acks] == [("AE", BEFORE), ("AA", ""), ("AA", ""),
                                                  ("AE", NO_START)]  # fmt: skip
    assert lis.stats.late_quarantined == 0


def test_entries_the_warehouse_lacks_at_start_count_before_new_messages(tmp_path):
    """An admission journaled (and acknowledged) but not loaded before a crash: after the
    restart a discharge before it is answered AE, although the loader may not have replayed
    the admission yet."""
    wh = Warehouse(tmp_path / "w.duckdb")
    folder = tmp_path / "w.duckdb.journal"
    j = Journal(folder)
    j.read_id()
    j.open(applied=0)
    data = adt("A1", "A01", "V5", admit="20240301070000")
    seq = j.append(Entry(0, "mllp:test", 1, "loaded", "", "", data, len(data)))
    deadline = time.monotonic() + 10
    while j.durable_seq < seq and time.monotonic() < deadline:
        time.sleep(0.001)
    j.close()
    acks, lis = _send(wh, [adt("D1", "A03", "V5", discharge="20240201100000")])
    assert [(a.code, a.text) for a in acks] == [("AE", BEFORE)]
    assert lis.stats.replayed == 1 and wh.count("visit_occurrence") == 1


def test_an_internal_error_after_aa_is_kept_counted_logged_and_alerted(tmp_path, monkeypatch,
                                                                        caplog):  # fmt: skip
    """A fault while loading cannot take back an AA: the message is kept in quarantine
    (``internal_error``), counted, logged without PHI, and status.json raises an alert."""
    real = _reader.Hl7Reader.message

    def message(self, source_file, raw, parsed=None):
        if "|M3|" in raw.text:
            raise RuntimeError("a bug, not bad data")
        return real(self, source_file, raw, parsed)

    monkeypatch.setattr(_reader.Hl7Reader, "message", message)
    wh = Warehouse(tmp_path / "w.duckdb")
    with caplog.at_level(logging.WARNING, logger="medmine.ingest.hl7v2"):
        # the fault is patched into this process: the loader runs as a thread here
        acks, lis = _send(wh, [oru(n, patient=n) for n in range(1, 6)], loader="thread")
    assert [a.code for a in acks] == ["AA"] * 5
    assert lis.stats.late_quarantined == 1 and lis.stats.late_reasons == {"internal_error": 1}
    kept = wh.con.execute("SELECT reason_code, record FROM mm_quarantine").fetchall()
    assert len(kept) == 1 and kept[0][0] == "internal_error" and "|M3|" in kept[0][1]
    assert wh.count("measurement") == 2 * 4
    status = json.loads((tmp_path / "w.duckdb.journal" / "status.json").read_text())
    assert status["late_quarantined"] == 1 and status["late_reasons"] == {"internal_error": 1}
    assert "answered AA were quarantined" in status["alert"]
    logged = [r.getMessage() for r in caplog.records if "answered AA" in r.getMessage()]
    assert len(logged) == 1 and "internal_error" in logged[0]
    assert "Doe3" not in logged[0] and "M3" not in logged[0]  # no name, no message content


def test_a_status_file_that_cannot_be_written_is_logged_once(tmp_path, caplog):
    wh = Warehouse(tmp_path / "w.duckdb")
    folder = tmp_path / "w.duckdb.journal"
    (folder / "status.json").mkdir(parents=True)  # a folder where the file should go
    with caplog.at_level(logging.WARNING, logger="medmine.ingest.hl7v2"):
        acks, lis = _send(wh, [oru(n) for n in range(3)], drain_wait_ms=0)
    assert [a.code for a in acks] == ["AA"] * 3 and wh.count("measurement") == 6
    logged = [r.getMessage() for r in caplog.records if "status file" in r.getMessage()]
    assert len(logged) == 1 and "status.json" in logged[0]


def test_journaled_state_folds_into_sorted_arrays_and_keeps_answers():
    known = Journaled(fold_at=4)
    t = dt.datetime(2024, 3, 1, 7)
    for i in range(10):
        known.add_person(100 - i)
        known.set_visit(1000 + i, t + dt.timedelta(hours=i))
    known.set_visit(1003, None)  # cancelled after being folded
    known.add_person(1)
    known.add_person(2)
    known.add_person(3)  # triggers a fold with the cancellation in it
    assert all(known.has_person(p) for p in (1, 2, 3, 91, 100)) and not known.has_person(90)
    assert known.visit_start(1003) is None and known.visit_start(1999) is None
    assert known.visit_start(1009) == t + dt.timedelta(hours=9)
    assert known.visit_start(1000) == t


# ---- the network side's checks predict the reader's outcome, message by message ----
_WH = Warehouse(":memory:")  # shared by the examples: each starts from what earlier ones left
_CONTROL = itertools.count(1)
_EVENT = st.tuples(
    st.sampled_from(["A01", "A04", "A02", "A03", "A08", "A11", "A13", "A05", "R01"]),
    st.sampled_from(["V1", "V2", ""]),
    st.sampled_from(["K-1", "K-2", "K-3"]),
    st.sampled_from(["19600101", ""]),
    st.sampled_from(["", "20240301070000", "20240310000000"]),
    st.sampled_from(["", "20240201000000", "20240305000000", "20240320000000"]),
    st.sampled_from(["20240301080000", ""]),
)


def _event_message(trigger, visit, mrn, birth, admit, discharge, msh_time) -> bytes:
    control = f"H{next(_CONTROL)}"
    if trigger == "R01":
        segs = [
            f"MSH|^~\\&|LIS|KLINIK|MEDMINE|KLINIK|{msh_time}||ORU^R01|{control}|P|2.5.1",
            f"PID|1||{mrn}^^^KLINIK^MR||Roe^Rita||{birth}|F",
            f"PV1|1|I|||||||||||||||||{visit}^^^KLINIK^VN" if visit else "PV1|1|I",
            "OBR|1|||24323-8^Panel^LN",
            "OBX|1|NM|2345-7^Glucose^LN||98|mg/dL^^UCUM|70-99|||F",
        ]
        return "\r".join(segs).encode() + b"\r"
    return adt(control, trigger, visit, mrn=mrn, birth=birth, msh_time=msh_time, admit=admit,
               discharge=discharge)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_EVENT, min_size=1, max_size=10))
def test_triage_predicts_the_loader_for_any_sequence_of_events(events):
    """Random admit/transfer/discharge/update/cancel/result sequences, with and without
    birth dates, admit, discharge and message times: for each message, the outcome the
    network side computes from `Journaled` (the warehouse read at start, plus the effect of
    each earlier message) equals what `Hl7Reader` does with it in one load."""
    known = Journaled()
    known.read(_WH.con)
    with LoadSession(_WH, "hl7v2") as s:
        reader = Hl7Reader(s, SourceConcepts(s))
        for n, event in enumerate(events, 1):
            data = _event_message(*event)
            predicted, effect = triage(Frame(data, len(data), False), 1 << 20, known)
            effect.apply(known)
            raw = next(iter_messages(io.BytesIO(data)))
            raw.number = n
            got = reader.message("test", raw)
            assert (predicted.status, predicted.reason, predicted.detail) == (
                got.status, got.reason, got.detail,
            ), event  # fmt: skip
        reader.finish()
