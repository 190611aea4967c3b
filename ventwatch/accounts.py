"""Who may see and change what: users with a role scoped to sites, their login sessions and
API tokens, kept in one SQLite file beside the site file.

Why a file of its own and not the readings store: readings may live in InfluxDB, which is no
place for accounts, and several ingest processes never need them. SQLite is in the standard
library, safe across threads and processes, and one file to back up.

Passwords are hashed with argon2id (argon2-cffi's defaults, which follow RFC 9106). Session
and API tokens are random; only their SHA-256 is stored, so a copy of the file gives nobody a
way in. API tokens have an id and a label (so one can be listed and revoked without its
secret), may expire, and record when they were last used.

Failed logins are throttled (`LoginThrottle`) so that guessing passwords online is too slow to
matter, without letting a guesser lock the owner of a name out:

- per (name, client address): 5 failures in 15 minutes stop that name being tried from that
  address until the oldest of them is 15 minutes old. Someone guessing alice's password from
  one address does not stop alice signing in from hers.
- per client address, whatever the names: 30 failures in 15 minutes (one address trying a
  few passwords on every name).
- per name, from every address together: past 20 failures in 24 hours, each further attempt
  waits 1 s after the last failure, doubling with each failure up to 15 minutes (addresses
  taking turns at one name). Addresses the name has signed in from in the last 30 days are
  exempt, so the owner still signs in from their usual place while the name is under attack.

An attempt counts as a failure from the moment it starts, under the same lock as the check,
and is forgiven when the password turns out right: concurrent guesses cannot all pass the
check before the first of them is counted. IPv6 clients count per /64 (one host's share).
Counts live in memory, per process: a restart forgets them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ventwatch.state_database import (
    IntegrityError,
    StateDatabase,
    StateLocation,
    open_state,
)

SESSION_LIFETIME = timedelta(hours=12)
# How long this process trusts what it last read about a session or API token. Every request
# carries one, and reading it from the file was a large share of the dashboard's time under
# load (bench/dashboard.py; the figures: docs/development.md#benchmarks). Changes made here
# (logout, a new password, a removed user, a revoked token) apply at once; changes made by
# another process (`ventwatch users remove`) within this many seconds.
REMEMBER_S = 5.0
REMEMBER_MAX = 10_000  # entries; a flood of distinct valid tokens cannot grow it past this
MIN_PASSWORD_LENGTH = 10
ALL_SITES = "*"
_K = TypeVar("_K", bound=Hashable)
# The label of API tokens made before tokens had to be named (an empty one, migrated).
UNNAMED = "unnamed"
# A token's last use is written at most this often: a scraper every 15 s would otherwise
# write to the file at every cache miss.
LAST_USED_EVERY = timedelta(minutes=1)


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


@dataclass(frozen=True, slots=True)
class ApiToken:
    """What is known about an API token, never its secret: enough to list and revoke it."""

    id: int
    user: str
    label: str
    created: datetime
    expires: datetime | None  # None: until revoked
    last_used: datetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and self.expires <= now


@dataclass(frozen=True, slots=True)
class _Grant:
    """A remembered API token: who it acts as, until when."""

    user: User
    expires: datetime | None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    sites TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires TEXT NOT NULL
);
"""
# AUTOINCREMENT: an id is never given again, so "revoke token 7" from an old note cannot hit
# a newer token.
_TOKENS_TABLE = """
CREATE TABLE {name} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256 TEXT NOT NULL UNIQUE,
    "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    last_used TEXT
)
"""


def _user(name: str, role: str, sites: str) -> User:
    return User(name, Role(role), tuple(sites.split("\n")))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _api_token(
    id_: int, user: str, label: str, created: str, expires: str | None, last_used: str | None
) -> ApiToken:
    return ApiToken(
        id_, user, label, datetime.fromisoformat(created), _time(expires), _time(last_used)
    )


def _migrate_tokens(file: StateDatabase) -> None:
    """Give API tokens made before ids, expiry and last use (one row per token digest, with a
    label and a creation time) the table they have now. The rows keep their digest, so every
    token still works; they get an id, no expiry, and "unnamed" where the label was empty.
    SQLite cannot add a primary key to a table, so the table is copied."""
    with file.exclusive() as db:
        columns = db.column_names("api_tokens")
        if "id" in columns:
            return
        if not columns:  # a new file
            db.execute(_TOKENS_TABLE.format(name="api_tokens"))
            return
        db.execute(_TOKENS_TABLE.format(name="api_tokens_new"))
        db.execute(
            'INSERT INTO api_tokens_new (token_sha256, "user", label, created)'
            " SELECT token_sha256, \"user\", CASE WHEN trim(label) = '' THEN ? ELSE label END,"
            " created FROM api_tokens ORDER BY created",
            (UNNAMED,),
        )
        db.execute("DROP TABLE api_tokens")
        db.execute("ALTER TABLE api_tokens_new RENAME TO api_tokens")


