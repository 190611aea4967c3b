"""The analysis of a site over a date range: every room judged against a guidance profile,
over its occupied minutes only. Pure: the store's minute means in, typed results out; the
command line and the pages do the I/O.

Every figure is computed on the one minute series of `analysis.series` (a reading stands for
the minutes after it until the next one, for at most the room's hold; a longer silence is a
gap): coverage, means, time above thresholds, the worst 20-minute mean, runs, status,
episodes, BB101, temperature, ventilation estimates and sensor health. The alert monitor,
the week view, reports and the live band use the same series, so they cannot disagree. BB101
alone judges each school day from its start to its end with breaks and lunch included (its
"occupied period"); everything else counts the occupied (lesson) minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ventwatch.analysis.bb101 import BB101Day, BB101Result, bb101
from ventwatch.analysis.co2 import (
    CO2Metrics,
    ConsistentlyVerdict,
    Status,
    co2_metrics,
    consistently,
    judge,
)
from ventwatch.analysis.comfort import TemperatureResult, temperature
from ventwatch.analysis.health import HealthResult, health
from ventwatch.analysis.lessons import Lesson, lessons
from ventwatch.analysis.occupancy import OccupiedGrid, local_day_bounds
from ventwatch.analysis.profiles import Attribution, Profile
from ventwatch.analysis.series import RoomSeries, site_series
from ventwatch.analysis.ventilation import (
    VentilationResult,
    outdoor_sensor_level,
    ventilation,
)
from ventwatch.config import OUTDOOR_ROOM, Room, SiteConfig


@dataclass(frozen=True, slots=True)
class RoomAnalysis:
    room: str
    building: str
    ventilation_type: str
    schedule: str
    overrides: dict[str, float]
    co2: CO2Metrics
    bb101: BB101Result
    temperature: TemperatureResult
    ventilation: VentilationResult
    health: HealthResult
    # Beside `co2.status` (the single-run rule): red or amber on N of M school days.
    consistently: ConsistentlyVerdict
    # Each lesson's peak and end-of-lesson CO2 (`analysis.lessons`), in time order.
    lessons: list[Lesson] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SiteAnalysis:
    site: str
    timezone: str
    profile: Profile
    first: date
    last: date
    rooms: list[RoomAnalysis] = field(default_factory=list)


def _room_profile(
    profile: Profile, site: SiteConfig, room: Room
) -> tuple[Profile, dict[str, float]]:
    """The profile under a room's own figures (`guidance.rooms`): a run rule's figure is
    replaced, and its basis says the site chose it. BB101's daily criteria take no figure."""
    override = site.guidance.rooms.get(room.name)
    if override is None:
        return profile, {}
    figures = override.model_dump()
    changed: dict[str, float] = {}
    rules = []
    for rule in profile.status.rules:
        key = f"{rule.status}_above_ppm"
        value = figures.get(key)
        if value is None or rule.basis is None or rule.above_ppm is None:
            rules.append(rule)
            continue
        basis = rule.basis.overridden(rule.above_ppm, value, "ppm")
        rules.append(rule.model_copy(update={"above_ppm": value, "basis": basis}))
        changed[key] = value
    return profile.with_status_rules(rules), changed


@dataclass(frozen=True, slots=True)
class RoomCO2:
    """A room's CO2 judgement and temperature over a period, as `analyse_site` gives them,
    without the list of episodes."""

    co2: CO2Metrics
    temperature: TemperatureResult


