"""The project's SQLite file (users, sessions, API tokens, sensor assignments): one place that
knows how to open it safely from many threads and processes, and creates it private (0600,
`private_files`): SQLite gives its journal the same mode as the file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ventwatch.private_files import create_private_file


class SqliteFile:
    """A SQLite file with its tables created on first open. Each thread gets its own
    connection (SQLite's rule); each `transaction()` commits, or rolls back on an error."""

    def __init__(self, path: Path, schema: str) -> None:
        create_private_file(path)  # an empty file is an empty SQLite database
        self.path = path
        self._local = threading.local()
        with self.transaction() as db:
            db.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            # Another process (ingest, the users command) may hold the file for a moment.
            con = sqlite3.connect(self.path, timeout=10)
            con.execute("PRAGMA foreign_keys = ON")
            self._local.con = con
        with con:
            yield con

    @contextmanager
    def schema_change(self) -> Iterator[sqlite3.Connection]:
        """A transaction that holds the file's write lock from its first statement (BEGIN
        IMMEDIATE). A migration looks before it alters (is this column there yet?): two
        processes, or two sites' objects in one process, opening an old file at once must
        not both see the column missing and both add it."""
        with self.transaction() as db:
            db.execute("BEGIN IMMEDIATE")
            yield db


def column_names(db: sqlite3.Connection, table: str) -> set[str]:
    """The columns `table` has in this file: what a migration checks before adding one."""
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
