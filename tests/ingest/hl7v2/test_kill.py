"""kill -9 of the listener mid-stream: every acknowledged message survives, none loads twice."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys

import pytest

from medmine.ingest import hl7v2
from medmine.warehouse import Warehouse

from .feed import oru

N, SENDERS = 400, 4


def _start(warehouse):
    proc = subprocess.Popen(
        [sys.executable, "-m", "medmine", "listen", "hl7", "--port", "0", "--warehouse",
         str(warehouse)],
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
    proc, port = _start(wh_path)
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
    proc, port = _start(wh_path)
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
