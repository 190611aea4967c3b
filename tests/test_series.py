"""The one minute series (`analysis.series`): a minute's value is the mean of its readings, a
reading stands until the next one for at most the room's hold, a longer silence is a gap.
Checked against hand-written reference loops, at the cadences real loggers use, and for the
agreement the issue asks for: the alert monitor's "holds" and the analysis's runs, minute for
minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ventwatch.alerts.monitor import observations, streaming_span
from ventwatch.alerts.rules import room_rules
from ventwatch.analysis.engine import analyse_site
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import (
    held,
    hold_for,
    holds,
    lead,
    minute_means,
    site_series,
)
from ventwatch.config import SiteConfig
from ventwatch.readings import stands_at

PROFILE = load_profile("joint-union")
MONDAY = date(2026, 11, 16)  # GMT: local time is UTC
NINE = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def site(**room: object) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": "Europe/London"},
            "occupied_hours": {
                "start": "09:00",
                "end": "12:00",
                "breaks": [{"start": "10:30", "end": "10:45"}],
            },
            "rooms": [{"name": "A", **room}],
        }
    )


def readings(times: list[datetime], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.to_datetime(times, utc=True),
            "room": "A",
            "co2_ppm": values,
            "temperature_c": 20.0,
            "humidity_pct": 45.0,
        }
    )


def reference(values: list[float | None], hold: int) -> list[float | None]:
    """The rule, written as a loop: the newest value of the `hold` minutes up to each one."""
    out: list[float | None] = []
    for i in range(len(values)):
        found = None
        for back in range(hold):
            if i - back >= 0 and values[i - back] is not None:
                found = values[i - back]
                break
        out.append(found)
    return out


maybe_values = st.lists(st.one_of(st.none(), st.floats(300, 5000)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(maybe_values, min_size=1, max_size=4), st.data())
def test_held_is_the_rule_row_by_row(rows: list[list[float | None]], data: st.DataObject) -> None:
    width = max(len(r) for r in rows)
    padded = [r + [None] * (width - len(r)) for r in rows]
    hold = [data.draw(st.integers(1, 15)) for _ in padded]
    table = np.array([[np.nan if v is None else v for v in r] for r in padded], dtype=float)
    out = held(table, np.array(hold))
    for i, row in enumerate(padded):
        expected = reference(row, hold[i])
        assert [None if np.isnan(v) else v for v in out[i]] == expected


def test_hold_comes_from_the_profile_or_a_declared_interval() -> None:
    assert hold_for(PROFILE) == 10
    assert hold_for(PROFILE, 5) == 10  # a shorter interval never shortens the hold
    assert hold_for(PROFILE, 15) == 23  # one and a half intervals, rounded up
    cfg = SiteConfig.model_validate(
        {
            "site": {"name": "S"},
            "rooms": [
                {"name": "A"},
                {"name": "B", "report_interval_minutes": 10},
                {"name": "C"},
            ],
            "sensors": [
                {"family": "ttn", "device": "c1", "room": "C", "report_interval_minutes": 15},
                {"family": "ttn", "device": "c2", "room": "C", "report_interval_minutes": 20},
                {"family": "tasmota", "device": "a1", "room": "A"},
            ],
        }
    )
    assert holds(cfg, PROFILE) == {"A": 10, "B": 15, "C": 30}
    assert lead(cfg, PROFILE) == timedelta(minutes=30)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 30)),
    st.integers(0, 40 * 60_000_000),  # microseconds after the reading
    st.integers(1, 30),
)
def test_stands_at_is_the_series_rule_for_one_reading(
    taken: datetime, after_us: int, hold: int
) -> None:
    taken = taken.replace(tzinfo=UTC)
    now = taken + timedelta(microseconds=after_us)
    index = pd.date_range(
        pd.Timestamp(taken).floor("min"), pd.Timestamp(now).floor("min"), freq="min"
    )
    values = np.full((1, len(index)), np.nan)
    values[0, 0] = 500.0
    covered = not np.isnan(held(values, hold)[0, -1])
    assert stands_at(taken, now, hold) == covered


@pytest.mark.parametrize(
    ("cadence_s", "first_s"),
    [(60, 0), (59.5, 30), (60.5, 50), (120, 7), (300, 41), (600, 59)],
    ids=["1-min", "1-min fast clock", "1-min slow clock", "2-min", "5-min", "10-min"],
)
def test_real_logger_cadences_cover_every_minute(cadence_s: float, first_s: float) -> None:
    # From 08:30, so the reading before 09:00 carries into the first lesson.
    start = datetime(2026, 11, 16, 8, 30, tzinfo=UTC) + timedelta(seconds=first_s)
    times = [start + timedelta(seconds=cadence_s * i) for i in range(int(4 * 3600 / cadence_s))]
    result = analyse_site(
        minute_means(readings(times, [1600.0] * len(times))), site(), PROFILE, MONDAY, MONDAY
    )
    co2 = result.rooms[0].co2
    assert co2.coverage_pct == 100.0
    assert co2.longest_above_1500_min == 90  # 09:00-10:30, the first lesson, unbroken
    assert co2.status == "red"
    assert co2.max_20min_mean_ppm == 1600.0
    above_1500 = [e for e in co2.episodes if e.threshold_ppm == 1500]
    assert [e.duration_min for e in above_1500] == [90, 75]  # one per lesson, not hundreds


def test_a_lorawan_room_needs_its_interval_declared() -> None:
    times = [NINE - timedelta(minutes=5) + timedelta(minutes=15 * i) for i in range(14)]
    frame = minute_means(readings(times, [1600.0] * len(times)))
    plain = analyse_site(frame, site(), PROFILE, MONDAY, MONDAY).rooms[0].co2
    declared = site(report_interval_minutes=15)
    told = analyse_site(frame, declared, PROFILE, MONDAY, MONDAY).rooms[0].co2
    # Undeclared: each reading stands 10 of its 15 minutes, so runs of 10 at most: never
    # green, since no run could ever have reached 20 minutes.
    assert (plain.longest_above_1500_min, plain.status) == (10, "grey")
    assert "give it report_interval_minutes: 15" in plain.status_reason
    assert plain.coverage_pct == pytest.approx(100 * 110 / 165, abs=0.01)
    assert (told.coverage_pct, told.status, told.longest_above_1500_min) == (100.0, "red", 90)


def test_a_range_starts_with_the_reading_before_it() -> None:
    """The store is read from one hold before the range: a reading at 23:55 stands for the
    first minutes of the next day, even when the day is analysed alone."""
    cfg = SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": "Europe/London"},
            "occupied_hours": {"start": "00:00", "end": "01:00", "days": ["mon"]},
            "rooms": [{"name": "A"}],
        }
    )
    frame = minute_means(readings([NINE.replace(hour=0) - timedelta(minutes=5)], [900.0]))
    co2 = analyse_site(frame, cfg, PROFILE, MONDAY, MONDAY).rooms[0].co2
    assert co2.minutes_with_data == 5  # 00:00-00:04 of the 23:55 reading's 10 minutes


def test_silence_is_a_gap_never_a_guess() -> None:
    times = [NINE + timedelta(minutes=m) for m in range(0, 30, 5)]  # then silence
    frame = minute_means(readings(times, [700.0] * len(times)))
    result = analyse_site(frame, site(), PROFILE, MONDAY, MONDAY).rooms[0]
    assert result.co2.minutes_with_data == 35  # 09:25's reading stands until 09:34
    [offline, after_break] = result.health.offline_periods
    assert (offline.start, offline.minutes) == (NINE + timedelta(minutes=35), 55)
    assert after_break.minutes == 75  # 10:45-12:00: the break does not end the silence's count


# -- the alert monitor and the analysis agree, minute for minute --------------------------

cadences = st.sampled_from([60.0, 59.5, 60.5, 120.0, 300.0, 600.0, 900.0])


@st.composite
def a_morning(draw: st.DrawFn) -> pd.DataFrame:
    """A sensor's morning: a cadence, jitter, silences, and CO2 that wanders across 1500."""
    cadence = draw(cadences)
    t = datetime(2026, 11, 16, 8, 40, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 59)))
    end = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    level = draw(st.floats(1000, 2000))
    times, values = [], []
    while t < end:
        if draw(st.integers(0, 19)) == 0:  # now and then, a silence
            t += timedelta(minutes=draw(st.integers(5, 40)))
            continue
        level = min(3000.0, max(400.0, level + draw(st.floats(-150, 150))))
        times.append(t)
        values.append(round(level))
        t += timedelta(seconds=cadence + draw(st.floats(-3, 3)))
    return readings(times, values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a_morning())
