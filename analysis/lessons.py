"""Per-lesson values: each lesson's peak CO2 and its CO2 at the end of the lesson, the two
figures union reps are told to write down (HSE: single snapshot readings mislead; NEU asks
for readings through the day). A lesson is a run of consecutive occupied minutes within one
school day: the occupied hours cut by the breaks. With `exclude_breaks: false` the breaks
count as occupied, and a day is one long lesson.

Pure: computed on a room's minute series (`analysis.series.RoomSeries`), the one every
verdict uses, so a lesson's peak is a value the room page's chart shows. A lesson's peak is
the highest value its minutes hold; its end is the value of its last minute, None where the
series has a gap there (a silent sensor is never read as good air or as a guess). Values
are given to 0.1 ppm, as episodes give theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np
import pandas as pd

from ventwatch.analysis.occupancy import occupied_mask
from ventwatch.analysis.series import RoomSeries


@dataclass(frozen=True, slots=True)
class Lesson:
    date: date  # the local school day
    start: datetime  # UTC, its first minute
    end: datetime  # UTC, the end of its last minute (exclusive): 10:45 for 08:45-10:45
    minutes: int
    minutes_with_data: int
    peak_ppm: float | None  # None: no data at any of its minutes
    end_ppm: float | None  # its last minute's value; None: a gap there
    # Still going when the range ends (today's current lesson): `end_ppm` is the latest.
    ongoing: bool = False


def lessons(series: RoomSeries, quantity: str = "co2_ppm") -> list[Lesson]:
    """The room's lessons over the series' range, in time order."""
    grid = series.grid
    if len(grid) == 0:
        return []
    values = series.during(quantity)
    starts = np.flatnonzero(np.diff(grid.segment, prepend=grid.segment[0] - 1))
    ends = np.append(starts[1:], len(grid))
    has = ~np.isnan(values)
    counts = np.add.reduceat(has.astype(np.int64), starts)
    # fmax skips NaN (no data) unless every minute of the lesson is NaN.
    peaks = np.fmax.reduceat(values, starts)
    last = values[ends - 1]
    days = grid.days[starts].astype(date)
    out = []
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        out.append(
            Lesson(
                date=days[i],
                start=grid.times[a],
                end=grid.end_of(b - 1),
                minutes=b - a,
                minutes_with_data=int(counts[i]),
                peak_ppm=_ppm(peaks[i]),
                end_ppm=_ppm(last[i]),
            )
        )
    if out and series.occupied[-1] and _continues(series, out[-1].end):
        out[-1] = replace(out[-1], ongoing=True)
    return out


def _ppm(value: float) -> float | None:
    """A minute value as results give CO2 (to 0.1 ppm, as episodes do); NaN: None."""
    return None if np.isnan(value) else round(float(value), 1)


def _continues(series: RoomSeries, after: datetime) -> bool:
    """Whether the minute after the range's last one is occupied too: the range cut the
    lesson, rather than the lesson ending with it."""
    minute = pd.DatetimeIndex([after]).tz_convert("UTC")
    return bool(occupied_mask(minute, series.schedule)[0])


def by_day(found: list[Lesson]) -> dict[date, list[Lesson]]:
    """Lessons grouped by school day, in time order."""
    out: dict[date, list[Lesson]] = {}
    for lesson in found:
        out.setdefault(lesson.date, []).append(lesson)
    return out
