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
from medmine.errors import MedmineError, PrivacyError
from medmine.serve.auth import CdsClients
from medmine.serve.headers import CSP, SECURITY_HEADERS
from medmine.serve.jobs import JobRunner
from medmine.serve.models import ModelRegistry, ModelUnavailableError
from medmine.serve.state import ServeSettings, ServeState

log = logging.getLogger("medmine.serve")


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
) -> FastAPI:
    """The application for `settings` (opens the warehouse and the account file at start-up)."""
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
            threading.Thread(target=_warm, args=(app.state.medmine,), daemon=True).start()
        yield

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

    app.add_middleware(HeadersAndLog)
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

    def __init__(self, app: Any) -> None:
        self.app = app
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in {**SECURITY_HEADERS, "Content-Security-Policy": CSP}.items()
        ]

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


def _warm(st: ServeState) -> None:
    """Index the patients and precompute the CDS model's scores before the first hook arrives.

    ``/api/v1/health`` says ``"warm": "running"`` until this is done.
    """
    st.extra["warm"] = "running"
    try:
        _warm_all(st)
    finally:
        st.extra["warm"] = "done"


def _warm_all(st: ServeState) -> None:
    from medmine.serve.data import PatientIndex

    t0 = time.perf_counter()
    cur = st.cursor()
    try:
        st.extra["patients"] = PatientIndex.build(cur)
    except Exception as exc:  # noqa: BLE001 - hooks then query the warehouse
        log.warning("patient index not built: %s", type(exc).__name__)
    finally:
        cur.close()
    models = st.extra["models"]
    name = st.settings.cds_model or models.default()
    if name is None:
        return
    try:
        pre = models.precomputed(name, st.view())
    except Exception as exc:  # noqa: BLE001 - reported on first use, with its reason
        log.warning("model %s not precomputed at start: %s", name, type(exc).__name__)
        return
    log.info("model %s: %d persons scored in %.1f s", name, len(pre), time.perf_counter() - t0)
    _warm_outside(st, name, pre)


def _warm_outside(st: ServeState, name: str, pre: Any) -> None:
    """Score live, once, the persons with an index event whom the cohort left out.

    `score_person` takes a hundred milliseconds or more for each; done here, a hook for
    such a patient is answered from memory like the others. At most
    ``settings.warm_outside`` persons (the rest are scored at their first request).
    """
    from medmine.serve.api import person_score
    from medmine.serve.models import PRECOMPUTED_TOP, index_persons

    limit = st.settings.warm_outside
    if limit <= 0:
        return
    t0 = time.perf_counter()
    models = st.extra["models"]
    try:
        persons = [p for p in index_persons(models.get(name), st.view()) if p not in pre]
    except Exception as exc:  # noqa: BLE001 - they are scored at first request instead
        log.warning("persons outside the cohort not listed: %s", type(exc).__name__)
        return
    done = 0
    for person_id in persons[:limit]:
        if models.ready(name) is not pre:
            return  # the model or the warehouse changed meanwhile
        try:
            outcome = person_score(st, None, name, person_id, top=PRECOMPUTED_TOP,
                                   audit_entry=False)  # fmt: skip
        except (ModelUnavailableError, PrivacyError):
            return
        except MedmineError as exc:
            outcome = exc
        pre.remember(person_id, PRECOMPUTED_TOP, outcome)
        done += 1
    log.info("model %s: %d persons outside the cohort scored in %.1f s", name, done,
             time.perf_counter() - t0)  # fmt: skip


def warehouse_changed(st: ServeState) -> None:
    """Drop what was computed from the warehouse (after a study run) and rebuild it."""
    st.extra.pop("patients", None)
    st.extra["models"].invalidate()
    threading.Thread(target=_warm, args=(st,), daemon=True).start()
