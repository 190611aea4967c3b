"""The embedded store: batches in, newest values per room and time ranges out, no doubles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ventwatch.readings import Reading
from ventwatch.store import StoreURLError, open_store
from ventwatch.store.duckdb import DuckDBStore

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


def reading(minute: int, room: str = "Room 1", sensor: str = "s1", **values: float) -> Reading:
    return Reading(T0 + timedelta(minutes=minute), "Site", room, sensor, "tasmota", **values)


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    return DuckDBStore(tmp_path / "store.duckdb")


def test_write_is_idempotent(store: DuckDBStore) -> None:
    batch = [reading(0, co2_ppm=600), reading(1, co2_ppm=650)]
    assert store.write(batch) == 2
    assert store.write(batch) == 0
    assert store.write([*batch, reading(2, co2_ppm=700), reading(2, co2_ppm=701)]) == 1
    assert len(store.range(None, T0, T0 + timedelta(hours=1))) == 3


def test_latest_takes_each_quantity_from_its_newest_reading(store: DuckDBStore) -> None:
    store.write(
        [
            reading(0, co2_ppm=600, temperature_c=20.0),
            reading(1, sensor="s2", temperature_c=21.5),  # an ESPHome-style temperature-only
            reading(0, room="Room 2", sensor="s3", co2_ppm=1600),
        ]
    )
    latest = store.latest(since=T0 - timedelta(hours=1))
    assert set(latest) == {"Room 1", "Room 2"}
    room1 = latest["Room 1"]
    assert room1.time == T0 + timedelta(minutes=1)
    assert room1.co2_ppm == 600
    assert room1.temperature_c == 21.5
    assert latest["Room 2"].co2_ppm == 1600
    assert store.latest(since=T0 + timedelta(minutes=5)) == {}


def test_range_filters_rooms_and_half_open_interval(store: DuckDBStore) -> None:
    store.write([reading(m, room=r, sensor=r, co2_ppm=500 + m) for m in range(10) for r in "AB"])
    frame = store.range(["A"], T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))
    assert list(frame["room"].unique()) == ["A"]
    assert list(frame["co2_ppm"]) == [502, 503, 504]
    assert str(frame["time"].dt.tz) == "UTC"


def test_reopen_keeps_data(tmp_path: Path) -> None:
    store = open_store("duckdb:///./data/x.duckdb", base=tmp_path)
    store.write([reading(0, co2_ppm=600)])
    store.close()
    again = open_store(f"duckdb://{tmp_path / 'data' / 'x.duckdb'}")
    assert len(again.range(None, T0, T0 + timedelta(minutes=1))) == 1
    again.close()


@pytest.mark.parametrize("url", ["influx://x", "duckdb://", "sqlite:///x.db"])
def test_bad_store_urls(url: str) -> None:
    with pytest.raises(StoreURLError):
        open_store(url)
