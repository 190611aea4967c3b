"""The embedded store: one DuckDB file, no server to run.

Batches go in as one Arrow table per write (DuckDB scans it in place), never row by row:
`executemany` costs a round trip per row. A primary key on (sensor, time) with INSERT OR
IGNORE makes a redelivered message harmless.

The file is created 0600 in a folder created 0700 (`private_files`): it holds every reading.
DuckDB creates its write-ahead log (`<file>.wal`, the latest writes) by the umask, again
after every checkpoint; each write gives it the store file's own mode straight after.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from ventwatch.private_files import FILE_MODE, make_private_folder
from ventwatch.readings import QUANTITIES, Reading, RoomLatest
from ventwatch.store import FRAME_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

_SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("us", tz="UTC")),
        ("site", pa.string()),
        ("room", pa.string()),
        ("sensor", pa.string()),
        ("family", pa.string()),
        *[(q, pa.float64()) for q in QUANTITIES],
    ]
)

_DDL = f"""
CREATE TABLE IF NOT EXISTS readings (
    time TIMESTAMPTZ NOT NULL,
    site VARCHAR NOT NULL,
    room VARCHAR NOT NULL,
    sensor VARCHAR NOT NULL,
    family VARCHAR NOT NULL,
    {", ".join(f"{q} DOUBLE" for q in QUANTITIES)},
    PRIMARY KEY (sensor, time)
)
"""


class DuckDBStore:
    """A `Store` in one DuckDB file. Thread-safe: ingest writes while the dashboard reads."""

    def __init__(self, path: Path, *, site: str | None = None) -> None:
        """`site`: reads see that site's readings only (None: every site's)."""
        make_private_folder(path.parent)
        created = not path.exists()
        self.path = path
        self._con = duckdb.connect(str(path))
        if created:
            os.chmod(path, FILE_MODE)
        self._mode = stat.S_IMODE(path.stat().st_mode)
        self._wal = path.with_name(path.name + ".wal")
        self._con.execute("SET TimeZone = 'UTC'")
        self._con.execute(_DDL)
        self._lock = threading.Lock()
        self._site = site

    def _only_site(self, params: list[object], column: str = "site") -> str:
        """The condition that keeps reads to this store's site ("" for every site), its
        parameter appended to `params`."""
        if self._site is None:
            return ""
        params.append(self._site)
        return f" AND {column} = ?"

    def write(self, batch: Sequence[Reading]) -> int:
        if not batch:
            return 0
        # Two readings of one sensor with one timestamp inside a batch: keep the first (the
        # table's key would refuse the second anyway, but only for rows already stored).
        unique = list({(r.sensor, r.time): r for r in reversed(batch)}.values())[::-1]
        columns = {
            "time": [r.time for r in unique],
            "site": [r.site for r in unique],
            "room": [r.room for r in unique],
            "sensor": [r.sensor for r in unique],
            "family": [r.family for r in unique],
            **{q: [getattr(r, q) for r in unique] for q in QUANTITIES},
        }
        table = pa.Table.from_pydict(columns, schema=_SCHEMA)
        with self._lock:
            self._con.register("incoming", table)
            try:
                # DuckDB answers an INSERT with the number of rows it inserted: the new ones.
                rows = self._con.execute(
                    "INSERT OR IGNORE INTO readings SELECT * FROM incoming"
                ).fetchall()
            finally:
                self._con.unregister("incoming")
            self._wal_as_file()
        return int(rows[0][0])

    def _wal_as_file(self) -> None:
        """The write-ahead log with the store file's mode (see the module's docstring)."""
        with contextlib.suppress(FileNotFoundError):  # none: checkpointed into the file
            if stat.S_IMODE(self._wal.stat().st_mode) != self._mode:
                os.chmod(self._wal, self._mode)

    def latest(self, since: datetime) -> dict[str, RoomLatest]:
        sql = """
            SELECT room,
                   max(time),
                   arg_max(sensor, time),
                   arg_max(co2_ppm, time) FILTER (WHERE co2_ppm IS NOT NULL),
                   arg_max(temperature_c, time) FILTER (WHERE temperature_c IS NOT NULL),
                   arg_max(humidity_pct, time) FILTER (WHERE humidity_pct IS NOT NULL)
            FROM readings WHERE time >= ?{site} GROUP BY room
        """
        params: list[object] = [since]
        sql = sql.format(site=self._only_site(params))
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
        return {
            room: RoomLatest(
                room=room,
                time=t.astimezone(UTC),
                sensor=sensor,
                co2_ppm=co2,
                temperature_c=temp,
                humidity_pct=hum,
            )
            for room, t, sensor, co2, temp, hum in rows
        }

    def range(self, rooms: Sequence[str] | None, start: datetime, end: datetime) -> pd.DataFrame:
        import pandas as pd  # only readers need it; an ingest process stays small

        sql = f"SELECT {', '.join(FRAME_COLUMNS)} FROM readings WHERE time >= ? AND time < ?"
        params: list[object] = [start, end]
        sql += self._only_site(params)
        if rooms is not None:
            sql += " AND list_contains(?, room)"
            params.append(list(rooms))
        sql += " ORDER BY time, sensor"
        with self._lock:
            frame = self._con.execute(sql, params).df()
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame

    def reading_counts(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime, every: timedelta
    ) -> dict[tuple[str, datetime], int]:
        block_us = every // timedelta(microseconds=1)
        params: list[object] = [start, end]
        sql = (
            "SELECT room, epoch_us(time) // ? AS block,"
            " count(co2_ppm) + count(temperature_c) + count(humidity_pct)"
            " FROM readings WHERE time >= ? AND time < ?"
        )
        params.insert(0, block_us)
        sql += self._only_site(params)
        if rooms is not None:
            sql += " AND list_contains(?, room)"
            params.append(list(rooms))
        with self._lock:
            found = self._con.execute(sql + " GROUP BY ALL", params).fetchall()
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return {(room, epoch + every * block): int(n) for room, block, n in found if n}

    def minute_means(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Averaged in DuckDB, and handed over as numbers: room names travel once each (as
        the categories of a Categorical), minutes as integers. Building ten million Python
        strings and timestamps costs more than the averaging itself."""
        import pandas as pd

        with self._lock:
            if rooms is None:
                span: list[object] = [start, end]
                found = self._con.execute(
                    "SELECT DISTINCT room FROM readings WHERE time >= ? AND time < ?"
                    f"{self._only_site(span)} ORDER BY 1",
                    span,
                ).fetchall()
                rooms = [row[0] for row in found]
            names = list(rooms)
            params: list[object] = [names, len(names), start, end]
            site = self._only_site(params, "r.site")
            # Typed as arrays or Categoricals; with no ENUM column, all are arrays.
            columns: dict[str, Any] = self._con.execute(
                f"""
                WITH k AS (SELECT unnest(?::VARCHAR[]) AS room, unnest(range(?)) AS code)
                SELECT k.code, epoch_us(r.time) // 60000000 AS minute,
                       avg(r.co2_ppm) AS co2_ppm, avg(r.temperature_c) AS temperature_c,
                       avg(r.humidity_pct) AS humidity_pct
                FROM readings r JOIN k ON r.room = k.room
                WHERE r.time >= ? AND r.time < ?{site}
                GROUP BY ALL
                """,
                params,
            ).fetchnumpy()
        return pd.DataFrame(
            {
                "room": pd.Categorical.from_codes(columns["code"], categories=pd.Index(names)),
                "minute": pd.to_datetime(columns["minute"] * 60, unit="s", utc=True),
                **{q: columns[q] for q in ("co2_ppm", "temperature_c", "humidity_pct")},
            }
        )

    def has_readings(self, spans: Sequence[tuple[datetime, datetime]]) -> list[bool]:
        """One `LIMIT 1` query per span: DuckDB stops at the first row it finds."""
        site: list[object] = []
        sql = f"SELECT 1 FROM readings WHERE time >= ? AND time < ?{self._only_site(site)} LIMIT 1"
        with self._lock:
            return [bool(self._con.execute(sql, [a, b, *site]).fetchall()) for a, b in spans]

    def close(self) -> None:
        with self._lock:
            self._con.close()