def test_alert_holds_exactly_where_the_analysis_has_a_long_enough_run(
    morning: pd.DataFrame,
) -> None:
    cfg = site()
    minutes = minute_means(morning)
    rules = room_rules(cfg, PROFILE)
    co2_rules = [r for r in rules["A"] if r.kind == "co2_above"]
    # The analysis of the whole morning: its episodes above each rule's figure.
    analysed = analyse_site(minutes, cfg, PROFILE, MONDAY, MONDAY).rooms[0].co2
    for minute in pd.date_range(NINE, NINE + timedelta(hours=3), freq="min", inclusive="left"):
        # The monitor's tick at half past the minute, from the store's minutes of its span
        # (read, as `read_minutes` reads them, from one hold earlier).
        now = minute.to_pydatetime() + timedelta(seconds=30)
        start, end = streaming_span(rules, now)
        read = (minutes["minute"] >= start - lead(cfg, PROFILE)) & (minutes["minute"] < end)
        seen = {
            rule.id: observation
            for _, rule, observation in observations(minutes[read], cfg, PROFILE, rules, now)
        }
        occupied = not (time(10, 30) <= minute.time() < time(10, 45))
        for rule in co2_rules:
            runs = [e for e in analysed.episodes if e.threshold_ppm == rule.threshold]
            run = next((e for e in runs if e.start <= minute < e.end), None)
            long_enough = run is not None and minute - run.start >= timedelta(
                minutes=rule.for_minutes - 1
            )
            assert (seen[rule.id].state == "holds") == (occupied and long_enough), (rule.id, minute)
            if seen[rule.id].state == "holds":
                assert run is not None
                assert seen[rule.id].since == run.start


