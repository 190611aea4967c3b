"""What a rep can record as done about an alert, and whether it made the air better.

The vocabulary follows the joint union guide's five steps (evidence, risk assessment,
monitoring, practical steps, air cleaning), so an action log read by the employer speaks the
guide's language, and each action names the step it belongs to.

The effect of an action compares the room's occupied hours in the `days` calendar days before
it with the same number after it, through the analysis engine (the same figures the room page
shows). Judging the change is a project choice, stated in `action_effect`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import pandas as pd

from ventwatch.alerts.records import ActionRecord
from ventwatch.analysis.engine import analyse_site
from ventwatch.analysis.occupancy import Schedule, school_days_after
from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.series import read_minutes
from ventwatch.config import SiteConfig
from ventwatch.store import Store

# The guide's five steps, in its order.
STEPS: dict[str, str] = {
    "evidence": "Gather evidence",
    "risk-assessment": "Risk assessment",
    "monitoring": "CO2 monitoring",
    "practical-steps": "Practical steps to improve ventilation",
    "air-cleaning": "Air cleaning",
}

# Action id -> (label, the step it belongs to). "other" belongs to whichever step the rep
# picks, so its step is None.
ACTIONS: dict[str, tuple[str, str | None]] = {
    "windows-opened": ("Windows opened", "practical-steps"),
    "trickle-vents-unblocked": ("Trickle vents unblocked", "practical-steps"),
    "monitor-moved": ("CO2 monitor moved", "monitoring"),
    "air-cleaner-installed": ("Air cleaning unit installed", "air-cleaning"),
    "timetable-changed": ("Timetable changed", "practical-steps"),
    "mechanical-ventilation-repaired": ("Mechanical ventilation repaired", "practical-steps"),
    "occupancy-reduced": ("Fewer people in the room", "practical-steps"),
    "reported-to-employer": ("Reported to the employer", "evidence"),
    "risk-assessment-reviewed": ("Risk assessment reviewed", "risk-assessment"),
    "evidence-gathered": ("Evidence gathered", "evidence"),
    "other": ("Other (see the note)", None),
}

EFFECT_DAYS = 14  # calendar days compared on each side of an action
MIN_SCHOOL_DAYS = 5  # school days after an action before its effect is judged
CLEAR_CHANGE_POINTS = 5.0  # change in % of time above 800 ppm that counts as a change

Verdict = Literal["helped", "worse", "no clear change", "too early", "not enough data"]


class UnknownActionError(ValueError):
    """A step or action outside the vocabulary, or an action under another step."""


def check_action(step: str, action: str) -> None:
    """Raise UnknownActionError unless `action` is in the vocabulary under `step`."""
    if step not in STEPS:
        raise UnknownActionError(f"no step {step!r} (steps: {', '.join(STEPS)})")
    if action not in ACTIONS:
        raise UnknownActionError(f"no action {action!r} (actions: {', '.join(ACTIONS)})")
    belongs = ACTIONS[action][1]
    if belongs is not None and belongs != step:
        raise UnknownActionError(
            f"{ACTIONS[action][0]!r} is part of the step {STEPS[belongs]!r}, not {STEPS[step]!r}"
        )


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """A room's occupied hours over the local dates first..last (inclusive)."""

    first: date
    last: date
    school_days: int
    occupied_minutes: int
    coverage_pct: float
    co2_mean_ppm: float | None
    pct_time_above_800: float | None
    pct_time_above_1500: float | None
    status: str


@dataclass(frozen=True, slots=True)
class ActionEffect:
    room: str
    taken_on: date
    days: int
    before: PeriodFigures
    after: PeriodFigures | None  # None until a day after the action has begun
    verdict: Verdict
    reason: str


def _span(taken_on: date, today: date, days: int) -> tuple[date, date, date]:
    """(before's first day, after's first day, after's last day). After's last day is before
    its first while no day after the action has begun."""
    return (
        taken_on - timedelta(days=days),
        taken_on + timedelta(days=1),
        min(taken_on + timedelta(days=days), today),
    )


