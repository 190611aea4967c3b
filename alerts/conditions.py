"""Does a rule's condition hold for a room now, has it cleared, or can we not tell?

Pure: the room's newest minute means, which of those minutes are occupied and the rule in;
an `Observation` out. Re-judged from the stored minutes on every tick rather than from a
running counter, so readings that arrive late (a spool replayed after an outage, a broker's
backlog after a restart) count as soon as they are stored, and a restart needs no state but
the alerts themselves.

Minutes are the room's minute series (`analysis.series`), the one every verdict is computed
on: a reading stands for the minutes after it until the next one, for at most the room's
hold, so a sensor reporting every five minutes shows a sustained run, and a minute nothing
stands for is a gap (a silent sensor is the offline rule's business). The room pages, the
week view and `analyse` count the same minutes.
"""

from __future__ import annotations

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
    worst: float | None = None  # the run's peak (CO2, heat) or lowest value (cold)
    since: datetime | None = None  # when the run that holds began


def trailing_run(flags: np.ndarray) -> int:
    """How many of the last elements are True in a row."""
    if not len(flags) or not flags[-1]:
        return 0
    false = np.flatnonzero(~flags)
    return len(flags) if not len(false) else len(flags) - 1 - int(false[-1])


def observe(
    rule: AlertRule,
    minutes: list[datetime],
    values: np.ndarray,
    occupied: np.ndarray,
) -> Observation:
    """Judge a streaming rule (co2_above, temperature_below, temperature_above, offline) over
    a room's last minutes, oldest first and ending at the current minute. `values` is the
    rule's quantity in the room's minute series (NaN: a gap); `occupied` says which minutes
    count."""
    if rule.kind == "offline":
        # Breaks and nights inside the silence do not count, nor do they end it: a sensor
        # that died at 15:00 is reported the next morning once lessons have run unheard.
        silent = trailing_run(np.isnan(values))
        if silent and int(occupied[-silent:].sum()) >= max(1, rule.for_minutes):
            return Observation("holds", since=minutes[len(minutes) - silent])
        return Observation("unknown") if silent else Observation("clear")
    assert rule.threshold is not None  # checked by AlertRule
    known = ~np.isnan(values)
    if not known.any() or not known[-1]:
        return Observation("unknown")
    if rule.kind in ("co2_above", "temperature_above"):
        past = known & (np.nan_to_num(values, nan=-np.inf) > rule.threshold)
        back = known & (values <= rule.threshold - rule.clear_margin)
        pick = np.nanmax
    elif rule.kind == "temperature_below":
        past = known & (np.nan_to_num(values, nan=np.inf) < rule.threshold)
        back = known & (values >= rule.threshold + rule.clear_margin)
        pick = np.nanmin
    else:
        raise ValueError(f"{rule.kind} is judged once a day, not from the newest minutes")
    newest = round(float(values[-1]), 1)
    run = trailing_run(past & occupied)
    if run >= max(1, rule.for_minutes):
        return Observation(
            "holds",
            value=newest,
            worst=round(float(pick(values[len(values) - run :])), 1),
            since=minutes[len(minutes) - run],
        )
    if trailing_run(back) >= max(1, rule.clear_minutes):
        return Observation("clear", value=newest)
    return Observation("unknown", value=newest)
