"""Rooms given to sensors from the dashboard, with who did it and when.

A sensor that starts publishing before anyone has put it in the site file is quarantined as
unknown; an admin can give it a room from the sensors page without editing the file and
restarting. The site file's `sensors:` list still wins: it is what the site reviews and keeps
in version control, and an assignment is the quick fix until it is written there.

Kept in the accounts' SQLite file (one file to back up, safe across threads and processes),
with a version number that every assignment bumps: ingest processes poll that one number and
re-read the table only when it changed, so a separate `ventwatch ingest` sees a new
assignment within seconds without a restart.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sensor_assignments (
    site TEXT NOT NULL,
    family TEXT NOT NULL,
    device TEXT NOT NULL,
    room TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (site, family, device)
);
CREATE TABLE IF NOT EXISTS sensor_assignments_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO sensor_assignments_version VALUES (1, 0);
"""


@dataclass(frozen=True, slots=True)
class Assignment:
    site: str
    family: str
    device: str
    room: str
    assigned_by: str  # a user name; kept as text, so removing the user keeps the record
    assigned_at: datetime


class Assignments:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One connection per thread (SQLite's rule), each call one transaction."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10)
            self._local.con = con
        with con:
            yield con

    def assign(
        self, site: str, family: str, device: str, room: str, by: str, at: datetime
    ) -> Assignment:
        """Give a sensor a room (again: a later assignment replaces an earlier one)."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO sensor_assignments VALUES (?, ?, ?, ?, ?, ?)",
                (site, family, device, room, by, at.isoformat()),
            )
            db.execute("UPDATE sensor_assignments_version SET version = version + 1")
        return Assignment(site, family, device, room, by, at)

    def for_site(self, site: str) -> list[Assignment]:
        with self._db() as db:
            rows = db.execute(
                "SELECT family, device, room, assigned_by, assigned_at FROM sensor_assignments"
                " WHERE site = ? ORDER BY family, device",
                (site,),
            ).fetchall()
        return [
            Assignment(site, f, d, r, by, datetime.fromisoformat(at)) for f, d, r, by, at in rows
        ]

    def version(self) -> int:
        """Changes whenever any process assigns a sensor: cheap enough to poll."""
        with self._db() as db:
            (version,) = db.execute("SELECT version FROM sensor_assignments_version").fetchone()
        return int(version)
