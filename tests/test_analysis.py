"""The analysis engine on small hand-computed frames: every metric of the contract, occupied
hours only, clock changes, gaps, sub-minute readings, and the 19-minute run that must not be
red."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ventwatch.analysis.engine import analyse_site, to_json
from ventwatch.analysis.occupancy import Schedule, local_day_bounds, occupied_grid
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import minute_means
from ventwatch.config import SiteConfig

PROFILE = load_profile("joint-union")
MONDAY = date(2026, 11, 16)  # GMT: local time = UTC


def site(**hours: object) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": "Europe/London"},
            "occupied_hours": {"start": "09:00", "end": "10:00", "breaks": [], **hours},
            "rooms": [{"name": "A", "ventilation": "natural", "volume_m3": 180}],
        }
    )


def frame(points: list[tuple[datetime, float]], temperature: float = 20.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.to_datetime([t for t, _ in points], utc=True),
            "room": "A",
            "co2_ppm": [v for _, v in points],
            "temperature_c": temperature,
            "humidity_pct": 45.0,
        }
    )


def readings_from(start: datetime, points: list[tuple[int, float, float]]) -> pd.DataFrame:
    """Room A's readings from (minutes after `start`, CO2, temperature) triples."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime([start + timedelta(minutes=m) for m, _, _ in points], utc=True),
            "room": "A",
            "co2_ppm": [c for _, c, _ in points],
            "temperature_c": [t for _, _, t in points],
            "humidity_pct": 45.0,
        }
    )


def at(minute: int, day: date = MONDAY, hour: int = 9, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, second, tzinfo=UTC) + timedelta(
        minutes=minute
    )


def analyse(points: list[tuple[datetime, float]], cfg: SiteConfig | None = None, **kw: object):
    cfg = cfg or site()
    result = analyse_site(minute_means(frame(points, **kw)), cfg, PROFILE, MONDAY, MONDAY)  # type: ignore[arg-type]
    return result.rooms[0]


def lesson(values: list[float]) -> list[tuple[datetime, float]]:
    return [(at(i), v) for i, v in enumerate(values)]


def test_full_hour_of_known_values() -> None:
    values = [600.0] * 30 + [1000.0] * 30
    room = analyse(lesson(values))
    m = room.co2
    assert m.occupied_minutes == 60
    assert m.coverage_pct == 100.0
    assert m.co2_mean_ppm == 800.0
    assert m.pct_time_above_800 == 50.0
    assert m.pct_time_above_1500 == 0.0
    assert m.max_20min_mean_ppm == 1000.0
    assert m.status == "amber"
    assert m.status_source == "NEU-CO2"


def test_nineteen_minutes_above_1500_is_not_red_twenty_is() -> None:
    nineteen = analyse(lesson([1000.0] * 20 + [1600.0] * 19 + [1000.0] * 21)).co2
    assert nineteen.longest_above_1500_min == 19
    assert nineteen.status == "amber"
    twenty = analyse(lesson([1000.0] * 20 + [1600.0] * 20 + [1000.0] * 20)).co2
    assert twenty.longest_above_1500_min == 20
    assert twenty.status == "red"
    assert twenty.status_source == "HSE-CO2"


def test_a_missed_reading_does_not_break_a_run() -> None:
    points = lesson([1600.0] * 15) + [(at(16 + i), 1600.0) for i in range(15)]  # minute 15 missing
    m = analyse(points).co2
    # Minute 14's reading stands for minute 15; the last (minute 30) for minutes 30-39.
    assert m.longest_above_1500_min == 40
    assert m.status == "red"
    assert m.coverage_pct == pytest.approx(100 * 40 / 60, abs=0.01)


def test_a_gap_longer_than_the_hold_breaks_a_run() -> None:
    # Minutes 0-9, then 25-34: each block's last reading stands for 9 more minutes, so the
    # series has 0-18 and 25-43, with a gap of 6 minutes between: two 19-minute runs.
    points = lesson([1600.0] * 10) + [(at(25 + i), 1600.0) for i in range(10)]
    m = analyse(points).co2
    assert m.longest_above_1500_min == 19
    assert m.status == "green"  # two 19-minute runs are not a 20-minute run above anything
    assert m.coverage_pct == pytest.approx(100 * 38 / 60, abs=0.01)


def test_readings_outside_occupied_hours_do_not_count() -> None:
    points = [*lesson([500.0] * 60), (at(-30), 5000.0), (at(60), 5000.0), (at(120), 5000.0)]
    m = analyse(points).co2
    assert m.co2_mean_ppm == 500.0
    assert m.pct_time_above_1500 == 0.0
    assert m.status == "green"