def _figures(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    room: str,
    first: date,
    last: date,
    schedule: Schedule,
) -> PeriodFigures:
    analysed = analyse_site(minutes, site, profile, first, last, rooms=[room]).rooms[0]
    co2 = analysed.co2
    return PeriodFigures(
        first=first,
        last=last,
        school_days=school_days_after(first - timedelta(days=1), last, schedule),
        occupied_minutes=co2.occupied_minutes,
        coverage_pct=co2.coverage_pct,
        co2_mean_ppm=co2.co2_mean_ppm,
        pct_time_above_800=co2.pct_time_above_800,
        pct_time_above_1500=co2.pct_time_above_1500,
        status=co2.status,
    )


def _judge(
    before: PeriodFigures, after: PeriodFigures | None, min_coverage: float
) -> tuple[Verdict, str]:
    if after is None or after.school_days < MIN_SCHOOL_DAYS:
        elapsed = 0 if after is None else after.school_days
        return "too early", (
            f"{elapsed} school day(s) since the action; judged after {MIN_SCHOOL_DAYS}"
        )
    for name, period in (("before", before), ("after", after)):
        if period.coverage_pct < min_coverage:
            return "not enough data", (
                f"readings cover {period.coverage_pct:.0f}% of occupied minutes {name} the "
                f"action (needs {min_coverage:.0f}%)"
            )
    share_before, share_after = before.pct_time_above_800, after.pct_time_above_800
    mean_before, mean_after = before.co2_mean_ppm, after.co2_mean_ppm
    if share_before is None or share_after is None or mean_before is None or mean_after is None:
        return "not enough data", "no CO2 readings in occupied hours before or after the action"
    change = share_after - share_before
    text = (
        f"time above 800 ppm {share_before:.0f}% → {share_after:.0f}% ({change:+.0f} points), "
        f"mean {mean_before:.0f} → {mean_after:.0f} ppm"
    )
    if change <= -CLEAR_CHANGE_POINTS and mean_after < mean_before:
        return "helped", text
    if change >= CLEAR_CHANGE_POINTS:
        return "worse", text
    return "no clear change", text


def action_effect(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    room: str,
    taken_on: date,
    today: date,
    days: int = EFFECT_DAYS,
) -> ActionEffect:
    """Compare the room's occupied hours in the `days` calendar days before `taken_on`
    (taken_on - days .. taken_on - 1) with those after it (taken_on + 1 .. taken_on + days, not
    past `today`). The day of the action itself is in neither: it is half before, half after.

    The verdict (a project choice, not a figure from the guidance):
    - "too early": fewer than 5 school days after the action have begun;
    - "not enough data": readings cover less than the profile's `min_coverage_pct` of the
      occupied minutes before or after (the same limit that makes a room grey);
    - "helped": the share of occupied time above 800 ppm fell by at least 5 percentage points
      and the mean CO2 fell too;
    - "worse": that share rose by at least 5 points;
    - "no clear change": anything else.
    Five points because a week's share above 800 ppm moves by a few points with the weather
    and the timetable alone; the mean must fall too, so that trading long waits just above
    800 ppm for peaks far above it does not count as help.

    `minutes` are minute means covering both periods, from one hold before them
    (`analysis.series.read_minutes`); `today` is the site's local date."""
    names = {r.name: r for r in site.rooms}
    if room not in names:
        raise KeyError(f"no room {room!r} on this site")
    hours = names[room].occupied_hours or site.occupied_hours
    schedule = Schedule(hours, site.calendar, site.tz)
    before_first, after_first, after_last = _span(taken_on, today, days)
    before = _figures(
        minutes, site, profile, room, before_first, taken_on - timedelta(days=1), schedule
    )
    after = (
        _figures(minutes, site, profile, room, after_first, after_last, schedule)
        if after_last >= after_first
        else None
    )
    verdict, reason = _judge(before, after, profile.status.min_coverage_pct)
    return ActionEffect(room, taken_on, days, before, after, verdict, reason)


def effect_for(
    store: Store,
    site: SiteConfig,
    profile: Profile,
    action: ActionRecord,
    today: date,
    days: int = EFFECT_DAYS,
) -> ActionEffect:
    """`action_effect` of a recorded action, reading only its room's minutes over the two
    periods from the store (a StoreError goes to the caller)."""
    before_first, _, after_last = _span(action.taken_on, today, days)
    tz = site.tz
    start = datetime.combine(before_first, time(0), tz)
    end = datetime.combine(max(after_last, action.taken_on) + timedelta(days=1), time(0), tz)
    minutes = read_minutes(store, site, profile, [action.room], start, end)
    return action_effect(minutes, site, profile, action.room, action.taken_on, today, days)
