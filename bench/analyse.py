"""Weekly analysis of 1,000 rooms x one week in the embedded store, against the bare store
scan of the same rows. The rooms report as real sensors do: a mix of cadences (every minute,
some with a clock that drifts across minute boundaries; every 2, 5 and 10 minutes; every 15,
declared in the site file as LoRaWAN rooms are), about 5 million rows.

Goal (analysis issues): total under 10 s and at most 3x the bare scan (ratio = analysis time
/ scan time). The analysis path is what `ventwatch analyse` does: the store's minute means
(`analysis.series.read_minutes`), then every metric of every room on its minute series. The
scan is `Store.range` of the same rows into a DataFrame.

    .venv/bin/python bench/analyse.py [--rooms 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from ventwatch.analysis.engine import analyse_site, to_json
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import read_minutes
from ventwatch.config import SiteConfig
from ventwatch.store.duckdb import DuckDBStore

MONDAY = date(2026, 11, 16)
SUNDAY = date(2026, 11, 22)


# Seconds between a room's readings, by room number modulo 10: four in ten every minute (two
# of those with a clock half a second a minute fast or slow, so readings drift across minute
# boundaries: two land in one minute, or none), then every 2, 5 (three rooms in ten: the
# Aranet4's default), 10 and 15 minutes.
CADENCE_S = (60, 60, 59.5, 60.5, 120, 300, 300, 300, 600, 900)
DECLARED_MINUTES = 15  # the 15-minute rooms say so in the site file


def site(rooms: int) -> SiteConfig:
    kinds = ("natural", "mechanical", "mixed")
    return SiteConfig.model_validate(
        {
            "site": {"name": "Bench Trust", "timezone": "Europe/London"},
            "occupied_hours": {
                "start": "08:45",
                "end": "15:15",
                "breaks": [{"start": "10:45", "end": "11:00"}, {"start": "12:15", "end": "13:00"}],
            },
            "rooms": [
                {
                    "name": f"R{i:04d}",
                    "ventilation": kinds[i % 3],
                    "volume_m3": 180,
                    "report_interval_minutes": (
                        DECLARED_MINUTES if CADENCE_S[i % 10] == DECLARED_MINUTES * 60 else None
                    ),
                }
                for i in range(rooms)
            ],
        }
    )


def fill(path: Path, rooms: int) -> int:
    """Each room's readings for the week at its cadence: lessons build CO2 up, nights decay."""
    DuckDBStore(path).close()  # creates the table as ventwatch does
    con = duckdb.connect(str(path))
    start = datetime.combine(MONDAY, datetime.min.time(), UTC)
    con.execute(
        """
        INSERT INTO readings
        SELECT t, 'Bench Trust', 'R' || lpad(r::VARCHAR, 4, '0'), 's' || r::VARCHAR, 'tasmota',
               round(420 + CASE WHEN dow < 5 AND hod BETWEEN 8.75 AND 15.25
                     THEN (200 + (r % 9) * 150) * (1 - exp(-(hod - 8.75) % 1 * 4))
                     ELSE 0 END + (hash(r, n) % 15)::DOUBLE, 0),
               20.5 - 0.5 * (r % 3), 45.0, NULL, NULL
        FROM (
            SELECT r, n, t,
                   dayofweek(timezone('UTC', t) + INTERVAL 6 day) % 7 AS dow,
                   (epoch(t) - epoch(?::TIMESTAMPTZ)) % 86400 / 3600.0 AS hod
            FROM (
                SELECT r, n, ?::TIMESTAMPTZ + to_microseconds((n * c * 1e6)::BIGINT) AS t
                FROM (SELECT r, list_extract(?, r % 10 + 1) AS c FROM range(?) AS rooms(r)),
                     range((7 * 86400 / c)::BIGINT) AS readings(n)
            )
        )
        """,
        [start, start, list(CADENCE_S), rooms],
    )
    count = con.execute("SELECT count(*) FROM readings").fetchall()[0][0]
    con.close()
    return int(count)


def seeded_store() -> tuple[DuckDBStore, SiteConfig]:
    """The bench site's week in a store, from `--rooms N [--keep DIR]` on the command line
    (with --keep, a store of the same size made by an earlier run is reused)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="reuse/keep the store in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ventwatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{args.rooms}.duckdb"
    if not path.exists():
        began = time.perf_counter()
        rows = fill(path, args.rooms)
        print(f"generated {rows:,} readings in {time.perf_counter() - began:.1f} s")
    return DuckDBStore(path), site(args.rooms)


def main() -> None:
    store, cfg = seeded_store()
    start, end = local_day_bounds(MONDAY, SUNDAY, cfg.tz)
    profile = load_profile("joint-union")

    began = time.perf_counter()
    frame = store.range(None, start, end)
    scan_s = time.perf_counter() - began
    rows = len(frame)
    del frame

    began = time.perf_counter()
    minutes = read_minutes(store, cfg, profile, None, start, end)
    means_s = time.perf_counter() - began
    result = analyse_site(minutes, cfg, profile, MONDAY, SUNDAY)
    document = to_json(result)
    total_s = time.perf_counter() - began
    store.close()
    statuses: dict[str, int] = {}
    for room in document["rooms"]:
        statuses[room["status"]] = statuses.get(room["status"], 0) + 1
    print(f"rows {rows:,}  rooms {len(document['rooms'])}  statuses {statuses}")
    print(f"bare scan (Store.range -> DataFrame)   {scan_s:6.2f} s")
    print(f"analysis: minute means in the store   {means_s:6.2f} s")
    print(f"analysis: all metrics, all rooms      {total_s - means_s:6.2f} s")
    print(f"analysis total                        {total_s:6.2f} s  (goal < 10 s, <= 3x scan)")
    print(
        f"RESULT analyse ratio={total_s / scan_s:.2f} goal=3 total_s={total_s:.2f} "
        f"scan_s={scan_s:.2f} rows={rows} rooms={len(cfg.rooms)}"
    )


if __name__ == "__main__":
    main()