def test_today_before_the_first_lesson_has_nothing_to_judge() -> None:
    """The dashboard asks for "today so far" from midnight on; before 09:00 no minute is
    occupied yet, which must give an empty day (grey), not an error."""
    points = [(at(-120), 700.0)]  # 07:00, before lessons
    result = analyse_site(
        minute_means(frame(points)), site(), PROFILE, MONDAY, MONDAY, until=at(-60)
    )
    room = result.rooms[0]
    assert room.co2.status == "grey"
    assert room.bb101.days == []
    assert room.bb101.days_failing == 0


def test_a_range_wholly_after_until_has_nothing_to_judge() -> None:
    """`until` before the day starts (a page asking about tomorrow) with readings in hand: an
    empty grid, not an IndexError."""
    points = [*lesson([900.0] * 60)]
    day_before = at(-24 * 60)
    result = analyse_site(
        minute_means(frame(points)), site(), PROFILE, MONDAY, MONDAY, until=day_before
    )
    assert result.rooms[0].co2.status == "grey"
    assert result.rooms[0].co2.occupied_minutes == 0
    # Said as it is: there was nothing to judge, not too little data.
    assert result.rooms[0].co2.status_reason == "no occupied time in this period: nothing to judge"


def test_sub_minute_readings_are_averaged_per_minute() -> None:
    points = [(at(i, second=s), v) for i in range(60) for s, v in ((0, 1400.0), (30, 1600.0))]
    m = analyse(points).co2
    assert m.co2_mean_ppm == 1500.0
    assert m.pct_time_above_1500 == 0.0  # 1500 is not above 1500
    assert m.longest_above_1500_min == 0


def test_low_coverage_is_grey_never_green() -> None:
    m = analyse(lesson([500.0] * 20)).co2  # the last reading stands for 9 more minutes
    assert m.coverage_pct == pytest.approx(48.33, abs=0.01)
    assert m.status == "grey"
    assert "not enough data" in m.status_reason


def test_episodes() -> None:
    m = analyse(lesson([700.0] * 10 + [900.0, 1600.0, 1700.0, 900.0] + [700.0] * 46)).co2
    above_800 = [e for e in m.episodes if e.threshold_ppm == 800]
    above_1500 = [e for e in m.episodes if e.threshold_ppm == 1500]
    assert [(e.start, e.end, e.duration_min, e.peak_ppm, e.mean_ppm) for e in above_800] == [
        (at(10), at(14), 4, 1700.0, 1275.0)
    ]
    assert [(e.duration_min, e.peak_ppm, e.mean_ppm) for e in above_1500] == [(2, 1700.0, 1650.0)]


def test_max_20min_mean_needs_20_minutes_with_data() -> None:
    # 1000 ppm read at minutes 0-9 stands until minute 18: 19 minutes, then a gap until 23.
    values = [1000.0] * 10 + [float("nan")] * 13 + [700.0] * 37
    points = [(at(i), v) for i, v in enumerate(values) if not np.isnan(v)]
    assert analyse(points).co2.max_20min_mean_ppm == 700.0


def test_bb101_daily_mean_against_ventilation_type() -> None:
    room = analyse(lesson([1400.0] * 60))
    assert room.bb101.daily_mean_limit_ppm == 1500
    assert [(d.mean_ppm, d.passes) for d in room.bb101.days] == [(1400.0, True)]
    assert room.bb101.days_failing == 0
    room = analyse(lesson([1600.0] * 60))
    assert room.bb101.days_failing == 1


def test_temperature_minimum_and_cold_and_stuffy() -> None:
    room = analyse(lesson([1200.0] * 60), temperature=15.0)
    t = room.temperature
    assert (t.min_c, t.mean_c, t.minutes_below_minimum) == (15.0, 15.0, 60)
    assert t.minutes_cold_and_high_co2 == 60
    assert t.cold_and_high_co2


def test_schedule_minutes_on_clock_change_days() -> None:
    tz = ZoneInfo("Europe/London")
    cfg = site(start="00:30", end="03:30", days=["sun"])
    schedule = Schedule(cfg.occupied_hours, cfg.calendar, tz)
    autumn = date(2026, 10, 25)  # 01:00-02:00 happens twice
    spring = date(2026, 3, 29)  # 01:00-02:00 never happens
    assert len(occupied_grid(*local_day_bounds(autumn, autumn, tz), schedule)) == 240
    assert len(occupied_grid(*local_day_bounds(spring, spring, tz), schedule)) == 120


