"""The one minute series every verdict is computed on.

`analyse`, reports, the week view, room pages, the alert monitor, the live band and sensor
health all judge a room from the series this module builds, so the same readings can only ever
give the same verdict. The rule (a contract, stated in docs/guidance.md too):

- A minute's value is the mean of the readings whose time falls in it.
- A reading stands for the minutes after it until the next reading, for at most the room's
  *hold*, its own minute included. The hold is the profile's `stale_after_minutes` (10), or,
  for a room or sensor that declares a longer `report_interval_minutes` in the site file,
  one and a half of those intervals: a sensor reporting on time (give or take a late uplink)
  then covers every minute. So 1-, 2-, 5- and 10-minute loggers cover every minute, and a
  reading just before the occupied hours carries into them.
- A minute no reading stands for is a gap: no data. It counts in the coverage denominator
  and breaks runs and 20-minute windows; a silence is never filled with a guess.

Why: real sensors report every 1 to 15 minutes, with clocks that drift across minute
boundaries. Judging only the minutes that hold a reading called a 5-minute Aranet4 80 % empty
and cut every run above a threshold into one-minute pieces.

Readers ask the store for a range through `read_minutes`, which starts one hold early (the
longest of the site's holds), so the first minutes of a range can be held from a reading
just before it, on every store alike (InfluxDB's `GROUP BY time(1m)` included). Everything
else here is pure. The rule for one reading, `ventwatch.readings.stands_at`, decides when
the overview calls a room stale and the sensors page a sensor silent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ventwatch.analysis.occupancy import OccupiedGrid, Schedule, minute_grid, occupied_mask
from ventwatch.analysis.profiles import Profile
from ventwatch.config import OUTDOOR_ROOM, Room, SiteConfig
from ventwatch.store.recent import MinuteSource

QUANTITIES = ("co2_ppm", "temperature_c", "humidity_pct")
# A declared reporting interval holds a reading this many intervals: on time, with room for
# a late uplink, but not for a lost one (project choice).
INTERVAL_GRACE = 1.5
_MINUTE_NS = 60_000_000_000


def hold_for(profile: Profile, interval_minutes: float | None = None) -> int:
    """How many minutes a reading stands for, its own included: the profile's stale time, or
    longer for a sensor that declares a longer reporting interval."""
    base = math.ceil(profile.stale_after_minutes)
    if interval_minutes is None:
        return base
    return max(base, math.ceil(interval_minutes * INTERVAL_GRACE))


def holds(
    site: SiteConfig, profile: Profile, rooms: Sequence[Room] | None = None
) -> dict[str, int]:
    """The hold of each room (all of the site's by default), by name, in the site's order."""
    declared: dict[str, float] = {}
    for sensor in site.sensors:
        if sensor.report_interval_minutes is not None:
            known = declared.get(sensor.room, 0.0)
            declared[sensor.room] = max(known, sensor.report_interval_minutes)
    return {
        room.name: hold_for(profile, room.report_interval_minutes or declared.get(room.name))
        for room in (site.rooms if rooms is None else rooms)
    }


def lead(site: SiteConfig, profile: Profile) -> timedelta:
    """How long before a range its readers must read: the longest hold of the site."""
    return timedelta(minutes=max(holds(site, profile).values(), default=0))


def read_minutes(
    store: MinuteSource,
    site: SiteConfig,
    profile: Profile,
    rooms: Sequence[str] | None,
    start: datetime,
    end: datetime,
) -> pd.DataFrame:
    """The store's minute means for [start, end), from one hold before `start`: what
    `room_series` needs to hold a reading across the start of a range, and the site's
    outdoor sensor's with any rooms named (the ventilation estimates may need it). (The edge:
    the one store read every verdict goes through.)"""
    if rooms is not None and site.site.outdoor_sensor is not None:
        rooms = [*rooms, OUTDOOR_ROOM]
    return store.minute_means(rooms, start - lead(site, profile), max(start, end))


def minute_means(readings: pd.DataFrame) -> pd.DataFrame:
    """Readings -> each room's minute means (columns room, minute (UTC), co2_ppm, ...): the
    first half of the rule, as the stores compute it where the data lives."""
    frame = readings[["room", "time", *QUANTITIES]]
    frame = frame.assign(minute=frame["time"].dt.floor("min"))
    means = frame.groupby(["room", "minute"], sort=True, observed=True)[list(QUANTITIES)].mean()
    return means.reset_index()


def held(values: np.ndarray, hold: int | np.ndarray) -> np.ndarray:
    """The second half of the rule: each minute without a reading takes the value of the last
    minute with one, if that is less than `hold` minutes back; else it stays NaN. `values` is
    (..., minutes), consecutive minutes along the last axis; `hold` one number, or one per
    row."""
    if values.shape[-1] == 0:
        return values.copy()
    positions = np.arange(values.shape[-1])
    last = np.maximum.accumulate(np.where(np.isnan(values), -1, positions), axis=-1)
    out = np.take_along_axis(values, np.maximum(last, 0), axis=-1)
    limit = np.asarray(hold)[..., None] if np.ndim(hold) else hold
    out[(last < 0) | (positions - last >= limit)] = np.nan
    return out


def minute_table(
    minutes: pd.DataFrame, index: pd.DatetimeIndex, quantities: Sequence[str] = QUANTITIES
) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Minute means laid out as one row per room over the minutes of `index` (NaN: no
    reading): which row is whose, and a (rooms x minutes) array per quantity."""
    if minutes.empty or len(index) == 0:
        return {}, {q: np.empty((0, len(index))) for q in quantities}
    stamps = minutes["minute"].dt.as_unit("ns").astype("int64").to_numpy()
    positions = (stamps - index.as_unit("ns")[0].value) // _MINUTE_NS
    room = minutes["room"]
    if isinstance(room.dtype, pd.CategoricalDtype):
        # The store's minute means name rooms by category: their codes are the factorisation,
        # with no string per row to hash (most of this function's time otherwise).
        codes, names = room.cat.codes.to_numpy(), room.cat.categories.to_numpy()
    else:
        codes, names = pd.factorize(room.to_numpy())
    keep = (positions >= 0) & (positions < len(index)) & (codes >= 0)
    codes, positions = codes[keep], positions[keep]
    tables = {}
    for quantity in quantities:
        table = np.full((len(names), len(index)), np.nan)
        table[codes, positions] = minutes[quantity].to_numpy(dtype=float)[keep]
        tables[quantity] = table
    return {str(name): i for i, name in enumerate(names)}, tables


