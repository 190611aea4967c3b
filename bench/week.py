"""The week view of 1,000 rooms x one week of readings at real cadences (bench/analyse.py's
mix, about 5 million rows) in the embedded store: what the first request for `/week` in a
minute costs (later ones in the same minute come from `WeekCache`).

Goal (week view issue): under 10 s for a finished week, as `ventwatch analyse` of the same
week. The store's minute means are timed apart from the judging of 1,000 rooms x 5 school
days and the week. The data are those of bench/analyse.py (one module: run it with -m).

    .venv/bin/python -m bench.week [--rooms 1000] [--keep DIR]
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench.analyse import MONDAY, seeded_store
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import read_minutes
from ventwatch.dashboard.week import IsoWeek, week_view


def main() -> None:
    store, cfg = seeded_store()
    profile = load_profile("joint-union")
    week = IsoWeek.of(MONDAY)
    now = datetime.combine(MONDAY + timedelta(days=9), datetime.min.time(), UTC)  # week over
    start, end = local_day_bounds(week.monday, week.sunday, cfg.tz)

    began = time.perf_counter()
    minutes = read_minutes(store, cfg, profile, None, start, end)
    store_s = time.perf_counter() - began
    view = week_view(minutes, cfg, profile, week, now)
    total_s = time.perf_counter() - began
    store.close()
    cells = Counter(c.status for r in view.rooms for c in r.days)
    print(f"rows {len(minutes):,}  rooms {len(view.rooms)}  day cells {dict(cells)}")
    print(f"store: minute means of the week     {store_s:6.2f} s")
    print(f"judging: rooms x days and the week  {total_s - store_s:6.2f} s")
    print(f"total                               {total_s:6.2f} s  (goal < 10 s)")
    print(
        f"RESULT week total_s={total_s:.2f} goal=10 store_s={store_s:.2f} "
        f"view_s={total_s - store_s:.2f} rows={len(minutes)} rooms={len(cfg.rooms)}"
    )


if __name__ == "__main__":
    main()
