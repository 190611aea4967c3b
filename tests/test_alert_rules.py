"""Alert rules as pure functions: sustain, hysteresis, cooldown, recovery pairing, offline,
escalation and quiet hours, on simulated clocks (no sleeping)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ventwatch.alerts.conditions import Observation, observe, trailing_run
from ventwatch.alerts.lifecycle import Alert, escalation_due, step
from ventwatch.alerts.monitor import quiet_until
from ventwatch.alerts.rules import room_rules, snapshot
from ventwatch.analysis.occupancy import Schedule, school_days_after
from ventwatch.analysis.profiles import AlertRule, load_profile
from ventwatch.analysis.series import held, hold_for
from ventwatch.config import Calendar, DateRange, OccupiedHours, QuietHours, SiteConfig

PROFILE = load_profile("joint-union")
RULES = {r.id: r for r in PROFILE.alerts.rules}
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def minutes(n: int) -> list[datetime]:
    return [T0 + timedelta(minutes=i) for i in range(n)]


def judge(rule_id: str, values: list[float], occupied: list[bool] | None = None):
    """`values` are minute means (NaN: no reading that minute); the monitor judges them as
    the room's minute series, each reading standing for up to the profile's hold."""
    occ = np.array(occupied if occupied is not None else [True] * len(values))
    series = held(np.array(values, dtype=float), hold_for(PROFILE))
    return observe(RULES[rule_id], minutes(len(values)), series, occ)


def test_profile_rules_match_the_issue() -> None:
    urgent, advisory = RULES["co2-urgent"], RULES["co2-advisory"]
    assert (urgent.threshold, urgent.for_minutes, urgent.severity) == (1500, 20, "urgent")
    assert (advisory.threshold, advisory.for_minutes, advisory.severity) == (800, 30, "advisory")
    assert RULES["cold"].threshold == 16
    assert RULES["offline"].for_minutes == 30
    assert {r.kind for r in RULES.values()} == {
        "co2_above", "temperature_below", "temperature_above", "offline", "drift", "bb101_daily"
    }  # fmt: skip


def test_sustain_needs_the_full_run() -> None:
    assert judge("co2-urgent", [1600.0] * 19).state == "unknown"
    held = judge("co2-urgent", [700.0] + [1600.0] * 19 + [1700.0])
    assert held.state == "holds"
    assert held.since == T0 + timedelta(minutes=1)
    assert held.worst == 1700.0
    assert held.value == 1700.0


def test_a_dip_restarts_the_run() -> None:
    values = [1600.0] * 15 + [1400.0] + [1600.0] * 10
    assert judge("co2-urgent", values).state == "unknown"


def test_unoccupied_minutes_do_not_count() -> None:
    values = [1600.0] * 40
    occupied = [True] * 20 + [False] * 20  # lessons ended; air still bad
    assert judge("co2-urgent", values, occupied).state == "unknown"
    assert judge("co2-urgent", values[:20], occupied[:20]).state == "holds"


def test_hysteresis_clears_only_under_the_margin_for_long_enough() -> None:
    # 1450: under the figure but within the 100 ppm margin: neither holds nor clears.
    assert judge("co2-urgent", [1600.0] * 5 + [1450.0] * 30).state == "unknown"
    # Under 1400 for 9 minutes: not yet (needs 10).
    assert judge("co2-urgent", [1600.0] * 5 + [1390.0] * 9).state == "unknown"
    cleared = judge("co2-urgent", [1600.0] * 5 + [1390.0] * 10)
    assert cleared.state == "clear"
    assert cleared.value == 1390.0


def test_slow_sensors_stand_until_the_next_reading_up_to_the_hold() -> None:
    # A reading every 5 minutes: 25 minutes above 1500 is a sustained run.
    nan = float("nan")
    values = ([1600.0] + [nan] * 4) * 5
    assert judge("co2-urgent", values).state == "holds"
    # The last reading stands for its own minute and the next 9 (a hold of 10); the 11th
    # minute is a gap: the room is unknown, not good or bad.
    assert judge("co2-urgent", [1600.0] * 20 + [nan] * 9).state == "holds"
    assert judge("co2-urgent", [1600.0] * 20 + [nan] * 10).state == "unknown"


def test_cold_rule_looks_below() -> None:
    assert judge("cold", [15.0] * 30).state == "holds"
    assert judge("cold", [15.0] * 30).worst == 15.0
    assert judge("cold", [15.0] * 5 + [16.5] * 20).state == "unknown"  # within margin
    assert judge("cold", [15.0] * 5 + [17.0] * 15).state == "clear"


def test_hot_rule_looks_above() -> None:
    """NEU's 26 °C maximum: 30 occupied minutes over it; clear after 15 at or under 25."""
    hot = RULES["hot"]
    assert (hot.kind, hot.threshold, hot.for_minutes, hot.severity) == (
        "temperature_above", 26, 30, "advisory",
    )  # fmt: skip
    assert (hot.clear_margin, hot.clear_minutes, hot.source) == (1, 15, "NEU-HOT")
    assert judge("hot", [27.0] * 29).state == "unknown"
    held = judge("hot", [25.0] + [27.0] * 29 + [27.5])
    assert (held.state, held.worst, held.value) == ("holds", 27.5, 27.5)
    assert held.since == T0 + timedelta(minutes=1)
    assert judge("hot", [26.0] * 30).state == "unknown"  # at the figure is not over it
    assert judge("hot", [27.0] * 5 + [25.5] * 20).state == "unknown"  # within margin
    assert judge("hot", [27.0] * 5 + [25.0] * 14).state == "unknown"
    assert judge("hot", [27.0] * 5 + [25.0] * 15).state == "clear"


