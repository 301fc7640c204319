"""Local accounts, sessions and API tokens of `medmine serve`, in a SQLite file by the warehouse.

Passwords are stored as argon2id hashes (argon2-cffi, salted, OWASP parameters). Session ids
and API tokens are 256-bit random strings handed to the client once; only their SHA-256 is
stored, so a copy of the file gives no usable credential. The file is created 0600.

>>> store = UserStore(":memory:")
>>> store.add("ana", "analyst", "a long passphrase")
'ana'
>>> store.verify_password("ana", "a long passphrase").role
'analyst'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from medmine.errors import ConfigError

#: Roles, from least to most privileged in what they may see.
ROLES: tuple[str, ...] = ("analyst", "investigator", "clinician", "privacy_officer", "admin")
#: Suffix of the account file written next to the warehouse file.
USERS_SUFFIX = ".users.sqlite"
#: Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask for more).
MIN_PASSWORD = 12
SESSION_HOURS = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HASHER = PasswordHasher()
# A hash of a random password, verified when the user is unknown so that a failed login takes
# the same time whether or not the name exists.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
  id_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  csrf TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username)
  ON DELETE CASCADE, label TEXT NOT NULL, created_at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class User:
    """An account: its name and role."""

    username: str
    role: str


@dataclass(frozen=True)
class Session:
    """A logged-in browser session."""

    user: User
    csrf: str


def users_path(warehouse: str | Path) -> Path:
    """The account file of a warehouse (``<warehouse>.users.sqlite``)."""
    return Path(str(warehouse) + USERS_SUFFIX)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_username(name: str) -> str:
    """`name` if it is 1-64 letters, digits or ``_.@-``; else `ConfigError`."""
    if not _NAME.match(name or ""):
        raise ConfigError(
            "a user name must be 1-64 characters among letters, digits and _ . @ -; "
            f"got {len(name or '')} characters with others"
        )
    return name


def check_role(role: str) -> str:
    """`role` if it is one of `ROLES`; else `ConfigError`."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


class UserStore:
    """Accounts, sessions and tokens in one SQLite file (thread-safe; one connection, a lock).

    Parameters
    ----------
    path
        SQLite file (created 0600 when missing) or ``":memory:"``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:" and not Path(self.path).exists():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA foreign_keys = ON")
        self._con.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the file."""
        self._con.close()

    def _q(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    # ---- accounts ----
    def add(self, username: str, role: str, password: str) -> str:
        """Create an account; returns its name. Refuses a taken name or a short password."""
        check_username(username)
        check_role(role)
        if len(password) < MIN_PASSWORD:
            raise ConfigError(
                f"the password must have at least {MIN_PASSWORD} characters; got {len(password)}"
            )
        try:
            self._q(
                "INSERT INTO users VALUES (?, ?, ?, ?, 0)",
                (username, role, _HASHER.hash(password), _now().isoformat()),
            )
        except sqlite3.IntegrityError:
            raise ConfigError(
                f"user {username!r} exists; remove it first (`medmine users remove`)"
            ) from None
        return username

    def remove(self, username: str) -> None:
        """Delete an account with its sessions and tokens (`ConfigError` if unknown)."""
        if not self.get(username):
            raise ConfigError(f"no user {username!r}; see `medmine users list`")
        self._q("DELETE FROM users WHERE username = ?", (username,))

    def get(self, username: str) -> User | None:
        """The account `username`, or ``None``."""
        rows = self._q(
            "SELECT username, role FROM users WHERE username = ? AND disabled = 0", (username,)
        )
        return User(*rows[0]) if rows else None

    def list(self) -> list[tuple[str, str, str]]:
        """``(username, role, created_at)`` of every account, by name."""
        return [
            tuple(r) for r in self._q("SELECT username, role, created_at FROM users ORDER BY 1")
        ]

    def verify_password(self, username: str, password: str) -> User | None:
        """The user when `password` matches, else ``None`` (constant work for unknown names)."""
        rows = self._q(
            "SELECT password_hash FROM users WHERE username = ? AND disabled = 0", (username,)
        )
        stored = rows[0][0] if rows else _DUMMY
        try:
            _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if not rows:
            return None
        if _HASHER.check_needs_rehash(stored):
            self._q(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (_HASHER.hash(password), username),
            )
        return self.get(username)

    # ---- sessions ----
    def new_session(self, user: User) -> tuple[str, str]:
        """Start a session; returns ``(session id for the cookie, CSRF token)``."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = _now() + dt.timedelta(hours=SESSION_HOURS)
        self._q(
            "INSERT INTO sessions VALUES (?, ?, ?, ?)",
            (_sha(sid), user.username, csrf, expires.isoformat()),
        )
        return sid, csrf

    def session(self, sid: str) -> Session | None:
        """The live session of cookie value `sid`, or ``None`` (expired ones are deleted)."""
        rows = self._q(
            "SELECT u.username, u.role, s.csrf, s.expires_at FROM sessions s JOIN users u "
            "USING (username) WHERE s.id_sha256 = ? AND u.disabled = 0",
            (_sha(sid),),
        )
        if not rows:
            return None
        name, role, csrf, expires = rows[0]
        if dt.datetime.fromisoformat(expires) < _now():
            self.end_session(sid)
            return None
        return Session(User(name, role), csrf)

    def end_session(self, sid: str) -> None:
        """Log out: forget the session."""
        self._q("DELETE FROM sessions WHERE id_sha256 = ?", (_sha(sid),))

    # ---- API tokens ----
    def new_token(self, username: str, label: str = "api") -> str:
        """Issue an API token for `username`; the clear token is returned once, never stored."""
        if not self.get(username):
            raise ConfigError(f"no user {username!r}; see `medmine users list`")
        token = "mm_" + secrets.token_urlsafe(32)
        self._q(
            "INSERT INTO tokens VALUES (?, ?, ?, ?)",
            (_sha(token), username, label[:64], _now().isoformat()),
        )
        return token

    def token_user(self, token: str) -> User | None:
        """The owner of API token `token`, or ``None``."""
        rows = self._q(
            "SELECT u.username, u.role FROM tokens t JOIN users u USING (username) "
            "WHERE t.token_sha256 = ? AND u.disabled = 0",
            (_sha(token),),
        )
        return User(*rows[0]) if rows else None
