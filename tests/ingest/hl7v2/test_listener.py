"""The MLLP listener on loopback: ACK semantics, reliability, frame limit, TLS, shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import ssl
import subprocess
import tracemalloc

import pytest

from medmine.errors import ConfigError
from medmine.ingest import hl7v2
from medmine.ingest.hl7v2._mllp import frame
from medmine.warehouse import Warehouse

from .feed import malformed, oru, quarantined, running, with_bad_obx


@pytest.fixture
def fwh(tmp_path):
    """A file warehouse (the listener's real setting)."""
    w = Warehouse(tmp_path / "live.duckdb")
    yield w
    w.close()


def _segments(ack: hl7v2.Ack) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for seg in ack.raw.split("\r"):
        if seg:
            out.setdefault(seg[:3], []).append(seg)
    return out


def test_ack_codes_say_what_happened(fwh):
    async def scenario():
        async with running(fwh) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            return [
                await c.send(oru(1)),
                await c.send(quarantined(2)),
                await c.send(malformed(3)),
                await c.send(oru(4).replace(b"|M4|", b"||")),  # no MSH-10
                await c.send(with_bad_obx(5)),
                await c.send(oru(1)),  # a resend of an acknowledged message
                await c.send(oru(8).replace(b"ORU^R01^ORU_R01", b"SIU^S12")),  # not mapped
            ]

    aa, ae, ar, ar_no_id, aa_warn, again, skipped = asyncio.run(scenario())
    assert (aa.code, aa.control_id, aa.text) == ("AA", "M1", "")
    msh = _segments(aa)["MSH"][0].split("|")
    # sending and receiving swapped, ACK^R01^ACK, version echoed
    assert msh[2:6] == ["MEDMINE", "HOSP", "LIS", "LAB"] and msh[8] == "ACK^R01^ACK"
    assert msh[11] == "2.5.1" and "ERR" not in _segments(aa)
    assert (ae.code, ae.control_id, ae.text) == ("AE", "M2", "PID-7 birth date is not a valid date")
    assert _segments(ae)["ERR"] == [
        "ERR|||102^Data type error^HL70357|E||||PID-7 birth date is not a valid date"
    ]
    assert (ar.code, ar.control_id) == ("AR", "")
    assert ar.text == "frame holds no HL7 message (no MSH segment)"
    assert (ar_no_id.code, ar_no_id.text) == ("AR", "MSH-10 message control id is empty")
    assert aa_warn.code == "AA" and _segments(aa_warn)["ERR"] == [
        "ERR||OBX^2|102^Data type error^HL70357|W||||OBX 2: OBX-5 value is not a number (OBX-2 NM)"
    ]
    assert again.code == "AA"  # idempotent: nothing added twice
    assert (skipped.code, skipped.text) == ("AA", "not loaded by design (not_mapped)")
    assert fwh.count("measurement") == 2 + 1
    q = fwh.con.execute(
        "SELECT resource_type, reason_code FROM mm_quarantine ORDER BY quarantine_id"
    ).fetchall()
    assert q == [
        ("ORU^R01", "invalid_date"),
        ("Message", "malformed"),
        ("ORU^R01", "missing_field"),
        ("Segment", "invalid_value"),
    ]


def test_ack_uses_the_message_delimiters_and_old_err_layout(fwh):
    msg = oru(7).replace(b"|", b"*").replace(b"^", b":").replace(b"2.5.1", b"2.3")
    msg = msg.replace(b"19700101", b"19700100")

    async def scenario():
        async with running(fwh) as lis, hl7v2.MllpClient("127.0.0.1", lis.port) as c:
            return await c.send(msg)

    ack = asyncio.run(scenario())
    assert ack.raw.startswith("MSH*:~\\&*MEDMINE*HOSP*LIS*LAB*")
    assert "\rMSA*AE*M7*PID-7 birth date is not a valid date\r" in ack.raw
    assert "\rERR*:::102&Data type error&HL70357\r" in ack.raw  # v2.3: ERR-1 (ELD)


#: Messages per sender in the reliability run: 40 (2,000 messages) in the default suite, 200
#: (10,000) with MEDMINE_HL7_FULL=1, as the issue states it.
PER_SENDER = 200 if os.environ.get("MEDMINE_HL7_FULL") == "1" else 40


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["journal", "load"])
def test_thousands_of_messages_from_concurrent_senders_reconcile(fwh, mode):
    """2,000 messages (10,000 with MEDMINE_HL7_FULL=1) from 50 senders, 3% malformed and 3%
    quarantined: every ACK matches its message and the loads' counts reconcile, with either
    acknowledgement contract.

    SLOW: about 1.3 ms of listener CPU per message in either mode.
    """
    senders, per_sender = 50, PER_SENDER
    rng = random.Random(14)
    plan = {}
    for s in range(senders):
        for i in range(per_sender):
            n = s * per_sender + i
            roll = rng.random()
            kind = "AR" if roll < 0.03 else "AE" if roll < 0.06 else "AA"
            plan[n] = kind

    async def sender(port, s, acks):
        async with hl7v2.MllpClient("127.0.0.1", port, timeout=120) as c:
            for i in range(per_sender):
                n = s * per_sender + i
                make = {"AA": oru, "AE": quarantined, "AR": malformed}[plan[n]]
                acks[n] = await c.send(make(n))

    async def scenario():
        acks = {}
        async with running(fwh, ack_after=mode) as lis:
            await asyncio.gather(*(sender(lis.port, s, acks) for s in range(senders)))
        return acks, lis.stats

    acks, stats = asyncio.run(scenario())
    total = senders * per_sender
    assert len(acks) == total
    assert {n: a.code for n, a in acks.items()} == plan
    good = sum(1 for k in plan.values() if k == "AA")
    bad = total - good
    assert stats.acks == {k: sum(1 for v in plan.values() if v == k) for k in ("AA", "AE", "AR")}
    # counts reconcile: every message loaded or quarantined, and the loads say so
    assert fwh.count("measurement") == 2 * good
    assert fwh.count("mm_quarantine") == bad
    totals = {"read": 0, "loaded": 0, "skipped": 0, "quarantined": 0}
    for (detail,) in fwh.con.execute(
        "SELECT detail FROM mm_load WHERE status = 'committed'"
    ).fetchall():
        for rtype, c in json.loads(detail)["counts"].items():
            if rtype != "Patient":  # a patient is counted once per transaction it appears in
                for k in totals:
                    totals[k] += c[k]
    assert totals == {"read": total, "loaded": good, "skipped": 0, "quarantined": bad}
    if mode == "load":
        assert stats.commits < total // 4  # group commit happened
    else:
        assert stats.applied == total and stats.late_quarantined == 0
        assert stats.drain_commits < total // 20  # the loader's batches
        assert stats.syncs < total  # several messages per journal sync


