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

from dataclasses import dataclass
from datetime import datetime

from ventwatch.state_database import StateLocation, open_state

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
INSERT INTO sensor_assignments_version VALUES (1, 0) ON CONFLICT DO NOTHING;
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
    def __init__(self, path: StateLocation) -> None:
        self._file = open_state(path, _SCHEMA)
        self.path = path

    def assign(
        self, site: str, family: str, device: str, room: str, by: str, at: datetime
    ) -> Assignment:
        """Give a sensor a room (again: a later assignment replaces an earlier one)."""
        with self._file.transaction() as db:
            db.execute(
                "INSERT INTO sensor_assignments VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (site, family, device) DO UPDATE SET room = excluded.room,"
                " assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
                (site, family, device, room, by, at.isoformat()),
            )
            db.execute("UPDATE sensor_assignments_version SET version = version + 1")
        return Assignment(site, family, device, room, by, at)

    def for_site(self, site: str) -> list[Assignment]:
        with self._file.transaction() as db:
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
        with self._file.transaction() as db:
            (version,) = db.execute("SELECT version FROM sensor_assignments_version").fetchone()
        return int(version)
