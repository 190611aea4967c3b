"""The weeks the export form offers: those with readings, newest first.

A free week field let anyone ask for a week with nothing in it and get pages of grey; a list
of the weeks that have readings cannot. The store answers "is there a reading in this
week?" for a year of weeks in one cheap call (`Store.has_readings`), and the answer is kept
for the minute: the overview renders its export form every second.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.dashboard.week import IsoWeek
from ventwatch.store import Store

# A school year and its holidays: older weeks are still exported by the command line
# (`ventwatch report --week`).
WEEKS_OFFERED: Final = 53


@dataclass(frozen=True, slots=True)
class ExportWeek:
    label: str  # the ISO week, "2026-W47": what the export routes take
    first: date  # its Monday
    last: date  # its Sunday
    in_progress: bool  # the site's current week: its report is of the days so far


def weeks_with_data(
    store: Store, tz: ZoneInfo, now: datetime, weeks: int = WEEKS_OFFERED
) -> list[ExportWeek]:
    """The weeks among the last `weeks` (this one included) with any reading, newest first."""
    this_week = IsoWeek.of(now.astimezone(tz).date())
    candidates = [w for w in (this_week.shifted(-i) for i in range(weeks)) if w is not None]
    found = store.has_readings([local_day_bounds(w.monday, w.sunday, tz) for w in candidates])
    return [
        ExportWeek(str(w), w.monday, w.sunday, w == this_week)
        for w, has in zip(candidates, found, strict=True)
        if has
    ]


def preselected(weeks: list[ExportWeek]) -> str | None:
    """The week the form starts on, as the export's default (`default_week`): the latest
    complete week with readings, else the week in progress; None when no week has any."""
    complete = next((w for w in weeks if not w.in_progress), None)
    chosen = complete or next(iter(weeks), None)
    return chosen.label if chosen is not None else None


class ExportWeeksCache:
    """`weeks_with_data` of the current minute: a new week appears when its first reading
    is stored, so a minute late is soon enough."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute: datetime | None = None
        self._weeks: list[ExportWeek] = []

    def get(self, store: Store, tz: ZoneInfo, now: datetime) -> list[ExportWeek]:
        minute = now.replace(second=0, microsecond=0)
        with self._lock:
            if minute != self._minute:
                self._weeks = weeks_with_data(store, tz, minute)
                self._minute = minute
            return self._weeks