class Accounts:
    def __init__(self, path: StateLocation) -> None:
        self._file = open_state(path, _SCHEMA)
        _migrate_tokens(self._file)
        self.path = path  # where the state is: a SQLite file, or a PostgreSQL URL
        self._hasher = PasswordHasher()
        # token digest -> (monotonic time read, its session or API token). Only found ones: an
        # unknown token is looked up every time, so guessing fills nothing.
        self._remembered: dict[str, tuple[float, _Grant | Session]] = {}

    def _recall(self, digest: str) -> _Grant | Session | None:
        found = self._remembered.get(digest)
        if found is None or time.monotonic() - found[0] > REMEMBER_S:
            return None
        return found[1]

    def _remember(self, digest: str, value: _Grant | Session) -> None:
        if len(self._remembered) >= REMEMBER_MAX:
            self._remembered.clear()
        self._remembered[digest] = (time.monotonic(), value)

    def _forget_all(self) -> None:
        """After any change to users, sessions or tokens: simpler than knowing which entries
        it touched, and changes are rare next to requests."""
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
        except IntegrityError:
            raise AccountError(f"user {name!r} exists already") from None
        return User(name, role, tuple(sites))

    def remove_user(self, name: str) -> None:
        with self._file.transaction() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"no user {name!r}")
        self._forget_all()

    def set_password(self, name: str, password: str, *, revoke_tokens: bool = False) -> int:
        """A new password also ends every session of the user (a leaked one stops working);
        with `revoke_tokens`, their API tokens too. Tokens are kept by default: they belong to
        integrations (a Prometheus scraper) that a forgotten password has nothing to do
        with. Returns how many tokens were revoked."""
        self._check_password(password)
        with self._file.transaction() as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?",
                (self._hasher.hash(password), name),
            ).rowcount
            if not changed:
                raise AccountError(f"no user {name!r}")
            db.execute('DELETE FROM sessions WHERE "user" = ?', (name,))
            revoked = (
                db.execute('DELETE FROM api_tokens WHERE "user" = ?', (name,)).rowcount
                if revoke_tokens
                else 0
            )
        self._forget_all()
        return revoked

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
                    ' JOIN users u ON u.name = s."user" WHERE s.token_sha256 = ?',
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
    def new_token(
        self, name: str, label: str, expires: datetime | None = None, now: datetime | None = None
    ) -> str:
        """A bearer token for an integration, acting as user `name`. Shown once."""
        return self.issue_token(name, label, expires, now)[0]

    def issue_token(
        self, name: str, label: str, expires: datetime | None = None, now: datetime | None = None
    ) -> tuple[str, ApiToken]:
        """`new_token`, with what can be shown of it later (its id, to revoke it by)."""
        now = now or datetime.now(UTC)
        label = label.strip()
        if not label or len(label) > 100:
            raise AccountError("a token's label is 1-100 characters (say what it is for)")
        if expires is not None and expires <= now:
            raise AccountError("a token must expire in the future")
        if self.user(name) is None:
            raise AccountError(f"no user {name!r}")
        token = "vw_" + secrets.token_urlsafe(32)
        with self._file.transaction() as db:
            cursor = db.execute(
                'INSERT INTO api_tokens (token_sha256, "user", label, created, expires)'
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (
                    _digest(token),
                    name,
                    label,
                    now.isoformat(),
                    None if expires is None else expires.isoformat(),
                ),
            )
            (token_id,) = cursor.fetchone()
        return token, ApiToken(token_id, name, label, now, expires, None)

    def tokens(self, name: str | None = None) -> list[ApiToken]:
        """Every API token (of user `name`), oldest first; expired ones too, until revoked."""
        with self._file.transaction() as db:
            rows = db.execute(
                'SELECT id, "user", label, created, expires, last_used FROM api_tokens'
                ' WHERE ? IS NULL OR "user" = ? ORDER BY id',
                (name, name),
            ).fetchall()
        return [_api_token(*row) for row in rows]

    def revoke_token(self, token_id: int, by: User | None = None) -> ApiToken:
        """Delete one API token. `by`: the dashboard user asking, who may revoke their own
        tokens (an admin anyone's); None for the command line, which may revoke any."""
        with self._file.transaction() as db:
            row = db.execute(
                'SELECT id, "user", label, created, expires, last_used FROM api_tokens'
                " WHERE id = ?",
                (token_id,),
            ).fetchone()
            found = None if row is None else _api_token(*row)
            if found is None or (
                by is not None and by.role is not Role.ADMIN and found.user != by.name
            ):
                # The same answer for someone else's token: ids of others are not confirmed.
                raise AccountError(f"no API token {token_id}")
            db.execute("DELETE FROM api_tokens WHERE id = ?", (token_id,))
        self._forget_all()
        return found

    def token_user(self, token: str, now: datetime | None = None) -> User | None:
        """The user an API token acts as, unless it is unknown, revoked or expired."""
        now = now or datetime.now(UTC)
        digest = _digest(token)
        found = self._recall(digest)
        if not isinstance(found, _Grant):
            with self._file.transaction() as db:
                row = db.execute(
                    "SELECT u.name, u.role, u.sites, t.expires, t.last_used FROM api_tokens t"
                    ' JOIN users u ON u.name = t."user" WHERE t.token_sha256 = ?',
                    (digest,),
                ).fetchone()
                if row is None:
                    return None
                name, role, sites, expires, last_used = row
                used = _time(last_used)
                if used is None or now - used >= LAST_USED_EVERY:
                    db.execute(
                        "UPDATE api_tokens SET last_used = ? WHERE token_sha256 = ?",
                        (now.isoformat(), digest),
                    )
            found = _Grant(_user(name, role, sites), _time(expires))
            self._remember(digest, found)
        if found.expires is not None and found.expires <= now:
            return None
        return found.user