@dataclass(frozen=True)
class JudgedRoom:
    """One room's series under its own figures, shared by `analyse_site`, `analyse_co2`,
    `analyse_days` and the week view, so a day, a period and its consistently reading are
    judged the one way. `first` is the range's first local date."""

    series: RoomSeries
    profile: Profile
    overrides: dict[str, float]
    first: date

    @property
    def room(self) -> Room:
        return self.series.room

    @cached_property
    def bb101(self) -> BB101Result:
        return bb101(self.series, self.profile, self.first)

    def _bb101_days(self, day: date | None) -> list[BB101Day] | None:
        """The BB101 days a status needs (None when no status rule reads them)."""
        if not self.profile.status.uses_bb101:
            return None
        return [d for d in self.bb101.days if day is None or d.date == day]

    def _occupied(self, quantity: str, day: date | None) -> tuple[OccupiedGrid, np.ndarray]:
        grid, values = self.series.grid, self.series.during(quantity)
        if day is None:
            return grid, values
        within = grid.by_day[day]
        return grid.part(within), values[within]

    def co2(self, day: date | None = None, *, with_episodes: bool = True) -> CO2Metrics:
        """Over the occupied minutes of the range, or of one of its school days."""
        grid, co2 = self._occupied("co2_ppm", day)
        return co2_metrics(
            grid,
            co2,
            self.profile,
            with_episodes=with_episodes,
            sparse=self.series.sparse,
            bb101_days=self._bb101_days(day),
        )

    def co2_and_temperature(
        self, day: date | None = None, *, with_episodes: bool = True
    ) -> tuple[CO2Metrics, TemperatureResult]:
        grid, co2 = self._occupied("co2_ppm", day)
        _, temp = self._occupied("temperature_c", day)
        # "Cold and stuffy" compares with the amber run figure, or the lowest episode
        # figure under a profile whose amber is a BB101 daily mean.
        amber = next(
            (r.above_ppm for r in self.profile.status.rules if r.status == "amber" and r.above_ppm),
            min(self.profile.status.episode_thresholds_ppm),
        )
        return (
            self.co2(day, with_episodes=with_episodes),
            temperature(temp, co2, grid.segment, self.profile, amber, self.room.physical_effort),
        )

    def day_statuses(self) -> list[Status]:
        """The status of each school day of the range alone, in date order."""
        out = []
        for day in self.series.grid.by_day:
            grid, co2 = self._occupied("co2_ppm", day)
            verdict = judge(
                grid, co2, self.profile, sparse=self.series.sparse, bb101_days=self._bb101_days(day)
            )
            out.append(verdict.status)
        return out

    def consistently(self) -> ConsistentlyVerdict:
        return consistently(self.day_statuses(), self.profile)


def judged_room(series: RoomSeries, site: SiteConfig, profile: Profile, first: date) -> JudgedRoom:
    """A room's series judged under its own figures (the site file's `guidance.rooms`)."""
    room_profile, overrides = _room_profile(profile, site, series.room)
    return JudgedRoom(series, room_profile, overrides, first)


def _judged(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    start: datetime,
    end: datetime,
    rooms: list[str] | None,
    first: date,
) -> Iterator[JudgedRoom]:
    """Each wanted room's CO2 and temperature series over [start, end) (from the local date
    `first`), under its own figures. (Nothing judged here reads humidity.)"""
    quantities = ("co2_ppm", "temperature_c")
    for series in site_series(
        minutes, site, profile, start, end, rooms, quantities=quantities
    ).rooms:
        yield judged_room(series, site, profile, first)


def analyse_site(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    first: date,
    last: date,
    rooms: list[str] | None = None,
    until: datetime | None = None,
) -> SiteAnalysis:
    """Judge each room over the local dates first..last (inclusive), or only up to `until`
    (today so far: minutes still to come are not missing data). `minutes` are minute means
    from one hold before the first day (`series.read_minutes`)."""
    start, end = local_day_bounds(first, last, site.tz)
    if until is not None:
        end = max(start, min(end, until))
    results = []
    outdoor = _outdoor_sensor_ppm(minutes, site, start, end)
    for j in _judged(minutes, site, profile, start, end, rooms, first):
        metrics, temp = j.co2_and_temperature()
        series = j.series
        co2 = series.during("co2_ppm")
        results.append(
            RoomAnalysis(
                room=j.room.name,
                building=j.room.building,
                ventilation_type=j.room.ventilation,
                schedule=series.schedule.describe(),
                overrides=j.overrides,
                co2=metrics,
                bb101=j.bb101,
                temperature=temp,
                ventilation=ventilation(
                    series.values["co2_ppm"],
                    series.occupied,
                    j.room,
                    j.profile,
                    j.room.age_group,
                    outdoor,
                ),
                health=health(
                    series.grid,
                    co2,
                    series.values["co2_ppm"][~series.occupied],
                    j.profile,
                    series.sparse,
                ),
                consistently=j.consistently(),
                lessons=lessons(series),
            )
        )
    return SiteAnalysis(site.site.name, site.tz.key, profile, first, last, results)