def test_a_hot_alert_keeps_its_highest_value() -> None:
    rule = snapshot(RULES["hot"], PROFILE)
    opened, _ = step(None, Observation("holds", 27.0, 27.5, T0), room="A", rule=rule, now=T0,
                     cooldown=timedelta(hours=2))  # fmt: skip
    assert opened is not None
    hotter, _ = step(opened, Observation("holds", 28.0, 28.2, T0), room="A", rule=rule, now=T0,
                     cooldown=timedelta(hours=2))  # fmt: skip
    assert hotter is not None
    assert hotter.worst == 28.2
    assert rule["described"] == "temperature above 26 °C for 30 occupied minutes"
    assert rule["attribution"]["figures"][0].startswith("26 °C: NEU (NEU-HOT; Verified)")


def test_offline_counts_occupied_gaps_only() -> None:
    nan = float("nan")
    # Sensor died during the last lesson: its last reading stands for 10 minutes, then 15
    # occupied minutes of gap, then the night...
    values = [500.0] + [nan] * 69
    occupied = [True] * 25 + [False] * 45
    assert judge("offline", values, occupied).state == "unknown"
    # ... and 15 more occupied minutes the next morning: 30 minutes of gap, so it holds.
    values2 = [500.0] + [nan] * 84
    occupied2 = occupied + [True] * 15
    offline = judge("offline", values2, occupied2)
    assert offline.state == "holds"
    assert offline.since == T0 + timedelta(minutes=10)  # the first minute of the gap
    assert judge("offline", [nan] * 30 + [500.0]).state == "clear"
    assert judge("offline", [500.0] + [nan] * 9).state == "clear"  # the reading still stands


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=60))
def test_trailing_run_counts_the_last_true_elements(flags: list[bool]) -> None:
    expected = 0
    for flag in reversed(flags):
        if not flag:
            break
        expected += 1
    assert trailing_run(np.array(flags, dtype=bool)) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(300, 3000), min_size=1, max_size=80))
def test_holds_and_clear_never_both_and_match_the_definition(values: list[float]) -> None:
    rule = RULES["co2-urgent"]
    seen = judge("co2-urgent", values)
    tail_above = trailing_run(np.array(values) > rule.threshold)
    tail_back = trailing_run(np.array(values) <= rule.threshold - rule.clear_margin)
    assert seen.state == (
        "holds" if tail_above >= rule.for_minutes
        else "clear" if tail_back >= rule.clear_minutes
        else "unknown"
    )  # fmt: skip


# -- the lifecycle -------------------------------------------------------------------------

SNAPSHOT = snapshot(RULES["co2-urgent"], PROFILE)
HOLDS = Observation("holds", value=1600.0, worst=1650.0, since=T0)
CLEAR = Observation("clear", value=1300.0)
UNKNOWN = Observation("unknown")


def advance(latest: Alert | None, seen: Observation, at: datetime, cooldown_min: int = 120):
    changed, events = step(
        latest, seen, room="Room 1", rule=SNAPSHOT, now=at, cooldown=timedelta(minutes=cooldown_min)
    )
    return (changed if changed is not None else latest), events


def test_an_alert_opens_once_and_stays_open_while_the_condition_holds() -> None:
    alert, events = advance(None, HOLDS, T0)
    assert alert is not None
    assert [e.kind for e in events] == ["opened"]
    assert events[0].notify
    for m in range(1, 30):
        alert, events = advance(alert, HOLDS, T0 + timedelta(minutes=m))
        assert events == []
    assert alert.condition == "active"
    assert alert.occurrences == 1


def test_one_recovery_message_per_announced_opening() -> None:
    alert, _ = advance(None, HOLDS, T0)
    alert, events = advance(alert, CLEAR, T0 + timedelta(minutes=40))
    assert [(e.kind, e.notify) for e in events] == [("recovered", True)]
    assert alert.condition == "recovered"
    assert alert.recovered_at == T0 + timedelta(minutes=40)
    alert, events = advance(alert, CLEAR, T0 + timedelta(minutes=41))
    assert events == []  # not twice


