"""The analysis of a site over a date range: every room judged against a guidance profile,
over its occupied minutes only. Pure: a DataFrame of readings (or of minute means) in, typed
results out; the command line and the pages do the I/O.
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
from ventwatch.analysis.occupancy import (
    OccupiedGrid,
    Schedule,
    local_day_bounds,
    minute_grid,
    occupied_mask,
)
from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.ventilation import VentilationResult, ventilation
from ventwatch.config import Room, SiteConfig

MINUTE_COLUMNS = ("co2_ppm", "temperature_c", "humidity_pct")


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


def minute_means(readings: pd.DataFrame) -> pd.DataFrame:
    """Readings -> 1-minute means per room: columns room, minute (UTC), co2_ppm, ..."""
    frame = readings[["room", "time", *MINUTE_COLUMNS]]
    frame = frame.assign(minute=frame["time"].dt.floor("min"))
    means = frame.groupby(["room", "minute"], sort=True, observed=True)[list(MINUTE_COLUMNS)].mean()
    return means.reset_index()


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


def minute_arrays(
    minutes: pd.DataFrame, index: pd.DatetimeIndex
) -> dict[str, dict[str, np.ndarray]]:
    """Per room, each quantity as an array over `index` (NaN where there is no data)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    if minutes.empty or len(index) == 0:  # no data, or a range wholly after `until`
        return out
    start = index.as_unit("ns")[0].value
    stamps = minutes["minute"].dt.as_unit("ns").astype("int64").to_numpy()
    positions = (stamps - start) // 60_000_000_000
    keep = (positions >= 0) & (positions < len(index))
    room = minutes["room"]
    if isinstance(room.dtype, pd.CategoricalDtype):
        # The store's minute means name rooms by category: their codes are the factorisation,
        # with no string per row to hash (most of this function's time otherwise).
        codes, names = room.cat.codes.to_numpy()[keep], room.cat.categories.to_numpy()
    else:
        codes, names = pd.factorize(room.to_numpy()[keep])
    positions = positions[keep]
    columns = {c: minutes[c].to_numpy(dtype=float)[keep] for c in MINUTE_COLUMNS}
    # One stable sort by room, then each room is a slice: no per-room scan of all rows.
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    for code, name in enumerate(names):
        if bounds[code] == bounds[code + 1]:
            continue  # a category without rows here: the room has no data, as if unnamed
        rows = order[bounds[code] : bounds[code + 1]]
        arrays = {}
        for column, values in columns.items():
            filled = np.full(len(index), np.nan)
            filled[positions[rows]] = values[rows]
            arrays[column] = filled
        out[str(name)] = arrays
    return out


@dataclass(frozen=True, slots=True)
class RoomCO2:
    """A room's CO2 judgement and temperature over a period, as `analyse_site` gives them,
    without the list of episodes."""

    co2: CO2Metrics
    temperature: TemperatureResult


@dataclass(frozen=True)
class _Judged:
    """What judging one room needs, shared by `analyse_site` and `analyse_co2`."""

    room: Room
    profile: Profile
    overrides: dict[str, float]
    schedule: Schedule
    occupied: np.ndarray
    grid: OccupiedGrid
    arrays: dict[str, np.ndarray]

    @property
    def co2(self) -> np.ndarray:
        return self.arrays["co2_ppm"][self.occupied]

    def co2_and_temperature(
        self, within: slice | None = None, *, with_episodes: bool = True
    ) -> tuple[CO2Metrics, TemperatureResult]:
        """Over the occupied minutes, or only those `within` (a day of `grid.by_day`)."""
        grid, co2 = self.grid, self.co2
        temp = self.arrays["temperature_c"][self.occupied]
        if within is not None:
            grid, co2, temp = grid.part(within), co2[within], temp[within]
        metrics = co2_metrics(
            grid, co2, self.profile, self.room.ventilation, with_episodes=with_episodes
        )
        amber = next(
            (
                r.threshold(self.room.ventilation)
                for r in self.profile.status.rules
                if r.status == "amber"
            ),
            800.0,
        )
        return metrics, temperature(temp, co2, grid.segment, self.profile, amber)


def _rooms_over(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    start: datetime,
    end: datetime,
    rooms: list[str] | None,
) -> Iterator[_Judged]:
    """Each wanted room with its occupied minutes over [start, end) and its data there."""
    tz = site.tz
    index = minute_grid(start, end)
    data = minute_arrays(minutes, index)
    empty = np.full(len(index), np.nan)
    schedules: dict[int, tuple[Schedule, np.ndarray, OccupiedGrid]] = {}
    for room in site.rooms:
        if rooms is not None and room.name not in rooms:
            continue
        hours = room.occupied_hours or site.occupied_hours
        if id(hours) not in schedules:
            schedule = Schedule(hours, site.calendar, tz)
            occ = occupied_mask(index, schedule)
            schedules[id(hours)] = (schedule, occ, OccupiedGrid.build(index[occ], tz))
        schedule, occ, grid = schedules[id(hours)]
        arrays = data.get(room.name, {})
        room_profile, overrides = _room_profile(profile, site, room)
        yield _Judged(
            room,
            room_profile,
            overrides,
            schedule,
            occ,
            grid,
            {c: arrays.get(c, empty) for c in MINUTE_COLUMNS},
        )


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
    (today so far: minutes still to come are not missing data). `minutes` is the output of
    `minute_means` (or the store's own minute means: same columns)."""
    start, end = local_day_bounds(first, last, site.tz)
    if until is not None:
        end = max(start, min(end, until))
    results = []
    for j in _rooms_over(minutes, site, profile, start, end, rooms):
        metrics, temp = j.co2_and_temperature()
        co2 = j.co2
        results.append(
            RoomAnalysis(
                room=j.room.name,
                building=j.room.building,
                ventilation_type=j.room.ventilation,
                schedule=j.schedule.describe(),
                overrides=j.overrides,
                co2=metrics,
                bb101=bb101(j.grid, co2, j.profile, j.room.ventilation),
                temperature=temp,
                ventilation=ventilation(
                    j.arrays["co2_ppm"], j.occupied, j.room, j.profile, j.room.age_group
                ),
                health=health(j.grid, co2, j.arrays["co2_ppm"][~j.occupied], j.profile),
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
    for j in _rooms_over(minutes, site, profile, start, end, rooms):
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
            for day, within in j.grid.by_day.items()
        }
        for j in _rooms_over(minutes, site, profile, start, end, rooms)
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
