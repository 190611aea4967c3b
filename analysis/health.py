"""Sensor health over a range: offline periods in occupied hours, frozen values, and signs
of calibration drift. A room's figures are only as good as its sensor; reports show these
next to them so nobody reads a dead sensor as a well-ventilated room.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ventwatch.analysis.occupancy import OccupiedGrid
from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.runs import runs

# Sustained readings below the low floor for this long suggest drift (project choice).
LOW_FLOOR_MINUTES = 30
LISTED_PERIODS = 20


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    minutes: int


@dataclass(frozen=True, slots=True)
class HealthResult:
    offline_minutes: int
    offline_periods: list[Period]  # the first few; offline_minutes counts them all
    stuck_periods: list[Period]
    minutes_below_low_floor: int
    unoccupied_min_ppm: float | None
    drift_suspected: bool
    notes: list[str]


def _periods(grid: OccupiedGrid, starts: np.ndarray, ends: np.ndarray) -> list[Period]:
    return [
        Period(grid.times[s], grid.end_of(e - 1), int(e - s))
        for s, e in list(zip(starts, ends, strict=True))[:LISTED_PERIODS]
    ]


def health(
    grid: OccupiedGrid,
    co2: np.ndarray,
    unoccupied_co2: np.ndarray,
    profile: Profile,
    sparse: tuple[float, int] | None = None,
) -> HealthResult:
    """`grid`/`co2`: the occupied minutes of the room's minute series; `unoccupied_co2`: its
    other minutes. A gap in the series is already a silence longer than the room's hold, so
    every gap in occupied time is an offline period. `sparse`: (minutes between readings,
    hold) when readings come less often than they stand (`RoomSeries.sparse`)."""
    h = profile.health
    segment = grid.segment
    notes: list[str] = []
    missing = np.isnan(co2)
    starts, ends = runs(missing, segment)
    offline = _periods(grid, starts, ends)
    offline_minutes = int((ends - starts).sum())
    if sparse is not None:
        every, hold = sparse
        notes.append(
            f"reports every {every:.0f} minutes but a reading stands for {hold}: declare the "
            "sensor's report_interval_minutes in the site file"
        )
    if offline_minutes:
        notes.append(f"offline for {offline_minutes} occupied minutes")

    # Stretches of one unchanging value (a slow sensor's held readings are stretches too,
    # of one reporting interval each: only one longer than the profile's hour is frozen).
    changes = np.ones(len(co2), dtype=bool)
    changes[1:] = (co2[1:] != co2[:-1]) | (segment[1:] != segment[:-1])  # NaN != NaN
    s_starts = np.flatnonzero(changes)
    s_ends = np.append(s_starts[1:], len(co2))
    stuck = ((s_ends - s_starts) >= h.flat_line_minutes) & ~missing[s_starts]
    stuck_periods = _periods(grid, s_starts[stuck], s_ends[stuck])
    if stuck_periods:
        notes.append(f"the same value for over {h.flat_line_minutes} minutes: frozen sensor?")

    below = np.nan_to_num(co2, nan=np.inf) < h.low_floor_ppm
    b_starts, b_ends = runs(below, segment)
    low_drift = bool(((b_ends - b_starts) >= LOW_FLOOR_MINUTES).any())
    unocc = unoccupied_co2[~np.isnan(unoccupied_co2)]
    floor = float(unocc.min()) if len(unocc) else None
    high_drift = floor is not None and floor > h.high_floor_ppm
    if low_drift:
        notes.append(
            f"readings below {h.low_floor_ppm:g} ppm for {LOW_FLOOR_MINUTES}+ minutes: "
            "outdoor air is about 420 ppm, so the sensor reads low (calibration drift?)"
        )
    if high_drift:
        notes.append(
            f"never below {floor:.0f} ppm when empty: the room is never aired, or the sensor "
            "reads high"
        )
    return HealthResult(
        offline_minutes=offline_minutes,
        offline_periods=offline,
        stuck_periods=stuck_periods,
        minutes_below_low_floor=int(below.sum()),
        unoccupied_min_ppm=round(floor, 1) if floor is not None else None,
        drift_suspected=low_drift or high_drift,
        notes=notes,
    )