def test_a_recurrence_after_an_announced_recovery_is_announced_despite_the_cooldown() -> None:
    """The rep was told "recovered": a room red again 40 minutes later must be told too, or
    the inbox says all is well while the room is red."""
    alert, _ = advance(None, HOLDS, T0)
    alert, events = advance(alert, CLEAR, T0 + timedelta(minutes=40))
    assert [(e.kind, e.notify) for e in events] == [("recovered", True)]
    alert, events = advance(alert, HOLDS, T0 + timedelta(minutes=80))
    assert [(e.kind, e.notify) for e in events] == [("reopened", True)]
    assert alert.occurrences == 2
    assert alert.id is None  # the same alert, not a new one
    alert, events = advance(alert, CLEAR, T0 + timedelta(minutes=100))
    assert [(e.kind, e.notify) for e in events] == [("recovered", True)]


def test_the_cooldown_still_holds_back_a_recurrence_of_an_unannounced_occurrence() -> None:
    """An occurrence nobody was told of (stored so by an earlier version) had no recovery
    message either: the inbox still says "alert", so inside the cooldown nothing is sent."""
    alert, _ = advance(None, HOLDS, T0)
    quiet = replace(alert, notified=False, condition="recovered", recovered_at=T0)
    _, events = advance(quiet, HOLDS, T0 + timedelta(minutes=30))
    assert [(e.kind, e.notify) for e in events] == [("reopened", False)]
    _, events = advance(quiet, HOLDS, T0 + timedelta(minutes=130))
    assert [(e.kind, e.notify) for e in events] == [("reopened", True)]


def test_unknown_changes_nothing() -> None:
    assert advance(None, UNKNOWN, T0) == (None, [])
    alert, _ = advance(None, HOLDS, T0)
    assert advance(alert, UNKNOWN, T0 + timedelta(minutes=5)) == (alert, [])


def test_a_closed_alert_is_replaced_by_a_new_one_only_after_recovery() -> None:
    alert, _ = advance(None, HOLDS, T0)
    closed = replace(alert, workflow="closed", id=7)
    again, events = advance(closed, HOLDS, T0 + timedelta(minutes=5))
    assert events == []
    assert again.id == 7  # still the same episode
    recovered, events = advance(again, CLEAR, T0 + timedelta(minutes=30))
    assert [e.kind for e in events] == ["recovered"]
    new, events = advance(recovered, HOLDS, T0 + timedelta(days=1))
    assert [(e.kind, e.notify) for e in events] == [("opened", True)]
    assert new.id is None
    assert new.occurrences == 1
    assert new.workflow == "open"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["holds", "clear", "unknown"]), max_size=60),
    st.integers(min_value=0, max_value=300),
)
def test_messages_pair_up_and_the_inbox_never_says_recovered_while_red(
    states: list[str], cooldown: int
) -> None:
    seen = {"holds": HOLDS, "clear": CLEAR, "unknown": UNKNOWN}
    alert = None
    inbox = "nothing"  # the last word the rep got: "alert" or "recovered"
    open_msgs = recover_msgs = 0
    for i, state in enumerate(states):
        at = T0 + timedelta(minutes=15 * i)
        alert, events = advance(alert, seen[state], at, cooldown_min=cooldown)
        for e in events:
            if e.kind in ("opened", "reopened") and e.notify:
                open_msgs += 1
                inbox = "alert"
            if e.kind == "recovered" and e.notify:
                recover_msgs += 1
                inbox = "recovered"
        if alert is not None and alert.condition == "active":
            assert inbox == "alert"
    active = alert is not None and alert.condition == "active" and alert.notified
    assert open_msgs == recover_msgs + (1 if active else 0)


# -- escalation, school days and quiet hours -----------------------------------------------

SCHEDULE = Schedule(
    OccupiedHours(),
    Calendar(holidays=[date(2026, 11, 26)]),  # a Thursday INSET day
    LONDON,
)


def test_school_days_skip_weekends_and_holidays() -> None:
    monday = date(2026, 11, 23)
    assert school_days_after(monday, monday, SCHEDULE) == 0
    assert school_days_after(monday, date(2026, 11, 25), SCHEDULE) == 2  # Tue, Wed
    assert school_days_after(monday, date(2026, 11, 30), SCHEDULE) == 4  # + Fri, Mon
    term = Schedule(OccupiedHours(), Calendar(terms=[DateRange(start=monday, end=monday)]), LONDON)
    assert school_days_after(monday, date(2026, 11, 30), term) == 0


