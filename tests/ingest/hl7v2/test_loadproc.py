"""Journal mode's loader in its own process: it holds the warehouse while the listener runs,
hands it back when it stops, and a loader killed mid-run loses nothing acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import pytest

from medmine.errors import WarehouseError
from medmine.ingest import hl7v2
from medmine.ingest.hl7v2._drain import JournalLoader
from medmine.ingest.hl7v2._memory import Committed
from medmine.warehouse import Warehouse, stable_id

from .feed import oru, running


def test_the_loader_runs_in_a_child_and_hands_the_warehouse_back(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")

    async def scenario():
        async with running(wh) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            child = lis.pipeline.loader._proc
            assert lis.pipeline.separate_process and child.is_alive()
            assert child.pid != os.getpid()
            codes = [(await c.send(oru(n))).code for n in range(20)]
        return codes, lis, child

    codes, lis, child = asyncio.run(scenario())
    assert codes == ["AA"] * 20 and not child.is_alive() and child.exitcode == 0
    assert lis.stats.applied == 20 and wh.count("measurement") == 40  # the caller's con again


def test_a_file_held_by_another_connection_falls_back_to_a_loader_thread(tmp_path):
    path = tmp_path / "w.duckdb"
    wh, other = Warehouse(path), Warehouse(path)  # two connections of this process

    async def scenario():
        async with running(wh) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            assert not lis.pipeline.separate_process
            return (await c.send(oru(1))).code

    assert asyncio.run(scenario()) == "AA" and other.count("measurement") == 2
    with pytest.raises(WarehouseError, match="loader"):  # unless the process is demanded
        asyncio.run(scenario_demanding_process(wh))


async def scenario_demanding_process(wh):
    async with running(wh, loader="process"):
        pass


def test_a_killed_loader_stops_the_listener_and_the_restart_loads_each_ack_once(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")

    acked: list[str] = []

    async def first():
        async with (
            running(wh, drain_wait_ms=0) as lis,
            hl7v2.MllpClient("127.0.0.1", lis.port) as c,
        ):
            acked.extend([(await c.send(oru(n))).code for n in range(10)])
            os.kill(lis.pipeline.loader._proc.pid, signal.SIGKILL)
            lis.pipeline.loader._proc.join()
            # acknowledged once journaled, unless the listener already saw the loader die and
            # stopped: then it may be journaled yet unanswered (the sender would resend)
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                acked.append((await c.send(oru(10))).code)
        # (leaving stops the listener: it raises the loader's failure)

    with pytest.raises(WarehouseError, match="loader process stopped"):
        asyncio.run(first())
    assert acked[:10] == ["AA"] * 10 and set(acked) == {"AA"}
    assert os.path.isdir(f"{tmp_path / 'w.duckdb'}.journal")

    async def second():
        async with running(wh) as lis:
            return lis

    lis = asyncio.run(second())
    assert lis.stats.replayed >= 1
    # every acknowledged message is there (and message 10 at most once, answered or not)
    ids = [stable_id("hl7v2:Measurement", f"LIS|LAB|M{n}|1|1") for n in range(len(acked))]
    there = wh.con.execute(
        "SELECT count(*) FROM measurement WHERE measurement_id IN (SELECT unnest(?))", [ids]
    ).fetchone()
    assert there == (len(acked),) and wh.count("measurement") in (2 * len(acked), 2 * 11)
    jid = (tmp_path / "w.duckdb.journal" / "journal.id").read_text().strip()
    ranges = JournalLoader(wh, jid, Committed(), 1 << 20).applied_ranges()
    assert ranges[0][0] == 1 and ranges[-1][1] >= len(acked)
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))
