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
  (most severe first) that holds: a run rule when a run of `for_minutes` consecutive occupied
  minutes stays above its figure, a BB101 rule when a school day of the period went over
  BB101's ceiling or daily mean (`analysis.bb101`); else green. The rule's attribution (the
  source's part and ventwatch's) comes with it;
- consistently: beside the status, from the status of each school day alone: red (amber) when
  the room was red (amber or red) on at least N of any M consecutive school days (the
  profile's `status.consistently`); grey when fewer than N days could be judged. The status
  stays the single-run rule: it is the contract other programs read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from ventwatch.analysis.bb101 import BB101Day
from ventwatch.analysis.occupancy import OccupiedGrid
from ventwatch.analysis.profiles import BUILDING_WORDS, Attribution, Profile, StatusRule
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
    # What the rule that decided the status rests on: its source's part and ventwatch's.
    status_attribution: Attribution | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """A status and why: the reason in words, the deciding rule's source key and both parts
    of its attribution (None for green and grey)."""

    status: Status
    reason: str
    source: str | None = None
    attribution: Attribution | None = None


@dataclass(frozen=True, slots=True)
class ConsistentlyVerdict:
    """The "consistently" reading of a period, from the status of each of its school days."""

    status: Status
    days_red: int
    days_amber: int
    school_days: int
    rule: str
    reason: str
    source: str


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


def _day(day: BB101Day) -> str:
    assumed = f"; {', '.join(day.assumed)}" if day.assumed else ""
    return f"{day.mode} ventilation, {BUILDING_WORDS[day.building]}{assumed}"


def _bb101_rule(rule: StatusRule, days: Sequence[BB101Day], profile: Profile) -> Verdict | None:
    """A BB101 status rule over the school days of a period: it holds when a day went over
    the rule's criterion; the worst such day is named."""
    ceiling = rule.kind == "bb101_ceiling"
    failing = [d for d in days if (d.over_max if ceiling else d.over_mean)]
    if not failing:
        return None
    n = len(failing)
    days_text = f"{n} school day{'' if n == 1 else 's'}"
    if ceiling:
        worst = max(failing, key=lambda d: d.longest_above_max_min)
        reason = (
            f"{days_text} over BB101's 20-minute ceiling (worst {worst.date:%a %d %b}: "
            f"{worst.longest_above_max_min} consecutive minutes above {worst.max_ppm:g} ppm; "
            f"{_day(worst)})"
        )
    else:
        worst = max(failing, key=lambda d: (d.mean_ppm or 0.0) - d.daily_mean_limit_ppm)
        reason = (
            f"{days_text} with a mean over BB101's daily mean (worst {worst.date:%a %d %b}: "
            f"{worst.mean_ppm:g} ppm against {worst.daily_mean_limit_ppm:g} ppm, start to end "
            f"of the day with breaks; {_day(worst)})"
        )
    criterion = profile.bb101.criterion(worst.mode, worst.building)
    return Verdict(rule.status, reason, rule.source, profile.attribution(rule, criterion))


def judge(
    grid: OccupiedGrid,
    co2: np.ndarray,
    profile: Profile,
    *,
    sparse: tuple[float, int] | None = None,
    bb101_days: Sequence[BB101Day] | None = None,
) -> Verdict:
    """The status of the occupied minutes `grid` (CO2 `co2`, NaN: no data) under the profile.
    `bb101_days`: the BB101 days of the same period, which a profile with BB101 status rules
    needs (`profile.status.uses_bb101`)."""
    if profile.status.uses_bb101 and bb101_days is None:
        raise ValueError(f"profile {profile.id!r} judges BB101 days: pass bb101_days")
    if not len(grid):  # a weekend, a holiday, or today before the first lesson
        return Verdict("grey", "no occupied time in this period: nothing to judge")
    coverage = _pct(int((~np.isnan(co2)).sum()), len(grid)) or 0.0
    if coverage < profile.status.min_coverage_pct:
        return Verdict(
            "grey",
            f"not enough data: {coverage:.0f}% of occupied minutes "
            f"(needs {profile.status.min_coverage_pct:.0f}%)",
        )
    if sparse is not None:
        every, hold = sparse
        return Verdict(
            "grey",
            f"readings come every {every:.0f} minutes and each stands for {hold}: no run "
            f"can be judged (if the sensor is set to report every {every:.0f} minutes, "
            f"give it report_interval_minutes: {every:.0f} in the site file)",
        )
    for rule in profile.status.rules:
        if rule.kind != "run":
            found = _bb101_rule(rule, bb101_days or (), profile)
            if found is not None:
                return found
            continue
        assert rule.above_ppm is not None  # a run rule's figures, checked by StatusRule
        assert rule.for_minutes is not None
        run = longest_run(co2 > rule.above_ppm, grid.segment)  # NaN: not above
        if run >= rule.for_minutes:
            return Verdict(
                rule.status,
                f"{run} consecutive occupied minutes above {rule.above_ppm:g} ppm",
                rule.source,
                profile.attribution(rule),
            )
    return Verdict("green", "no run above the profile's thresholds")


def co2_metrics(
    grid: OccupiedGrid,
    co2: np.ndarray,
    profile: Profile,
    *,
    with_episodes: bool = True,
    sparse: tuple[float, int] | None = None,
    bb101_days: Sequence[BB101Day] | None = None,
) -> CO2Metrics:
    """`co2[i]` is the room's minute series at occupied minute `grid.minutes[i]` (NaN: no
    data). Pure: arrays in, a result out. `with_episodes=False` leaves `episodes` empty:
    listing every run is over half the cost, and a report's daily rows and comparisons only
    need the figures. `sparse`: (minutes between readings, hold) when the room's readings come
    less often than they stand (`RoomSeries.too_sparse`). `bb101_days`: see `judge`."""
    segment = grid.segment
    has = ~np.isnan(co2)
    with_data = int(has.sum())
    values = co2[has]
    verdict = judge(grid, co2, profile, sparse=sparse, bb101_days=bb101_days)
    max20 = max_window_mean(co2, segment, 20)
    return CO2Metrics(
        occupied_minutes=len(grid),
        minutes_with_data=with_data,
        coverage_pct=_pct(with_data, len(grid)) or 0.0,
        co2_mean_ppm=round(float(values.mean()), 1) if with_data else None,
        pct_time_above_800=_pct(int((values > 800).sum()), with_data),
        pct_time_above_1500=_pct(int((values > 1500).sum()), with_data),
        max_20min_mean_ppm=round(max20, 1) if max20 is not None else None,
        longest_above_1500_min=longest_run(co2 > 1500, segment),
        status=verdict.status,
        status_reason=verdict.reason,
        status_source=verdict.source,
        episodes=[
            e
            for threshold in profile.status.episode_thresholds_ppm
            for e in episodes(grid, co2, threshold)
        ]
        if with_episodes
        else [],
        status_attribution=verdict.attribution,
    )


def consistently(statuses: Sequence[Status], profile: Profile) -> ConsistentlyVerdict:
    """The "consistently" reading from the status of each school day of a period, in date
    order: red when red on at least N of any M consecutive school days, amber when amber or
    red on N of them (a shorter period is one window), grey when fewer than N days could be
    judged at all, else green."""
    rule = profile.status.consistently
    n, m = rule.days, rule.of_days
    red = [s == "red" for s in statuses]
    amber_or_red = [s in ("red", "amber") for s in statuses]
    judged = sum(1 for s in statuses if s != "grey")
    width = min(m, len(statuses))

    def most(flags: list[bool]) -> int:
        return max((sum(flags[i : i + width]) for i in range(len(flags) - width + 1)), default=0)

    status: Status
    if judged < n:
        status = "grey"
        reason = (
            f"{judged} school day{'' if judged == 1 else 's'} judged: "
            f"'consistently' needs at least {n}"
        )
    else:
        best_red, best_amber = most(red), most(amber_or_red)
        words = profile.statuses
        # In the status words: a reason says "Poor", never "red" (a colour acts on nobody).
        poor = f"\u201c{words.red.word}\u201d"
        worse = f"\u201c{words.amber.word}\u201d or worse"
        if best_red >= n:
            status, count, word = "red", best_red, poor
        elif best_amber >= n:
            status, count, word = "amber", best_amber, worse
        else:
            status, count, word = "green", best_amber, worse
        reason = f"{word} on {count} of {width} consecutive school days (needs {n} of {m})"
    return ConsistentlyVerdict(
        status=status,
        days_red=sum(red),
        days_amber=sum(1 for s in statuses if s == "amber"),
        school_days=len(statuses),
        rule=profile.consistently_rule(),
        reason=reason,
        source=rule.source,
    )
