"""kill -9 of the listener mid-stream: every acknowledged message survives, none loads twice.

Both contracts: ``--ack-after load`` (the warehouse holds every acknowledged message right
after the crash) and ``--ack-after journal`` (the journal holds it; a restart replays it into
the warehouse, and a second kill -9 during that replay changes nothing).
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time

import pytest

from medmine.ingest import hl7v2
from medmine.ingest.hl7v2._drain import JournalLoader
from medmine.ingest.hl7v2._journal import read_entries
from medmine.ingest.hl7v2._memory import Committed
from medmine.warehouse import Warehouse

from .feed import oru

N, SENDERS = 400, 4


def _start(warehouse, mode="load"):
    proc = subprocess.Popen(
        [sys.executable, "-m", "medmine", "listen", "hl7", "--port", "0", "--warehouse",
         str(warehouse), "--ack-after", mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline()
    m = re.search(r"on 127\.0\.0\.1:(\d+),", line)
    assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, int(m.group(1))


async def _send(port, numbers, acked, kill_after=None, proc=None):
    """Send `numbers` over SENDERS connections; record acknowledged ones; stop on a dead server."""

    async def one(share):
        try:
            async with hl7v2.MllpClient("127.0.0.1", port, timeout=30) as c:
                for n in share:
                    ack = await c.send(oru(n))
                    assert ack.code == "AA"
                    acked.add(n)
                    if kill_after is not None and len(acked) >= kill_after and proc.poll() is None:
                        proc.send_signal(signal.SIGKILL)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            return  # the server died: the message in flight was not acknowledged

    await asyncio.gather(*(one(numbers[s::SENDERS]) for s in range(SENDERS)))


@pytest.mark.slow
def test_kill_9_mid_stream_then_restart(tmp_path):
    """SLOW: two server processes and 800 messages (11 s of CPU; 48 s at load average 20)."""
    wh_path = tmp_path / "live.duckdb"
    proc, port = _start(wh_path, "load")
    acked_before: set[int] = set()
    asyncio.run(_send(port, list(range(N)), acked_before, kill_after=N // 4, proc=proc))
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert N // 4 <= len(acked_before) < N  # killed mid-stream

    with Warehouse(wh_path, read_only=True) as wh:  # after the crash, before any resend
        keys = {k for (k,) in wh.con.execute(
            "SELECT DISTINCT source_key FROM mm_source_record WHERE table_name = 'measurement'"
        ).fetchall()}  # fmt: skip
    assert {f"MSH-10 M{n}" for n in acked_before} <= keys

    # restart; the senders resend everything (acknowledged or not): nothing loads twice
    proc, port = _start(wh_path, "load")
    acked_after: set[int] = set()
    asyncio.run(_send(port, list(range(N)), acked_after))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"{N} messages acknowledged (AA {N}, AE 0, AR 0)" in out
    assert acked_after == set(range(N))
    with Warehouse(wh_path, read_only=True) as wh:
        per_message = wh.con.execute(
            "SELECT source_key, count(*) FROM mm_source_record WHERE table_name = 'measurement' "
            "GROUP BY 1"
        ).fetchall()
        assert len(per_message) == N and {c for _, c in per_message} == {2}  # 2 OBX each
        assert wh.count("measurement") == 2 * N
        assert wh.con.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM person"
        ).fetchone() == (97, 97)


def _measurement_keys(wh_path):
    with Warehouse(wh_path, read_only=True) as wh:
        return wh.con.execute(
            "SELECT source_key, count(*) FROM mm_source_record WHERE table_name = 'measurement' "
            "GROUP BY 1"
        ).fetchall()


@pytest.mark.slow
def test_kill_9_in_journal_mode_then_replay(tmp_path):
    """SLOW: four server processes, two of them killed (about 15 s of CPU)."""
    wh_path = tmp_path / "live.duckdb"
    journal = tmp_path / "live.duckdb.journal"
    proc, port = _start(wh_path, "journal")
    acked: set[int] = set()
    asyncio.run(_send(port, list(range(N)), acked, kill_after=N // 4, proc=proc))
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert N // 4 <= len(acked) < N
    # every acknowledged message is in the journal, whatever the warehouse holds yet
    entries = read_entries(journal)
    assert {oru(n) for n in acked} <= {e.data for e in entries}
    last = entries[-1].seq

    # restart: the replay starts at once; kill -9 again in the middle of it
    proc, port = _start(wh_path, "journal")
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # restart, stop gracefully: the replay completes before the process exits
    proc, port = _start(wh_path, "journal")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    counts = dict(_measurement_keys(wh_path))
    assert {f"MSH-10 M{n}" for n in acked} <= set(counts)  # before any resend
    assert set(counts.values()) == {2}  # none twice
    with Warehouse(wh_path, read_only=True) as wh:
        jid = (journal / "journal.id").read_text().strip()
        ranges = JournalLoader(wh, jid, Committed(), 1 << 20).applied_ranges()
    # each journal entry applied exactly once: the ranges tile 1..last without overlap
    assert ranges[0][0] == 1 and ranges[-1][1] == last
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))

    # the senders resend everything: nothing loads twice
    proc, port = _start(wh_path, "journal")
    again: set[int] = set()
    asyncio.run(_send(port, list(range(N)), again))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert again == set(range(N))
    counts = dict(_measurement_keys(wh_path))
    assert len(counts) == N and set(counts.values()) == {2}
