"""Which minutes a room is occupied: school-day hours, breaks, terms and holidays, in the site's
time zone, as a grid of UTC minutes.

Every guidance figure describes an occupied room, so every metric is computed over this grid
only; nights, weekends and holidays would pull a room's figures towards outdoor air. The grid
is built from instants (UTC minutes), so a day with a clock change simply has 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ventwatch.config import WEEKDAYS, Calendar, DateRange, OccupiedHours


@dataclass(frozen=True)
class Schedule:
    """Occupied hours and the calendar, the two things that decide occupancy."""

    hours: OccupiedHours
    calendar: Calendar
    timezone: ZoneInfo

    def describe(self) -> str:
        """One line for reports: which hours were counted."""
        days = ", ".join(d.capitalize() for d in self.hours.days)
        text = f"{days} {self.hours.start:%H:%M}-{self.hours.end:%H:%M} ({self.timezone.key})"
        if self.hours.breaks:
            breaks = ", ".join(f"{b.start:%H:%M}-{b.end:%H:%M}" for b in self.hours.breaks)
            text += f", breaks {breaks} {'excluded' if self.hours.exclude_breaks else 'included'}"
        return text


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _in_ranges(days: np.ndarray, ranges: list[DateRange]) -> np.ndarray:
    inside = np.zeros(len(days), dtype=bool)
    for r in ranges:
        inside |= (days >= np.datetime64(r.start, "D")) & (days <= np.datetime64(r.end, "D"))
    return inside


def occupied_mask(minutes: pd.DatetimeIndex, schedule: Schedule) -> np.ndarray:
    """For each UTC minute: is the room occupied then? Vectorised, for millions of minutes."""
    local = minutes.tz_convert(schedule.timezone)
    hours = schedule.hours
    weekday_ok = np.isin(local.day_of_week, [WEEKDAYS.index(d) for d in hours.days])
    tod = np.asarray(local.hour * 60 + local.minute)
    mask = weekday_ok & (tod >= _minutes(hours.start)) & (tod < _minutes(hours.end))
    if hours.exclude_breaks:
        for b in hours.breaks:
            mask &= ~((tod >= _minutes(b.start)) & (tod < _minutes(b.end)))
    calendar = schedule.calendar
    if calendar.terms or calendar.holidays:
        days = local.tz_localize(None).values.astype("datetime64[D]")
        if calendar.terms:
            mask &= _in_ranges(days, calendar.terms)
        holidays = [
            h if isinstance(h, DateRange) else DateRange(start=h, end=h) for h in calendar.holidays
        ]
        if holidays:
            mask &= ~_in_ranges(days, holidays)
    return np.asarray(mask)


def school_days_after(first: date, last: date, schedule: Schedule) -> int:
    """School days d with first < d <= last: the age of an unclosed alert, counted where the
    alert monitor, the action log and the alerts page all read it."""
    if last <= first:
        return 0
    days = pd.date_range(first + timedelta(days=1), last, freq="D")
    starts = [datetime.combine(d.date(), schedule.hours.start, schedule.timezone) for d in days]
    noon = pd.DatetimeIndex(starts).tz_convert("UTC")
    return int(occupied_mask(noon, schedule).sum())


def local_day_bounds(first: date, last: date, timezone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days first..last inclusive."""
    start = datetime.combine(first, time(0), timezone)
    end = datetime.combine(last + timedelta(days=1), time(0), timezone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def minute_grid(start: datetime, end: datetime) -> pd.DatetimeIndex:
    """Every UTC minute in [start, end)."""
    return pd.date_range(
        pd.Timestamp(start).tz_convert("UTC").ceil("min"),
        pd.Timestamp(end).tz_convert("UTC") - pd.Timedelta(minutes=1),
        freq="min",
    )


def occupied_grid(start: datetime, end: datetime, schedule: Schedule) -> pd.DatetimeIndex:
    """The occupied UTC minutes in [start, end): the denominator of coverage."""
    grid = minute_grid(start, end)
    return grid[occupied_mask(grid, schedule)]


@dataclass(frozen=True)
class OccupiedGrid:
    """The occupied minutes of a schedule over a range, with what every metric needs of them
    computed once: they are shared by every room on the same schedule."""

    minutes: pd.DatetimeIndex  # UTC
    times: list[datetime]  # the same minutes as datetimes, for results
    segment: np.ndarray  # run boundaries (see runs.segments)
    days: np.ndarray  # local date of each minute, datetime64[D]

    @classmethod
    def build(cls, minutes: pd.DatetimeIndex, timezone: ZoneInfo) -> OccupiedGrid:
        from ventwatch.analysis.runs import segments

        days = minutes.tz_convert(timezone).tz_localize(None).values.astype("datetime64[D]")
        return cls(minutes, list(minutes.to_pydatetime()), segments(minutes, timezone), days)

    def __len__(self) -> int:
        return len(self.minutes)

    @cached_property
    def by_day(self) -> dict[date, slice]:
        """Each local date's part of the grid. The minutes are in time order, so a day is one
        slice; computed once, as the grid is shared by every room on its schedule."""
        found, first = np.unique(self.days, return_index=True)
        ends = [*first[1:], len(self.days)] if len(first) else []
        pairs = zip(found, first, ends, strict=True)
        return {d.astype(date): slice(int(a), int(b)) for d, a, b in pairs}

    def part(self, within: slice) -> OccupiedGrid:
        """The minutes of `within` as a grid of their own. A run never crosses midnight, so
        a day's part judges that day exactly as a grid built for it alone would."""
        return OccupiedGrid(
            self.minutes[within], self.times[within], self.segment[within], self.days[within]
        )

    def end_of(self, index: int) -> datetime:
        """The end (exclusive) of minute `index`."""
        return self.times[index] + timedelta(minutes=1)
