"""Temperature in occupied hours: the minutes each label of the profile applies to, and
whether warmth and fresh air are being traded off.

Three labels, each with its own figure and source, never mixed: "cold" is below ACoP L24's
minimum (16 °C; 13 °C in a room the site file marks `physical_effort: severe`), "below
comfort" below NEU's 18 °C and "above comfort" over NEU's 26 °C. A room at 17 °C is below
comfort but not cold: calling it cold would credit L24 with NEU's figure.

A room below comfort with high CO2 suggests windows kept shut to stay warm; a room that goes
below comfort as CO2 falls sharply mid-lesson and the temperature drops suggests windows
were opened. Reports say which, because the fix differs (heating or controlled ventilation,
not just "open the windows"). The second is an inference from two curves, not a sight of a
window, so it is only ever called "possibly"; and a class leaving at the end of a lesson
also makes CO2 fall fast and the room cool a little, so a fall that close to the end of a
lesson is put down to the class leaving, not to windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ventwatch.analysis.profiles import CHECKED, Attribution, Profile, TemperatureLabel
from ventwatch.analysis.runs import runs
from ventwatch.config import PhysicalEffort

# Falling CO2 and temperature over 5 minutes that suggest windows being opened (project
# choice).
WINDOW_CO2_DROP_PPM_PER_MIN = 20.0
WINDOW_TEMP_DROP_C_PER_MIN = 0.05
SLOPE_MINUTES = 5
# A class leaving empties the room as fast as opened windows air it: a fall within this many
# minutes of the end of a lesson (its run of occupied minutes, which breaks, lunch and the
# end of the day cut) is taken as the class leaving (project choice: pupils pack up and go
# in the last minutes).
LEAVING_MINUTES = 10
# Minutes of a flag before a period is said to have it (project choice).
FLAG_MINUTES = 20

LabelKey = Literal["cold", "below_comfort", "above_comfort"]


@dataclass(frozen=True, slots=True)
class LabelledMinutes:
    """The occupied minutes one temperature label applies to, with the label as pages show
    it and its attribution (`Profile.attribution`): its source's part and ventwatch's."""

    key: LabelKey
    label: str  # with its figure and source: "cold (below 16 °C, ACoP L24)"
    figure_c: float
    minutes: int
    source: str  # the source key of the figure
    checked: str  # how far the figure was checked: Verified, Secondary, Unverified
    attribution: Attribution


@dataclass(frozen=True, slots=True)
class TemperatureResult:
    minutes_with_data: int
    min_c: float | None
    mean_c: float | None
    max_c: float | None
    # Occupied minutes cold: below the room's L24 minimum (`minimum_c`).
    minutes_below_minimum: int
    # Occupied minutes below comfort or above comfort (NEU's range, `comfort_c`).
    minutes_outside_comfort: int
    # Occupied minutes below comfort with CO2 over the amber figure.
    minutes_cold_and_high_co2: int
    # Minutes below comfort in runs that began as windows were possibly opened.
    minutes_cold_after_windows_opened: int
    cold_and_high_co2: bool
    # "Possibly": an inference from falling CO2 and temperature (`windows_possibly_opened`).
    cold_because_windows_opened: bool
    minimum_c: float  # the room's cold figure: L24's 16 °C, or 13 °C for severe effort
    comfort_c: tuple[float, float]
    source: str  # the cold figure's source key
    physical_effort: PhysicalEffort
    minutes_below_comfort: int
    minutes_above_comfort: int
    # cold, below comfort, above comfort: each label with its own figure and source.
    labels: tuple[LabelledMinutes, ...]

    def label(self, key: LabelKey) -> LabelledMinutes:
        return next(x for x in self.labels if x.key == key)

    @property
    def stuffy_note(self) -> str | None:
        """Below comfort and stuffy at once, in words, or None when it was not."""
        if not self.cold_and_high_co2:
            return None
        return (
            f"{self.minutes_cold_and_high_co2} occupied minutes were both "
            f"{self.label('below_comfort').label} and over the amber CO2 figure: windows are "
            "likely kept shut to stay warm; the fix is heating or controlled ventilation, "
            "not only opening windows."
        )

    @property
    def windows_note(self) -> str | None:
        """Possibly cooled by opened windows, in words, or None when it was not."""
        if not self.cold_because_windows_opened:
            return None
        return (
            f"{self.minutes_cold_after_windows_opened} occupied minutes "
            f"{self.label('below_comfort').label} began as CO2 fell sharply mid-lesson and the "
            "temperature dropped: windows were possibly opened. An inference from the "
            f"readings, not an observation; falls in the last {LEAVING_MINUTES} minutes of a "
            "lesson are put down to the class leaving."
        )


def _slope(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Change per minute over `SLOPE_MINUTES`, within a segment (NaN elsewhere)."""
    lag = SLOPE_MINUTES
    out = np.full(len(values), np.nan)
    if len(values) > lag:
        same = segment[lag:] == segment[:-lag]
        out[lag:] = np.where(same, (values[lag:] - values[:-lag]) / lag, np.nan)
    return out


