"""`medmine serve`: the web workspace, REST API and CDS Hooks service (uvicorn)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import WarehouseOpt, console, existing_warehouse, friendly_errors


@friendly_errors
def serve(
    warehouse: WarehouseOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    reports: Annotated[
        Path, typer.Option(help="Folder of study outputs (as `medmine demo` writes).")
    ] = Path("reports"),
    models: Annotated[
        Path | None, typer.Option(help="Folder of saved models (default: REPORTS/models).")
    ] = None,
    trust_unsigned: Annotated[
        bool,
        typer.Option(
            "--trust-unsigned",
            help="Load models whose manifest MEDMINE_MODEL_KEY cannot authenticate.",
        ),
    ] = False,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Send cookies without the Secure flag (only for plain HTTP off loopback "
            "in a test rig; browsers accept Secure cookies on http://localhost).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes. 1: one process serves and writes the audit log. N>1: "
            "workers open the warehouse read-only; one writer spools the audit entries and "
            "merges them into the warehouse at shutdown (see docs/serve.md).",
        ),
    ] = 1,
    threads: Annotated[
        int, typer.Option(min=1, help="Threads for blocking requests, per process.")
    ] = 40,
) -> None:
    """Serve the workspace, API (/api/v1, /openapi.json) and CDS Hooks (/cds-services).

    Accounts: `medmine users add NAME --role admin`. Secrets come from the environment:
    MEDMINE_AUDIT_KEY, MEDMINE_MODEL_KEY, MEDMINE_CDS_CLIENTS (JSON file of client keys).
    """
    import uvicorn

    from medmine.serve import ServeSettings, create_app
    from medmine.serve.app import close_app

    settings = ServeSettings(
        warehouse=Path(existing_warehouse(warehouse)),
        reports=reports,
        models=models,
        secure_cookies=not insecure_cookies,
        trust_unsigned_models=trust_unsigned,
        threads=threads,
        workers=workers,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    console.print(
        f"medmine serve on http://{host}:{port}/ (warehouse {settings.warehouse}, "
        f"{workers} worker process{'es' if workers > 1 else ''})"
    )
    if workers > 1:
        from medmine.serve.workers import run_workers

        merged = run_workers(settings, host=host, port=port, workers=workers)
        console.print(f"audit: {merged} entries merged into the warehouse")
        return
    app = create_app(settings)
    # uvicorn's own access log prints raw paths and query strings; ours logs route templates.
    try:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
    finally:
        close_app(app)
