"""The live feed: an asyncio MLLP server that acknowledges each message once it is committed.

Two contracts (`ListenerConfig.ack_after`). ``journal`` (the default): a message is
acknowledged once it is in a durable, fsync'd write-ahead journal, and a loader applies the
journal to the warehouse in large batches (`medmine.ingest.hl7v2._pipeline`), for a
warehouse file in a child process that holds the file while the listener runs
(`medmine.ingest.hl7v2._loadproc`). ``load``: a message is acknowledged once the warehouse
transaction holding it committed, as below.

One process is the warehouse's single writer (DuckDB allows one writing process per file).
In ``load`` mode connections read frames concurrently; one writer thread loads them through
`LoadSession`.
Once the writer has a message it waits briefly (`ListenerConfig.gather_ms`) for one message
from every active connection; the group, up to `ListenerConfig.max_batch` messages, is loaded
in one transaction and committed once (group commit); then each message of the group is
acknowledged. Later transactions take the patients and visits earlier ones committed from
memory (`Committed`) instead of the warehouse. A message is never acknowledged
before its transaction committed, so a crash loses only unacknowledged messages, which the
sender resends (reloading is idempotent).

Within a group every message keeps its own outcome: a bad message is quarantined by the reader
(``AE``) and the others load. Should the group's transaction fail as a whole (a bug, not bad
data), each message is retried in a transaction of its own, so one message cannot take others
down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medmine.errors import ConfigError
from medmine.ingest._emit import SourceConcepts
from medmine.ingest.hl7v2._ack import ACK_CODES, build_ack, read_header
from medmine.ingest.hl7v2._drain import load_frame, quarantine_failed
from medmine.ingest.hl7v2._memory import Committed, provenance_follows_rows
from medmine.ingest.hl7v2._mllp import Frame, frame, read_frames
from medmine.ingest.hl7v2._pipeline import JournalPipeline
from medmine.ingest.hl7v2._reader import Hl7Reader, Outcome
from medmine.ingest.hl7v2._settings import ListenerConfig, ListenerStats
from medmine.warehouse import LoadSession, Warehouse

#: GIL switch interval while a journal loader thread runs (seconds).
_SWITCH_S = 0.0005
#: A connection that sent a frame this recently (seconds) is counted as an active sender.
_ACTIVE_S = 1.0


@dataclass
class _Item:
    frame: Frame
    source: str
    number: int
    future: asyncio.Future[Outcome]


class Listener:
    """An MLLP server loading into `warehouse` (which it must be the only writer of).

    In journal mode with a loader process, `warehouse`'s connection is closed while `serve`
    runs (the child holds the file) and open again when `serve` returns.

    >>> import asyncio
    >>> from medmine.warehouse import Warehouse
    >>> async def main():
    ...     lis = Listener(Warehouse(":memory:"), ListenerConfig(port=0, ack_after="load"))
    ...     task = asyncio.create_task(lis.serve())
    ...     await lis.started.wait()
    ...     lis.stop()
    ...     return await task
    >>> asyncio.run(main()).messages
    0
    """

    def __init__(self, warehouse: Warehouse, config: ListenerConfig | None = None) -> None:
        self.wh = warehouse
        self.config = config or ListenerConfig()
        self.stats = ListenerStats()
        self.port = 0
        self.started = asyncio.Event()
        self._stopping = False
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._conns: dict[asyncio.Task[None], bool] = {}  # handler task -> busy with a message
        self._server: asyncio.Server | None = None
        self._stopped: asyncio.Event | None = None
        self._fatal: BaseException | None = None
        # When each connection last sent a frame (to know how many senders are active).
        self._last_frame: dict[asyncio.Task[None], float] = {}
        # What committed transactions read and wrote, so later ones need not look it up or
        # write it again (the listener is the warehouse's only writer: it cannot go stale).
        self.committed = Committed()
        # whether new rows' provenance may be inserted without a conflict check (see serve)
        self.provenance_follows_rows = False
        #: journal mode: the journal and its loader (set by `serve`)
        self.pipeline: JournalPipeline | None = None
        self.stats.ack_after = self.config.ack_after

    # ---- lifecycle ----
    async def serve(
        self, *, handle_signals: bool = False, on_ready: Callable[[int], None] | None = None
    ) -> ListenerStats:
        """Serve until `stop` (or SIGTERM/SIGINT with `handle_signals`); returns the stats.

        Raises
        ------
        ConfigError
            Bad settings, or the address cannot be bound.
        """
        self.config.check()
        loop = asyncio.get_running_loop()
        switch = sys.getswitchinterval()
        self._stopped = asyncio.Event()
        # Transactions here are small: DuckDB's parallel operators only add scheduling latency
        # to them (about 20% of a group commit on 2 busy cores, measured).
        self.wh.con.execute("SET threads = 1")
        temp_journal = None
        if self.config.ack_after == "journal":  # recover and replay before accepting anything
            journal_dir = self.config.journal_dir
            if journal_dir is None and self.wh.path == ":memory:":
                temp_journal = journal_dir = Path(tempfile.mkdtemp(prefix="hl7-journal-"))
            elif journal_dir is None:
                journal_dir = Path(f"{self.wh.path}.journal")
            self.pipeline = JournalPipeline(
                self.wh, self.config, self.stats, self.committed, Path(journal_dir)
            )
            await self.pipeline.start(on_fatal=self._on_fatal)
            self.provenance_follows_rows = self.pipeline.provenance_follows_rows
            # A loader thread runs long stretches of Python; a short GIL switch interval
            # lets the event loop answer in between (p99 ACK latency 407 -> 110 ms at 4
            # senders, load average 15, measured; default 5 ms). A loader process has its
            # own GIL.
            if not self.pipeline.separate_process:
                sys.setswitchinterval(_SWITCH_S)
        else:
            self.provenance_follows_rows = provenance_follows_rows(self.wh.con)
            self.committed.know_all(self.wh.con)
        try:
            self._server = await asyncio.start_server(
                self._handle,
                self.config.host,
                self.config.port,
                ssl=self.config.ssl_context(),
                limit=1 << 16,
            )
        except OSError as exc:
            if self.pipeline is not None:
                await self.pipeline.finish()
                sys.setswitchinterval(switch)
            if temp_journal is not None:
                shutil.rmtree(temp_journal, ignore_errors=True)
            raise ConfigError(
                f"cannot listen on {self.config.host}:{self.config.port} ({exc.strerror}); "
                "choose another --port or stop the process using it"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        executor = ThreadPoolExecutor(1, thread_name_prefix="hl7-writer")
        writer = asyncio.create_task(self._writer(executor))
        self.started.set()
        if on_ready is not None:
            on_ready(self.port)
        try:
            await self._stopped.wait()
            await self._drain()
        finally:
            await self._queue.put(None)
            await writer
            executor.shutdown(wait=True)
            if self.pipeline is not None:
                await self.pipeline.finish()
                self.stats.syncs = self.pipeline.journal.syncs
                if self.pipeline.fatal is not None and self._fatal is None:
                    self._fatal = self.pipeline.fatal
            if temp_journal is not None:
                shutil.rmtree(temp_journal, ignore_errors=True)
            if self.pipeline is not None:
                sys.setswitchinterval(switch)
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    def _on_fatal(self, exc: BaseException) -> None:
        """The journal or the warehouse failed: stop (acknowledged entries stay journaled)."""
        if self._fatal is None:
            self._fatal = exc
        self.stop()

    def stop(self) -> None:
        """Stop gracefully: accept nothing new, finish and acknowledge the messages in hand."""
        if self._stopping:
            return
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for task, busy in list(self._conns.items()):
            if not busy:
                task.cancel()  # waiting for a frame: nothing in hand
        if self._stopped is not None:
            self._stopped.set()

    async def _drain(self, timeout: float = 60.0) -> None:
        """Wait for the connections that hold a message to acknowledge it.

        A peer that stops reading its ACKs cannot hold the shutdown: after `timeout` seconds
        its connection is closed (its message is committed; it was just not acknowledged).
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while self._conns:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                for task in list(self._conns):
                    task.cancel()
                await asyncio.gather(*list(self._conns), return_exceptions=True)
                return
            await asyncio.wait(list(self._conns), timeout=left)

    # ---- connections ----
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._stopping:
            writer.close()
            return
        self._conns[task] = False
        self.stats.connections += 1
        peer = writer.get_extra_info("peername") or ("?", 0)
        source = f"mllp:{peer[0]}:{peer[1]}"
        loop = asyncio.get_running_loop()
        n = 0
        try:
            async for fr in read_frames(reader, self.config.max_frame_bytes):
                n += 1
                self._conns[task] = True
                self._last_frame[task] = loop.time()
                if self.pipeline is not None:
                    outcome = await self.pipeline.submit(fr, source, n)
                else:
                    fut: asyncio.Future[Outcome] = loop.create_future()
                    await self._queue.put(_Item(fr, source, n, fut))
                    outcome = await fut
                ack = _ack_for(fr, outcome)
                try:
                    writer.write(frame(ack))
                    await writer.drain()
                except (ConnectionError, ssl.SSLError):
                    self.stats.dropped_frames += 1
                    return
                self.stats.acks[ACK_CODES[outcome.status]] += 1
                self.stats.messages += 1
                self._conns[task] = False
                if self._stopping:
                    return
                if self.pipeline is not None:
                    await self.pipeline.room()  # backpressure: read nothing while full
                    if self._stopping:
                        return
        except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
            return
        finally:
            self._conns.pop(task, None)
            self._last_frame.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    # ---- the single writer ----
    async def _writer(self, executor: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            item = await self._queue.get()
            if item is None:
                return
            items = [item]
            done = self._take_queued(items)
            if not done:
                done = await self._gather(items)
            try:
                outcomes = await loop.run_in_executor(executor, self._load, items)
            except Exception as exc:  # the warehouse itself failed: stop, acknowledge nothing
                self._fatal = exc
                for it in items:
                    it.future.set_exception(ConnectionAbortedError("warehouse write failed"))
                self.stop()
                return
            for it, outcome in zip(items, outcomes, strict=True):
                it.future.set_result(outcome)

    def _take_queued(self, items: list[_Item]) -> bool:
        """Move what is queued into `items` (up to max_batch); True when told to stop."""
        while len(items) < self.config.max_batch:
            try:
                nxt = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if nxt is None:
                return True
            items.append(nxt)
        return False

    async def _gather(self, items: list[_Item]) -> bool:
        """Wait up to `gather_ms` for every active sender's message; True when told to stop.

        A connection holds at most one unacknowledged message, so the group is complete when
        it has one message per connection that sent something in the last second.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.gather_ms / 1000
        while len(items) < self.config.max_batch and not self._stopping:
            now = loop.time()
            active = sum(1 for t in self._last_frame.values() if now - t < _ACTIVE_S)
            if len(items) >= active or now >= deadline:
                return False
            try:
                nxt = await asyncio.wait_for(self._queue.get(), deadline - now)
            except TimeoutError:
                return False
            if nxt is None:
                return True
            items.append(nxt)
            if self._take_queued(items):
                return True
        return False

    def _load(self, items: list[_Item]) -> list[Outcome]:
        """Load a group in one transaction; on failure, each message in its own."""
        try:
            outcomes = self._load_group(items)
            self.stats.commits += 1
            return outcomes
        except Exception:
            if len(items) == 1:
                self.stats.retried_alone += 1
                return [self._quarantine_failed(items[0])]
        return [self._load([it])[0] for it in items]

    def _load_group(self, items: list[_Item]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        trusted = self.provenance_follows_rows
        with LoadSession(self.wh, "hl7v2", provenance_follows_rows=trusted) as s:
            concepts = SourceConcepts(s)
            concepts.seen = set(self.committed.concepts)
            reader = Hl7Reader(s, concepts, committed=self.committed)
            for it in items:
                outcomes.append(self._one(s, reader, it))
            reader.finish()
        reader.remember(self.committed)  # committed: what it read and wrote is now known
        return outcomes

    def _one(self, s: LoadSession, reader: Hl7Reader, it: _Item) -> Outcome:
        return load_frame(s, reader, it.source, it.number, it.frame, self.config.max_frame_bytes)

    def _quarantine_failed(self, it: _Item) -> Outcome:
        """A message whose own transaction failed: keep it in quarantine and answer AE."""
        with LoadSession(self.wh, "hl7v2") as s:
            return quarantine_failed(s, it.source, it.number, it.frame.data)


def _ack_for(fr: Frame, outcome: Outcome) -> bytes:
    header = read_header(fr.data)
    code = ACK_CODES[outcome.status]
    text = outcome.detail
    if outcome.status == "skipped":
        text = f"not loaded by design ({outcome.reason})"
    warnings = []
    if outcome.msg is not None and outcome.segment_errors:
        seen: dict[str, int] = {}
        occurrence: list[int] = []
        for seg in outcome.msg.segments:
            name = outcome.msg.name(seg)
            seen[name] = seen.get(name, 0) + 1
            occurrence.append(seen[name])
        for e in outcome.segment_errors:
            name = outcome.msg.name(outcome.msg.segments[e.index])
            warnings.append((name, occurrence[e.index], str(e.reason), e.detail))
    return build_ack(header, code, text, outcome.reason, warnings=warnings)


def run(
    warehouse: Warehouse, config: ListenerConfig, on_ready: Callable[[int], None]
) -> ListenerStats:
    """Serve in the foreground until SIGTERM or SIGINT (the `medmine listen hl7` command)."""
    listener = Listener(warehouse, config)
    t0 = time.perf_counter()
    stats = _run_loop(listener.serve(handle_signals=True, on_ready=on_ready))
    stats.seconds = time.perf_counter() - t0
    return stats


def _run_loop(coro: Coroutine[Any, Any, ListenerStats]) -> ListenerStats:
    """Run on uvloop (libuv's event loop: less CPU per frame and ACK) when it is installed,
    else on asyncio's own loop.
    """
    try:
        import uvloop
    except ImportError:  # (a runtime dependency except on Windows)
        return asyncio.run(coro)
    return uvloop.run(coro)
