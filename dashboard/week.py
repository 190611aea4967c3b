"""The week view for union reps: every room against every school day of an ISO week.

Each day cell is the analysis engine's judgement of that room over that day alone (what
`analyse_site` says of the day, and so what the room page says of it); the week column is its
judgement of the whole week, what `ventwatch analyse --from MON --to SUN` reports. The shares
of time above the profile's figures come from the engine's own episodes at the profile's
episode thresholds, so a profile with other figures gets its own columns: no 800 or 1500 is
written in here.

`week_view` is pure (minute means in, a `WeekView` out); the page and `/api/week` both render
its result, so they cannot disagree. `WeekCache` makes the one store call for the week and
keeps the result for the rest of the minute: a thousand rooms take seconds to judge.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from ventwatch.analysis.co2 import CO2Metrics, ConsistentlyVerdict, Status, consistently
from ventwatch.analysis.engine import judged_room
from ventwatch.analysis.occupancy import (
    Schedule,
    local_day_bounds,
    minute_grid,
    occupied_mask,
)
from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.series import read_minutes, site_series
from ventwatch.config import SiteConfig
from ventwatch.dashboard.rooms import ProfileRef
from ventwatch.reports import period
from ventwatch.reports.period import BadPeriodError, week_monday, within_years
from ventwatch.store import Store

# The week a route's query takes, as an OpenAPI pattern: `reports.period`'s, anchored.
WEEK_PATTERN: Final = f"^{period.WEEK_PATTERN.pattern}$"


class BadWeekError(ValueError):
    """A week the view cannot show; the message says what to ask for instead."""


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """'2026-W47' -> IsoWeek(2026, 47); anything else, a week the year lacks (W53 of most
        years) or a week outside the dates the dashboard handles -> BadWeekError."""
        try:
            monday = week_monday(text)
        except BadPeriodError as exc:
            raise BadWeekError(str(exc)) from exc
        if not within_years(monday, monday + timedelta(days=6)):
            raise BadWeekError(f"weeks from {period.EARLIEST.year} to {period.LATEST.year} only")
        return cls.of(monday)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shifted(self, weeks: int) -> IsoWeek | None:
        """The week `weeks` later (earlier if negative), or None outside the dates handled."""
        monday = self.monday + timedelta(weeks=weeks)
        if not within_years(monday, monday + timedelta(days=6)):
            return None
        return IsoWeek.of(monday)

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


# complete: every occupied minute of the span is past; so_far: some are (today, this week);
# to_come: none are yet; not_in_use: the room's schedule has no occupied minute in the span.
SpanState = Literal["complete", "so_far", "to_come", "not_in_use"]


class Judgement(BaseModel):
    """The engine's judgement of one room over a span (a day or the week), as far as it has
    gone. `status` is None until an occupied minute of the span has passed."""

    state: SpanState
    status: Status | None
    status_reason: str | None
    status_source: str | None
    coverage_pct: float | None
    occupied_minutes: int  # the span's occupied minutes up to now
    minutes_with_data: int
    # The profile's episode threshold (ppm, as in `WeekView.thresholds`) -> % of the occupied
    # minutes with data whose mean is above it; None without data.
    pct_above: dict[str, float | None]


class DayCell(Judgement):
    day: date


J = TypeVar("J", bound=Judgement)


class Consistently(BaseModel):
    """The week's "consistently" reading beside its single-run status: red (amber) on N of
    any M consecutive school days judged so far (`analysis.co2.consistently`)."""

    status: Status
    days_red: int
    days_amber: int
    school_days: int
    rule: str
    reason: str
    source: str

    @classmethod
    def of(cls, verdict: ConsistentlyVerdict) -> Consistently:
        return cls(
            status=verdict.status,
            days_red=verdict.days_red,
            days_amber=verdict.days_amber,
            school_days=verdict.school_days,
            rule=verdict.rule,
            reason=verdict.reason,
            source=verdict.source,
        )


class WeekRoom(BaseModel):
    room: str
    building: str
    floor: int | str
    week: Judgement
    consistently: Consistently
    days: list[DayCell]  # one per school day, in `WeekView.school_days` order


class WeekView(BaseModel):
    site: str
    timezone: str
    profile: ProfileRef
    week: str  # ISO week, e.g. 2026-W47
    first: date  # its Monday
    last: date  # its Sunday
    # Days on which the schedules in use (the site's, and any room's own) have occupied
    # minutes: weekends, holidays and days outside term are left out.
    school_days: list[date]
    thresholds: list[str]  # the keys of every `pct_above`, lowest figure first (ppm)
    generated_at: datetime
    rooms: list[WeekRoom]  # in site-file order


def threshold_key(ppm: float) -> str:
    """800.0 -> '800': the key of a share in `pct_above` and of a page's `show=above800`."""
    return f"{ppm:g}"


def _shares(metrics: CO2Metrics, thresholds: list[float]) -> dict[str, float | None]:
    """Share of minutes with data above each threshold, from the engine's episodes: every
    occupied minute with data above a threshold lies in exactly one episode at it."""
    if not metrics.minutes_with_data:
        return {threshold_key(t): None for t in thresholds}
    above = dict.fromkeys(thresholds, 0)
    for episode in metrics.episodes:
        above[episode.threshold_ppm] += episode.duration_min
    return {
        threshold_key(t): round(100.0 * above[t] / metrics.minutes_with_data, 2) for t in thresholds
    }


