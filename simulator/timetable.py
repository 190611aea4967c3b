"""Who is in a room when: a school timetable built from the site's occupied hours.

The school day runs from `start` to `end` on the listed weekdays, outside the breaks and
holidays. Each stretch between breaks is cut into lessons of an hour; the first minutes of a
lesson after the first are the changeover, with the room empty. A lesson is a free period for
the room now and then, otherwise the class fills 80-100 % of its capacity. Draws are seeded by
room, date and lesson, so a day replays identically.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from ventwatch.config import WEEKDAYS, Calendar, DateRange, OccupiedHours

LESSON = timedelta(hours=1)
CHANGEOVER = timedelta(minutes=5)
FREE_PERIOD_CHANCE = 0.15


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def is_school_day(day: date, hours: OccupiedHours, calendar: Calendar) -> bool:
    if WEEKDAYS[day.weekday()] not in hours.days:
        return False
    if calendar.terms and not any(t.start <= day <= t.end for t in calendar.terms):
        return False
    for h in calendar.holidays:
        r = h if isinstance(h, DateRange) else DateRange(start=h, end=h)
        if r.start <= day <= r.end:
            return False
    return True


def _stretches(hours: OccupiedHours) -> list[tuple[int, int]]:
    """The teaching stretches of a day, in minutes after midnight, between the breaks."""
    edges = [(_minutes(hours.start), _minutes(hours.end))]
    for b in sorted(hours.breaks, key=lambda b: b.start):
        cut: list[tuple[int, int]] = []
        for lo, hi in edges:
            bs, be = _minutes(b.start), _minutes(b.end)
            if be <= lo or bs >= hi:
                cut.append((lo, hi))
                continue
            if bs > lo:
                cut.append((lo, bs))
            if be < hi:
                cut.append((be, hi))
        edges = cut
    return edges


def people_in(
    room: str, capacity: int, hours: OccupiedHours, calendar: Calendar, local: datetime
) -> int:
    """How many people are in `room` at the local (naive or site-zone) time `local`."""
    day = local.date()
    if not is_school_day(day, hours, calendar):
        return 0
    now = local.hour * 60 + local.minute
    for index, (lo, hi) in enumerate(_stretches(hours)):
        if not lo <= now < hi:
            continue
        into = now - lo
        lesson = into // int(LESSON.total_seconds() // 60)
        if lesson > 0 and into % 60 < CHANGEOVER.total_seconds() // 60:
            return 0
        draw = random.Random(f"{room}|{day.isoformat()}|{index}|{lesson}")
        if draw.random() < FREE_PERIOD_CHANCE:
            return 0
        return round(capacity * draw.uniform(0.8, 1.0))
    return 0


def latest_school_morning(now_local: datetime, hours: OccupiedHours, calendar: Calendar) -> date:
    """The school day a replay starts on: today if it is one, else the most recent one
    (a demo on a Sunday still shows a Friday's lessons)."""
    day = now_local.date()
    for _ in range(400):
        if is_school_day(day, hours, calendar):
            return day
        day -= timedelta(days=1)
    return now_local.date()  # a calendar with no school day in a year: replay the date anyway
