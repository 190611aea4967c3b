"""Where readings live: one interface, chosen by URL (`duckdb:///path` now; InfluxDB later).

Every stage talks to the store only through `Store`, so the embedded file and a production
time-series database are interchangeable and can be tested by one shared suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import pandas as pd

from ventwatch.readings import Reading, RoomLatest

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

        Returns how many readings were new.
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

    def close(self) -> None: ...


class StoreURLError(ValueError):
    pass


def open_store(url: str, base: Path | None = None) -> Store:
    """Open the store a URL names. A relative DuckDB path is taken from `base` (the site
    file's folder), so a site file works from wherever the command is run."""
    parts = urlsplit(url)
    if parts.scheme == "duckdb":
        raw = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not raw or raw == "/":
            raise StoreURLError(
                f"{url!r}: give a file, e.g. duckdb:///var/lib/ventwatch/site.duckdb"
            )
        # duckdb:///abs/path -> /abs/path ; duckdb:///./rel or duckdb://rel -> relative
        path = Path(raw[1:] if raw.startswith("/./") else raw)
        if not path.is_absolute() and base is not None:
            path = base / path
        from ventwatch.store.duckdb import DuckDBStore

        return DuckDBStore(path)
    raise StoreURLError(f"{url!r}: unknown store (supported: duckdb:///path/to/file.duckdb)")
