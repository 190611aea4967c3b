"""The state database: everything ventwatch keeps besides readings (users, sessions, API
tokens, sensor assignments, the room register, alerts and their audit log, the outbox,
monitor leases, report marks), behind one small interface with two back ends.

- A SQLite file (`sqlite_file.SqliteFile`): the embedded default, one file beside the site
  file, nothing to run. A school needs nothing else.
- PostgreSQL (`postgres_state.PostgresState`, VENTWATCH_STATE_URL=postgresql://...): when a
  trust's processes (`serve`, `monitor`, `ingest`) run on several machines and must share
  sessions, leases and the outbox.

The modules that keep state write one SQL dialect, the common ground of SQLite 3.35+ and
PostgreSQL (`?` placeholders, `INSERT ... ON CONFLICT`, `RETURNING id`, the `"user"` column
quoted); the PostgreSQL back end translates what must differ (placeholders, column types) in
one place, so a query is written once and tested on both (tests/test_state_backends.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, SupportsIndex, overload
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class PostgresURL:
    """A PostgreSQL connection URL (libpq's form, as psycopg takes it)."""

    url: str

    def __str__(self) -> str:
        """The URL without its password, for logs and pages."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))


# Where the state lives: a SQLite file, or a PostgreSQL database.
StateLocation = Path | PostgresURL


class StateError(Exception):
    """The state database failed (unreachable, locked too long, a disk full): the driver's
    error, the same type whichever back end raised it."""


class IntegrityError(StateError):
    """A row broke a constraint (a user name taken twice)."""


class Row(tuple[Any, ...]):
    """A result row: a tuple (unpacks, compares) that also answers to its column names, as
    `sqlite3.Row` does, on both back ends."""

    names: tuple[str, ...]

    def __new__(cls, values: Sequence[Any], names: tuple[str, ...]) -> Row:
        row = super().__new__(cls, values)
        row.names = names
        return row

    @overload
    def __getitem__(self, key: SupportsIndex | str) -> Any: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[Any, ...]: ...
    def __getitem__(self, key: SupportsIndex | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return super().__getitem__(self.names.index(key))
            except ValueError:
                raise IndexError(f"no column {key!r}") from None
        return super().__getitem__(key)


class StateCursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class StateConnection(Protocol):
    """One transaction's connection: rows come back as `Row`s."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> StateCursor: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def column_names(self, table: str) -> set[str]:
        """The columns `table` has now (none: no such table): what a migration checks
        before adding one."""
        ...


class StateDatabase(Protocol):
    @property
    def where(self) -> StateLocation: ...

    def transaction(self) -> AbstractContextManager[StateConnection]:
        """Commits at the end, or rolls back on an error."""
        ...

    def exclusive(self) -> AbstractContextManager[StateConnection]:
        """A transaction that holds the database's one write lock from its first statement.
        A migration looks before it alters (is this column there yet?), and a monitor counts
        the leases before it takes one: two processes doing so at once must not both see the
        same thing and both act on it."""
        ...


def open_state(where: StateLocation, schema: str) -> StateDatabase:
    """The state database at `where`, with the tables of `schema` created if missing."""
    if isinstance(where, PostgresURL):
        from ventwatch.postgres_state import PostgresState

        return PostgresState(where, schema)
    from ventwatch.sqlite_file import SqliteFile

    return SqliteFile(where, schema)


def state_exists(where: StateLocation) -> bool:
    """Whether anything was ever kept there: a command that only reads (a report) does not
    create an empty file for nothing. A database server always exists."""
    return isinstance(where, PostgresURL) or where.exists()


def parse_state_url(url: str, origin: str = "VENTWATCH_STATE_URL") -> PostgresURL:
    """postgresql://[user[:password]@]host[:port]/database[?options]. The password may
    instead come from libpq's PGPASSWORD or ~/.pgpass, which psycopg reads."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            f"{origin}: must be postgresql://[user[:password]@]host[:port]/database (an SQLite"
            " file is VENTWATCH_STATE_DB)"
        )
    if not parts.path.strip("/"):
        raise ValueError(f"{origin}: names no database (postgresql://host:port/DATABASE)")
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise ValueError(f"{origin}: {exc}") from None
    return PostgresURL(url)