def test_sender_disconnecting_mid_frame_loses_nothing_acknowledged(fwh):
    async def scenario():
        async with running(fwh) as lis:
            async with hl7v2.MllpClient("127.0.0.1", lis.port) as c:
                first = await c.send(oru(1))
                half = frame(oru(2))[:60]
                await c.send_raw(half)  # the connection drops inside message 2
            async with hl7v2.MllpClient("127.0.0.1", lis.port) as c:
                third = await c.send(oru(3))
            return first, third, lis

    first, third, lis = asyncio.run(scenario())
    assert first.code == third.code == "AA"
    ids = fwh.con.execute(
        "SELECT DISTINCT source_key FROM mm_source_record WHERE table_name = 'measurement' "
        "ORDER BY 1"
    ).fetchall()
    assert ids == [("MSH-10 M1",), ("MSH-10 M3",)]
    assert lis.stats.messages == 2 and lis.stats.connections == 2


def test_oversized_frame_is_refused_without_holding_it(fwh):
    limit = 64 * 1024
    head, tail = oru(9).split(b"^Test 1^LN||", 1)
    chunk = b"9" * 65536
    size = len(head) + len(b"^Test 1^LN||") + 128 * len(chunk) + len(tail)  # 8 MB

    async def scenario():
        async with running(fwh, max_frame_bytes=limit) as lis:
            async with hl7v2.MllpClient("127.0.0.1", lis.port, timeout=60) as c:
                tracemalloc.start()
                await c.send_raw(b"\x0b" + head + b"^Test 1^LN||")
                for _ in range(128):  # streamed, so the sender holds 64 KB at a time
                    await c.send_raw(chunk)
                await c.send_raw(tail + b"\x1c\r")
                refused = await c.receive()
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                after = await c.send(oru(10))  # the connection goes on
            return refused, after, peak

    refused, after, peak = asyncio.run(scenario())
    assert (refused.code, refused.control_id) == ("AR", "M9")
    assert refused.text.startswith(f"frame of {size} bytes exceeds the limit of {limit}")
    assert after.code == "AA"
    assert peak < 1024 * 1024  # the whole process, listener included, stayed under 1 MB
    row = fwh.con.execute("SELECT reason_code, length(record) FROM mm_quarantine").fetchone()
    assert row[0] == "too_large" and row[1] <= 4096


