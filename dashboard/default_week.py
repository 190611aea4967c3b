"""The week a dashboard export covers when nobody picks one: the latest week with readings.

"Last week" was the default, and on a site whose last week is empty (the demo before its
history is stored, a school back from a holiday, sensors that were down) it printed a long
all-grey report headed "No room was red or amber": a page that says nothing, which reads as
good news. So the default is the latest complete week that has readings, or the week in
progress when no earlier one has any (a site in its first week).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.reports.period import Period, parse_week
from ventwatch.store import Store

# How many complete weeks back to look: a term and a half, past any school holiday.
WEEKS_SEARCHED: Final = 20


def week_label(day: datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def has_readings(store: Store, tz: ZoneInfo, period: Period) -> bool:
    start, end = local_day_bounds(period.first, period.last, tz)
    # One `LIMIT 1` query, not the week's readings (millions on a large site).
    return store.has_readings([(start, end)])[0]


def latest_week_with_data(store: Store, tz: ZoneInfo, now: datetime) -> str:
    """The ISO week ("2026-W47") of the latest complete week before `now` (the site's clock)
    with readings; else the week in progress if it has some; else last week (there is no
    data anywhere, and the report says so)."""
    local = now.astimezone(tz)
    last_week = week_label(local - timedelta(days=7))
    for weeks_back in range(1, WEEKS_SEARCHED + 1):
        label = week_label(local - timedelta(days=7 * weeks_back))
        if has_readings(store, tz, parse_week(label)):
            return label
    this_week = week_label(local)
    return this_week if has_readings(store, tz, parse_week(this_week)) else last_week
