"""The listener's settings (`ListenerConfig`) and what it reports (`ListenerStats`)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from medmine.errors import ConfigError

#: The acknowledgement contracts: after the journal append, or after the warehouse commit.
ACK_AFTER = ("journal", "load")
#: Where journal mode's loader runs.
LOADERS = ("auto", "process", "thread")


@dataclass
class ListenerConfig:
    """How `Listener` serves.

    Parameters
    ----------
    host, port
        Address to listen on; port 0 picks a free port (see `Listener.port`).
    max_frame_bytes
        Frames larger than this are refused with ``AR`` without being held in memory.
    max_batch
        Most messages committed in one transaction (group commit); 1 gives one transaction
        per message.
    gather_ms
        How long the writer may wait, once it has a message, for the other active senders'
        messages to arrive before it starts a transaction (0: never wait). Each sender waits
        for its ACK before sending again, so without the wait the senders fall into two
        alternating half-groups; with it, one transaction takes every sender's message.
    tls_cert, tls_key
        PEM certificate chain and private key: serve MLLP over TLS.
    tls_client_ca
        PEM CA bundle: with it, clients must present a certificate it signed (mutual TLS).
    ack_after
        ``journal``: acknowledge once the message is in the durable journal (the loader
        applies it later); ``load``: once the warehouse transaction holding it committed.
    journal_dir
        The journal's folder (journal mode); default ``<warehouse file>.journal``, a
        temporary folder for an in-memory warehouse.
    max_backlog
        Journal mode: at this many entries not yet in the warehouse, connections stop
        reading until the loader catches up.
    drain_batch
        Journal mode: most entries the loader applies in one transaction.
    drain_wait_ms
        Journal mode: how long the loader lets a batch grow before it starts a transaction
        (bounded by `drain_batch`); adds to the visibility lag, not to the ACK latency.
    journal_flushers
        Journal mode: concurrent ``fdatasync`` calls (the disk merges them).
    journal_segment_bytes
        Journal mode: size at which a journal segment is closed (and deleted once applied).
    loader
        Journal mode: where the loader runs. ``process``: a child process that holds the
        warehouse while the listener runs (the network side keeps a GIL of its own);
        ``thread``: a thread of the listener's process; ``auto`` (default): ``process`` for
        a warehouse file, ``thread`` for an in-memory warehouse.
    """

    host: str = "127.0.0.1"
    port: int = 2575
    max_frame_bytes: int = 16 * 1024 * 1024
    max_batch: int = 256
    gather_ms: float = 2.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    ack_after: str = "journal"
    journal_dir: Path | None = None
    max_backlog: int = 20_000
    drain_batch: int = 1_000
    drain_wait_ms: float = 200.0
    journal_flushers: int = 4
    journal_segment_bytes: int = 64 << 20
    loader: str = "auto"

    def check(self) -> None:
        """Validate the settings (called when the listener starts)."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in 0..65535. Got {self.port} instead.")
        if self.max_frame_bytes < 1024:
            raise ConfigError(
                f"max_frame_bytes must be at least 1024. Got {self.max_frame_bytes} instead."
            )
        if self.max_batch < 1:
            raise ConfigError(f"max_batch must be at least 1. Got {self.max_batch} instead.")
        if not 0 <= self.gather_ms <= 1000:
            raise ConfigError(f"gather_ms must be in 0..1000. Got {self.gather_ms} instead.")
        if self.ack_after not in ACK_AFTER:
            raise ConfigError(
                f"ack_after must be one of {', '.join(ACK_AFTER)}. Got {self.ack_after!r} instead."
            )
        if self.loader not in LOADERS:
            raise ConfigError(
                f"loader must be one of {', '.join(LOADERS)}. Got {self.loader!r} instead."
            )
        for name, low in (("max_backlog", 1), ("drain_batch", 1), ("journal_flushers", 1),
                          ("journal_segment_bytes", 4096)):  # fmt: skip
            if getattr(self, name) < low:
                raise ConfigError(
                    f"{name} must be at least {low}. Got {getattr(self, name)} instead."
                )
        if not 0 <= self.drain_wait_ms <= 60_000:
            raise ConfigError(
                f"drain_wait_ms must be in 0..60000. Got {self.drain_wait_ms} instead."
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key")
        for p in (self.tls_cert, self.tls_key, self.tls_client_ca):
            if p is not None and not Path(p).is_file():
                raise ConfigError(f"TLS file {p} does not exist")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context, or None for plain TCP."""
        if self.tls_cert is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(str(self.tls_cert), str(self.tls_key))
            if self.tls_client_ca is not None:
                ctx.load_verify_locations(str(self.tls_client_ca))
                ctx.verify_mode = ssl.CERT_REQUIRED
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from None
        return ctx


@dataclass
class ListenerStats:
    """What a listener did: messages by acknowledgement code, transactions, connections.

    Journal mode adds: `replayed` (entries the warehouse lacked at start), `applied` (entries
    loaded from the journal), `drain_commits` (their transactions), `late_quarantined`
    (answered ``AA`` but quarantined while loading: an internal error) and `late_reasons`
    (their reasons), `backpressure_waits`, `syncs`,
    `applied_at` (epoch seconds of the last loader commit), `loader_busy_s` (wall seconds
    the loader spent in its transactions).
    """

    messages: int = 0
    acks: dict[str, int] = field(default_factory=lambda: {"AA": 0, "AE": 0, "AR": 0})
    commits: int = 0
    retried_alone: int = 0
    connections: int = 0
    dropped_frames: int = 0  # unacknowledged: the peer closed before its ACK could be sent
    seconds: float = 0.0
    ack_after: str = "load"
    replayed: int = 0
    applied: int = 0
    drain_commits: int = 0
    late_quarantined: int = 0
    late_reasons: dict[str, int] = field(default_factory=dict)
    backpressure_waits: int = 0
    syncs: int = 0
    applied_at: float = 0.0
    loader_busy_s: float = 0.0
