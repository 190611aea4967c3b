"""The analysis of a site over a date range: every room judged against a guidance profile,
over its occupied minutes only. Pure: the store's minute means in, typed results out; the
command line and the pages do the I/O.

Every figure is computed on the one minute series of `analysis.series` (a reading stands for
the minutes after it until the next one, for at most the room's hold; a longer silence is a
gap): coverage, means, time above thresholds, the worst 20-minute mean, runs, status,
episodes, BB101, temperature, ventilation estimates and sensor health. The alert monitor,
the week view, reports and the live band use the same series, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ventwatch.analysis.bb101 import BB101Result, bb101
from ventwatch.analysis.co2 import CO2Metrics, co2_metrics
from ventwatch.analysis.comfort import TemperatureResult, temperature
from ventwatch.analysis.health import HealthResult, health
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.series import RoomSeries, site_series
from ventwatch.analysis.ventilation import VentilationResult, ventilation
from ventwatch.config import Room, SiteConfig


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
    override = site.guidance.rooms.get(room.name)
    if override is None:
        return profile, {}
    changed = {
        k: v for k, v in override.model_dump().items() if v is not None and k.endswith("_ppm")
    }
    rules = [
        rule.model_copy(update={"above_ppm": changed[f"{rule.status}_above_ppm"]})
        if f"{rule.status}_above_ppm" in changed
        else rule
        for rule in profile.status.rules
    ]
    return profile.with_status_rules(rules), changed


@dataclass(frozen=True, slots=True)
class RoomCO2:
    """A room's CO2 judgement and temperature over a period, as `analyse_site` gives them,
    without the list of episodes."""

    co2: CO2Metrics
    temperature: TemperatureResult


@dataclass(frozen=True)
class _Judged:
    """One room's series under its own figures, shared by `analyse_site`, `analyse_co2` and
    `analyse_days`."""

    series: RoomSeries
    profile: Profile
    overrides: dict[str, float]

    @property
    def room(self) -> Room:
        return self.series.room

    def co2_and_temperature(
        self, within: slice | None = None, *, with_episodes: bool = True
    ) -> tuple[CO2Metrics, TemperatureResult]:
        """Over the occupied minutes, or only those `within` (a day of `grid.by_day`)."""
        grid = self.series.grid
        co2, temp = self.series.during("co2_ppm"), self.series.during("temperature_c")
        if within is not None:
            grid, co2, temp = grid.part(within), co2[within], temp[within]
        ventilation = self.room.ventilation
        metrics = co2_metrics(
            grid,
            co2,
            self.profile,
            ventilation,
            with_episodes=with_episodes,
            sparse=self.series.sparse,
        )
        amber = next(
            (r.threshold(ventilation) for r in self.profile.status.rules if r.status == "amber"),
            800.0,
        )
        return metrics, temperature(temp, co2, grid.segment, self.profile, amber)


def _judged(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    start: datetime,
    end: datetime,
    rooms: list[str] | None,
) -> Iterator[_Judged]:
    """Each wanted room's CO2 and temperature series over [start, end), under its own
    figures. (Nothing judged here reads humidity.)"""
    quantities = ("co2_ppm", "temperature_c")
    for series in site_series(
        minutes, site, profile, start, end, rooms, quantities=quantities
    ).rooms:
        room_profile, overrides = _room_profile(profile, site, series.room)
        yield _Judged(series, room_profile, overrides)


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
    for j in _judged(minutes, site, profile, start, end, rooms):
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
                bb101=bb101(series.grid, co2, j.profile, j.room.ventilation),
                temperature=temp,
                ventilation=ventilation(
                    series.values["co2_ppm"],
                    series.occupied,
                    j.room,
                    j.profile,
                    j.room.age_group,
                ),
                health=health(
                    series.grid,
                    co2,
                    series.values["co2_ppm"][~series.occupied],
                    j.profile,
                    series.sparse,
                ),
            )
        )
    return SiteAnalysis(site.site.name, site.tz.key, profile, first, last, results)


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
    for j in _judged(minutes, site, profile, start, end, rooms):
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
            day: RoomCO2(*j.co2_and_temperature(within, with_episodes=False))
            for day, within in j.series.grid.by_day.items()
        }
        for j in _judged(minutes, site, profile, start, end, rooms)
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
                "coverage_pct": co2["coverage_pct"],
                "occupied_minutes": co2["occupied_minutes"],
                "co2_mean_ppm": co2["co2_mean_ppm"],
                "pct_time_above_800": co2["pct_time_above_800"],
                "pct_time_above_1500": co2["pct_time_above_1500"],
                "max_20min_mean_ppm": co2["max_20min_mean_ppm"],
                "longest_above_1500_min": co2["longest_above_1500_min"],
                "temperature_min_c": r.temperature.min_c,
                "temperature_mean_c": r.temperature.mean_c,
                "temperature": _plain(r.temperature),
                "episodes": co2["episodes"],
                "bb101": _plain(r.bb101),
                "ventilation": _plain(r.ventilation),
                "sensor_health": _plain(r.health),
                "schedule": r.schedule,
                "overrides": r.overrides,
            }
        )
    return _plain(
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