@dataclass(frozen=True)
class RoomSeries:
    """One room's minute series over a range, and which of its minutes are occupied."""

    room: Room
    hold: int  # minutes a reading stands for, in the series' minutes (see `site_series`)
    schedule: Schedule
    values: Mapping[str, np.ndarray]  # each quantity over the range's minutes, held
    occupied: np.ndarray  # per minute of the range: does it count?
    grid: OccupiedGrid  # the occupied minutes, with their runs and days
    # Per minute of the range: is it inside a school day, from the start to the end of the
    # room's hours with breaks and lunch included? BB101 averages over this "occupied
    # period"; every other figure counts `occupied` minutes only.
    school_day: np.ndarray
    school_day_grid: OccupiedGrid  # those minutes, with their runs and days
    # The median minutes between its CO2 readings over the range (None: fewer than three).
    reading_interval: float | None = None

    def during(self, quantity: str) -> np.ndarray:
        """A quantity over the occupied minutes only, aligned with `grid`."""
        values: np.ndarray = self.values[quantity][self.occupied]
        return values

    def across_school_day(self, quantity: str) -> np.ndarray:
        """A quantity over the school days' whole span (breaks and lunch included), aligned
        with `school_day_grid`."""
        values: np.ndarray = self.values[quantity][self.school_day]
        return values

    @property
    def sparse(self) -> tuple[float, int] | None:
        """(minutes between readings, hold) when its readings come less often than they
        stand: its series then has a gap before every reading and no run can outlast the hold,
        so an undeclared LoRaWAN sensor's room would look green for ever."""
        if self.reading_interval is None or self.reading_interval <= self.hold:
            return None
        return self.reading_interval, self.hold


@dataclass(frozen=True)
class SiteSeries:
    """Every wanted room's minute series over [start, end)."""

    index: pd.DatetimeIndex  # the range's UTC minutes
    rooms: list[RoomSeries]  # in site-file order


def site_series(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    start: datetime,
    end: datetime,
    rooms: Sequence[str] | None = None,
    *,
    quantities: Sequence[str] = QUANTITIES,
) -> SiteSeries:
    """Each wanted room's minute series of `quantities` over [start, end), from `minutes`
    (from `read_minutes`: minute means from one hold before `start`)."""
    index = minute_grid(start, end)
    extended = minute_grid(start - lead(site, profile), end) if len(index) else index
    skip = len(extended) - len(index)
    wanted = [r for r in site.rooms if rooms is None or r.name in rooms]
    hold_of = holds(site, profile, wanted)
    rows, tables = minute_table(minutes, extended, quantities)
    row_holds = np.ones(len(rows), dtype=np.int64)
    for name, row in rows.items():
        row_holds[row] = hold_of.get(name, 1)
    intervals = _reading_intervals(tables["co2_ppm"]) if "co2_ppm" in tables else {}
    series = {}
    for quantity in quantities:
        series[quantity] = held(tables.pop(quantity), row_holds)[:, skip:]
    empty = np.full(len(index), np.nan)
    empty.flags.writeable = False
    schedules: dict[int, tuple[Schedule, np.ndarray, OccupiedGrid, np.ndarray, OccupiedGrid]] = {}
    out = []
    for room in wanted:
        hours = room.occupied_hours or site.occupied_hours
        if id(hours) not in schedules:
            schedule = Schedule(hours, site.calendar, site.tz)
            occupied = occupied_mask(index, schedule)
            whole_day = Schedule(
                hours.model_copy(update={"exclude_breaks": False}), site.calendar, site.tz
            )
            school_day = occupied_mask(index, whole_day)
            schedules[id(hours)] = (
                schedule,
                occupied,
                OccupiedGrid.build(index[occupied], site.tz),
                school_day,
                OccupiedGrid.build(index[school_day], site.tz),
            )
        schedule, occupied, grid, school_day, school_day_grid = schedules[id(hours)]
        found = rows.get(room.name)
        values = {q: empty if found is None else series[q][found] for q in quantities}
        interval = None if found is None else intervals.get(found)
        out.append(
            RoomSeries(
                room,
                hold_of[room.name],
                schedule,
                values,
                occupied,
                grid,
                school_day,
                school_day_grid,
                interval,
            )
        )
    return SiteSeries(index, out)


def _reading_intervals(table: np.ndarray) -> dict[int, float]:
    """Each row's median minutes between minutes with a reading (rows with three or more)."""
    rows, columns = np.nonzero(~np.isnan(table))  # row by row, columns in order
    if len(rows) < 3:
        return {}
    gaps = np.diff(columns)
    same = rows[1:] == rows[:-1]
    gaps, owner = gaps[same], rows[1:][same]
    out = {}
    bounds = np.searchsorted(owner, np.arange(table.shape[0] + 1))
    for row in range(table.shape[0]):
        if bounds[row + 1] - bounds[row] >= 2:
            out[row] = float(np.median(gaps[bounds[row] : bounds[row + 1]]))
    return out