def throttle_address(host: str) -> str:
    """The part of a client address that failed logins count against: the address itself, or
    for IPv6 its /64, which one host (or one customer of a provider) is given whole, so
    stepping through it does not make a new client each time."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP address (a Unix socket, a test client): as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class LoginThrottle:
    """Failed logins per (name, address), per address and per name (the module docstring
    gives the limits and why). In memory, per process; every count is bounded."""

    def __init__(
        self,
        pair_limit: int = 5,
        window: timedelta = timedelta(minutes=15),
        address_limit: int = 30,
        name_threshold: int = 20,
        name_window: timedelta = timedelta(hours=24),
        first_backoff: timedelta = timedelta(seconds=1),
        max_backoff: timedelta = timedelta(minutes=15),
        known_for: timedelta = timedelta(days=30),
    ) -> None:
        self.pair_limit = pair_limit
        self.window = window
        self.address_limit = address_limit
        self.name_threshold = name_threshold
        self.name_window = name_window
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.known_for = known_for
        # Times of failures (and of attempts still being checked), oldest first, per key.
        self._pairs: dict[tuple[str, str], list[datetime]] = {}
        self._addresses: dict[str, list[datetime]] = {}
        self._names: dict[str, list[datetime]] = {}
        # name -> address -> when that name last signed in from there.
        self._known: dict[str, dict[str, datetime]] = {}
        self._lock = threading.Lock()

    def begin(self, name: str, address: str, now: datetime) -> float:
        """Seconds until `name` may be tried from `address`, or 0: then this attempt counts
        as a failure at `now` until `succeeded` forgives it. Looking and counting under one
        lock is what holds the limits when guesses arrive together: each takes its place
        before its password is checked, so a sixth concurrent one finds five counted."""
        name, address = name.lower(), throttle_address(address)
        with self._lock:
            pair = self._recent(self._pairs, (name, address), self.window, now)
            from_address = self._recent(self._addresses, address, self.window, now)
            for_name = self._recent(self._names, name, self.name_window, now)
            waits = [0.0]
            if len(pair) >= self.pair_limit:
                waits.append((pair[-self.pair_limit] + self.window - now).total_seconds())
            if len(from_address) >= self.address_limit:
                oldest = from_address[-self.address_limit]
                waits.append((oldest + self.window - now).total_seconds())
            if len(for_name) >= self.name_threshold and not self._is_known(name, address, now):
                doublings = len(for_name) - self.name_threshold
                backoff = min(self.first_backoff * 2 ** min(doublings, 30), self.max_backoff)
                waits.append((for_name[-1] + backoff - now).total_seconds())
            wait = max(waits)
            if wait > 0:
                return wait  # refused before any password is checked: it costs nothing
            _count(self._pairs, (name, address), now)
            _count(self._addresses, address, now)
            _count(self._names, name, now)
            return 0.0

    def succeeded(self, name: str, address: str, now: datetime) -> None:
        """The attempt begun at `now` had the right password: forget the failures of this
        name at this address and the attempt itself, and remember the address as one the
        name signs in from. Failures elsewhere still count: the owner signing in does not
        reset a guesser's count at another address."""
        name, address = name.lower(), throttle_address(address)
        with self._lock:
            self._pairs.pop((name, address), None)
            _forgive(self._addresses, address, now)
            _forgive(self._names, name, now)
            known = self._known.setdefault(name, {})
            known[address] = now
            if len(known) > 20:  # bounded: forget the address used longest ago
                del known[min(known, key=known.__getitem__)]

    def _is_known(self, name: str, address: str, now: datetime) -> bool:
        last = self._known.get(name, {}).get(address)
        return last is not None and now - last < self.known_for

    @staticmethod
    def _recent(
        keyed: dict[_K, list[datetime]], key: _K, window: timedelta, now: datetime
    ) -> list[datetime]:
        """The key's failures within `window`, older ones forgotten."""
        recent = [t for t in keyed.get(key, []) if now - t < window]
        if recent:
            keyed[key] = recent
        else:
            keyed.pop(key, None)
        return recent


def _count(keyed: dict[_K, list[datetime]], key: _K, now: datetime) -> None:
    keyed.setdefault(key, []).append(now)
    if len(keyed) > 10_000:  # bounded: forget the quietest half of the keys
        for quiet in sorted(keyed, key=lambda k: len(keyed[k]))[:5000]:
            del keyed[quiet]


def _forgive(keyed: dict[_K, list[datetime]], key: _K, now: datetime) -> None:
    times = keyed.get(key, [])
    if now in times:
        times.remove(now)