def test_summer_time_lesson_is_judged_in_local_time() -> None:
    june = date(2026, 6, 15)  # BST: 09:00 local is 08:00 UTC
    points = [(datetime(2026, 6, 15, 8, m, tzinfo=UTC), 1000.0) for m in range(60)]
    result = analyse_site(minute_means(frame(points)), site(), PROFILE, june, june)
    assert result.rooms[0].co2.coverage_pct == 100.0


def test_terms_and_holidays() -> None:
    cfg = SiteConfig.model_validate(
        {
            "site": {"name": "S"},
            "occupied_hours": {"start": "09:00", "end": "10:00"},
            "calendar": {
                "terms": [{"start": "2026-11-02", "end": "2026-12-18"}],
                "holidays": ["2026-11-17", {"start": "2026-11-19", "end": "2026-11-20"}],
            },
            "rooms": [{"name": "A"}],
        }
    )
    tz = ZoneInfo("Europe/London")
    grid = occupied_grid(
        *local_day_bounds(MONDAY, MONDAY + timedelta(days=6), tz),
        Schedule(cfg.occupied_hours, cfg.calendar, tz),
    )
    assert sorted({t.date() for t in grid}) == [MONDAY, date(2026, 11, 18)]


def test_room_override_changes_the_threshold() -> None:
    cfg = site()
    cfg = cfg.model_copy(
        update={"guidance": cfg.guidance.model_validate({"rooms": {"A": {"amber_above_ppm": 700}}})}
    )
    room = analyse(lesson([750.0] * 60), cfg)
    assert room.co2.status == "amber"
    assert room.overrides == {"amber_above_ppm": 700}


def test_json_contract_keys() -> None:
    doc = to_json(
        analyse_site(minute_means(frame(lesson([900.0] * 60))), site(), PROFILE, MONDAY, MONDAY)
    )
    assert doc["profile"] == {"id": "joint-union", "version": "1.2", "title": PROFILE.title}
    assert (doc["from"], doc["to"]) == ("2026-11-16", "2026-11-16")
    (room,) = doc["rooms"]
    for key in (
        "room",
        "status",
        "coverage_pct",
        "co2_mean_ppm",
        "pct_time_above_800",
        "pct_time_above_1500",
        "max_20min_mean_ppm",
        "longest_above_1500_min",
        "temperature_min_c",
        "temperature_mean_c",
        "episodes",
        "bb101",
        "ventilation",
        "sensor_health",
        "consistently",
        "status_attribution",
    ):
        assert key in room
    assert room["episodes"][0]["start"] == "2026-11-16T09:00:00+00:00"
    # Added beside the single-run status, which stays the contract's `status`.
    assert room["status"] == "amber"
    assert room["consistently"] == {
        "status": "grey",
        "days_red": 0,
        "days_amber": 1,
        "school_days": 1,
        "rule": PROFILE.consistently_rule(),
        "reason": "1 school day judged: 'consistently' needs at least 3",
        "source": "HSE-CO2",
    }
    amber = PROFILE.attribution(PROFILE.status.rules[1])
    assert room["status_attribution"] == {
        "source": amber.source_part,
        "ventwatch": amber.ventwatch_part,
        "keys": ["NEU-CO2"],
    }
    assert room["bb101"]["window"].startswith("each school day from 09:00 to 10:00")
    assert room["bb101"]["days"][0]["assumed"] == ["building type not declared"]


def test_sensor_health_offline_and_stuck() -> None:
    cfg = site(end="12:00")
    points = [(at(i), 777.0) for i in range(70)] + [(at(100 + i), 600.0 + i) for i in range(80)]
    health = analyse(points, cfg).health
    # The last 777 (minute 69) stands until minute 78; the series has a gap from 79 to 99.
    assert [p.minutes for p in health.stuck_periods] == [79]
    assert [(p.start, p.minutes) for p in health.offline_periods] == [(at(79), 21)]
    assert health.offline_minutes == 21


