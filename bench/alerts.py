"""One alert-monitor tick over 1,000 rooms with readings at real cadences (bench/analyse.py's):
can the monitor judge a large site well inside its 20 s tick (the issue asks for alerts within
a minute)?

The baseline is the one read a tick cannot avoid, the store's minute means for the window,
timed in the same run; the ratio says how much the judging adds on top. No goal is set by
the issue; the tick must stay well under the 20 s interval.

    .venv/bin/python bench/alerts.py [--rooms 1000] [--keep DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analyse import MONDAY, seeded_store
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.monitor import streaming_span
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import read_minutes
from ventwatch.settings import resolve

TICK_INTERVAL_S = 20.0


def main() -> None:
    store, cfg = seeded_store()
    folder = Path(tempfile.mkdtemp(prefix="ventwatch-bench-alerts-"))
    settings = resolve(cfg, None, env={"VENTWATCH_STATE_DB": str(folder / "a.sqlite")})
    alerting = Alerting(cfg, settings, store, load_profile("joint-union"))
    monitor = alerting.monitor
    # Wednesday mid-morning, in lessons: every streaming rule has minutes to judge.
    now = datetime.combine(MONDAY + timedelta(days=2), datetime.min.time(), UTC).replace(
        hour=10, minute=30
    )
    start, end = streaming_span(monitor.rules, now)

    began = time.perf_counter()
    profile = monitor.profile
    minutes = read_minutes(store, cfg, profile, None, start, end)
    means_s = time.perf_counter() - began

    began = time.perf_counter()
    first = monitor.tick(now)  # opens alerts: writes rows
    first_s = time.perf_counter() - began
    began = time.perf_counter()
    steady = monitor.tick(now + timedelta(seconds=20))  # the usual tick: little changes
    steady_s = time.perf_counter() - began
    store.close()
    print(f"rooms {len(cfg.rooms)}  minute rows in window {len(minutes):,}")
    print(f"minute means for the window (baseline) {means_s:6.2f} s")
    print(f"first tick ({len(first)} alerts opened)   {first_s:6.2f} s")
    print(f"steady tick ({len(steady)} changes)         {steady_s:6.2f} s")
    print(
        f"RESULT alert-tick ratio={steady_s / means_s:.2f} goal=none "
        f"tick_s={steady_s:.2f} first_tick_s={first_s:.2f} means_s={means_s:.2f} "
        f"interval_s={TICK_INTERVAL_S:g} rooms={len(cfg.rooms)}"
    )


if __name__ == "__main__":
    main()
