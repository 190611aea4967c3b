"""Which dates a room page covers: today, a school week, or a range the user picked.

Kept apart from the route so the rules (a week is Monday to the schedule's last weekday; a
custom range is bounded) are tested without a server, and every page and API route that
takes a range reads it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from ventwatch.config import WEEKDAYS, OccupiedHours
from ventwatch.dashboard.dates import day

RangeKind = Literal["today", "week", "custom"]
MAX_DAYS: Final = 92  # a school term: beyond that a chart says little and a request costs much
# The years handled (EARLIEST, LATEST) are `reports.period`'s, which parses weeks and ranges.


class BadRangeError(ValueError):
    """A range the page cannot show; the message says what to ask for instead."""


@dataclass(frozen=True, slots=True)
class DateSpan:
    kind: RangeKind
    first: date
    last: date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def describe(self) -> str:
        if self.first == self.last:
            return day(self.first, weekday=True, long=True)
        return f"{day(self.first, weekday=True)} to {day(self.last, weekday=True)}"


def school_week(day: date, hours: OccupiedHours) -> tuple[date, date]:
    """Monday of `day`'s week to the last weekday the schedule uses (Friday for a school), so
    a week's chart is not half empty weekend."""
    monday = day - timedelta(days=day.weekday())
    last = max(WEEKDAYS.index(d) for d in hours.days) if hours.days else 6
    return monday, monday + timedelta(days=last)


def resolve(
    kind: RangeKind,
    today: date,
    hours: OccupiedHours,
    day: date | None = None,
    first: date | None = None,
    last: date | None = None,
) -> DateSpan:
    """The dates of a request: `day` picks the day (or the week it falls in), `first`/`last`
    a custom range."""
    if kind == "today":
        return DateSpan(kind, day or today, day or today)
    if kind == "week":
        monday, end = school_week(day or today, hours)
        return DateSpan(kind, monday, end)
    if first is None or last is None:
        raise BadRangeError("a custom range needs both 'from' and 'to' (YYYY-MM-DD)")
    if last < first:
        raise BadRangeError(f"'to' ({last}) is before 'from' ({first})")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRangeError(f"a range may cover at most {MAX_DAYS} days")
    return DateSpan(kind, first, last)
