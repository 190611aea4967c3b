"""Who may see and change what: users with a role scoped to sites, their login sessions and
API tokens, kept in one SQLite file beside the site file.

Why a file of its own and not the readings store: readings may live in InfluxDB, which is no
place for accounts, and several ingest processes never need them. SQLite is in the standard
library, safe across threads and processes, and one file to back up.

Passwords are hashed with argon2id (argon2-cffi's defaults, which follow RFC 9106). Session
and API tokens are random; only their SHA-256 is stored, so a copy of the file gives nobody a
way in.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ventwatch.sqlite_file import SqliteFile

SESSION_LIFETIME = timedelta(hours=12)
# How long this process trusts what it last read about a session or API token. Every request
# carries one, and reading it from the file was a quarter of the dashboard's time under load
# (bench/dashboard.py). Changes made here (logout, a new password, a removed user) apply at
# once; changes made by another process (`ventwatch users remove`) within this many seconds.
REMEMBER_S = 5.0
REMEMBER_MAX = 10_000  # entries; a flood of distinct valid tokens cannot grow it past this
MIN_PASSWORD_LENGTH = 10
ALL_SITES = "*"


class Role(StrEnum):
    """What a user is for. Pages and API routes name the roles they admit."""

    ADMIN = "admin"  # users, sensors' room assignments, everything else
    SITE_MANAGER = "site_manager"  # the premises: rooms, sensors, ingest health
    REP = "rep"  # union health and safety rep: rooms, alerts, action log, reports
    STAFF = "staff"  # read-only rooms and reports


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    sites: tuple[str, ...]  # site names, or ("*",) for all

    def may_see(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf: str  # the token forms of this session must carry back
    expires: datetime


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    sites TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created TEXT NOT NULL
);
"""