def test_the_site_series_holds_a_reading_for_the_room_s_hold_then_has_a_gap() -> None:
    frame = minute_means(readings([NINE], [900.0]))
    series = site_series(frame, site(), PROFILE, NINE, NINE + timedelta(minutes=15))
    [room] = series.rooms
    assert room.hold == hold_for(PROFILE) == 10
    assert (room.values["co2_ppm"][:10] == 900.0).all()
    assert np.isnan(room.values["co2_ppm"][10:]).all()
    assert room.occupied.all()  # every minute of the range is in lessons: none is masked


def test_a_slow_sensor_s_held_readings_are_not_a_frozen_sensor() -> None:
    """Each 5-minute reading stands for 5 minutes: stretches of one value, but not frozen.
    Thirteen equal readings in a row (65 minutes) are."""
    times = [NINE - timedelta(minutes=2) + timedelta(minutes=5 * i) for i in range(40)]
    varying = [600.0 + 7 * (i % 9) for i in range(40)]
    frozen = [600.0 + 7 * (i % 9) if not 2 <= i < 15 else 777.0 for i in range(40)]
    calm = analyse_site(minute_means(readings(times, varying)), site(), PROFILE, MONDAY, MONDAY)
    assert calm.rooms[0].health.stuck_periods == []
    stuck = analyse_site(minute_means(readings(times, frozen)), site(), PROFILE, MONDAY, MONDAY)
    [period] = stuck.rooms[0].health.stuck_periods
    assert (period.start, period.minutes) == (times[2].replace(second=0), 65)
