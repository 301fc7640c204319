"""`medmine listen hl7` (a live MLLP feed into the warehouse) and `medmine send hl7` (a client)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import EXIT_INPUT, WarehouseOpt, console, fail, friendly_errors
from medmine.config import warehouse_path

listen_app = typer.Typer(help="Serve live feeds into the warehouse.", no_args_is_help=True)
send_app = typer.Typer(help="Send messages to a live feed (testing and replay).",
                       no_args_is_help=True)  # fmt: skip

PortOpt = Annotated[int, typer.Option("--port", "-p", help="TCP port (0: any free port).")]


@listen_app.command("hl7")
@friendly_errors
def listen_hl7(
    port: PortOpt = 2575,
    warehouse: WarehouseOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")
    ] = "127.0.0.1",
    max_frame_bytes: Annotated[
        int, typer.Option(help="Frames larger than this are refused with AR.")
    ] = 16 * 1024 * 1024,
    max_batch: Annotated[
        int, typer.Option(help="Load mode: most messages committed together (1: one each).")
    ] = 256,
    gather_ms: Annotated[
        float,
        typer.Option(
            help="Load mode: wait up to this long for every active sender's message before "
            "a transaction (0: never)."
        ),
    ] = 2.0,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate chain: serve over TLS.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    tls_client_ca: Annotated[
        Path | None, typer.Option(help="PEM CA: require client certificates it signed.")
    ] = None,
    ack_after: Annotated[
        str,
        typer.Option(
            help="journal: ACK once the message is in the fsync'd journal (loaded in batches "
            "after); load: ACK once its warehouse transaction committed."
        ),
    ] = "journal",
    journal: Annotated[
        Path | None,
        typer.Option(help="Journal folder (default: <warehouse>.journal next to it)."),
    ] = None,
    max_backlog: Annotated[
        int,
        typer.Option(help="Journal entries not yet loaded at which connections stop reading."),
    ] = 20_000,
    drain_batch: Annotated[
        int, typer.Option(help="Most journal entries loaded in one transaction.")
    ] = 1_000,
    drain_wait_ms: Annotated[
        float,
        typer.Option(help="How long the journal's loader lets a batch grow (visibility lag)."),
    ] = 200.0,
    loader: Annotated[
        str,
        typer.Option(
            help="Journal mode: process (the loader in a child process holding the "
            "warehouse: the network side keeps a CPU core of its own), thread, or auto "
            "(process for a warehouse file)."
        ),
    ] = "auto",
) -> None:
    """Receive HL7 v2 over MLLP and answer each message with an ACK once it is committed.

    With --ack-after journal (default) a message is acknowledged once it is in a durable
    journal and loaded in batches after; with --ack-after load, once its warehouse
    transaction committed. AA: accepted; AE: quarantined with the reason (do not resend); AR:
    not an HL7 message or over the size limit. SIGTERM or Ctrl-C stops after acknowledging
    the messages in hand (and loading the journal). This process must be the warehouse's
    only writer while it runs.
    """
    from medmine.ingest import hl7v2
    from medmine.warehouse import Warehouse

    config = hl7v2.ListenerConfig(
        host=host,
        port=port,
        max_frame_bytes=max_frame_bytes,
        max_batch=max_batch,
        gather_ms=gather_ms,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_client_ca=tls_client_ca,
        ack_after=ack_after,
        journal_dir=journal,
        max_backlog=max_backlog,
        drain_batch=drain_batch,
        drain_wait_ms=drain_wait_ms,
        loader=loader,
    )
    config.check()
    path = warehouse_path(warehouse)

    def ready(bound: int) -> None:
        scheme = "MLLP over TLS" if tls_cert else "MLLP"
        how = "ACK after journal" if ack_after == "journal" else "ACK after load"
        console.print(
            f"listening for HL7 v2 ({scheme}) on {host}:{bound}, loading into {path} "
            f"({how}); stop with Ctrl-C or SIGTERM",
            highlight=False,
            soft_wrap=True,
        )
        console.file.flush()

    with Warehouse(path) as wh:
        stats = hl7v2.run(wh, config, ready)
    acks = stats.acks
    console.print(
        f"stopped: {stats.messages} messages acknowledged (AA {acks['AA']}, AE {acks['AE']}, "
        f"AR {acks['AR']}) in {stats.commits} transactions over {stats.connections} "
        f"connections, {stats.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )
    if stats.ack_after == "journal":
        console.print(
            f"journal: {stats.applied} entries loaded in {stats.drain_commits} transactions "
            f"({stats.replayed} replayed at start), {stats.syncs} journal syncs, "
            f"{stats.late_quarantined} answered AA then quarantined while loading "
            f"(internal errors, kept in mm_quarantine), "
            f"{stats.backpressure_waits} waits for the backlog; last load at "
            f"{stats.applied_at:.3f}",
            highlight=False,
            soft_wrap=True,
        )


@send_app.command("hl7")
@friendly_errors
def send_hl7(
    paths: Annotated[list[Path], typer.Argument(help="HL7 v2 files or folders.")],
    port: Annotated[int, typer.Option("--port", "-p", help="The listener's TCP port.")],
    host: Annotated[str, typer.Option(help="The listener's address.")] = "127.0.0.1",
    tls: Annotated[bool, typer.Option("--tls", help="Connect over TLS.")] = False,
    tls_ca: Annotated[
        Path | None, typer.Option(help="PEM CA to verify the server (implies --tls).")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM client certificate (mutual TLS).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM key of --tls-cert.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each ACK.")] = 30.0,
) -> None:
    """Send the messages of HL7 v2 files over MLLP, one at a time, and count the ACKs.

    Exit code 0 when every message was accepted (AA), 3 when some were refused (AE/AR).
    """
    import asyncio

    from medmine.ingest import hl7v2

    messages = list(hl7v2.read_message_files(paths))  # names a missing file before connecting
    ctx = None
    if tls or tls_ca or tls_cert:
        ctx = hl7v2.client_ssl_context(tls_ca, tls_cert, tls_key)
    report = asyncio.run(hl7v2.send_all(messages, host, port, ssl_context=ctx, timeout=timeout))
    for where, code, text in report.refused:
        console.print(f"{where}: {code} {text}", highlight=False, markup=False)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.acks.items())) or "none"
    console.print(f"sent {report.sent} messages; acknowledgements: {counts}", highlight=False)
    if report.refused:
        raise fail(
            f"{len(report.refused)} of {report.sent} messages were not accepted (see above); "
            "AE: fix the message and resend, AR: it is not a loadable HL7 message",
            EXIT_INPUT,
        )


def register(app: typer.Typer) -> None:
    """Add `listen` and `send` to the root app."""
    app.add_typer(listen_app, name="listen")
    app.add_typer(send_app, name="send")
