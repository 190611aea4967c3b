"""Where readings live: one interface, chosen by URL.

- `duckdb:///path/to/file.duckdb`: the embedded file (`ventwatch.store.duckdb`);
- `influxdb://[user:pass@]host:port/database[?rp=NAME&token_env=VAR&precision=ms]`
  (`influxdbs://` for https): an InfluxDB server through its v1 HTTP API, which InfluxDB 1.x
  serves natively and 2.x/3.x as a compatibility layer (`ventwatch.store.influxdb`).

Every stage talks to the store only through `Store`, so the embedded file and a production
time-series database are interchangeable and are tested by one shared suite
(`tests/test_store.py`). Failures have store-independent types: `StoreUnavailableError`
(the store cannot take or give data now: keep the readings and retry) and
`StoreRejectedError` (the store refuses these readings: retrying the same batch cannot help).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from ventwatch.readings import Reading, RoomLatest

if TYPE_CHECKING:
    import pandas as pd

# Columns of `Store.range()` frames, in order.
FRAME_COLUMNS = (
    "time",
    "site",
    "room",
    "sensor",
    "family",
    "co2_ppm",
    "temperature_c",
    "humidity_pct",
    "pressure_hpa",
    "battery_pct",
)


class Store(Protocol):
    def write(self, batch: Sequence[Reading]) -> int:
        """Store a batch; a reading already stored (same sensor and time) is not stored twice.

        Returns how many readings were new (InfluxDB cannot tell: it returns how many points
        it was sent). Raises `StoreUnavailableError` when the store cannot take the batch now
        and `StoreRejectedError` when it refuses the readings themselves; never drops them
        silently.
        """
        ...

    def latest(self, since: datetime) -> dict[str, RoomLatest]:
        """The newest value of each quantity per room, from readings at or after `since`."""
        ...

    def range(self, rooms: Sequence[str] | None, start: datetime, end: datetime) -> pd.DataFrame:
        """Readings with start <= time < end (all rooms when `rooms` is None), ordered by time."""
        ...

    def minute_means(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """1-minute means per room (columns room, minute, co2_ppm, temperature_c,
        humidity_pct), computed where the data lives: analysis starts from these."""
        ...

    def reading_counts(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime, every: timedelta
    ) -> dict[tuple[str, datetime], int]:
        """How many values each room has in each block of `every` (blocks aligned to the
        epoch, clipped to [start, end)), blocks without any left out: a cheap sign that a
        block's readings changed, for a reader that keeps minute means between reads
        (`recent.RecentMinutes`)."""
        ...

    def has_readings(self, spans: Sequence[tuple[datetime, datetime]]) -> list[bool]:
        """For each span (start <= time < end), whether any reading lies in it: which weeks
        the dashboard offers for export, found without reading their readings."""
        ...

    def close(self) -> None: ...


class StoreURLError(ValueError):
    """A store URL that names no usable store; the message says what to write instead."""


class StoreError(Exception):
    """A store operation failed; the subclasses say whether retrying can help."""


class StoreUnavailableError(StoreError):
    """The store cannot take or give data now: not reachable, timed out, failed on its side
    (HTTP 5xx), refused the credentials, or lacks the database. The readings are fine: keep
    them (ingest spools them) and retry later."""


class StoreRejectedError(StoreError, ValueError):
    """The store refuses these readings themselves (e.g. an InfluxDB field type conflict, a
    name line protocol cannot carry): retrying the same batch cannot help. Carries the
    server's message."""


def duckdb_file(url: str, base: Path | None = None) -> Path | None:
    """The file a `duckdb://` URL names (a relative path taken from `base`, the site file's
    folder), or None for another kind of store."""
    parts = urlsplit(url)
    if parts.scheme != "duckdb":
        return None
    raw = (parts.netloc + parts.path) if parts.netloc else parts.path
    if not raw or raw == "/":
        raise StoreURLError(f"{url!r}: give a file, e.g. duckdb:///var/lib/ventwatch/site.duckdb")
    # duckdb:///abs/path -> /abs/path ; duckdb:///./rel or duckdb://rel -> relative
    path = Path(raw[1:] if raw.startswith("/./") else raw)
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def open_store(url: str, base: Path | None = None, *, site: str | None) -> Store:
    """Open the store a URL names, as `site` sees it: its reads return that site's readings
    only (every reading is tagged with its site), so many sites can share one database; None
    reads every site's, for a tool that looks across sites. Writes take any site's readings.
    A relative DuckDB path is taken from `base` (the site file's folder), so a site file
    works from wherever the command is run."""
    path = duckdb_file(url, base)
    if path is not None:
        from ventwatch.store.duckdb import DuckDBStore

        return DuckDBStore(path, site=site)
    parts = urlsplit(url)
    if parts.scheme in ("influxdb", "influxdbs"):
        from ventwatch.store.influxdb import InfluxDBStore

        return InfluxDBStore.from_url(url, site=site)
    raise StoreURLError(
        f"{redact_url(url)!r}: unknown store (supported: duckdb:///path/to/file.duckdb, "
        "influxdb://[user:pass@]host:port/database[?rp=NAME&token_env=VAR&precision=ms], "
        "influxdbs://... for https)"
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()