def _user(name: str, role: str, sites: str) -> User:
    return User(name, Role(role), tuple(sites.split("\n")))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, path: Path) -> None:
        self._file = SqliteFile(path, _SCHEMA)
        self.path = path
        self._hasher = PasswordHasher()
        # token digest -> (monotonic time read, its user or session). Only found ones: an
        # unknown token is looked up every time, so guessing fills nothing.
        self._remembered: dict[str, tuple[float, User | Session]] = {}

    def _recall(self, digest: str) -> User | Session | None:
        found = self._remembered.get(digest)
        if found is None or time.monotonic() - found[0] > REMEMBER_S:
            return None
        return found[1]

    def _remember(self, digest: str, value: User | Session) -> None:
        if len(self._remembered) >= REMEMBER_MAX:
            self._remembered.clear()
        self._remembered[digest] = (time.monotonic(), value)

    def _forget_all(self) -> None:
        """After any change to users or sessions: simpler than knowing which entries it
        touched, and changes are rare next to requests."""
        self._remembered.clear()

    # -- users ------------------------------------------------------------------------------
    def add_user(self, name: str, role: Role, password: str, sites: Sequence[str]) -> User:
        name = name.strip()
        if not name or len(name) > 100 or any(c.isspace() for c in name):
            raise AccountError("a user name is 1-100 characters without spaces")
        if not sites:
            raise AccountError(f"give {name} at least one site (or {ALL_SITES!r} for all)")
        self._check_password(password)
        try:
            with self._file.transaction() as db:
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?)",
                    (name, role.value, "\n".join(sites), self._hasher.hash(password)),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"user {name!r} exists already") from None
        return User(name, role, tuple(sites))

    def remove_user(self, name: str) -> None:
        with self._file.transaction() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"no user {name!r}")
        self._forget_all()

    def set_password(self, name: str, password: str) -> None:
        """A new password also ends every session of the user (a leaked one stops working)."""
        self._check_password(password)
        with self._file.transaction() as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?",
                (self._hasher.hash(password), name),
            ).rowcount
            if not changed:
                raise AccountError(f"no user {name!r}")
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))
        self._forget_all()

    def users(self) -> list[User]:
        with self._file.transaction() as db:
            rows = db.execute("SELECT name, role, sites FROM users ORDER BY name").fetchall()
        return [_user(*row) for row in rows]

    def user(self, name: str) -> User | None:
        with self._file.transaction() as db:
            row = db.execute("SELECT role, sites FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else _user(name, *row)

    def check_password(self, name: str, password: str) -> User | None:
        """The user, if the password is theirs. An unknown name costs a hash too, so the
        answer's timing does not tell which names exist."""
        with self._file.transaction() as db:
            row = db.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        stored = row[0] if row else self._dummy_hash()
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self._hasher.check_needs_rehash(stored):
            with self._file.transaction() as db:
                db.execute(
                    "UPDATE users SET password_hash = ? WHERE name = ?",
                    (self._hasher.hash(password), name),
                )
        return self.user(name)

    def _dummy_hash(self) -> str:
        dummy: str | None = getattr(self, "_dummy", None)
        if dummy is None:
            dummy = self._hasher.hash(secrets.token_urlsafe(16))
            self._dummy = dummy
        return dummy

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")

    # -- sessions ---------------------------------------------------------------------------
    def start_session(self, user: User, now: datetime | None = None) -> tuple[str, Session]:
        """A new session: the token for the cookie, and what it stands for."""
        now = now or datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), now + SESSION_LIFETIME)
        with self._file.transaction() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now.isoformat(),))
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (_digest(token), user.name, session.csrf, session.expires.isoformat()),
            )
        return token, session

    def session(self, token: str, now: datetime | None = None) -> Session | None:
        now = now or datetime.now(UTC)
        digest = _digest(token)
        found = self._recall(digest)
        if not isinstance(found, Session):
            with self._file.transaction() as db:
                row = db.execute(
                    "SELECT s.csrf, s.expires, u.name, u.role, u.sites FROM sessions s"
                    " JOIN users u ON u.name = s.user WHERE s.token_sha256 = ?",
                    (digest,),
                ).fetchone()
            if row is None:
                return None
            csrf, expires, name, role, sites = row
            found = Session(_user(name, role, sites), csrf, datetime.fromisoformat(expires))
            self._remember(digest, found)
        return found if found.expires > now else None

    def end_session(self, token: str) -> None:
        with self._file.transaction() as db:
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))
        self._forget_all()

    # -- API tokens -------------------------------------------------------------------------
    def new_token(self, name: str, label: str) -> str:
        """A bearer token for an integration, acting as user `name`. Shown once."""
        if self.user(name) is None:
            raise AccountError(f"no user {name!r}")
        token = "vw_" + secrets.token_urlsafe(32)
        with self._file.transaction() as db:
            db.execute(
                "INSERT INTO api_tokens VALUES (?, ?, ?, ?)",
                (_digest(token), name, label, datetime.now(UTC).isoformat()),
            )
        return token

    def token_user(self, token: str) -> User | None:
        digest = _digest(token)
        found = self._recall(digest)
        if isinstance(found, User):
            return found
        with self._file.transaction() as db:
            row = db.execute(
                "SELECT u.name, u.role, u.sites FROM api_tokens t"
                " JOIN users u ON u.name = t.user WHERE t.token_sha256 = ?",
                (digest,),
            ).fetchone()
        if row is None:
            return None
        user = _user(*row)
        self._remember(digest, user)
        return user


class LoginThrottle:
    """At most `limit` failed logins per client address and per user name within `window`:
    guessing passwords online becomes too slow to matter. In memory, per process."""

    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def retry_after(self, keys: Sequence[str], now: datetime) -> float:
        """Seconds until a login may be tried again for any of `keys`; 0 when it may now."""
        with self._lock:
            wait = 0.0
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if now - t < self.window]
                self._failures[key] = recent
                if len(recent) >= self.limit:
                    wait = max(wait, (recent[0] + self.window - now).total_seconds())
            return wait

    def failed(self, keys: Sequence[str], now: datetime) -> None:
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, []).append(now)
            if len(self._failures) > 10_000:  # bounded: forget the quietest keys
                for key in sorted(self._failures, key=lambda k: len(self._failures[k]))[:5000]:
                    del self._failures[key]

    def succeeded(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