def test_escalation_climbs_one_rung_per_period_up_to_the_top() -> None:
    alert, _ = advance(None, HOLDS, T0)
    assert escalation_due(alert, 2, 3, 3) == 0
    assert escalation_due(alert, 3, 3, 3) == 1
    assert escalation_due(alert, 7, 3, 3) == 2
    assert escalation_due(alert, 30, 3, 3) == 3
    assert escalation_due(replace(alert, workflow="closed"), 30, 3, 3) == 0
    assert escalation_due(alert, 30, 3, 0) == 0


def test_quiet_hours_hold_messages_until_they_end() -> None:
    quiet = QuietHours(start=time(18, 0), end=time(7, 30))
    evening = datetime(2026, 11, 23, 19, 0, tzinfo=LONDON)
    now = evening.astimezone(UTC)
    until = quiet_until(now, quiet, LONDON)
    assert until == datetime(2026, 11, 24, 7, 30, tzinfo=LONDON)
    early = datetime(2026, 11, 24, 6, 0, tzinfo=LONDON)
    assert quiet_until(early.astimezone(UTC), quiet, LONDON) == datetime(
        2026, 11, 24, 7, 30, tzinfo=LONDON
    )
    day = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)
    assert quiet_until(day.astimezone(UTC), quiet, LONDON) is None
    assert quiet_until(day, None, LONDON) is None
    lunch = QuietHours(start=time(12, 0), end=time(13, 0))
    noon = datetime(2026, 11, 24, 12, 30, tzinfo=LONDON)
    assert quiet_until(noon, lunch, LONDON) == datetime(2026, 11, 24, 13, 0, tzinfo=LONDON)


# -- site overrides -------------------------------------------------------------------------


def site_with(overrides: list[dict]) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"name": "S"},
            "rooms": [{"name": "Music"}, {"name": "Room 1"}],
            "alerts": {"rules": overrides},
        }
    )


def test_overrides_change_one_room_or_switch_a_rule_off() -> None:
    rules = room_rules(
        site_with(
            [
                {"rule": "co2-advisory", "rooms": ["Music"], "threshold": 700},
                {"rule": "drift", "enabled": False},
            ]
        ),
        PROFILE,
    )
    music = {r.id: r for r in rules["Music"]}
    room1 = {r.id: r for r in rules["Room 1"]}
    assert music["co2-advisory"].threshold == 700
    assert room1["co2-advisory"].threshold == 800
    assert "drift" not in music
    assert "drift" not in room1
    assert music["co2-advisory"].source == "NEU-CO2"  # still cites its source
    # ... and says the figure is now the site's, in place of the source's
    words = PROFILE.attribution(music["co2-advisory"]).source_part
    assert words.startswith("700 ppm: NEU (NEU-CO2; Verified)")
    assert "this site's file sets 700 ppm here, in place of the profile's 800" in words


def test_a_severe_effort_room_is_cold_at_l24s_13_degrees() -> None:
    """The cold alert keeps L24's 16 °C, and a room the site file marks
    `physical_effort: severe` gets L24's 13 °C with that figure's own words."""
    site = SiteConfig.model_validate(
        {
            "site": {"name": "S"},
            "rooms": [{"name": "Room 1"}, {"name": "Sports Hall", "physical_effort": "severe"}],
            "alerts": {"rules": [{"rule": "cold", "for_minutes": 45}]},
        }
    )
    rules = room_rules(site, PROFILE)
    room1 = {r.id: r for r in rules["Room 1"]}["cold"]
    hall = {r.id: r for r in rules["Sports Hall"]}["cold"]
    assert (room1.threshold, room1.for_minutes) == (16, 45)
    assert (hall.threshold, hall.for_minutes, hall.source) == (13, 45, "L24")
    assert hall.basis == PROFILE.temperature.cold_severe_effort.basis
    assert hall.meaning.startswith("Below 13 °C for 30 minutes of lesson time: cold (below 13")
    words = PROFILE.attribution(hall)
    assert words.source_part.startswith("13 °C: HSE (L24; Secondary)")
    assert "at least 13 degrees Celsius" in words.source_part
    assert "physical_effort: severe" in words.ventwatch_part
    assert snapshot(hall, PROFILE)["described"] == (
        "temperature below 13 °C for 45 occupied minutes"
    )
    hall_judge = observe(hall, minutes(30), np.array([14.0] * 30), np.array([True] * 30))
    assert hall_judge.state == "clear"  # 14 °C is not cold in a sports hall
    assert observe(hall, minutes(45), np.array([12.5] * 45), np.array([True] * 45)).state == (
        "holds"
    )


def test_a_rule_needs_its_figures() -> None:
    with pytest.raises(ValueError, match="needs a threshold"):
        AlertRule(
            id="x", kind="co2_above", severity="urgent", meaning="m", ventwatch="w", for_minutes=5
        )
