"""The listener's ``load`` mode fast path (issue 14): group commit and what it remembers.

The listener remembers the patients, visits, codes and identifiers its committed transactions
read and wrote, instead of looking them up again. These tests make each message its own
transaction (``max_batch=1``), so every later message depends on that memory, and check that
the warehouse ends up exactly as the file loader leaves it; that a message failing inside a
group is retried alone without teaching the memory anything; and that the writer gathers the
active senders' messages into one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from medmine.ingest import hl7v2
from medmine.ingest.hl7v2 import _reader
from medmine.warehouse import Warehouse, stable_id
from medmine.warehouse.sql import ident

from ...conftest import TEST_DATA
from .feed import oru, running

FEEDS = TEST_DATA / "hl7v2_feeds"
#: Tables whose rows the feeds set; compared without load ids.
TABLES = ("person", "mm_person_identity", "visit_occurrence", "measurement", "death",
          "mm_identifier", "note", "mm_source_concept")  # fmt: skip


def _rows(wh: Warehouse, table: str) -> list[tuple]:
    cols = [r[0] for r in wh.con.execute(f"DESCRIBE {ident(table)}").fetchall()]
    sel = ", ".join(ident(c) for c in cols if c != "load_id")
    return sorted(wh.con.execute(f"SELECT {sel} FROM {ident(table)}").fetchall(), key=repr)


async def _send_one_by_one(wh: Warehouse, messages: list[bytes], **config) -> list[str]:
    async with running(wh, **config) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
        return [(await c.send(m)).code for m in messages]


def test_one_transaction_per_message_leaves_what_the_file_loader_leaves(tmp_path):
    """ADT admit/update/transfer/discharge/cancel and ORU across transactions, from memory."""
    files = sorted(FEEDS.glob("*.hl7"))
    messages = [m for _, m in hl7v2.read_message_files(files)]
    assert len(messages) > 25
    live = Warehouse(tmp_path / "live.duckdb")
    codes = asyncio.run(_send_one_by_one(live, messages, max_batch=1, ack_after="load"))
    assert len(codes) == len(messages) and set(codes) <= {"AA", "AE"}
    filed = Warehouse(":memory:")
    for f in files:  # one load per file, as a feed would have sent them
        hl7v2.load(f, filed)
    for table in TABLES:
        assert _rows(live, table) == _rows(filed, table), table
    assert live.count("visit_occurrence") > 5 and live.count("measurement") > 10


def test_later_transactions_see_what_earlier_ones_committed(tmp_path):
    """Admit, update, discharge, cancel discharge, cancel admit: one transaction each."""
    msh = "MSH|^~\\&|ADT|UMC|MEDMINE|HOSP|{t}||ADT^{ev}|C{n}|P|2.5.1"
    pid = "PID|1||MRN7^^^UMC^MR||Roe^{given}||19800202|F"
    pv1 = "PV1|1|{cls}|||||||||||||||||V7^^^UMC^VN|||||||||||||||||||||||||20240301080000|{end}"

    def adt(n, ev, given="Anne", cls="I", end=""):
        t = f"2024030{n}090000"
        segs = [msh.format(t=t, ev=ev, n=n), f"EVN|{ev}|{t}", pid.format(given=given),
                pv1.format(cls=cls, end=end)]  # fmt: skip
        return "\r".join(segs).encode() + b"\r"

    vid = stable_id("hl7v2:Visit", "UMC|MRN7|V7")
    wh = Warehouse(tmp_path / "live.duckdb")

    def state():
        visit = wh.con.execute(
            "SELECT visit_concept_id, visit_end_datetime FROM visit_occurrence "
            "WHERE visit_occurrence_id = ?",
            [vid],
        ).fetchall()
        (given,) = wh.con.execute("SELECT given_name FROM mm_person_identity").fetchone()
        return visit, given

    steps = [
        adt(1, "A01", given="Ann"),
        adt(2, "A08", cls="E"),  # update the patient and the visit class
        adt(3, "A03", end="20240303120000"),  # discharge
        adt(4, "A13"),  # cancel the discharge: open again
        adt(5, "A11"),  # cancel the admission: the visit goes
        adt(6, "A01", cls="O"),  # admitted again
    ]
    seen = []

    async def scenario():
        async with running(wh, max_batch=1, ack_after="load") as lis:
            async with hl7v2.MllpClient("127.0.0.1", lis.port) as c:
                for m in steps:
                    seen.append(((await c.send(m)).code, *state()))
            return lis

    lis = asyncio.run(scenario())
    assert seen == [
        ("AA", [(9201, None)], "Ann"),
        ("AA", [(9203, None)], "Anne"),  # the patient's name and the visit's class updated
        ("AA", [(9203, dt.datetime(2024, 3, 3, 12))], "Anne"),
        ("AA", [(9203, None)], "Anne"),
        ("AA", [], "Anne"),
        ("AA", [(9202, None)], "Anne"),
    ]
    assert lis.stats.commits == len(steps)
    assert lis.committed.visits[vid]["visit_concept_id"] == 9202


def test_a_message_failing_inside_a_group_is_retried_alone(tmp_path, monkeypatch):
    """An internal error in one message: the group is retried message by message, that one
    is answered AE (kept in quarantine) and the memory learns nothing from the failed try."""
    real = _reader.Hl7Reader.message

    def message(self, source_file, raw, parsed=None):
        if "|M3|" in raw.text:
            raise RuntimeError("a bug, not bad data")
        return real(self, source_file, raw, parsed)

    monkeypatch.setattr(_reader.Hl7Reader, "message", message)
    wh = Warehouse(tmp_path / "live.duckdb")

    async def scenario():
        async with running(wh, gather_ms=1000, ack_after="load") as lis:
            clients = [hl7v2.MllpClient("127.0.0.1", lis.port) for _ in range(4)]
            for c in clients:
                await c.connect()
            # each connection sends once, so the writer counts four active senders
            pairs = zip((10, 11, 12, 13), clients, strict=True)
            first = [await c.send(oru(n, patient=n)) for n, c in pairs]
            acks = await asyncio.gather(
                *(c.send(oru(n, patient=n)) for n, c in zip((1, 2, 3, 4), clients, strict=True))
            )
            for c in clients:
                await c.close()
            return first, acks, lis

    first, acks, lis = asyncio.run(scenario())
    assert [a.code for a in first] == ["AA"] * 4
    assert [a.code for a in acks] == ["AA", "AA", "AE", "AA"]
    assert acks[2].text == "the message could not be loaded (internal error); kept in quarantine"
    assert lis.stats.retried_alone == 1
    assert wh.con.execute("SELECT reason_code FROM mm_quarantine").fetchall() == [
        ("internal_error",)
    ]
    # M3's patient was never committed, so the memory must not claim it exists
    assert lis.committed.persons.get(stable_id("hl7v2:Patient", "P3")) is None
    assert wh.count("person") == 7 and wh.count("measurement") == 2 * 7


def test_the_writer_gathers_every_active_senders_message(tmp_path):
    wh = Warehouse(tmp_path / "live.duckdb")
    senders, each = 4, 10

    async def sender(port, s):
        async with hl7v2.MllpClient("127.0.0.1", port) as c:
            return [(await c.send(oru(s * each + i))).code for i in range(each)]

    async def scenario():
        async with running(wh, gather_ms=1000, ack_after="load") as lis:
            codes = await asyncio.gather(*(sender(lis.port, s) for s in range(senders)))
        return codes, lis.stats

    codes, stats = asyncio.run(scenario())
    assert codes == [["AA"] * each] * senders
    # without gathering, senders waiting for their ACKs fall into alternating half-groups
    # (about 20 commits here); with it, one commit per round after the first messages
    assert stats.commits <= each + senders
    assert wh.count("measurement") == 2 * senders * each


@pytest.mark.parametrize("gather_ms", [-1, 1001])
def test_gather_window_is_checked(gather_ms):
    from medmine.errors import ConfigError

    with pytest.raises(ConfigError, match="gather_ms must be in 0..1000"):
        hl7v2.ListenerConfig(gather_ms=gather_ms).check()


def test_new_rows_provenance_goes_in_without_a_conflict_check_only_when_safe(tmp_path):
    """The listener inserts new rows' provenance with a plain INSERT only when every
    provenance row has its row (checked at start); a row deleted behind its provenance turns
    that off, and a resend is then still counted as the duplicate it is."""
    wh = Warehouse(tmp_path / "live.duckdb")

    async def send(numbers):
        async with running(wh) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            codes = [(await c.send(oru(n))).code for n in numbers]
        return codes, lis

    codes, lis = asyncio.run(send([1, 2]))
    assert codes == ["AA", "AA"] and lis.provenance_follows_rows  # an empty warehouse
    codes, lis = asyncio.run(send([3, 1]))  # a new message and a resend
    assert codes == ["AA", "AA"] and lis.provenance_follows_rows
    assert wh.count("measurement") == 3 * 2
    # the first result of M1 deleted behind its provenance's back
    mid = stable_id("hl7v2:Measurement", "LIS|LAB|M1|1|1")
    assert wh.con.execute("DELETE FROM measurement WHERE measurement_id = ?", [mid]).fetchone()
    codes, lis = asyncio.run(send([1, 4]))  # M1 resent: its row comes back, nothing fails
    assert codes == ["AA", "AA"] and not lis.provenance_follows_rows
    assert wh.count("measurement") == 4 * 2
    assert wh.con.execute(
        "SELECT count(*) FROM mm_source_record WHERE table_name = 'measurement' AND row_id = ?",
        [mid],
    ).fetchone() == (1,)
