"""CO2 over occupied minutes: coverage, mean, time above thresholds, the worst 20 minutes,
the longest run above 1500 ppm, episodes, and the room's status under a profile.

Definitions (the default profile's contract, relied on by other programs):
- minutes are the room's minute series (`analysis.series`): a minute's value is the mean of
  its readings, and a reading stands for the minutes after it until the next one, for at
  most the room's hold (the profile's stale time, 10 minutes); a minute nothing stands for
  has no data;
- coverage_pct = occupied minutes with data / occupied minutes x 100;
- pct_time_above_X = occupied minutes with data whose mean is above X / those with data x 100;
- max_20min_mean_ppm: largest mean of 20 consecutive occupied minutes, all with data, in a day;
- longest_above_1500_min: longest run of consecutive occupied minutes above 1500 in a day (a
  gap, a break or midnight ends a run);
- status: grey below the profile's coverage, or when readings come less often than they stand
  (an undeclared slow sensor: no run could ever reach a rule's duration); else the first rule
  (most severe first) that has a run of `for_minutes` consecutive occupied minutes above its
  figure; else green.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from ventwatch.analysis.occupancy import OccupiedGrid
from ventwatch.analysis.profiles import Profile, Ventilation
from ventwatch.analysis.runs import longest_run, max_window_mean, runs

Status = Literal["green", "amber", "red", "grey"]
STATUS_ORDER: tuple[Status, ...] = ("grey", "green", "amber", "red")


@dataclass(frozen=True, slots=True)
class Episode:
    threshold_ppm: float
    start: datetime
    end: datetime  # exclusive: the minute after the last one above
    duration_min: int
    peak_ppm: float
    mean_ppm: float


@dataclass(frozen=True, slots=True)
class CO2Metrics:
    occupied_minutes: int
    minutes_with_data: int
    coverage_pct: float
    co2_mean_ppm: float | None
    pct_time_above_800: float | None
    pct_time_above_1500: float | None
    max_20min_mean_ppm: float | None
    longest_above_1500_min: int
    status: Status
    status_reason: str
    status_source: str | None
    episodes: list[Episode]  # empty when not asked for (`co2_metrics`)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def episodes(grid: OccupiedGrid, co2: np.ndarray, threshold: float) -> list[Episode]:
    starts, ends = runs(co2 > threshold, grid.segment)  # NaN (no data) is never above
    if not len(starts):
        return []
    # Peaks and means of all runs at once. reduceat over [s0, e0, s1, e1, ...] reduces each
    # run and each gap between runs; every other result is a run. A sentinel after the last
    # minute keeps every boundary a valid index.
    values = np.append(co2, -np.inf)
    bounds = np.column_stack((starts, ends)).ravel()
    peaks = np.maximum.reduceat(values, bounds)[::2]
    csum = np.concatenate(([0.0], np.cumsum(np.nan_to_num(co2))))
    means = (csum[ends] - csum[starts]) / (ends - starts)
    return [
        Episode(
            threshold_ppm=threshold,
            start=grid.times[s],
            end=grid.end_of(e - 1),
            duration_min=int(e - s),
            peak_ppm=round(float(peak), 1),
            mean_ppm=round(float(mean), 1),
        )
        for s, e, peak, mean in zip(starts, ends, peaks, means, strict=True)
    ]


def co2_metrics(
    grid: OccupiedGrid,
    co2: np.ndarray,
    profile: Profile,
    ventilation: Ventilation,
    *,
    with_episodes: bool = True,
    sparse: tuple[float, int] | None = None,
) -> CO2Metrics:
    """`co2[i]` is the room's minute series at occupied minute `grid.minutes[i]` (NaN: no
    data). Pure: arrays in, a result out. `with_episodes=False` leaves `episodes` empty:
    listing every run is over half the cost, and a report's daily rows and comparisons only
    need the figures. `sparse`: (minutes between readings, hold) when the room's readings come
    less often than they stand (`RoomSeries.too_sparse`)."""
    segment = grid.segment
    has = ~np.isnan(co2)
    with_data = int(has.sum())
    values = co2[has]
    coverage = _pct(with_data, len(grid)) or 0.0
    status: Status = "green"
    reason = "no run above the profile's thresholds"
    source = None
    if not len(grid):  # a weekend, a holiday, or today before the first lesson
        status, reason = "grey", "no occupied time in this period: nothing to judge"
    elif coverage < profile.status.min_coverage_pct:
        status, reason = (
            "grey",
            (
                f"not enough data: {coverage:.0f}% of occupied minutes "
                f"(needs {profile.status.min_coverage_pct:.0f}%)"
            ),
        )
    elif sparse is not None:
        every, hold = sparse
        status, reason = (
            "grey",
            (
                f"readings come every {every:.0f} minutes and each stands for {hold}: no run "
                f"can be judged (if the sensor is set to report every {every:.0f} minutes, "
                f"give it report_interval_minutes: {every:.0f} in the site file)"
            ),
        )
    else:
        for rule in profile.status.rules:
            threshold = rule.threshold(ventilation)
            run = longest_run(co2 > threshold, segment)  # NaN: not above
            if run >= rule.for_minutes:
                status, source = rule.status, rule.source
                reason = f"{run} consecutive occupied minutes above {threshold:g} ppm"
                break
    max20 = max_window_mean(co2, segment, 20)
    return CO2Metrics(
        occupied_minutes=len(grid),
        minutes_with_data=with_data,
        coverage_pct=coverage,
        co2_mean_ppm=round(float(values.mean()), 1) if with_data else None,
        pct_time_above_800=_pct(int((values > 800).sum()), with_data),
        pct_time_above_1500=_pct(int((values > 1500).sum()), with_data),
        max_20min_mean_ppm=round(max20, 1) if max20 is not None else None,
        longest_above_1500_min=longest_run(co2 > 1500, segment),
        status=status,
        status_reason=reason,
        status_source=source,
        episodes=[
            e
            for threshold in profile.status.episode_thresholds_ppm
            for e in episodes(grid, co2, threshold)
        ]
        if with_episodes
        else [],
    )
