"""Runs of consecutive minutes: the building block of "for 20 minutes", episodes and stuck
sensors.

Minutes are consecutive when they are one minute apart in time and on the same local day; a
run never spans a break, a night or a gap in the grid. All functions are vectorised numpy:
a week of a thousand rooms is millions of minutes.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd


def segments(grid: pd.DatetimeIndex, timezone: ZoneInfo) -> np.ndarray:
    """A segment id per minute; it changes where minutes stop being consecutive."""
    if len(grid) == 0:
        return np.zeros(0, dtype=np.int64)
    ns = grid.as_unit("ns").asi8
    days = grid.tz_convert(timezone).tz_localize(None).values.astype("datetime64[D]")
    breaks = np.empty(len(grid), dtype=bool)
    breaks[0] = True
    breaks[1:] = (np.diff(ns) != 60_000_000_000) | (days[1:] != days[:-1])
    return np.cumsum(breaks)


def runs(condition: np.ndarray, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) index arrays of maximal runs where `condition` holds within a segment;
    `ends` are exclusive."""
    if len(condition) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    cond = condition.astype(bool)
    new_segment = np.empty(len(cond), dtype=bool)
    new_segment[0] = True
    new_segment[1:] = segment[1:] != segment[:-1]
    prev = np.concatenate(([False], cond[:-1]))
    starts = np.flatnonzero(cond & (~prev | new_segment))
    nxt = np.concatenate((cond[1:], [False]))
    next_new = np.concatenate((new_segment[1:], [True]))
    ends = np.flatnonzero(cond & (~nxt | next_new)) + 1
    return starts, ends


def longest_run(condition: np.ndarray, segment: np.ndarray) -> int:
    starts, ends = runs(condition, segment)
    return int((ends - starts).max()) if len(starts) else 0


def max_window_mean(values: np.ndarray, segment: np.ndarray, window: int) -> float | None:
    """The largest mean of `window` consecutive minutes that all have data (NaN = no data)."""
    n = len(values)
    if n < window:
        return None
    has = ~np.isnan(values)
    filled = np.where(has, values, 0.0)
    csum = np.concatenate(([0.0], np.cumsum(filled)))
    cnan = np.concatenate(([0], np.cumsum(~has)))
    sums = csum[window:] - csum[:-window]
    gaps = cnan[window:] - cnan[:-window]
    same_segment = segment[window - 1 :] == segment[: n - window + 1]
    valid = (gaps == 0) & same_segment
    if not valid.any():
        return None
    return float(sums[valid].max() / window)
