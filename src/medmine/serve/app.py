"""The FastAPI application of `medmine serve`: middleware, error pages, and the three routers.

`create_app` wires the web workspace (`medmine.serve.web`), the REST API under ``/api/v1``
(`medmine.serve.api`) and the CDS Hooks service (`medmine.serve.cds`). Every response carries
the security headers (a CSP with no inline scripts, ``nosniff``, ``frame-ancestors 'none'``).
Errors never echo request values: a 4xx says what was wrong in general terms, a 5xx gives a
reference id only, and the access log records the route template, never the raw path.

>>> app = create_app(ServeSettings(warehouse=Path("wh.duckdb")))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from medmine import __version__
from medmine.serve.auth import CdsClients
from medmine.serve.headers import CSP, SECURITY_HEADERS
from medmine.serve.jobs import JobRunner
from medmine.serve.models import ModelRegistry
from medmine.serve.state import ServeSettings, ServeState
from medmine.serve.warm import warm

log = logging.getLogger("medmine.serve")
#: Response header naming the worker process (``--workers N`` > 1 only).
WORKER_HEADER = "X-Medmine-Worker"


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/cds-services", "/openapi.json")):
        return False
    return "text/html" in request.headers.get("accept", "") or not path.startswith("/api")


def create_app(
    settings: ServeSettings,
    *,
    cds_clients: CdsClients | None = None,
    state: ServeState | None = None,
    close_on_shutdown: bool = False,
) -> FastAPI:
    """The application for `settings` (opens the warehouse and the account file at start-up).

    `close_on_shutdown`: close them when the lifespan ends (a worker process of
    `medmine.serve.workers`); otherwise the caller calls `close_app`.
    """
    from medmine.serve import api, cds, web

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        # Resources are closed by `close_app`, not here: test clients and fuzzers run the
        # lifespan once per client, while the state outlives them.
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if not app.state.medmine.extra.get("warming"):
            app.state.medmine.extra["warming"] = True
            app.state.medmine.extra["warm"] = "running"
            threading.Thread(target=warm, args=(app.state.medmine,), daemon=True).start()
        yield
        if close_on_shutdown:
            await anyio.to_thread.run_sync(close_app, app)

    app = FastAPI(
        title="medmine serve",
        version=__version__,
        description="Web workspace, REST API and CDS Hooks service over a medmine warehouse. "
        "Each operation names its permission (x-medmine-permission) and the roles holding it.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    st = state or ServeState.open(settings, cds_clients)
    st.extra["jobs"] = JobRunner(st)
    st.extra["models"] = ModelRegistry(
        settings.models_dir, trust_unsigned=settings.trust_unsigned_models
    )
    app.state.medmine = st

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        headers = getattr(exc, "headers", None)
        if _wants_html(request):
            login = None
            if exc.status_code == 401:
                login = "/login"
            return web.error_page(request, exc.status_code, detail, login, headers)
        return JSONResponse({"detail": detail}, exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Only where and what kind of problem: never the submitted value (it may be PHI).
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
            for e in exc.errors()
        ]
        if _wants_html(request):
            where = ", ".join(".".join(e["loc"]) for e in errors)
            return web.error_page(request, 422, f"invalid request ({where})", None)
        return JSONResponse({"detail": errors}, 422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        ref = uuid.uuid4().hex[:12]
        route = request.scope.get("route")
        log.error(
            "internal error %s on %s: %s", ref, getattr(route, "path", "?"), type(exc).__name__
        )
        msg = f"internal error (reference {ref}); the server log has its type"
        if _wants_html(request):
            resp = web.error_page(request, 500, msg, None)
        else:
            resp = JSONResponse({"detail": msg}, 500)
        # Answered outside `HeadersAndLog` (Starlette's outermost error handler): add them here.
        for k, v in {**SECURITY_HEADERS, "Content-Security-Policy": CSP}.items():
            resp.headers.setdefault(k, v)
        return resp

    # Several workers: each answer names the worker process that produced it (its pid), for
    # operators following the load balancing and for the tests.
    app.add_middleware(HeadersAndLog, worker=os.getpid() if settings.read_only else None)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    # Most frequent callers first: routes are matched in order (no path is shared).
    app.include_router(cds.router)
    app.include_router(api.router)
    app.include_router(web.router)
    return app


class HeadersAndLog:
    """Security headers on every response and one log line per request (route template only).

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) runs
    each request through an extra task and stream, which cost more than this whole step.
    """

    def __init__(self, app: Any, worker: int | None = None) -> None:
        self.app = app
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in {**SECURITY_HEADERS, "Content-Security-Policy": CSP}.items()
        ]
        if worker is not None:
            self._headers.append((WORKER_HEADER.lower().encode(), str(worker).encode()))

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Pass the request on; add the headers to the response start; log when done."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 0

        async def send_with_headers(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = list(message.get("headers", []))
                have = {k.lower() for k, _ in raw}
                raw.extend(kv for kv in self._headers if kv[0] not in have)
                message = {**message, "headers": raw}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            log.info(
                "%s %s %d %.1fms",
                scope.get("method"),
                getattr(route, "path", "<unmatched>"),
                status or 500,
                1000 * (time.perf_counter() - t0),
            )


def close_app(app: FastAPI) -> None:
    """Wait for the running study job, then close the warehouse and the account file."""
    st = app.state.medmine
    st.extra["jobs"].shutdown()
    st.close()
