"""Journal mode: ACK after a durable journal append, the loader applies each entry once."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.errors import ConfigError, IntegrityError
from medmine.ingest import hl7v2
from medmine.ingest.hl7v2 import _drain, _journal
from medmine.ingest.hl7v2._journal import Entry, Journal, read_entries
from medmine.ingest.hl7v2._memory import Committed
from medmine.warehouse import Warehouse

from ...conftest import TEST_DATA
from .feed import malformed, oru, quarantined, running

FEEDS = TEST_DATA / "hl7v2_feeds"


def _entry(n: int) -> Entry:
    data = oru(n)
    return Entry(0, "test", n, "loaded", "", "", data, len(data))


def _write(journal: Journal, numbers: range) -> list[int]:
    seqs = [journal.append(_entry(n)) for n in numbers]
    deadline = time.monotonic() + 10
    while journal.durable_seq < seqs[-1] and time.monotonic() < deadline:
        time.sleep(0.001)
    return seqs


# ---- the journal file ----
def test_entries_survive_a_reopen_and_only_unapplied_ones_replay(tmp_path):
    j = Journal(tmp_path / "j")
    assert j.open(applied=0) == []
    seqs = _write(j, range(10))
    assert seqs == list(range(1, 11)) and j.durable_seq == 10
    j.close()
    again = Journal(tmp_path / "j")
    replay = again.open(applied=4)
    assert [e.seq for e in replay] == list(range(5, 11))
    assert [e.data for e in replay] == [oru(n) for n in range(4, 10)]
    assert again.append(_entry(99)) == 11  # numbering goes on
    again.close()


def test_a_torn_tail_is_cut_and_a_damaged_middle_stops_the_start(tmp_path):
    j = Journal(tmp_path / "j")
    j.open(applied=0)
    _write(j, range(5))
    j.close()
    (seg,) = sorted((tmp_path / "j").glob("*.wal"))
    whole = seg.read_bytes()
    seg.write_bytes(whole + whole[:30])  # a record cut short by the crash (never acknowledged)
    j2 = Journal(tmp_path / "j")
    assert [e.seq for e in j2.open(applied=0)] == [1, 2, 3, 4, 5]
    assert seg.read_bytes() == whole  # the torn bytes are gone
    _write(j2, range(5, 7))  # a second segment
    j2.close()
    damaged = bytearray(whole)
    damaged[len(whole) // 2] ^= 0xFF  # a flipped byte inside an older segment: corruption
    seg.write_bytes(bytes(damaged))
    with pytest.raises(IntegrityError, match="is damaged at byte"):
        Journal(tmp_path / "j").open(applied=0)


def test_segments_rotate_and_applied_ones_are_deleted(tmp_path):
    j = Journal(tmp_path / "j", segment_bytes=4096, flushers=2)
    j.open(applied=0)
    for n in range(40):  # one at a time, so segments fill up and rotate
        _write(j, range(n, n + 1))
    files = j.segment_files()
    assert len(files) >= 4
    assert j.checkpoint(applied=40) == len(files) - 1  # the current segment stays
    assert j.segment_files() == files[-1:]
    j.close()
    # the folder emptied of applied entries: numbering continues above the checkpoint
    j2 = Journal(tmp_path / "j")
    assert j2.open(applied=40) == []
    assert j2.append(_entry(1)) == 41
    j2.close()
    assert [e.seq for e in read_entries(tmp_path / "j")] == [41]


def test_concurrent_appends_are_numbered_and_written_in_order(tmp_path):
    j = Journal(tmp_path / "j", flushers=4)
    j.open(applied=0)
    _write(j, range(500))
    j.close()
    got = read_entries(tmp_path / "j")
    assert [e.seq for e in got] == list(range(1, 501))
    assert [e.number for e in got] == list(range(500))
    assert j.syncs < 500  # grouped: fewer syncs than records


# ---- the loader ----
def test_each_entry_is_applied_once_with_its_checkpoint(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path / "w.duckdb")
    j = Journal(tmp_path / "j")
    jid = j.read_id()
    loader = _drain.JournalLoader(wh, jid, Committed(), 1 << 20)
    j.open(applied=loader.checkpoint())
    _write(j, range(6))
    j.close()
    entries = read_entries(tmp_path / "j")
    loader.apply(entries[:4])
    assert loader.checkpoint() == 4 and wh.count("measurement") == 8

    # the checkpoint cannot be written: the rows roll back with it, nothing is half applied
    def broken(self, *args):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(_drain.LoadSession, "register_file", broken)
    with pytest.raises(RuntimeError):
        loader.apply(entries[4:])
    assert loader.checkpoint() == 4 and wh.count("measurement") == 8
    monkeypatch.undo()
    replay = Journal(tmp_path / "j").open(applied=loader.checkpoint())
    assert [e.seq for e in replay] == [5, 6]
    loader.apply(replay)
    assert loader.checkpoint() == 6 and wh.count("measurement") == 12
    assert loader.applied_ranges() == [(1, 4), (5, 6)]


# ---- the listener in journal mode ----
def _send_all(wh, messages, **config):
    async def scenario():
        async with running(wh, **config) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            return [await c.send(m) for m in messages], lis

    return asyncio.run(scenario())


def test_journal_mode_leaves_what_load_mode_leaves_and_acks_the_same(tmp_path):
    """The fixture feeds (ADT admit to cancel, ORU, bad segments, bad messages) one by one:
    the warehouse equals load mode's, and so does every ACK code and text (also the skips that
    need the warehouse: an A11/A13 with nothing to cancel)."""
    from .test_group_commit import TABLES, _rows

    files = sorted(FEEDS.glob("*.hl7"))
    messages = [m for _, m in hl7v2.read_message_files(files)]
    messages += [quarantined(900), malformed(901), b"MSH|^~\\&|A|B|C|D|2024||ORU^R01||P|2.5\r"]
    by_journal, lis = _send_all(Warehouse(tmp_path / "j.duckdb"), messages)
    by_load, _ = _send_all(Warehouse(tmp_path / "l.duckdb"), messages, ack_after="load")
    assert [a.code for a in by_journal] == [a.code for a in by_load]
    assert [a.text for a in by_journal] == [a.text for a in by_load]
    assert "not loaded by design (nothing_to_cancel)" in {a.text for a in by_journal}

    def errs(acks):
        return [[s for s in a.raw.split("\r") if s.startswith("ERR")] for a in acks]

    assert errs(by_journal) == errs(by_load) and any(errs(by_journal))
    assert {a.code for a in by_journal} == {"AA", "AE", "AR"}
    assert lis.stats.applied == len(messages) and lis.stats.late_quarantined == 0
    journaled, loaded = Warehouse(tmp_path / "j.duckdb"), Warehouse(tmp_path / "l.duckdb")
    for table in (*TABLES, "mm_quarantine"):
        if table == "mm_quarantine":
            q = "SELECT resource_type, reason_code, message FROM mm_quarantine ORDER BY 1, 2, 3"
            assert journaled.con.execute(q).fetchall() == loaded.con.execute(q).fetchall()
        else:
            assert _rows(journaled, table) == _rows(loaded, table), table


def test_backlog_is_bounded_by_stopping_reads(tmp_path, monkeypatch):
    real = _drain.JournalLoader.apply
    seen: list[int] = []

    def slow(self, entries):
        time.sleep(0.05)  # a slow warehouse
        return real(self, entries)

    monkeypatch.setattr(_drain.JournalLoader, "apply", slow)
    wh = Warehouse(tmp_path / "w.duckdb")
    senders, each, bound = 4, 25, 10

    async def sender(lis, s):
        async with hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            for i in range(each):
                assert (await c.send(oru(s * each + i))).code == "AA"
                seen.append(lis.pipeline.backlog())

    async def scenario():
        # (the slow loader is patched in this process: the loader thread, not a child)
        async with running(wh, max_backlog=bound, drain_batch=5, loader="thread") as lis:
            await asyncio.gather(*(sender(lis, s) for s in range(senders)))
        return lis

    lis = asyncio.run(scenario())
    assert lis.stats.backpressure_waits > 0
    assert max(seen) <= bound + senders  # each connection holds at most one message past it
    assert lis.stats.applied == senders * each and wh.count("measurement") == 2 * senders * each


def test_a_loader_waiting_for_a_bigger_batch_does_not_stall_a_full_backlog(tmp_path):
    """Batches of up to 1,000 with a 60 s wait, but a backlog bound of 5: at the bound the
    loader must start at once (nothing more can arrive), or every 5 messages would take 60 s.
    """
    wh = Warehouse(tmp_path / "w.duckdb")

    async def scenario():
        config = {"max_backlog": 5, "drain_batch": 1000, "drain_wait_ms": 60_000}
        async with running(wh, **config) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            codes = [(await c.send(oru(n))).code for n in range(12)]
        return codes, lis

    codes, lis = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert codes == ["AA"] * 12 and lis.stats.drain_commits >= 2
    assert wh.count("measurement") == 24


def test_a_journal_that_cannot_sync_acknowledges_nothing(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path / "w.duckdb")

    def fail(fd):
        raise OSError(5, "Input/output error")

    async def scenario():
        async with running(wh) as lis, hl7v2.MllpClient("127.0.0.1", lis.port, timeout=10) as c:
            ok = await c.send(oru(1))
            monkeypatch.setattr(_journal.os, "fdatasync", fail)
            with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
                await c.send(oru(2))
            return ok

    with pytest.raises(OSError, match="Input/output error"):
        asyncio.run(scenario())
    monkeypatch.undo()
    assert wh.count("measurement") == 2  # M1 (acknowledged) is there; M2 was never answered
    assert os.path.isdir(f"{tmp_path / 'w.duckdb'}.journal")


def test_a_journal_serves_one_listener_at_a_time(tmp_path):
    shared = tmp_path / "shared.journal"

    async def scenario():
        async with running(Warehouse(tmp_path / "a.duckdb"), journal_dir=shared):
            with pytest.raises(ConfigError, match="is in use by another listener"):
                async with running(Warehouse(tmp_path / "b.duckdb"), journal_dir=shared):
                    pass
        async with running(Warehouse(tmp_path / "b.duckdb"), journal_dir=shared) as lis:
            return lis.port  # free again once the first one stopped

    assert asyncio.run(scenario()) > 0


def test_applied_segments_are_deleted_while_the_listener_runs(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    journal = tmp_path / "j"

    async def scenario():
        config = {"journal_dir": journal, "journal_segment_bytes": 4096, "drain_wait_ms": 0}
        async with running(wh, **config) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            for n in range(60):  # about 30 KB of journal: several 4 KB segments
                assert (await c.send(oru(n))).code == "AA"
        return lis

    lis = asyncio.run(scenario())
    assert lis.stats.applied == 60 and wh.count("measurement") == 120
    left = sorted(journal.glob("*.wal"))
    assert len(left) <= 2  # the last segment (and one not yet checkpointed at most)
    assert int(left[0].stem) > 1  # earlier segments were written, applied and deleted
    assert [e.seq for e in read_entries(journal)][-1] == 60


@settings(max_examples=60, deadline=None)
@given(
    datas=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    texts=st.lists(st.text(max_size=20), min_size=1, max_size=8),
    cut=st.floats(0, 1),
)
def test_a_crash_anywhere_in_a_write_leaves_exactly_the_whole_records(datas, texts, cut):
    """Records with any bytes and any text, the file cut at any byte (a crash mid-write):
    recovery returns exactly the records written whole, and cuts the file back to them."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "j"
        folder.mkdir()
        entries = [
            Entry(i + 1, texts[i % len(texts)], i, "quarantined", "r", texts[-1], d, len(d))
            for i, d in enumerate(datas)
        ]
        records = [e.encode() for e in entries]
        whole = b"".join(records)
        size = int(cut * len(whole))
        (folder / f"{1:020d}.wal").write_bytes(whole[:size])
        ends = list(itertools.accumulate(len(r) for r in records))
        kept = sum(1 for end in ends if end <= size)
        j = Journal(folder)
        got = j.open(applied=0)
        j.close()
        assert [(e.seq, e.source, e.detail, e.data) for e in got] == [
            (e.seq, e.source, e.detail, e.data) for e in entries[:kept]
        ]
        assert j.next_seq == kept + 1
        left = sorted(folder.glob("*.wal"))
        assert b"".join(p.read_bytes() for p in left) == whole[: ends[kept - 1] if kept else 0]
