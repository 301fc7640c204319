"""Messages and a running listener for the listener's tests and benchmark."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from medmine.ingest import hl7v2
from medmine.warehouse import Warehouse


def oru(n: int, patient: int | None = None, obx: int = 2) -> bytes:
    """A valid ORU^R01 with control id ``M<n>`` and `obx` numeric results."""
    p = n % 97 if patient is None else patient
    segs = [
        f"MSH|^~\\&|LIS|LAB|MEDMINE|HOSP|20240101{n % 24:02d}0000||ORU^R01^ORU_R01|M{n}|P|2.5.1",
        f"PID|1||P{p}^^^HOSP^MR||Doe{p}^Jo||19700101|F",
        f"OBR|1|||24323-8^Panel^LN|||20240101{n % 24:02d}0000",
    ]
    segs += [f"OBX|{k}|NM|{1000 + k}-{k}^Test {k}^LN||{n % 50 + k}.5|mg/dL^^UCUM|1-99|||F"
             for k in range(1, obx + 1)]  # fmt: skip
    return "\r".join(segs).encode() + b"\r"


def quarantined(n: int) -> bytes:
    """A parseable message that is quarantined (impossible birth date): answered AE."""
    return oru(n).replace(b"19700101", b"19701399")


def malformed(n: int) -> bytes:
    """Not an HL7 message (answered AR)."""
    return f"this is not HL7 {n}\r".encode()


def with_bad_obx(n: int) -> bytes:
    """A message whose second OBX is not a number: AA with an ERR of severity W."""
    return oru(n).replace(f"|{n % 50 + 2}.5|".encode(), b"|n/a|")


@contextlib.asynccontextmanager
async def running(
    wh: Warehouse, **config: object
) -> AsyncIterator[hl7v2.Listener]:  # fmt: skip
    """A listener on a free loopback port, stopped (gracefully) on exit."""
    lis = hl7v2.Listener(wh, hl7v2.ListenerConfig(port=0, **config))  # type: ignore[arg-type]
    task = asyncio.create_task(lis.serve())
    started = asyncio.create_task(lis.started.wait())
    done, _ = await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:  # failed to start
        started.cancel()
        await task
    try:
        yield lis
    finally:
        lis.stop()
        await task
