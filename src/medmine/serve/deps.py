"""FastAPI dependencies: the server state, the caller, and the permission check of each route.

Every route is declared with `guard`: it names one permission, checks it on every request
(401 without credentials, 403 with the wrong role, 403 on a cookie-authenticated write
without the CSRF token) and publishes the permission and its roles in the OpenAPI schema
(``x-medmine-permission``, ``x-medmine-roles``), which the security tests walk.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request

from medmine.serve.auth import Principal, roles_for
from medmine.serve.state import ServeState

SESSION_COOKIE = "mm_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: Permissions that are not role checks: ``public`` (no login), ``any`` (any logged-in user).
OPEN_PERMISSIONS = ("public", "any")
_SAFE = {"GET", "HEAD", "OPTIONS"}


def state(request: Request) -> ServeState:
    """The `ServeState` of the running app."""
    return request.app.state.medmine


def authenticate(request: Request) -> Principal | None:
    """The caller of `request` (API token, CDS client JWT or session cookie), or ``None``."""
    st = state(request)
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
        if token.startswith("mm_"):
            user = st.users.token_user(token)
            return Principal.of(user, "token") if user else None
        if st.cds_clients and token.count(".") == 2:
            # CDS Hooks: the audience is the service endpoint the client called.
            audience = str(request.url.replace(query=None, fragment=None))
            return st.cds_clients.verify(token, audience)
        return None
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        s = st.users.session(sid)
        if s:
            return Principal.of(s.user, "session", csrf=s.csrf, session_id=sid)
    return None


async def _check_csrf(request: Request, who: Principal) -> None:
    if request.method in _SAFE or who.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf or ""):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def require(permission: str) -> Callable[..., Any]:
    """A dependency returning the caller when it holds `permission` (else 401 or 403)."""

    async def dependency(request: Request) -> Principal | None:
        who = authenticate(request)
        if permission == "public":
            return who
        if who is None:
            raise HTTPException(
                401, "log in or send a bearer token", {"WWW-Authenticate": "Bearer"}
            )
        if permission != "any" and not who.may(permission):
            raise HTTPException(403, f"your role ({who.role}) may not do this")
        await _check_csrf(request, who)
        request.state.principal = who
        return who

    dependency.__name__ = f"require_{permission}"
    return dependency


def guard(router: Any, method: str, path: str, permission: str, **kw: Any) -> Callable:
    """Declare a route on `router` guarded by `permission` (see the module docstring).

    The handler receives the caller as its ``who`` argument when it declares one.
    """
    extra = {"x-medmine-permission": permission}
    if permission not in OPEN_PERMISSIONS:
        extra["x-medmine-roles"] = roles_for(permission)

    def decorate(fn: Callable) -> Callable:
        router.add_api_route(
            path,
            fn,
            methods=[method],
            dependencies=[Depends(require(permission))],
            openapi_extra=extra,
            **kw,
        )
        return fn

    return decorate


def principal(request: Request) -> Principal | None:
    """The caller checked by the route's guard (``None`` on public routes)."""
    return getattr(request.state, "principal", None)
