"""Which dates a report covers: an ISO week (`2026-W47`, Monday to Sunday in the site's time
zone) or an inclusive range of dates, and the period just before it that the report compares
against.

A report names its period the way people asked for it (the week, or the two dates), so the
file a rep prints says "2026-W47" when that is what the union meeting talks about.

The one parser of ISO weeks and date ranges: the dashboard's week view (`IsoWeek.parse`) and
date bounds, and the command line's `--from`/`--to`, read them here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

# ASCII digits only: `\d` would also take other scripts' digits, which int() accepts.
WEEK_PATTERN: Final = re.compile(r"[0-9]{4}-W[0-9]{2}")
# Far enough either way for any school's records; beyond, time zone arithmetic overflows
# (the dashboard's pages and week view keep to the same years).
EARLIEST: Final = date(2000, 1, 1)
LATEST: Final = date(2199, 12, 31)


class BadPeriodError(ValueError):
    """A period no report can cover; the message says what to ask for instead."""


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date  # inclusive
    label: str  # "2026-W47", or "2026-11-16 to 2026-11-20"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Period:
        """The same number of days just before: the previous week for a week."""
        first = self.first - timedelta(days=self.days)
        last = self.first - timedelta(days=1)
        if WEEK_PATTERN.fullmatch(self.label):
            iso = first.isocalendar()
            return Period(first, last, f"{iso.year:04d}-W{iso.week:02d}")
        return Period(first, last, _range_label(first, last))


def _range_label(first: date, last: date) -> str:
    return f"{first.isoformat()} to {last.isoformat()}"


def within_years(first: date, last: date) -> bool:
    """Whether `first` to `last` lies within the years handled (EARLIEST to LATEST)."""
    return first >= EARLIEST and last <= LATEST


def _within_bounds(first: date, last: date) -> None:
    if not within_years(first, last):
        raise BadPeriodError(f"dates from {EARLIEST.year} to {LATEST.year} only")


def week_monday(text: str) -> date:
    """'2026-W47' -> Monday 16 November 2026, whatever the years handled. Not an ISO week, or
    a week the year lacks (W53 of most years, W00) -> BadPeriodError, its message without the
    text (callers word their own)."""
    if not WEEK_PATTERN.fullmatch(text):
        raise BadPeriodError("give the week as an ISO week, e.g. 2026-W47")
    year, week = int(text[:4]), int(text[6:])
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise BadPeriodError(f"{year} has no ISO week {week}") from None


def parse_week(text: str) -> Period:
    """'2026-W47' -> Monday 16 to Sunday 22 November 2026. A week the year lacks (W53 of most
    years, W00) or outside the years handled -> BadPeriodError."""
    try:
        monday = week_monday(text)
    except BadPeriodError as exc:
        raise BadPeriodError(f"{text!r}: {exc}") from None
    sunday = monday + timedelta(days=6)
    _within_bounds(monday, sunday)
    return Period(monday, sunday, text)


def parse_dates(first: str, last: str) -> tuple[date, date]:
    """'2026-11-16', '2026-11-20' -> those dates, in order, whatever the years (`ventwatch
    analyse` takes any). Dates are YYYY-MM-DD; the messages name the options --from/--to."""
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError as exc:
        raise BadPeriodError(f"dates are YYYY-MM-DD: {exc}") from None
    if end < start:
        raise BadPeriodError(f"--to {last} is before --from {first}")
    return start, end


def parse_range(first: str, last: str) -> Period:
    """'2026-11-16', '2026-11-20' -> those dates, inclusive. Dates are YYYY-MM-DD."""
    start, end = parse_dates(first, last)
    _within_bounds(start, end)
    return Period(start, end, _range_label(start, end))
