"""An MLLP client: send messages one at a time and read each acknowledgement (for testing and
replaying files into `medmine listen hl7` or any interface engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medmine.errors import ConfigError, SourceError
from medmine.ingest._emit import expand_paths
from medmine.ingest.hl7v2._ack import Ack, parse_ack
from medmine.ingest.hl7v2._framing import PATTERNS, iter_messages
from medmine.ingest.hl7v2._mllp import Frame, frame, read_frames

#: Largest acknowledgement accepted from a server.
MAX_ACK_BYTES = 1 << 20


class MllpClient:
    """One MLLP connection; `send` writes a message and waits for its ACK.

    Use as ``async with MllpClient(host, port) as c: ack = await c.send(message)``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.ssl_context, self.timeout = host, port, ssl_context, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._frames: AsyncIterator[Frame] | None = None

    async def __aenter__(self) -> MllpClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection (TLS when an SSL context was given)."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.ssl_context),
                self.timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot connect to {self.host}:{self.port} ({exc.__class__.__name__}); is "
                "`medmine listen hl7` running there?"
            ) from None
        self._frames = read_frames(self._reader, MAX_ACK_BYTES)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (no framing; for tests of broken senders)."""
        assert self._writer is not None, "connect() first"
        self._writer.write(data)
        await self._writer.drain()

    async def send(self, message: bytes) -> Ack:
        """Send one message (MLLP-framed) and return its acknowledgement.

        Raises
        ------
        ConnectionError
            The server closed the connection before acknowledging.
        TimeoutError
            No acknowledgement within the timeout.
        """
        await self.send_raw(frame(message))
        return await self.receive()

    async def receive(self) -> Ack:
        """Wait for the next acknowledgement (after `send_raw` of a whole frame)."""
        assert self._frames is not None, "connect() first"
        try:
            reply = await asyncio.wait_for(anext(self._frames), self.timeout)
        except StopAsyncIteration:
            raise ConnectionError("the server closed the connection without an ACK") from None
        return parse_ack(reply.data)

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None


def client_ssl_context(cafile: Path | None, cert: Path | None = None, key: Path | None = None
                       ) -> ssl.SSLContext:  # fmt: skip
    """A TLS client context verifying the server against `cafile` (system CAs without it)."""
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key) if key else None)
    return ctx


@dataclass
class SendReport:
    """Messages sent and their acknowledgement codes."""

    sent: int = 0
    acks: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (where, code, text)


def read_message_files(paths: Iterable[str | Path]) -> Iterable[tuple[str, bytes]]:
    """``(file:message n, message bytes)`` for each message of the files, in order.

    Folders are searched recursively for `PATTERNS`.

    Raises
    ------
    SourceError
        A path does not exist or a file cannot be opened.
    """
    for path in expand_paths(list(paths), PATTERNS):
        try:
            f = path.open("rb")
        except OSError as exc:
            raise SourceError(str(path), f"cannot be opened ({exc.strerror})") from None
        with f:
            for raw in iter_messages(f):
                if not raw.orphan:
                    yield f"{path.name}:{raw.location}", raw.text.encode("utf-8")


async def send_all(
    messages: Iterable[tuple[str, bytes]],
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
    on_ack: Callable[[str, Ack], None] | None = None,
) -> SendReport:
    """Send messages over one connection, each after the previous one's ACK."""
    report = SendReport()
    async with MllpClient(host, port, ssl_context=ssl_context, timeout=timeout) as client:
        for where, data in messages:
            ack = await client.send(data)
            report.sent += 1
            report.acks[ack.code] = report.acks.get(ack.code, 0) + 1
            if ack.code not in ("AA", "CA"):
                report.refused.append((where, ack.code, ack.text))
            if on_ack is not None:
                on_ack(where, ack)
    return report