def minutes_to_lesson_end(segment: np.ndarray) -> np.ndarray:
    """Per occupied minute, how many minutes of its lesson follow it (0: its last minute).
    A lesson is a segment of the occupied grid: consecutive occupied minutes of one day,
    cut by breaks (`analysis.lessons`); segment ids only grow."""
    last = np.searchsorted(segment, segment, side="right") - 1
    return last - np.arange(len(segment))


def windows_possibly_opened(temp: np.ndarray, co2: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Per occupied minute: did CO2 and temperature both fall sharply over the last five
    minutes, away from the end of the lesson? A fall in its last `LEAVING_MINUTES` is the
    class leaving (CO2 falls as the room empties, and its warmth goes with it)."""
    falling = (_slope(co2, segment) < -WINDOW_CO2_DROP_PPM_PER_MIN) & (
        _slope(temp, segment) < -WINDOW_TEMP_DROP_C_PER_MIN
    )
    return falling & (minutes_to_lesson_end(segment) >= LEAVING_MINUTES)


def _labelled(
    key: LabelKey, label: TemperatureLabel, minutes: int, profile: Profile
) -> LabelledMinutes:
    return LabelledMinutes(
        key,
        label.words,
        label.figure_c,
        minutes,
        label.source,
        CHECKED[label.basis.status],
        profile.attribution(label),
    )


def temperature(
    temp: np.ndarray,
    co2: np.ndarray,
    segment: np.ndarray,
    profile: Profile,
    amber_ppm: float,
    physical_effort: PhysicalEffort,
) -> TemperatureResult:
    """Occupied minutes only: `temp`, `co2` and `segment` are aligned on the occupied grid.
    `physical_effort` is the room's (site file): it picks its "cold"."""
    t = profile.temperature
    cold = t.cold_for(physical_effort == "severe")
    has = ~np.isnan(temp)
    values = temp[has]
    # A minute with no data (NaN) compares false: neither cold, nor high, nor a drop.
    below_comfort = temp < t.below_comfort.below_c
    high = co2 > amber_ppm
    opened = windows_possibly_opened(temp, co2, segment)
    # Minutes below comfort in a run that began while windows were possibly being opened in
    # the same lesson (a run that starts a lesson owes nothing to the one before it).
    cold_after = 0
    starts, ends = runs(below_comfort, segment)
    lag = SLOPE_MINUTES
    for s, e in zip(starts, ends, strict=True):
        window = slice(max(s - lag, 0), min(s + lag, len(opened)))
        if (opened[window] & (segment[window] == segment[s])).any():
            cold_after += int(e - s)
    cold_high = int((below_comfort & high).sum())
    n_cold = int((values < cold.below_c).sum())
    n_below = int((values < t.below_comfort.below_c).sum())
    n_above = int((values > t.above_comfort.above_c).sum())
    return TemperatureResult(
        minutes_with_data=int(has.sum()),
        min_c=round(float(values.min()), 2) if len(values) else None,
        mean_c=round(float(values.mean()), 2) if len(values) else None,
        max_c=round(float(values.max()), 2) if len(values) else None,
        minutes_below_minimum=n_cold,
        minutes_outside_comfort=n_below + n_above,
        minutes_cold_and_high_co2=cold_high,
        minutes_cold_after_windows_opened=cold_after,
        cold_and_high_co2=cold_high >= FLAG_MINUTES,
        cold_because_windows_opened=cold_after >= FLAG_MINUTES,
        minimum_c=cold.below_c,
        comfort_c=(t.below_comfort.below_c, t.above_comfort.above_c),
        source=cold.source,
        physical_effort=physical_effort,
        minutes_below_comfort=n_below,
        minutes_above_comfort=n_above,
        labels=(
            _labelled("cold", cold, n_cold, profile),
            _labelled("below_comfort", t.below_comfort, n_below, profile),
            _labelled("above_comfort", t.above_comfort, n_above, profile),
        ),
    )
