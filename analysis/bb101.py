"""BB101 (2018) daily criteria: the occupied-hours mean of each day against the limit for the
room's ventilation type, and the 20-consecutive-minute ceiling.

BB101 is a design standard for new buildings; results say "compared against the design
criterion", never "breach" (the profile's note says so wherever they are shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ventwatch.analysis.occupancy import OccupiedGrid
from ventwatch.analysis.profiles import Profile, Ventilation
from ventwatch.analysis.runs import longest_run, max_window_mean


@dataclass(frozen=True, slots=True)
class BB101Day:
    date: date
    mean_ppm: float | None
    longest_above_max_min: int
    passes: bool | None  # None: no data that day


@dataclass(frozen=True, slots=True)
class BB101Result:
    daily_mean_limit_ppm: float
    max_ppm: float
    days: list[BB101Day]
    days_failing: int
    max_20min_mean_ppm: float | None
    note: str
    source: str


def bb101(
    grid: OccupiedGrid, co2: np.ndarray, profile: Profile, ventilation: Ventilation
) -> BB101Result:
    limit = profile.bb101.daily_mean_max_ppm[ventilation]
    ceiling = profile.bb101.max_20min_ppm[ventilation]
    out: list[BB101Day] = []
    # The grid is in time order, so each local day is one contiguous slice. An empty grid
    # (the morning before the first lesson) has no days at all.
    day_starts = np.flatnonzero(np.concatenate(([True], grid.days[1:] != grid.days[:-1])))
    if len(grid) == 0:
        day_starts = day_starts[:0]
    day_ends = [*day_starts[1:], len(grid)] if len(grid) else []
    for start, end in zip(day_starts, day_ends, strict=True):
        day = grid.days[start].astype(object)
        values = co2[start:end]
        has = ~np.isnan(values)
        if not has.any():
            out.append(BB101Day(day, None, 0, None))
            continue
        mean = float(values[has].mean())
        above = np.nan_to_num(values, nan=-np.inf) > ceiling
        longest = longest_run(above, grid.segment[start:end])
        out.append(BB101Day(day, round(mean, 1), longest, mean <= limit and longest <= 20))
    max20 = max_window_mean(co2, grid.segment, 20)
    return BB101Result(
        daily_mean_limit_ppm=limit,
        max_ppm=ceiling,
        days=out,
        days_failing=sum(1 for d in out if d.passes is False),
        max_20min_mean_ppm=round(max20, 1) if max20 is not None else None,
        note=profile.bb101.note,
        source=profile.bb101.source,
    )
