"""`RecentMinutes` gives the monitor what the store gives everyone: at every tick, its minute
means equal the store's own for the same window (one truth), late readings included, while
it reads again only the blocks whose readings changed."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import InfluxServer
from ventwatch.readings import Reading
from ventwatch.store import Store, open_store
from ventwatch.store.recent import RecentMinutes

SITE = "Hillside Academy"
T0 = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)


class Counting:
    """The store, counting the minutes each read of minute means asks for."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.asked: list[timedelta] = []

    def minute_means(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime
    ) -> pd.DataFrame:
        self.asked.append(end - start)
        return self.store.minute_means(rooms, start, end)

    def reading_counts(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime, every: timedelta
    ) -> dict[tuple[str, datetime], int]:
        return self.store.reading_counts(rooms, start, end, every)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a["room"].cat.categories) == list(b["room"].cat.categories)

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.assign(room=frame["room"].astype(str))
        return out.sort_values(["room", "minute"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(a), rows(b), check_dtype=False)


def reading(at: datetime, room: str, co2: float) -> Reading:
    return Reading(at, SITE, room, f"s-{room}", "tasmota", co2_ppm=co2, temperature_c=20.0)


ticks = st.lists(
    st.tuples(
        st.integers(5, 150),  # seconds to the next tick
        st.lists(  # readings arriving before it: seconds before the tick, room, CO2
            st.tuples(st.integers(0, 2400), st.sampled_from(["A", "B", "C"]),
                      st.floats(400, 3000)),
            max_size=6,
        ),
    ),
    min_size=1,
    max_size=25,
)  # fmt: skip


@given(ticks=ticks)
@settings(max_examples=30, deadline=None)
def test_every_tick_sees_what_the_store_sees(
    ticks: list[tuple[int, list[tuple[int, str, float]]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"duckdb:///{Path(tmp) / 's.duckdb'}", None, site=SITE)
        store.write([reading(T0 - timedelta(minutes=m), "A", 600 + m) for m in range(40)])
        counting = Counting(store)
        recent = RecentMinutes(counting)
        now = T0
        for step, arriving in ticks:
            now += timedelta(seconds=step)
            store.write([reading(now - timedelta(seconds=s), room, co2)
                         for s, room, co2 in arriving])  # fmt: skip
            start = (now - WINDOW).replace(second=0, microsecond=0)
            same(recent.minute_means(None, start, now), store.minute_means(None, start, now))


def test_a_late_reading_is_judged_at_once_and_only_its_block_is_read_again(
    tmp_path: Path,
) -> None:
    store = Counting(open_store(f"duckdb:///{tmp_path / 's.duckdb'}", None, site=SITE))
    store.store.write([reading(T0 - timedelta(minutes=m), "A", 600) for m in range(1, 41)])
    recent = RecentMinutes(store)
    start = T0 - WINDOW
    recent.minute_means(None, start, T0)
    # A spool emptied after an outage: a reading twenty minutes old.
    store.store.write([reading(T0 - timedelta(minutes=20), "B", 2500)])
    store.asked.clear()
    seen = recent.minute_means(None, start, T0 + timedelta(seconds=20))
    same(seen, store.store.minute_means(None, start, T0 + timedelta(seconds=20)))
    assert "B" in set(seen["room"].astype(str))
    assert store.asked == [timedelta(minutes=10)]  # its block, not the window
    store.asked.clear()
    recent.minute_means(None, start, T0 + timedelta(seconds=40))
    assert store.asked == []  # nothing new: nothing read but the counts


def test_the_same_on_influxdb(influxdb: InfluxServer) -> None:
    """InfluxDB's frames (its own Categorical, its own types) join as DuckDB's do."""
    store = open_store(influxdb.url_for(), None, site=SITE)
    store.write([reading(T0 - timedelta(minutes=m), room, 500 + m)
                 for m in range(40) for room in ("A", "B")])  # fmt: skip
    every, named = RecentMinutes(store), RecentMinutes(store)
    now = T0
    for step in range(12):
        now += timedelta(seconds=37)
        store.write([reading(now - timedelta(seconds=3), "C" if step % 2 else "A", 900 + step)])
        start = (now - WINDOW).replace(second=0, microsecond=0)
        same(every.minute_means(None, start, now), store.minute_means(None, start, now))
        rooms = ["A", "B", "C"]
        same(named.minute_means(rooms, start, now), store.minute_means(rooms, start, now))
