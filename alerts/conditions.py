"""Does a rule's condition hold for a room now, has it cleared, or can we not tell?

Pure: the room's newest minute means, which of those minutes are occupied, the rule and the
time scale in; an `Observation` out. Re-judged from the stored minutes on every tick rather
than from a running counter, so readings that arrive late (a spool replayed after an outage,
a broker's backlog after a restart) count as soon as they are stored, and a restart needs no
state but the alerts themselves.

Gaps: a sensor that reports every five minutes leaves minutes without a mean. A value carries
forward over a gap up to the profile's stale time (never further), so a slow sensor can still
show a sustained run, and a silent one is the offline rule's business.

`scale` is simulated minutes per real minute: 1 in production; the demo's accelerated school
day passes its speed, and every duration is divided by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from ventwatch.analysis.profiles import AlertRule

State = Literal["holds", "clear", "unknown"]


@dataclass(frozen=True, slots=True)
class Observation:
    state: State
    value: float | None = None  # the newest value judged (ppm or °C), if any
    worst: float | None = None  # the run's peak (CO2) or lowest value (temperature)
    since: datetime | None = None  # when the run that holds began


def scaled(minutes: float, scale: float) -> int:
    """A rule's duration in real minutes: never less than one."""
    return max(1, math.ceil(minutes / scale))


def trailing_run(flags: np.ndarray) -> int:
    """How many of the last elements are True in a row."""
    if not len(flags) or not flags[-1]:
        return 0
    false = np.flatnonzero(~flags)
    return len(flags) if not len(false) else len(flags) - 1 - int(false[-1])


def carry_forward(values: np.ndarray, limit: int) -> np.ndarray:
    """Each NaN takes the last value before it, if that is at most `limit` minutes back."""
    positions = np.arange(len(values))
    last = (
        np.maximum.accumulate(np.where(np.isnan(values), -1, positions))
        if len(values)
        else positions
    )
    out = values[np.maximum(last, 0)]
    out[(last < 0) | (positions - last > limit)] = np.nan
    return out


def observe(
    rule: AlertRule,
    minutes: list[datetime],
    values: np.ndarray,
    occupied: np.ndarray,
    *,
    stale_minutes: float,
    scale: float = 1.0,
) -> Observation:
    """Judge a streaming rule (co2_above, temperature_below, offline) over a room's last
    minutes, oldest first and ending at the current minute. `values` holds the rule's quantity
    (NaN: no mean that minute); `occupied` says which minutes count."""
    if rule.kind == "offline":
        # Breaks and nights inside the silence do not count, nor do they end it: a sensor
        # that died at 15:00 is reported the next morning once lessons have run unheard.
        silent = trailing_run(np.isnan(values))
        if silent and int(occupied[-silent:].sum()) >= scaled(rule.for_minutes, scale):
            return Observation("holds", since=minutes[len(minutes) - silent])
        recent = values[-scaled(stale_minutes, scale) :]
        return Observation("clear") if (~np.isnan(recent)).any() else Observation("unknown")
    assert rule.threshold is not None  # checked by AlertRule
    filled = carry_forward(values, scaled(stale_minutes, scale) - 1)
    known = ~np.isnan(filled)
    if not known.any() or not known[-1]:
        return Observation("unknown")
    if rule.kind == "co2_above":
        past = known & (np.nan_to_num(filled, nan=-np.inf) > rule.threshold)
        back = known & (filled <= rule.threshold - rule.clear_margin)
        pick = np.nanmax
    elif rule.kind == "temperature_below":
        past = known & (np.nan_to_num(filled, nan=np.inf) < rule.threshold)
        back = known & (filled >= rule.threshold + rule.clear_margin)
        pick = np.nanmin
    else:
        raise ValueError(f"{rule.kind} is judged once a day, not from the newest minutes")
    newest = round(float(filled[-1]), 1)
    run = trailing_run(past & occupied)
    if run >= scaled(rule.for_minutes, scale):
        return Observation(
            "holds",
            value=newest,
            worst=round(float(pick(filled[len(filled) - run :])), 1),
            since=minutes[len(minutes) - run],
        )
    if trailing_run(back) >= scaled(rule.clear_minutes, scale):
        return Observation("clear", value=newest)
    return Observation("unknown", value=newest)
