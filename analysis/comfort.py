"""Temperature in occupied hours, and whether warmth and fresh air are being traded off.

A cold room with high CO2 means windows are kept shut to stay warm; a room that goes cold as
CO2 falls fast means windows were opened. Reports say which, because the fix differs
(heating or controlled ventilation, not just "open the windows").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.runs import runs

# Falling CO2 and temperature over 5 minutes that mark windows being opened (project choice).
WINDOW_CO2_DROP_PPM_PER_MIN = 20.0
WINDOW_TEMP_DROP_C_PER_MIN = 0.05


@dataclass(frozen=True, slots=True)
class TemperatureResult:
    minutes_with_data: int
    min_c: float | None
    mean_c: float | None
    max_c: float | None
    minutes_below_minimum: int
    minutes_outside_comfort: int
    minutes_cold_and_high_co2: int
    minutes_cold_after_windows_opened: int
    cold_and_high_co2: bool
    cold_because_windows_opened: bool
    minimum_c: float
    comfort_c: tuple[float, float]
    source: str


def temperature(
    temp: np.ndarray, co2: np.ndarray, segment: np.ndarray, profile: Profile, amber_ppm: float
) -> TemperatureResult:
    """Occupied minutes only: `temp`, `co2` and `segment` are aligned on the occupied grid."""
    t = profile.temperature
    has = ~np.isnan(temp)
    values = temp[has]
    # A minute with no data (NaN) compares false: neither cold, nor high, nor a drop.
    cold = temp < t.comfort_min_c
    high = co2 > amber_ppm
    # Slopes over 5 minutes within a segment (consecutive minutes of one day).
    lag = 5
    co2_slope = np.full(len(co2), np.nan)
    temp_slope = np.full(len(temp), np.nan)
    if len(co2) > lag:
        same = segment[lag:] == segment[:-lag]
        co2_slope[lag:] = np.where(same, (co2[lag:] - co2[:-lag]) / lag, np.nan)
        temp_slope[lag:] = np.where(same, (temp[lag:] - temp[:-lag]) / lag, np.nan)
    opened = (co2_slope < -WINDOW_CO2_DROP_PPM_PER_MIN) & (temp_slope < -WINDOW_TEMP_DROP_C_PER_MIN)
    # Cold minutes in a run that started while windows were being opened.
    cold_after = 0
    starts, ends = runs(cold, segment)
    for s, e in zip(starts, ends, strict=True):
        window = slice(max(s - lag, 0), min(s + lag, len(opened)))
        if opened[window].any():
            cold_after += int(e - s)
    cold_high = int((cold & high).sum())
    return TemperatureResult(
        minutes_with_data=int(has.sum()),
        min_c=round(float(values.min()), 2) if len(values) else None,
        mean_c=round(float(values.mean()), 2) if len(values) else None,
        max_c=round(float(values.max()), 2) if len(values) else None,
        minutes_below_minimum=int((values < t.minimum_c).sum()),
        minutes_outside_comfort=int(
            ((values < t.comfort_min_c) | (values > t.comfort_max_c)).sum()
        ),
        minutes_cold_and_high_co2=cold_high,
        minutes_cold_after_windows_opened=cold_after,
        cold_and_high_co2=cold_high >= 20,
        cold_because_windows_opened=cold_after >= 20,
        minimum_c=t.minimum_c,
        comfort_c=(t.comfort_min_c, t.comfort_max_c),
        source=t.source,
    )
