"""Who is calling and what they may do: roles, permissions, login throttling, CDS Hooks JWTs.

A request is authenticated by, in this order: an ``Authorization: Bearer`` API token
(``mm_…``, issued by `UserStore.new_token`), a bearer JWT signed by a CDS client whose keys
are configured (CDS Hooks 2.0 "Trusting CDS Clients"), or the session cookie of a logged-in
browser. Every route names one permission; `PERMISSIONS` says which roles hold it.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import os
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from medmine.errors import ConfigError
from medmine.serve.shared import SharedStore
from medmine.serve.users import ROLES, User

#: Permission -> roles holding it. ``admin`` holds every permission.
PERMISSIONS: dict[str, frozenset[str]] = {
    # de-identified, aggregate views: warehouse overview, quality, profiles, study results
    "aggregate": frozenset({"analyst", "investigator", "privacy_officer", "admin"}),
    "run_study": frozenset({"analyst", "admin"}),
    # fraud worklists with provider identities
    "fraud": frozenset({"investigator", "admin"}),
    # a person's record (PHI) and scoring a person
    "phi": frozenset({"clinician", "admin"}),
    "score": frozenset({"clinician", "admin"}),
    # audit log and consent
    "audit": frozenset({"privacy_officer", "admin"}),
    # CDS Hooks patient-view (also open to a CDS client presenting a valid JWT)
    "cds": frozenset({"clinician", "admin"}),
}
#: Environment variable naming a JSON file of trusted CDS clients:
#: ``{"<iss>": {"keys": [<JWK>, ...]}, ...}`` (public keys only).
CDS_CLIENTS_ENV = "MEDMINE_CDS_CLIENTS"
#: Signing algorithms CDS Hooks 2.0 requires services to accept.
CDS_ALGORITHMS = ("ES384", "RS384")
#: Pseudo-role of a request authenticated by a CDS client's JWT.
CDS_CLIENT_ROLE = "cds_client"

assert set().union(*PERMISSIONS.values()) <= set(ROLES)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    username: str
    role: str
    #: ``session``, ``token`` or ``jwt``
    via: str
    csrf: str | None = None
    session_id: str | None = None

    def may(self, permission: str) -> bool:
        """Whether this caller holds `permission`."""
        if self.role == CDS_CLIENT_ROLE:
            return permission == "cds"
        return self.role == "admin" or self.role in PERMISSIONS[permission]

    @classmethod
    def of(cls, user: User, via: str, **kw: Any) -> Principal:
        """A principal for `user` authenticated `via` session or token."""
        return cls(user.username, user.role, via, **kw)


def roles_for(permission: str) -> list[str]:
    """Roles holding `permission` (admin included), in `ROLES` order."""
    return [r for r in ROLES if r == "admin" or r in PERMISSIONS[permission]]


class LoginThrottle:
    """At most `limit` failed logins per user name and per client address in `window` seconds.

    Hand-rolled (a few lines) rather than slowapi: only *failures* count, per name and per
    address, so a user who types the password right is never locked out by someone else's
    successful traffic. With `shared` (several worker processes) the failures are counted in
    the `SharedStore` every worker reads, so N workers do not give N times the attempts.
    """

    def __init__(
        self, limit: int = 5, window: float = 300.0, shared: SharedStore | None = None
    ) -> None:
        self.limit, self.window = limit, window
        self.shared = shared
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, username: str, address: str) -> int:
        """Seconds to wait before another attempt is allowed (0: allowed now)."""
        if self.shared is not None:
            now = time.time()
            waits = []
            for key in (f"u:{username}", f"a:{address}"):
                fails = self.shared.login_failures(key, now - self.window)
                if len(fails) >= self.limit:
                    waits.append(int(fails[0] + self.window - now) + 1)
            return max(waits, default=0)
        now = time.monotonic()
        with self._lock:
            waits = [
                int(q[0] + self.window - now) + 1
                for q in (self._live(f"u:{username}", now), self._live(f"a:{address}", now))
                if len(q) >= self.limit
            ]
        return max(waits, default=0)

    def failed(self, username: str, address: str) -> None:
        """Count a failed attempt."""
        if self.shared is not None:
            now = time.time()
            self.shared.login_failed([f"u:{username}", f"a:{address}"], now, now - self.window)
            return
        now = time.monotonic()
        with self._lock:
            self._live(f"u:{username}", now).append(now)
            self._live(f"a:{address}", now).append(now)


def _segment(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None


def _peek(token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Header and claims of a compact JWS *before* any check, to pick the issuer's keys.

    Nothing read here is trusted: `jwt.decode` then checks the signature, ``alg``, ``aud``,
    ``iss``, ``exp`` and ``iat`` on the token itself. Decoded here with the standard library
    because PyJWT's unverified readers validate the base64 alphabet character by character
    in Python (about a third of a hook's CPU when the token was parsed three times).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None, None
    return _segment(parts[0]), _segment(parts[1])


class CdsClients:
    """Public keys of trusted CDS clients, by issuer, and a replay cache of JWT ids.

    Parameters
    ----------
    clients
        ``{iss: JWKS}``; default: the file named by `CDS_CLIENTS_ENV`, or none.

    Attributes
    ----------
    shared
        A `SharedStore` holding the replay cache when several worker processes serve (set by
        `ServeState`); ``None``: this process's memory.
    """

    shared: SharedStore | None = None

    def __init__(self, clients: dict[str, dict[str, Any]] | None = None) -> None:
        if clients is None:
            path = os.environ.get(CDS_CLIENTS_ENV, "")
            clients = {}
            if path:
                try:
                    clients = json.loads(Path(path).read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError) as exc:
                    raise ConfigError(
                        f"{CDS_CLIENTS_ENV}={path}: cannot read the CDS client keys ({exc}); "
                        'give a JSON file {"<iss>": {"keys": [JWK, ...]}}'
                    ) from None
        self._keys: dict[str, list[Any]] = {}
        for iss, jwks in clients.items():
            try:
                self._keys[iss] = [
                    (k.get("kid"), jwt.PyJWK.from_dict(k).key) for k in jwks.get("keys", [])
                ]
            except (jwt.exceptions.PyJWKError, AttributeError) as exc:
                raise ConfigError(f"CDS client {iss!r}: a key is not a valid JWK ({exc})") from None
        self._seen: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []  # heap of (forget after, jti)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._keys)

    def verify(self, token: str, audience: str) -> Principal | None:
        """The CDS client of `token` when its signature, ``aud``, ``exp`` and ``jti`` check.

        ``None`` when the token is not valid for any configured client (never raises).
        """
        header, claims = _peek(token)
        if header is None or claims is None:
            return None
        iss = claims.get("iss")
        if header.get("alg") not in CDS_ALGORITHMS or iss not in self._keys:
            return None
        kid = header.get("kid")
        for key_id, key in self._keys[iss]:
            if kid is not None and key_id is not None and key_id != kid:
                continue
            try:
                ok = jwt.decode(
                    token,
                    key,
                    algorithms=list(CDS_ALGORITHMS),
                    audience=audience,
                    issuer=iss,
                    options={"require": ["exp", "iat", "jti", "aud", "iss"]},
                    leeway=30,
                )
            except jwt.PyJWTError:
                continue
            if not self._first_use(str(ok["jti"]), float(ok["exp"])):
                return None
            return Principal(str(iss), CDS_CLIENT_ROLE, "jwt")
        return None

    def _first_use(self, jti: str, exp: float) -> bool:
        """Record `jti`; ``False`` when it was seen before (a replay).

        A jti is remembered until 60 s after its token's ``exp`` (past the 30 s leeway, so a
        token can no longer pass `jwt.decode` once its jti is forgotten). Forgetting pops a
        heap ordered by that time: constant work per request, however many tokens are live.
        """
        if self.shared is not None:
            return self.shared.first_use(jti, exp + 60)
        now = time.time()
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, old = heapq.heappop(self._expiry)
                if self._seen.get(old, now) + 60 < now:
                    del self._seen[old]
            if jti in self._seen:
                return False
            self._seen[jti] = exp
            heapq.heappush(self._expiry, (exp + 60, jti))
            return True