values_st = st.lists(st.floats(300, 5000, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(values=values_st, missing=st.sets(st.integers(0, 59), max_size=30))
def test_percentages_stay_in_range(values: list[float], missing: set[int]) -> None:
    points = [(at(i), v) for i, v in enumerate(values) if i not in missing]
    m = analyse(points).co2 if points else None
    if m is None:
        return
    assert 0 <= m.coverage_pct <= 100
    for pct in (m.pct_time_above_800, m.pct_time_above_1500):
        assert pct is None or 0 <= pct <= 100


ORDER = ["grey", "green", "amber", "red"]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(300, 4000, allow_nan=False), min_size=60, max_size=60),
    rise=st.floats(0, 2000),
)
def test_status_is_monotone_when_every_value_rises(values: list[float], rise: float) -> None:
    before = analyse(lesson(values)).co2.status
    after = analyse(lesson([v + rise for v in values])).co2.status
    assert ORDER.index(after) >= ORDER.index(before)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6 * 1440 - 1), st.floats(350, 2500), st.floats(10, 25)),
        max_size=400,
    ),
    # A Thursday to a Tuesday: the clocks go back on the Sunday between in London (25
    # October) and New York (1 November); India's do not change, but are UTC+05:30.
    st.sampled_from(
        [
            ("Europe/London", date(2026, 10, 22)),
            ("America/New_York", date(2026, 10, 29)),
            ("Asia/Kolkata", date(2026, 10, 29)),
        ]
    ),
)
def test_analyse_days_is_each_day_judged_alone(
    points: list[tuple[int, float, float]], where: tuple[str, date]
) -> None:
    """Over six days with a weekend, a clock change and a holiday on the Monday: a day of
    `analyse_days` is `analyse_co2` of that day alone, and only the days with occupied
    minutes are there."""
    from ventwatch.analysis.engine import analyse_co2, analyse_days

    timezone, first = where
    cfg = SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": timezone},
            "occupied_hours": {
                "start": "08:50",
                "end": "15:20",
                "breaks": [{"start": "12:00", "end": "12:45"}],
            },
            "calendar": {"holidays": [str(first + timedelta(days=4))]},
            "rooms": [{"name": "A"}],
        }
    )
    start = datetime.combine(first, datetime.min.time(), ZoneInfo(timezone)).astimezone(UTC)
    minutes = minute_means(readings_from(start, points))
    last = first + timedelta(days=5)
    days = analyse_days(minutes, cfg, PROFILE, first, last)["A"]
    # Thursday, Friday, Tuesday: the weekend and Monday's holiday have no occupied minutes.
    assert list(days) == [first, first + timedelta(days=1), first + timedelta(days=5)]
    for day, judged in days.items():
        alone = analyse_co2(minutes, cfg, PROFILE, day, day)["A"]
        assert (judged.co2, judged.temperature) == (alone.co2, alone.temperature)


def test_analyse_days_of_a_weekend_has_no_days() -> None:
    from ventwatch.analysis.engine import analyse_days

    saturday = MONDAY - timedelta(days=2)
    minutes = minute_means(frame([(at(0, saturday), 900.0)]))
    assert analyse_days(minutes, site(), PROFILE, saturday, saturday + timedelta(days=1)) == {
        "A": {}
    }


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2 * 1440 - 1),
            st.floats(350, 2500),
            st.floats(10, 25),
        ),
        max_size=300,
    )
)
def test_analyse_co2_judges_a_day_as_analyse_site_does(
    points: list[tuple[int, float, float]],
) -> None:
    """A report's previous-period comparison comes from `analyse_co2` and its daily rows from
    `analyse_days`; they must be what `analyse_site` says of the same dates (less the list of
    episodes), and the period's BB101 days what each day alone says."""
    from ventwatch.analysis.engine import analyse_co2, analyse_days

    cfg = site(end="12:00", breaks=[{"start": "10:30", "end": "10:45"}])
    start = datetime.combine(MONDAY, datetime.min.time(), UTC)
    minutes = minute_means(readings_from(start, points))
    period = analyse_site(minutes, cfg, PROFILE, MONDAY, MONDAY + timedelta(days=1)).rooms[0]
    both = analyse_co2(minutes, cfg, PROFILE, MONDAY, MONDAY + timedelta(days=1))["A"]
    # The stores name rooms by category (with rooms of other sites among the categories).
    named = minutes.assign(room=pd.Categorical(minutes["room"], categories=["Z", "A"]))
    [by_category] = analyse_site(named, cfg, PROFILE, MONDAY, MONDAY + timedelta(days=1)).rooms
    assert (by_category.co2, by_category.temperature) == (period.co2, period.temperature)
    assert (both.co2, both.temperature) == (replace(period.co2, episodes=[]), period.temperature)
    days = analyse_days(minutes, cfg, PROFILE, MONDAY, MONDAY + timedelta(days=1))["A"]
    assert list(days) == [MONDAY, MONDAY + timedelta(days=1)]
    for day in (MONDAY, MONDAY + timedelta(days=1)):
        alone = analyse_site(minutes, cfg, PROFILE, day, day).rooms[0]
        fast = analyse_co2(minutes, cfg, PROFILE, day, day)["A"]
        assert fast.co2 == days[day].co2 == replace(alone.co2, episodes=[])
        assert fast.temperature == days[day].temperature == alone.temperature
        [bb] = [d for d in period.bb101.days if d.date == day] or [None]
        assert (bb.passes if bb else None) == (
            alone.bb101.days[0].passes if alone.bb101.days else None
        )