def _outdoor_sensor_ppm(
    minutes: pd.DataFrame, site: SiteConfig, start: datetime, end: datetime
) -> float | None:
    """The site's outdoor sensor over [start, end) (`ventilation.outdoor_sensor_level`), or
    None when the site names none or it has too few minutes there."""
    if site.site.outdoor_sensor is None or minutes.empty:
        return None
    outdoor = minutes[
        (minutes["room"] == OUTDOOR_ROOM) & (minutes["minute"] >= start) & (minutes["minute"] < end)
    ]
    return outdoor_sensor_level(outdoor["co2_ppm"].to_numpy(dtype=float))


def analyse_co2(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    first: date,
    last: date,
    rooms: list[str] | None = None,
) -> dict[str, RoomCO2]:
    """Each room's CO2 and temperature over the local dates first..last, as `analyse_site`
    judges them, without the parts a report's comparison with the previous period does not
    show (episodes, BB101, ventilation estimates, sensor health): two fifths of the cost."""
    start, end = local_day_bounds(first, last, site.tz)
    out = {}
    for j in _judged(minutes, site, profile, start, end, rooms, first):
        metrics, temp = j.co2_and_temperature(with_episodes=False)
        out[j.room.name] = RoomCO2(metrics, temp)
    return out


def analyse_days(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    first: date,
    last: date,
    rooms: list[str] | None = None,
) -> dict[str, dict[date, RoomCO2]]:
    """Each room's CO2 and temperature on each local date first..last it was occupied, judged
    over that day alone: what `analyse_co2(minutes, ..., day, day)` says of every such day,
    from one pass over the period. A run never crosses midnight, so a day is a slice of the
    period's occupied minutes: no day's rows are copied out of `minutes`, and each schedule's
    days are found once."""
    start, end = local_day_bounds(first, last, site.tz)
    return {
        j.room.name: {
            day: RoomCO2(*j.co2_and_temperature(day, with_episodes=False))
            for day in j.series.grid.by_day
        }
        for j in _judged(minutes, site, profile, start, end, rooms, first)
    }


def _plain(value: Any) -> Any:
    """Results -> JSON-ready values. (dataclasses.asdict deep-copies every leaf: too slow
    for a thousand rooms.)"""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _attribution(words: Attribution | None) -> dict[str, Any] | None:
    if words is None:
        return None
    return {"source": words.source_part, "ventwatch": words.ventwatch_part, "keys": words.keys}


def _temperature(result: TemperatureResult) -> dict[str, Any]:
    """A room's temperature figures; each label's attribution in the two parts
    `status_attribution` has (the source's, ventwatch's)."""
    out: dict[str, Any] = _plain(result)
    out["labels"] = [
        {**_plain(label), "attribution": _attribution(label.attribution)} for label in result.labels
    ]
    return out


def to_json(result: SiteAnalysis) -> dict[str, Any]:
    """The `ventwatch analyse --format json` document (a contract other programs rely on)."""
    rooms = []
    for r in result.rooms:
        co2 = _plain(r.co2)
        rooms.append(
            {
                "room": r.room,
                "building": r.building,
                "ventilation_type": r.ventilation_type,
                "status": co2["status"],
                "status_reason": co2["status_reason"],
                "status_source": co2["status_source"],
                # Added with `consistently`: the deciding rule's source part and ventwatch's.
                "status_attribution": _attribution(r.co2.status_attribution),
                "consistently": _plain(r.consistently),
                "coverage_pct": co2["coverage_pct"],
                "occupied_minutes": co2["occupied_minutes"],
                "co2_mean_ppm": co2["co2_mean_ppm"],
                "pct_time_above_800": co2["pct_time_above_800"],
                "pct_time_above_1500": co2["pct_time_above_1500"],
                "max_20min_mean_ppm": co2["max_20min_mean_ppm"],
                "longest_above_1500_min": co2["longest_above_1500_min"],
                "temperature_min_c": r.temperature.min_c,
                "temperature_mean_c": r.temperature.mean_c,
                "temperature": _temperature(r.temperature),
                "episodes": co2["episodes"],
                "bb101": _plain(r.bb101),
                "ventilation": _plain(r.ventilation),
                "sensor_health": _plain(r.health),
                "schedule": r.schedule,
                "overrides": r.overrides,
                "lessons": _plain(r.lessons),
            }
        )
    summary: dict[str, Any] = _plain(
        {
            "site": result.site,
            "timezone": result.timezone,
            "profile": {
                "id": result.profile.id,
                "version": result.profile.version,
                "title": result.profile.title,
            },
            "from": result.first,
            "to": result.last,
            "rooms": rooms,
        }
    )
    return summary
