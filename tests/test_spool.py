"""The on-disk spool and the pipeline's use of it: readings the store cannot take are kept,
acknowledged only once kept, and replayed in order when the store is back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import InfluxServer
from ventwatch.config import load_site
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.ingest.spool import Spool, SpoolFullError
from ventwatch.ingest.writer import RETRY_MIN_S
from ventwatch.readings import Reading
from ventwatch.store import open_store
from ventwatch.store.duckdb import DuckDBStore

T0 = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


def reading(i: int, room: str = "Room 1") -> Reading:
    return Reading(T0 + timedelta(seconds=i), "S", room, f"s-{room}", "tasmota", co2_ppm=400.0 + i)


def test_append_then_drain_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append([reading(i) for i in range(3)])
    spool.append([reading(i) for i in range(3, 5)])
    assert spool.pending == 5
    got: list[Reading] = []
    assert spool.drain(got.extend, chunk=2) == 5
    assert got == [reading(i) for i in range(5)]
    assert spool.pending == 0
    assert spool.size_bytes == 0
    assert list((tmp_path / "spool").iterdir()) == []


def test_a_failed_drain_keeps_everything_for_the_next_try(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([reading(i) for i in range(4)])

    def broken(batch: object) -> None:
        raise ConnectionError("store down")

    with pytest.raises(ConnectionError):
        spool.drain(broken)
    assert spool.pending == 4
    spool.append([reading(4)])  # arrives while the store is still down: behind the others
    got: list[Reading] = []
    spool.drain(got.extend)
    assert got == [reading(i) for i in range(5)]


def test_survives_a_crash_with_a_torn_last_line(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([reading(0), reading(1)])
    segment = next(tmp_path.iterdir())
    with segment.open("a") as f:
        f.write('{"time": "2026-11-17T10:00:02+00:00", "site": "S", "ro')  # killed mid-write
    reopened = Spool(tmp_path)  # a new process after the crash
    assert reopened.pending == 2
    got: list[Reading] = []
    reopened.drain(got.extend)
    assert got == [reading(0), reading(1)]


def test_full_spool_refuses_loudly(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=500)
    spool.append([reading(i) for i in range(5)])  # past the limit after this batch
    assert spool.full
    with pytest.raises(SpoolFullError, match="full"):
        spool.append([reading(9)])
    assert spool.pending == 5


@settings(max_examples=50, deadline=None)
@given(
    rooms=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5),
    co2=st.floats(300, 10_000),
)
def test_any_room_name_round_trips(
    tmp_path_factory: pytest.TempPathFactory, rooms: list[str], co2: float
) -> None:
    spool = Spool(tmp_path_factory.mktemp("spool"))
    batch = [
        Reading(T0, "S", room, f"s{i}", "zigbee2mqtt", co2_ppm=co2, humidity_pct=None)
        for i, room in enumerate(rooms)
    ]
    spool.append(batch)
    got: list[Reading] = []
    spool.drain(got.extend)
    assert got == batch


def tasmota(co2: int, second: int) -> bytes:
    return json.dumps(
        {"Time": f"2026-11-17T10:00:{second:02d}", "SCD40": {"CarbonDioxide": co2}}
    ).encode()


def test_pipeline_spools_while_the_store_is_down_and_replays_when_back(
    tmp_path: Path, example_site_path: Path
) -> None:
    site = load_site(example_site_path)
    db = tmp_path / "store.duckdb"
    store = DuckDBStore(db)
    store.close()  # the store is down: every write raises
    acked: list[int] = []
    pipeline = Pipeline(site, store, spool=Spool(tmp_path / "spool"), clock=lambda: T0)

    def message(i: int) -> Message:
        return Message("tele/room-1-co2/SENSOR", tasmota(500 + i, i), T0, lambda: acked.append(i))

    pipeline.process([message(0), message(1)])
    health = pipeline.writer.health()
    assert acked == [0, 1]  # kept on disk, so safe to acknowledge
    assert not health.ok
    assert health.error
    assert health.spool_pending == 2

    pipeline.writer.store = DuckDBStore(db)  # the store is back
    pipeline.process([message(2)])  # still behind the spooled ones, to keep the order
    assert pipeline.writer.health().spool_pending == 3
    time.sleep(RETRY_MIN_S + 0.1)
    assert pipeline.writer.replay_spool() == 3
    health = pipeline.writer.health()
    assert health.ok
    assert health.spool_pending == 0
    assert health.last_write is not None
    frame = pipeline.writer.store.range(None, T0, T0 + timedelta(minutes=1))
    assert frame["co2_ppm"].tolist() == [500.0, 501.0, 502.0]
    pipeline.process([message(3)])  # and now straight to the store
    assert pipeline.writer.health().spool_pending == 0
    assert len(pipeline.writer.store.range(None, T0, T0 + timedelta(minutes=1))) == 4
    assert acked == [0, 1, 2, 3]


def test_without_a_place_to_keep_them_messages_are_not_acknowledged(
    tmp_path: Path, example_site_path: Path
) -> None:
    site = load_site(example_site_path)
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.close()
    acked: list[int] = []
    pipeline = Pipeline(site, store, clock=lambda: T0)  # no spool
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the store raises
        pipeline.process(
            [Message("tele/room-1-co2/SENSOR", tasmota(700, 1), T0, lambda: acked.append(1))]
        )
    assert acked == []


def test_a_reading_the_store_refuses_is_quarantined_not_spooled(
    tmp_path: Path, example_site_path: Path, influxdb: InfluxServer
) -> None:
    """InfluxDB refuses a float where the shard already holds a string for that field: no
    retry can help, so that reading goes to the quarantine and the rest of its batch is
    stored; the spool stays empty (it would never drain)."""
    site = load_site(example_site_path)
    url = influxdb.url_for()
    database = url.rsplit("/", 1)[1]
    store = open_store(url, site=None)
    influxdb.query(f'CREATE DATABASE "{database}"')
    line = f'reading,site=S,room=Other,sensor=x,family=tasmota co2_ppm="high" {int(T0.timestamp())}'
    httpx.post(f"{influxdb.http}/write", params={"db": database, "precision": "s"}, content=line)
    pipeline = Pipeline(site, store, spool=Spool(tmp_path / "spool"), clock=lambda: T0)
    good = Reading(T0, "S", "Room 2", "s2", "tasmota", temperature_c=20.5)
    bad = Reading(T0, "S", "Room 1", "s1", "tasmota", co2_ppm=800.0)
    pipeline.writer.write([bad, good])
    counts = pipeline.outcomes()
    assert counts["counts"]["rejected"] == 1
    assert "co2_ppm" in counts["quarantine"][0]["reason"]
    assert pipeline.writer.health().spool_pending == 0
    frame = store.range(["Room 2"], T0, T0 + timedelta(seconds=1))
    assert frame["temperature_c"].tolist() == [20.5]
    store.close()
