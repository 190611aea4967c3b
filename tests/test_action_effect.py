"""The action vocabulary and the before/after effect of an action, on minute frames built from
known levels: exact figures for hand-worked cases, and properties checked against an oracle
computed here from the levels themselves (not from the engine's output)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ventwatch.alerts.actions import (
    ACTIONS,
    CLEAR_CHANGE_POINTS,
    MIN_SCHOOL_DAYS,
    STEPS,
    UnknownActionError,
    action_effect,
    check_action,
    effect_for,
)
from ventwatch.alerts.records import ActionRecord
from ventwatch.analysis.occupancy import local_day_bounds, minute_grid
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

PROFILE = load_profile("joint-union")
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "S", "timezone": "Europe/London"},
        "occupied_hours": {"start": "09:00", "end": "15:00", "breaks": []},
        "rooms": [{"name": "A"}],
    }
)
TZ = SITE.tz
MONDAY = date(2026, 11, 16)
LESSON_MINUTES = 360  # 09:00-15:00
Level = Callable[[pd.DatetimeIndex], np.ndarray]  # local minutes -> CO2 (NaN: no reading)


def frame(first: date, last: date, level: Level) -> pd.DataFrame:
    """Minute means of room A over the local days first..last; minutes without a reading (NaN
    level) have no row, as in the store."""
    grid = minute_grid(*local_day_bounds(first, last, TZ))
    co2 = level(grid.tz_convert(TZ))
    keep = ~np.isnan(co2)
    return pd.DataFrame(
        {
            "room": "A",
            "minute": grid[keep],
            "co2_ppm": co2[keep],
            "temperature_c": 20.0,
            "humidity_pct": 45.0,
        }
    )


def by_day(levels: dict[date, float], otherwise: float = 450.0) -> Level:
    """A constant level through each listed day, `otherwise` on other days."""

    def level(local: pd.DatetimeIndex) -> np.ndarray:
        days = pd.Series(local.date)
        return days.map(lambda d: levels.get(d, otherwise)).to_numpy(dtype=float)

    return level


def morning_and_afternoon(morning: float, afternoon: float, split_minutes: int = 180) -> Level:
    """`morning` from 09:00 for `split_minutes`, `afternoon` after it; outdoor air at night."""

    def level(local: pd.DatetimeIndex) -> np.ndarray:
        minute = np.asarray(local.hour * 60 + local.minute) - 9 * 60
        lessons = (minute >= 0) & (minute < LESSON_MINUTES)
        return np.where(lessons, np.where(minute < split_minutes, morning, afternoon), 420.0)

    return level


def before_and_after(before: Level, after: Level, taken_on: date) -> Level:
    def level(local: pd.DatetimeIndex) -> np.ndarray:
        later = np.asarray(local.date) > taken_on
        return np.where(later, after(local), before(local))

    return level


def effect(level: Level, taken_on: date = MONDAY, today: date | None = None, days: int = 14):  # type: ignore[no-untyped-def]
    today = today or taken_on + timedelta(days=days)
    minutes = frame(taken_on - timedelta(days=days + 3), today + timedelta(days=3), level)
    return action_effect(minutes, SITE, PROFILE, "A", taken_on, today, days)


# -- the vocabulary -----------------------------------------------------------------------


def test_the_guides_five_steps_and_every_action_under_one() -> None:
    assert list(STEPS) == [
        "evidence", "risk-assessment", "monitoring", "practical-steps", "air-cleaning",
    ]  # fmt: skip
    assert set(ACTIONS) == {
        "windows-opened", "trickle-vents-unblocked", "monitor-moved", "air-cleaner-installed",
        "timetable-changed", "mechanical-ventilation-repaired", "occupancy-reduced",
        "reported-to-employer", "risk-assessment-reviewed", "evidence-gathered", "other",
    }  # fmt: skip
    for action, (label, step) in ACTIONS.items():
        assert label
        assert step in STEPS or (action == "other" and step is None)


def test_an_action_must_sit_under_its_own_step() -> None:
    check_action("practical-steps", "windows-opened")
    check_action("air-cleaning", "other")  # "other" fits any step
    with pytest.raises(UnknownActionError, match="part of the step 'Air cleaning'"):
        check_action("evidence", "air-cleaner-installed")
    with pytest.raises(UnknownActionError, match="no step"):
        check_action("prayer", "windows-opened")
    with pytest.raises(UnknownActionError, match="no action"):
        check_action("evidence", "windows-shut")


# -- known answers --------------------------------------------------------------------------


def test_opening_windows_that_clears_the_morning_peak_helped() -> None:
    level = before_and_after(
        morning_and_afternoon(1200, 700), morning_and_afternoon(700, 700), MONDAY
    )
    result = effect(level)
    before, after = result.before, result.after
    assert after is not None
    assert (before.first, before.last) == (date(2026, 11, 2), date(2026, 11, 15))
    assert (after.first, after.last) == (date(2026, 11, 17), date(2026, 11, 30))
    assert (before.school_days, after.school_days) == (10, 10)
    assert (before.occupied_minutes, after.occupied_minutes) == (3600, 3600)
    assert (before.coverage_pct, after.coverage_pct) == (100.0, 100.0)
    assert (before.pct_time_above_800, before.co2_mean_ppm) == (50.0, 950.0)
    assert (after.pct_time_above_800, after.co2_mean_ppm) == (0.0, 700.0)
    assert (before.pct_time_above_1500, before.status) == (0.0, "amber")
    assert after.status == "green"
    assert result.verdict == "helped"
    assert result.reason == "time above 800 ppm 50% → 0% (-50 points), mean 950 → 700 ppm"


def test_the_reverse_is_worse() -> None:
    level = before_and_after(
        morning_and_afternoon(700, 700), morning_and_afternoon(1200, 700), MONDAY
    )
    assert effect(level).verdict == "worse"


@pytest.mark.parametrize(
    ("after", "verdict"),
    [
        # 45.0% above 800 (5 points down), mean 925 < 950: the boundary counts.
        (morning_and_afternoon(1200, 700, split_minutes=162), "helped"),
        # 5 points down but the mean rose (peaks at 1500): not help.
        (morning_and_afternoon(1500, 790, split_minutes=162), "no clear change"),
        # 45.8% above 800: 4.2 points down, mean lower: too small a change.
        (morning_and_afternoon(1200, 700, split_minutes=165), "no clear change"),
        # 55% above 800: 5 points up.
        (morning_and_afternoon(1200, 700, split_minutes=198), "worse"),
    ],
)
def test_five_points_is_the_line(after: Level, verdict: str) -> None:
    level = before_and_after(morning_and_afternoon(1200, 700), after, MONDAY)
    assert effect(level).verdict == verdict


def test_it_is_too_early_until_five_school_days_have_begun() -> None:
    level = before_and_after(
        morning_and_afternoon(1200, 700), morning_and_afternoon(600, 600), MONDAY
    )
    same_day = effect(level, today=MONDAY)
    assert same_day.after is None
    assert same_day.verdict == "too early"
    assert same_day.reason == "0 school day(s) since the action; judged after 5"
    sunday = effect(level, today=MONDAY + timedelta(days=6))  # Tue-Fri: 4 school days
    assert sunday.after is not None
    assert (sunday.after.last, sunday.after.school_days) == (date(2026, 11, 22), 4)
    assert sunday.verdict == "too early"
    monday = effect(level, today=MONDAY + timedelta(days=7))
    assert monday.verdict == "helped"


def test_too_few_readings_on_either_side_is_not_enough_data() -> None:
    lessons = morning_and_afternoon(1200, 700)

    def gappy(local: pd.DatetimeIndex) -> np.ndarray:
        """Readings only for the first 40% of each lesson day (the last stands 9 minutes
        more: 42.5% of the day's minute series)."""
        values = lessons(local)
        minute = np.asarray(local.hour * 60 + local.minute) - 9 * 60
        return np.where(minute < 0.4 * LESSON_MINUTES, values, np.nan)

    after_gaps = effect(before_and_after(lessons, gappy, MONDAY))
    assert after_gaps.after is not None
    assert after_gaps.after.coverage_pct == 42.5
    assert after_gaps.verdict == "not enough data"
    assert (
        after_gaps.reason == "readings cover 42% of occupied minutes after the action (needs 50%)"
    )
    before_gaps = effect(before_and_after(gappy, lessons, MONDAY))
    assert before_gaps.verdict == "not enough data"
    assert "before the action" in before_gaps.reason


def test_effect_for_reads_the_store(tmp_path: Path) -> None:
    """The I/O helper reads the two periods of the action's room and gets the same answer
    as the pure function on the same minutes."""
    level = before_and_after(
        morning_and_afternoon(1200, 700), morning_and_afternoon(650, 650), MONDAY
    )
    today = MONDAY + timedelta(days=9)  # Wednesday of the next week: 7 school days after
    minutes = frame(MONDAY - timedelta(days=20), today + timedelta(days=2), level)
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.write(
        [
            Reading(t.to_pydatetime(), "S", "A", "s-a", "tasmota", co2_ppm=float(v))
            for t, v in zip(minutes["minute"], minutes["co2_ppm"], strict=True)
        ]
    )
    action = ActionRecord(
        1, 7, "A", MONDAY, "practical-steps", "windows-opened", "", "rep",
        pd.Timestamp(MONDAY).to_pydatetime(),
    )  # fmt: skip
    got = effect_for(store, SITE, PROFILE, action, today)
    store.close()
    assert got == action_effect(minutes, SITE, PROFILE, "A", MONDAY, today)
    assert got.after is not None
    assert (got.after.last, got.after.school_days) == (today, 7)
    assert (got.after.pct_time_above_800, got.verdict) == (0.0, "helped")


# -- properties -----------------------------------------------------------------------------

TAKEN_ON = st.dates(date(2026, 1, 5), date(2026, 12, 1))
PPM = st.integers(400, 2500)


def school_days_between(first: date, last: date) -> int:
    return sum((first + timedelta(days=i)).weekday() < 5 for i in range((last - first).days + 1))


@settings(max_examples=30, deadline=None)
@given(
    taken_on=TAKEN_ON,
    weeks=st.sampled_from([1, 2]),
    lessons=st.lists(PPM, min_size=30, max_size=30),
    night=PPM,
)
def test_the_same_week_before_and_after_is_no_clear_change(
    taken_on: date, weeks: int, lessons: list[int], night: int
) -> None:
    """Whole weeks before and after hold each weekday equally often: a room whose air
    depends only on the weekday and the hour has the same figures on both sides (whatever
    it does outside occupied hours, clock changes included)."""
    table = np.array(lessons, dtype=float).reshape(5, 6)

    def weekly(local: pd.DatetimeIndex) -> np.ndarray:
        weekday, hour = np.asarray(local.day_of_week), np.asarray(local.hour)
        lesson = (weekday < 5) & (hour >= 9) & (hour < 15)
        return np.where(lesson, table[np.minimum(weekday, 4), np.clip(hour - 9, 0, 5)], night)

    result = effect(weekly, taken_on, days=7 * weeks)
    assert result.after is not None
    figures = ("pct_time_above_800", "pct_time_above_1500", "co2_mean_ppm", "coverage_pct")
    for name in (*figures, "occupied_minutes", "school_days", "status"):
        assert getattr(result.before, name) == getattr(result.after, name), name
    assert result.verdict == "no clear change"


@settings(max_examples=30, deadline=None)
@given(
    taken_on=TAKEN_ON,
    before=st.lists(PPM, min_size=14, max_size=14),
    after=st.lists(PPM, min_size=14, max_size=14),
    elsewhere=PPM,
)
def test_the_verdict_matches_the_rule_on_daily_levels(
    taken_on: date, before: list[int], after: list[int], elsewhere: int
) -> None:
    """Each calendar day at one level: the share above 800 ppm is the share of school days
    above it, the mean their mean; the verdict follows the stated rule. The action's own day
    and the days outside the two periods are at another level, which must not count."""
    levels = {taken_on - timedelta(days=14 - i): float(v) for i, v in enumerate(before)}
    levels |= {taken_on + timedelta(days=1 + i): float(v) for i, v in enumerate(after)}
    result = effect(by_day(levels, otherwise=float(elsewhere)), taken_on)

    def share_and_mean(first: date) -> tuple[float, float]:
        days = [first + timedelta(days=i) for i in range(14)]
        school = [levels[d] for d in days if d.weekday() < 5]
        return 100 * sum(v > 800 for v in school) / len(school), sum(school) / len(school)

    share_before, mean_before = share_and_mean(taken_on - timedelta(days=14))
    share_after, mean_after = share_and_mean(taken_on + timedelta(days=1))
    assert result.before.pct_time_above_800 == pytest.approx(share_before)
    assert result.before.co2_mean_ppm == pytest.approx(mean_before, abs=0.05)
    assert result.after is not None
    assert result.after.co2_mean_ppm == pytest.approx(mean_after, abs=0.05)
    change = share_after - share_before
    if change <= -CLEAR_CHANGE_POINTS and mean_after < mean_before:
        expected = "helped"
    elif change >= CLEAR_CHANGE_POINTS:
        expected = "worse"
    else:
        expected = "no clear change"
    assert result.verdict == expected


@settings(max_examples=30, deadline=None)
@given(taken_on=TAKEN_ON, elapsed=st.integers(-3, 20))
def test_too_early_exactly_while_fewer_than_five_school_days_have_begun(
    taken_on: date, elapsed: int
) -> None:
    today = taken_on + timedelta(days=elapsed)
    level = before_and_after(
        morning_and_afternoon(1200, 700), morning_and_afternoon(600, 600), taken_on
    )
    result = effect(level, taken_on, today=today)
    begun = school_days_between(taken_on + timedelta(days=1), min(today, taken_on + timedelta(14)))
    if result.after is not None:
        assert result.after.last <= today
        assert result.after.school_days == begun
    assert (result.verdict == "too early") == (begun < MIN_SCHOOL_DAYS)
    if begun >= MIN_SCHOOL_DAYS:
        assert result.verdict == "helped"
