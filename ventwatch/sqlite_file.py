"""The state database as a SQLite file (the embedded default): one place that knows how to
open it safely from many threads and processes, and creates it private (0600,
`private_files`): SQLite gives its journal the same mode as the file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ventwatch.private_files import create_private_file
from ventwatch.state_database import IntegrityError, Row, StateError


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    return Row(values, tuple(column[0] for column in cursor.description))


class _Connection:
    """A sqlite3 connection speaking `StateConnection`: its errors as `StateError`s."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._con.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except sqlite3.Error as exc:
            raise StateError(str(exc)) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._con.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StateError(str(exc)) from exc

    def column_names(self, table: str) -> set[str]:
        return {row[1] for row in self._con.execute(f"PRAGMA table_info({table})")}


class SqliteFile:
    """A SQLite file with its tables created on first open. Each thread gets its own
    connection (SQLite's rule); each `transaction()` commits, or rolls back on an error."""

    def __init__(self, path: Path, schema: str) -> None:
        create_private_file(path)  # an empty file is an empty SQLite database
        self.where = path
        self._local = threading.local()
        with self.transaction():
            self._local.con.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[_Connection]:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            # Another process (ingest, the users command) may hold the file for a moment.
            con = sqlite3.connect(self.where, timeout=10)
            con.execute("PRAGMA foreign_keys = ON")
            con.row_factory = _row
            self._local.con = con
        try:
            with con:
                yield _Connection(con)
        except sqlite3.Error as exc:  # the commit itself (a full disk, a lock held too long)
            raise StateError(str(exc)) from exc

    @contextmanager
    def exclusive(self) -> Iterator[_Connection]:
        """BEGIN IMMEDIATE: the file's write lock from the first statement."""
        with self.transaction() as db:
            db.execute("BEGIN IMMEDIATE")
            yield db
