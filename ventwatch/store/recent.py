"""A store's minute means over a window that slides forward, re-read only where the store's
readings changed.

The alert monitor judges the same ninety-odd minutes of every room at every tick, and the
window moves by a tick's seconds each time: reading all of it from InfluxDB again was most of
a tick (about 50 ms a site, so a tick over a local authority's 400 sites took 53 s;
bench/trust.py). `RecentMinutes` keeps the window's minute means in blocks of `BLOCK`
minutes (aligned to the epoch) and, at each read, first asks the store how many values each
room has in each block (`Store.reading_counts`: a few hundred numbers, about 6 ms); a block
whose count is what it was when its means were read is kept, any other (the one filling now,
one a late reading reached: a spool emptied after an outage) is read again. The counts are
taken before the means they vouch for, so a reading that lands between the two makes the
block differ next time, never hides in it.

What it returns is what `store.minute_means` returns for the same arguments (one truth: the
monitor's series is everyone's series), as tests/test_recent_minutes.py checks against both
stores. A window whose start is not a whole minute is read whole: its first minute would be
part of a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd

BLOCK = timedelta(minutes=10)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MinuteSource(Protocol):
    def minute_means(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime
    ) -> pd.DataFrame: ...


class CountingSource(MinuteSource, Protocol):
    def reading_counts(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime, every: timedelta
    ) -> dict[tuple[str, datetime], int]: ...


@dataclass(frozen=True)
class _Block:
    counts: dict[str, int]  # values per room when it was read
    frame: pd.DataFrame  # its minute means, read just after those counts


def _whole_minute(moment: datetime) -> bool:
    return moment.second == 0 and moment.microsecond == 0


class RecentMinutes:
    """`minute_means` of `store`, for one caller whose window moves forward."""

    def __init__(self, store: CountingSource, *, block: timedelta = BLOCK) -> None:
        self.store = store
        self.block = block
        self._rooms: tuple[str, ...] | None = None
        self._blocks: dict[datetime, _Block] = {}

    def _block_of(self, moment: datetime) -> datetime:
        return _EPOCH + self.block * ((moment - _EPOCH) // self.block)

    def minute_means(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime
    ) -> pd.DataFrame:
        if not _whole_minute(start) or end <= start:
            return self.store.minute_means(rooms, start, end)
        wanted = None if rooms is None else tuple(rooms)
        if wanted != self._rooms:
            self._rooms, self._blocks = wanted, {}
        first = self._block_of(start)
        starts = []
        at = first
        while at < end:
            starts.append(at)
            at += self.block
        counted = self.store.reading_counts(rooms, first, end, self.block)
        now: dict[datetime, dict[str, int]] = {b: {} for b in starts}
        for (room, block), n in counted.items():
            now.setdefault(block, {})[room] = n
        self._blocks = {b: kept for b, kept in self._blocks.items() if b >= first}
        # Same counts, same readings: also for the block filling now, read up to an earlier
        # end, when nothing came since.
        stale = [
            b for b in starts if (kept := self._blocks.get(b)) is None or kept.counts != now[b]
        ]
        if self._blocks:  # a block the counts say is empty needs no read
            empty = next(iter(self._blocks.values())).frame.iloc[0:0]
            for b in [b for b in stale if not now[b]]:
                self._blocks[b] = _Block({}, empty)
                stale.remove(b)
        for run_start, run_end in _runs(stale, self.block, end):
            frame = self.store.minute_means(rooms, run_start, run_end)
            for b in (s for s in stale if run_start <= s < run_end):
                rows = frame[(frame["minute"] >= b) & (frame["minute"] < b + self.block)]
                self._blocks[b] = _Block(now[b], rows)
        parts = [self._blocks[b].frame for b in starts]
        parts[0] = parts[0][parts[0]["minute"] >= start]
        return _joined(parts, wanted)


def _runs(
    blocks: list[datetime], size: timedelta, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Consecutive blocks as one span each (one read), the last clipped at `end`."""
    runs: list[tuple[datetime, datetime]] = []
    for b in blocks:
        if runs and runs[-1][1] == b:
            runs[-1] = (runs[-1][0], min(b + size, end))
        else:
            runs.append((b, min(b + size, end)))
    return runs


def _joined(parts: list[pd.DataFrame], rooms: tuple[str, ...] | None) -> pd.DataFrame:
    """Blocks' frames as one: rooms as a Categorical whose categories are `rooms`, or (none
    named) the rooms with readings in sorted order, as the stores give them."""
    # Codes only, no string per row: each part's codes mapped to the joined categories.
    names = [part["room"].cat.categories.astype(str) for part in parts]
    codes = [part["room"].cat.codes.to_numpy() for part in parts]
    if rooms is not None:
        categories = list(rooms)
    else:
        used = (n[np.unique(c[c >= 0])] for n, c in zip(names, codes, strict=True))
        categories = sorted({str(name) for found in used for name in found})
    position = {name: i for i, name in enumerate(categories)}
    joined = np.concatenate([
        np.array([position.get(n, -1) for n in part_names] + [-1], dtype=np.int64)[part_codes]
        for part_names, part_codes in zip(names, codes, strict=True)
    ])  # fmt: skip
    # Column by column as arrays: pandas' own concat and drop cost more than the rest here.
    out: dict[str, Any] = {
        "room": pd.Categorical.from_codes(joined, categories=pd.Index(categories))
    }
    utc = np.concatenate([part["minute"].dt.tz_convert(None).to_numpy() for part in parts])
    out["minute"] = pd.to_datetime(utc, utc=True)
    for column in parts[0].columns.drop(["room", "minute"]):
        out[column] = np.concatenate([part[column].to_numpy() for part in parts])
    return pd.DataFrame(out)
