"""The project's SQLite file (users, sessions, API tokens, sensor assignments): one place that
knows how to open it safely from many threads and processes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteFile:
    """A SQLite file with its tables created on first open. Each thread gets its own
    connection (SQLite's rule); each `transaction()` commits, or rolls back on an error."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
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
