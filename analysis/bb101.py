"""BB101 (2018) daily criteria: each school day's mean CO2 against the daily mean for the mode
the room ran in and its building type, and the longest run above the 20-minute ceiling.

Why the whole school day: BB101's figures are means over the "occupied period", which the
only definition read (the 2017 draft's) says includes breaks and lunch. So a day here runs
from the start to the end of the room's hours, breaks and lunch included (the minute series'
`school_day`), not over the lesson minutes every other figure uses: a break that airs the
room lowers the mean, one that does not keeps it up.

Why per mode and building: BB101 judges a hybrid room by the mode it is operating in, and
its figures differ for refurbished buildings. A site says which (`bb101_mode` per month and
`building_type` on the room); what it leaves out is judged as the profile says and every
such day is labelled with what was assumed.

BB101 is a design criterion for new and refurbished schools; results say "compared against
the criterion", never "breach" (the profile's note says so wherever they are shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ventwatch.analysis.profiles import BuildingType, Mode, Profile
from ventwatch.analysis.runs import longest_run, max_window_mean
from ventwatch.analysis.series import RoomSeries


@dataclass(frozen=True, slots=True)
class BB101Criteria:
    """The criterion a day was judged by, with what the site file left to the profile and
    both parts of its attribution (`Profile.criterion_attribution`)."""

    mode: Mode
    building: BuildingType
    assumed: list[str]  # e.g. "operating mode not declared"; empty when all was declared
    daily_mean_limit_ppm: float
    max_ppm: float
    max_minutes: int
    source_part: str
    ventwatch_part: str


@dataclass(frozen=True, slots=True)
class BB101Day:
    date: date
    mean_ppm: float | None  # over the school day, breaks and lunch included
    longest_above_max_min: int  # the longest run above the ceiling, breaks included
    passes: bool | None  # None: not judged (too little data that day, or too sparse)
    mode: Mode
    building: BuildingType
    assumed: list[str]
    daily_mean_limit_ppm: float
    max_ppm: float
    max_minutes: int
    coverage_pct: float  # minutes of the school day with data
    over_mean: bool | None
    over_max: bool | None


@dataclass(frozen=True, slots=True)
class BB101Result:
    # The figures when one criterion applies to every day of the range (None when a hybrid
    # room changed mode within it: each day then says its own).
    daily_mean_limit_ppm: float | None
    max_ppm: float | None
    days: list[BB101Day]
    days_failing: int
    max_20min_mean_ppm: float | None  # over the school days, breaks included
    note: str
    source: str
    window: str  # the hours each day was judged over, in words
    criteria: list[BB101Criteria]  # each one applied in the range, in order of first use


def _declared(
    profile: Profile, series: RoomSeries, day: date
) -> tuple[Mode, BuildingType, tuple[str, ...]]:
    """The mode and building type a day is judged in, and what the site file left out."""
    section = profile.bb101
    room = series.room
    assumed = []
    mode = room.bb101_mode_on(day.month)
    if mode is None:
        mode = section.undeclared_mode.mode
        assumed.append(section.undeclared_mode.label)
    building = room.building_type
    if building is None:
        building = section.undeclared_building.building
        assumed.append(section.undeclared_building.label)
    return mode, building, tuple(assumed)


def _criteria(
    profile: Profile, mode: Mode, building: BuildingType, assumed: tuple[str, ...]
) -> BB101Criteria:
    criterion = profile.bb101.criterion(mode, building)
    words = profile.criterion_attribution(criterion)
    return BB101Criteria(
        mode=mode,
        building=building,
        assumed=list(assumed),
        daily_mean_limit_ppm=criterion.daily_mean_below_ppm,
        max_ppm=criterion.ceiling_ppm,
        max_minutes=criterion.ceiling_minutes,
        source_part=words.source_part,
        ventwatch_part=words.ventwatch_part,
    )


def window(series: RoomSeries) -> str:
    """The hours a school day is judged over, in words."""
    hours = series.schedule.hours
    return (
        f"each school day from {hours.start:%H:%M} to {hours.end:%H:%M}, breaks and lunch "
        "included (BB101's occupied period)"
    )


def bb101(series: RoomSeries, profile: Profile, first: date) -> BB101Result:
    """Judge each school day of `series` (a room's minute series over a range starting on
    the local date `first`) against BB101's daily criteria."""
    grid = series.school_day_grid
    co2 = series.across_school_day("co2_ppm")
    judged_from = profile.status.min_coverage_pct
    out: list[BB101Day] = []
    # Each criterion applied, worded once (a thousand rooms share a handful).
    applied: dict[tuple[Mode, BuildingType, tuple[str, ...]], BB101Criteria] = {}
    for day, within in grid.by_day.items():
        key = _declared(profile, series, day)
        if key not in applied:
            applied[key] = _criteria(profile, *key)
        c = applied[key]
        values = co2[within]
        has = ~np.isnan(values)
        coverage = round(100.0 * int(has.sum()) / len(values), 2)
        longest = longest_run(np.nan_to_num(values, nan=-np.inf) > c.max_ppm, grid.segment[within])
        mean = round(float(values[has].mean()), 1) if has.any() else None
        over_mean = over_max = None
        if mean is not None and coverage >= judged_from and series.sparse is None:
            over_mean, over_max = mean > c.daily_mean_limit_ppm, longest > c.max_minutes
        out.append(
            BB101Day(
                date=day,
                mean_ppm=mean,
                longest_above_max_min=longest,
                passes=None if over_mean is None else not (over_mean or over_max),
                mode=c.mode,
                building=c.building,
                assumed=c.assumed,
                daily_mean_limit_ppm=c.daily_mean_limit_ppm,
                max_ppm=c.max_ppm,
                max_minutes=c.max_minutes,
                coverage_pct=coverage,
                over_mean=over_mean,
                over_max=over_max,
            )
        )
    criteria = list(applied.values()) or [_criteria(profile, *_declared(profile, series, first))]
    one = criteria[0] if len(criteria) == 1 else None
    max20 = max_window_mean(co2, grid.segment, 20)
    return BB101Result(
        daily_mean_limit_ppm=one.daily_mean_limit_ppm if one else None,
        max_ppm=one.max_ppm if one else None,
        days=out,
        days_failing=sum(1 for d in out if d.passes is False),
        max_20min_mean_ppm=round(max20, 1) if max20 is not None else None,
        note=profile.bb101.note,
        source=profile.bb101.basis.source,
        window=window(series),
        criteria=criteria,
    )