def test_stop_finishes_the_messages_in_hand(fwh):
    async def scenario():
        acked = []

        async def sender(port, s):
            async with hl7v2.MllpClient("127.0.0.1", port) as c:
                for i in range(1000):
                    try:
                        ack = await c.send(oru(s * 1000 + i))
                    except (ConnectionError, asyncio.IncompleteReadError):
                        return
                    acked.append(ack.control_id)

        async with running(fwh) as lis:
            tasks = [asyncio.create_task(sender(lis.port, s)) for s in range(4)]
            while len(acked) < 40:
                await asyncio.sleep(0.01)
            lis.stop()
            await asyncio.gather(*tasks)
        return acked

    acked = asyncio.run(scenario())
    loaded = {
        k
        for (k,) in fwh.con.execute(
            "SELECT DISTINCT source_key FROM mm_source_record WHERE table_name = 'measurement'"
        ).fetchall()
    }
    assert {f"MSH-10 {a}" for a in acked} == loaded  # every ACK was committed, nothing else
    assert 40 <= len(acked) < 4000


def test_bad_settings_are_refused(fwh):
    for kwargs, msg in [
        ({"max_batch": 0}, "max_batch must be at least 1"),
        ({"max_frame_bytes": 10}, "max_frame_bytes must be at least 1024"),
        ({"tls_cert": "c.pem"}, "TLS needs both"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            hl7v2.ListenerConfig(**kwargs).check()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return d / "cert.pem", d / "key.pem"


def test_tls(fwh, certs):
    cert, key = certs

    async def scenario():
        async with running(fwh, tls_cert=cert, tls_key=key) as lis:
            ctx = hl7v2.client_ssl_context(cert)
            async with hl7v2.MllpClient("127.0.0.1", lis.port, ssl_context=ctx) as c:
                ok = await c.send(oru(1))
            plain = hl7v2.MllpClient("127.0.0.1", lis.port, timeout=5)
            await plain.connect()
            with pytest.raises((ConnectionError, asyncio.IncompleteReadError, TimeoutError)):
                await plain.send(oru(2))
            await plain.close()
            untrusted = ssl.create_default_context()  # system CAs: the self-signed cert fails
            with pytest.raises(ConfigError):
                await hl7v2.MllpClient("127.0.0.1", lis.port, ssl_context=untrusted).connect()
            return ok

    assert asyncio.run(scenario()).code == "AA"
    assert fwh.count("measurement") == 2