def _judge(
    kind: type[J], metrics: CO2Metrics | None, planned: int, thresholds: list[float], **extra: Any
) -> J:
    """A judgement of a span with `planned` occupied minutes in all, from the engine's metrics
    of the part of it that has passed (None: none has)."""
    if planned == 0 or metrics is None or metrics.occupied_minutes == 0:
        return kind(
            state="not_in_use" if planned == 0 else "to_come",
            status=None,
            status_reason=None,
            status_source=None,
            coverage_pct=None,
            occupied_minutes=0,
            minutes_with_data=0,
            pct_above={threshold_key(t): None for t in thresholds},
            **extra,
        )
    return kind(
        state="complete" if metrics.occupied_minutes >= planned else "so_far",
        status=metrics.status,
        status_reason=metrics.status_reason,
        status_source=metrics.status_source,
        coverage_pct=metrics.coverage_pct,
        occupied_minutes=metrics.occupied_minutes,
        minutes_with_data=metrics.minutes_with_data,
        pct_above=_shares(metrics, thresholds),
        **extra,
    )


def _planned(schedule: Schedule, full: pd.DatetimeIndex, monday: date) -> np.ndarray:
    """Occupied minutes of each day of the week (0 = Monday), past or to come."""
    local = full[occupied_mask(full, schedule)].tz_convert(schedule.timezone).tz_localize(None)
    day_of = (local.values.astype("datetime64[D]") - np.datetime64(monday, "D")).astype(int)
    return np.bincount(day_of, minlength=7)


def week_view(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    week: IsoWeek,
    now: datetime,
) -> WeekView:
    """Judge every room of the site for each school day of `week` and for the week, as far
    as `now` (today so far; days still to come are not judged). `minutes` are the week's
    minute means from one hold before it (`series.read_minutes`).

    A day's judgement is that of `analyse_site` over that day alone, the week's that of
    `analyse_site` over the week (the tests hold them equal), computed the way the engine
    computes a status: the engine's `JudgedRoom` over the room's minute series, under the
    room's own figures, and its consistently reading from the days judged so far. The rest
    of `analyse_site` (ventilation, temperature, sensor health) is not shown here and would
    take most of the time; BB101's days are judged only when a status rule reads them.
    """
    tz = site.tz
    start, end = local_day_bounds(week.monday, week.sunday, tz)
    full = minute_grid(start, end)
    # As the engine's `until` cuts it: minutes still to come are not missing data.
    past = site_series(
        minutes, site, profile, start, max(start, min(end, now)), quantities=("co2_ppm",)
    )
    planned: dict[int, np.ndarray] = {}
    for series in past.rooms:
        if id(series.schedule.hours) not in planned:
            planned[id(series.schedule.hours)] = _planned(series.schedule, full, week.monday)
    school = [i for i in range(7) if any(p[i] for p in planned.values())]

    thresholds = sorted(profile.status.episode_thresholds_ppm)
    days = [week.monday + timedelta(days=i) for i in range(7)]
    rooms = []
    for series in past.rooms:
        room, by_day = series.room, series.grid.by_day
        judged = judged_room(series, site, profile, week.monday)  # the engine's own figures
        per_day = planned[id(series.schedule.hours)]
        cells = []
        for i in school:
            metrics = judged.co2(days[i]) if days[i] in by_day else None
            cells.append(_judge(DayCell, metrics, int(per_day[i]), thresholds, day=days[i]))
        statuses = [c.status for c in cells if c.status is not None]
        rooms.append(
            WeekRoom(
                room=room.name,
                building=room.building,
                floor=room.floor,
                week=_judge(Judgement, judged.co2(), int(per_day.sum()), thresholds),
                consistently=Consistently.of(consistently(statuses, judged.profile)),
                days=cells,
            )
        )
    return WeekView(
        site=site.site.name,
        timezone=tz.key,
        profile=ProfileRef(id=profile.id, version=profile.version),
        week=str(week),
        first=week.monday,
        last=week.sunday,
        school_days=[days[i] for i in school],
        thresholds=[threshold_key(t) for t in thresholds],
        generated_at=now,
        rooms=rooms,
    )


class WeekCache:
    """Week views of the current minute. A view only changes when a minute completes, and it
    costs a scan of the week's readings and seconds of analysis for a large site; the lock
    makes a second request for the same week wait for the first instead of doing it again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute: datetime | None = None
        self._views: dict[IsoWeek, WeekView] = {}

    def get(
        self, site: SiteConfig, store: Store, profile: Profile, week: IsoWeek, now: datetime
    ) -> WeekView:
        minute = now.replace(second=0, microsecond=0)
        with self._lock:
            if minute != self._minute:
                self._minute, self._views = minute, {}
            if week not in self._views:
                start, end = local_day_bounds(week.monday, week.sunday, site.tz)
                # Nothing is stored after now: a week to come asks the store for no rows.
                means = read_minutes(store, site, profile, None, start, min(end, minute))
                self._views[week] = week_view(means, site, profile, week, minute)
            return self._views[week]
