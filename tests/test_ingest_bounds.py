"""Ingest in bounded memory whatever arrives on the broker, and a quiet log about it.

Everything ingest learns per topic or per device forgets made-up ones first (`BoundedMap`),
and counts it; a payload over the site's limit is quarantined unparsed (`too_large`); the
site's own sensors keep their units, presence and repeat state through a flood; and a
quarantined message logs one line, never a traceback, with floods of one kind summed up. The
last test floods a real Mosquitto with 50,000 made-up topics and watches this process's RSS.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import MosquittoServer
from ventwatch.accounts import Accounts
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.metrics import ingest_families, render
from ventwatch.ingest import router as router_module
from ventwatch.ingest.bounded import BoundedMap
from ventwatch.ingest.decoders import tasmota
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.ingest.sensors import SensorRegistry
from ventwatch.ingest.worker import Ingest
from ventwatch.settings import resolve
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 15, 30, tzinfo=UTC)
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "UTC"},
        "broker": {"client_id": "ventwatch-test-bounds"},
        "rooms": [{"name": "Room 1"}, {"name": "Lab"}, {"name": "Hall"}],
        "sensors": [
            {"family": "tasmota", "device": "room-1-co2", "room": "Room 1"},
            {"family": "zigbee2mqtt", "device": "Lab CO2", "room": "Lab"},
            {"family": "esphome", "device": "hall-air", "room": "Hall"},
        ],
    }
)
# The site's ESPHome node reports in °F, which only its discovery config says: if a flood made
# ingest forget it, 68 would be stored as 68 °C.
HALL_DISCOVERY = (
    "homeassistant/sensor/hall-air/temperature/config",
    json.dumps(
        {
            "stat_t": "hall-air/sensor/temperature/state",
            "dev_cla": "temperature",
            "unit_of_meas": "°F",
        }
    ).encode(),
)


def tasmota_json(co2: float, at: datetime, pad: int = 0) -> bytes:
    reading = {"Time": at.replace(tzinfo=None).isoformat(), "SCD40": {"CarbonDioxide": co2}}
    return json.dumps({**reading, "pad": "p" * pad} if pad else reading).encode()


def junk(i: int) -> tuple[str, bytes]:
    """The i-th made-up message: a new topic every time, each of a kind that makes an entry in
    one of ingest's maps, with ids and topics as long as ingest accepts; two kinds in five
    carry 10 KB of text that ingest used to keep (a unit, a state topic) and now refuses."""
    name = f"junk-{i:06d}-" + "j" * 180  # a 192-character id: under the 200 limit
    big = "u" * 10_000
    match i % 5:
        case 0:  # a discovery config teaching facts for a 1,000-character state topic
            state = f"{name}/sensor/co2/" + "s" * (1000 - len(name) - 12)
            config = {"stat_t": state, "unit_of_meas": "ppm", "dev_cla": "carbon_dioxide"}
            return f"homeassistant/sensor/{name}/co2/config", json.dumps(config).encode()
        case 1:  # a statestream attribute with a 10 KB unit
            return f"junkbase/sensor/{name}/unit_of_measurement", json.dumps(big).encode()
        case 2:  # a Zigbee device's state, without last_seen (repeat detection keeps it)
            return f"zigbee2mqtt/{name}", json.dumps({"co2": 700 + i % 100}).encode()
        case 3:  # a device saying it is online
            return f"tele/{name}/LWT", b"Online"
        case _:  # a discovery config naming a 10 KB state topic
            state = f"{name}/{big}"
            return f"homeassistant/sensor/{name}/t/config", json.dumps({"stat_t": state}).encode()


def good(k: int, start: datetime) -> tuple[str, bytes]:
    """The k-th reading of the site's own sensors, each at its own time."""
    at = start + timedelta(seconds=k)
    match k % 3:
        case 0:
            return "tele/room-1-co2/SENSOR", tasmota_json(600 + k % 500, at)
        case 1:
            payload = {"co2": 700 + k % 500, "last_seen": at.isoformat()}
            return "zigbee2mqtt/Lab CO2", json.dumps(payload).encode()
        case _:
            return "hall-air/sensor/temperature/state", b"68"


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- BoundedMap ------------------------------------------------------------------------------
def test_the_least_recently_used_entry_goes_first_and_is_counted() -> None:
    entries: BoundedMap[str, int] = BoundedMap(3, clock=Clock())
    for i, key in enumerate("abc"):
        entries.put(key, i)
    assert entries.get("a") == 0  # a use
    assert entries.peek("b") == 1  # not a use
    entries.put("d", 3)
    assert list(entries) == ["c", "a", "d"]
    assert entries.evicted == 1


def test_an_entry_unused_too_long_is_forgotten_at_the_next_insertion() -> None:
    clock = Clock()
    entries: BoundedMap[str, int] = BoundedMap(10, max_age_s=60, clock=clock)
    entries.put("old", 1)
    clock.now = 30
    entries.put("used", 2)
    clock.now = 61
    entries.put("new", 3)
    assert list(entries) == ["used", "new"]
    assert entries.evicted == 1


def test_the_site_s_entries_outlive_a_flood_and_never_age_out() -> None:
    clock = Clock()
    entries: BoundedMap[str, int] = BoundedMap(
        5, max_age_s=60, keep=lambda key, _: key.startswith("site"), clock=clock
    )
    entries.put("site-1", 1)
    entries.put("site-2", 2)
    for i in range(1000):
        clock.now = i
        entries.put(f"junk-{i}", i)
    assert {"site-1", "site-2"} <= set(entries)
    assert len(entries) == 5
    assert entries.evicted == 997
    # Kept ones fill it: the least recently used goes anyway, so the bound holds.
    for i in range(6):
        entries.put(f"site-{i + 3}", i)
    assert len(entries) == 5


# -- the payload limit -----------------------------------------------------------------------
def test_a_5_mb_payload_is_quarantined_as_too_large_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(payload: bytes) -> dict[str, Any]:
        raise AssertionError(f"parsed {len(payload)} bytes")

    monkeypatch.setattr(tasmota, "json_object", parse)
    pipeline = Pipeline(SITE, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    big = tasmota_json(800, NOW, pad=5_000_000)
    assert pipeline.process([Message("tele/room-1-co2/SENSOR", big, NOW)]) == 0
    snap = pipeline.outcomes()
    assert snap["counts"]["too_large"] == 1
    assert snap["quarantine"][0]["reason"] == (
        f"payload of {len(big)} bytes, over the site's limit of 64 KiB (broker.max_payload_kib)"
    )
    assert len(snap["quarantine"][0]["payload"]) == 4096


def test_the_limit_is_the_site_s_setting_and_a_long_topic_is_too_large(tmp_path: Path) -> None:
    site = SITE.model_copy(update={"broker": SITE.broker.model_copy(update={"max_payload_kib": 1})})
    pipeline = Pipeline(site, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    at = NOW - timedelta(seconds=30)
    fits, over = tasmota_json(801, at, pad=900), tasmota_json(802, NOW, pad=1100)
    assert len(fits) <= 1024 < len(over)
    long_topic = "tele/" + "x" * 1100 + "/SENSOR"
    stored = pipeline.process(
        [
            Message("tele/room-1-co2/SENSOR", fits, NOW),
            Message("tele/room-1-co2/SENSOR", over, NOW),
            Message(long_topic, tasmota_json(803, NOW), NOW),
        ]
    )
    assert stored == 1
    snap = pipeline.outcomes()
    assert snap["counts"]["too_large"] == 2
    reasons = [q["reason"] for q in snap["quarantine"]]
    assert reasons[0] == "topic of 1112 characters (at most 1024 are read)"
    assert "over the site's limit of 1 KiB" in reasons[1]
    (room_1,) = [s for s in pipeline.router.sensors.snapshot() if s.device == "room-1-co2"]
    assert room_1.counts["too_large"] == 1
    assert str(room_1.last_fault).startswith("too large: payload")


# -- a flood through the pipeline ------------------------------------------------------------
def test_a_flood_is_forgotten_but_not_the_site_s_own_sensors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(router_module, "TOPICS_KEPT", 40)
    monkeypatch.setattr(router_module, "DEVICES_KEPT", 20)
    pipeline = Pipeline(
        SITE,
        DuckDBStore(tmp_path / "s.duckdb"),
        clock=lambda: NOW,
        sensors=SensorRegistry(NOW, limit=20),
    )
    start = NOW - timedelta(minutes=30)
    site_first = [HALL_DISCOVERY, good(0, start), good(1, start), good(2, start)]
    site_first.append(("tele/room-1-co2/LWT", b"Online"))
    flood = [junk(i) for i in range(1000)]
    site_after = [good(2, start), ("zigbee2mqtt/Lab CO2", json.dumps({"co2": 900}).encode())]
    for arrived, batch in enumerate((site_first, flood, site_after)):
        at = NOW + timedelta(seconds=arrived)  # (ESPHome's readings are timed by arrival)
        pipeline.process([Message(t, p, at) for t, p in batch])

    evicted = pipeline.router.evictions()
    assert set(evicted) == {"metadata", "presence", "repeat_state", "sensors", "sensor_topics"}
    assert all(count > 0 for count in evicted.values()), evicted
    assert len(pipeline.router.presence) <= 20
    assert len(pipeline.router.sensors.snapshot()) <= 20
    # The site's: ESPHome's °F still known, the LWT still there, the sensors still listed.
    temperatures = pipeline.writer.store.range(None, start, NOW + timedelta(minutes=1))
    assert len(temperatures.dropna(subset=["temperature_c"])) == 2
    assert set(temperatures.dropna(subset=["temperature_c"])["temperature_c"]) == {20.0}
    assert pipeline.router.presence.peek(("tasmota", "room-1-co2")) == "online"
    listed = {(s.family, s.device) for s in pipeline.router.sensors.snapshot()}
    assert set(SITE.room_of()) <= listed


def test_a_zigbee_repeat_is_still_told_after_a_flood(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(router_module, "DEVICES_KEPT", 20)
    pipeline = Pipeline(SITE, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    state = ("zigbee2mqtt/Lab CO2", json.dumps({"co2": 900}).encode())
    zigbee_flood = [junk(i) for i in range(2, 500, 5)]  # only Zigbee states
    for batch in ([state], zigbee_flood, [state]):
        pipeline.process([Message(t, p, NOW) for t, p in batch])
    assert pipeline.router.evictions()["repeat_state"] > 0
    assert pipeline.counters.counts()["duplicate"] == 1


# -- the log ---------------------------------------------------------------------------------
class Wall:
    """A settable clock for the pipeline."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ventwatch.ingest.router"]


def test_a_flood_of_quarantined_messages_logs_a_line_per_kind_per_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wall = Wall()
    pipeline = Pipeline(SITE, DuckDBStore(tmp_path / "s.duckdb"), clock=wall)
    caplog.set_level(logging.WARNING)
    broken = [Message("tele/room-1-co2/SENSOR", b"{not json", NOW)] * 100
    unknown = [Message(f"tele/junk-{i}/SENSOR", tasmota_json(700, NOW), NOW) for i in range(100)]
    pipeline.process(broken + unknown)
    assert lines(caplog) == [
        "not stored (undecodable): tasmota: not JSON: Expecting property name enclosed in double"
        " quotes: line 1 column 2 (char 1) [topic tele/room-1-co2/SENSOR]",
        "not stored (unknown_sensor): tasmota sensor 'junk-0' is not in the site file or"
        " assigned [topic tele/junk-0/SENSOR]",
    ]
    caplog.clear()
    wall.now += timedelta(seconds=59)
    pipeline.process(broken[:1])
    assert lines(caplog) == []  # still within the minute
    wall.now += timedelta(seconds=2)
    pipeline.process([])  # any batch (or an idle moment) sums up the minutes that are over
    assert lines(caplog) == [
        "not stored (undecodable) on tele/+/SENSOR: and 100 more like it within 60 s",
        "not stored (unknown_sensor) on tele/+/SENSOR: and 99 more like it within 60 s",
    ]
    caplog.clear()
    pipeline.process(broken[:1])
    assert len(lines(caplog)) == 1  # a new minute, a new line
    assert pipeline.counters.counts()["undecodable"] == 102  # the counters have them all
    assert all(r.exc_info is None for r in caplog.records)


def test_a_line_of_log_is_one_line_whatever_the_topic_holds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = Pipeline(SITE, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    caplog.set_level(logging.WARNING)
    forged = "junk\nERROR forged line \x1b[31m\ud800/" + "x" * 2000
    pipeline.process([Message(forged, b"{}", NOW)])
    (line,) = lines(caplog)
    assert not set(line) & {"\n", "\x1b", "\ud800"}
    assert "junk\\nERROR forged line \\x1b[31m\\ud800/xxx" in line
    assert len(line) < 500


def test_a_decoder_bug_logs_one_line_saying_where_and_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(data: dict[str, Any], ctx: object) -> datetime:
        raise KeyError("boom")

    monkeypatch.setattr(tasmota, "_time", broken)
    pipeline = Pipeline(SITE, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    caplog.set_level(logging.DEBUG)
    pipeline.process([Message("tele/room-1-co2/SENSOR", tasmota_json(800, NOW), NOW)] * 3)
    (line,) = lines(caplog)
    assert line.startswith("not stored (undecodable): tasmota: decoder failed: KeyError('boom')")
    assert " at test_ingest_bounds.py:" in line
    assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)
    assert pipeline.counters.counts()["undecodable"] == 3


# -- where the counts are shown ---------------------------------------------------------------
def test_evictions_are_a_metric() -> None:
    text = render(ingest_families({"counts": {}, "evicted": {"metadata": 3, "sensors": 0}}))
    assert "# TYPE ventwatch_ingest_evicted_total counter" in text
    assert 'ventwatch_ingest_evicted_total{map="metadata"} 3' in text
    assert 'ventwatch_ingest_evicted_total{map="sensors"} 0' in text


# -- 50,000 made-up topics through a real Mosquitto -------------------------------------------
FLOOD = 50_000
WARM_UP = 2_000
GOOD_EVERY = 100  # one reading of the site's own in every hundred messages
# The bound on this process's RSS growth while ingest takes the flood, after a warm-up that
# loads every path: the maps full (10,000 topics' facts, 2,000 sensors and 8,000 of their
# topics, 5,000 devices' presence and repeat state, 500 quarantined messages, all with ids and
# topics as long as ingest accepts) and Python's allocator around them. Measured: 29 to 47 MB.
# With the maps unbounded and the 200-character and topic caps off, as before, about 245 MB.
RSS_GROWTH_BOUND_MB = 80


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture
def ingest(mosquitto: MosquittoServer, tmp_path: Path, accounts: Accounts) -> Iterator[Ingest]:
    """Ingest as `ventwatch ingest` wires it, into a DuckDB file."""
    settings = resolve(
        SITE,
        None,
        env={
            "VENTWATCH_BROKER_URL": mosquitto.url,
            "VENTWATCH_SPOOL_DIR": str(tmp_path / "spool"),
            "VENTWATCH_STATE_DB": str(accounts.path),
        },
    )
    store = DuckDBStore(tmp_path / "s.duckdb")
    worker = Ingest(SITE, settings, store, threading.Event())
    worker.start()
    deadline = time.monotonic() + 10
    while not worker.subscriber.connected:
        assert time.monotonic() < deadline, "ingest did not connect"
        time.sleep(0.05)
    yield worker
    worker.stop()
    store.close()


class Publisher:
    """QoS 1, a thousand at a time: paho keeps every unacknowledged message, so waiting for
    each thousand (and making messages only as they are sent) keeps the publisher's memory out
    of the measurement."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, messages: Iterable[tuple[str, bytes]], samples: list[float]) -> None:
        pending = iter(messages)
        while chunk := list(itertools.islice(pending, 1000)):
            infos = [self.client.publish(topic, payload, qos=1) for topic, payload in chunk]
            assert all(info.rc == mqtt.MQTT_ERR_SUCCESS for info in infos)
            for info in infos:
                info.wait_for_publish(timeout=30)
            samples.append(rss_mb())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def mixed(indexes: range, start: datetime, goods: Iterator[int]) -> Iterator[tuple[str, bytes]]:
    """Made-up messages with one of the site's readings (the next of `goods`) in every
    GOOD_EVERY."""
    for i in indexes:
        if i % GOOD_EVERY == 0:
            yield good(next(goods), start)
        yield junk(i)


def stored_readings(store: DuckDBStore, start: datetime) -> int:
    return len(store.range(None, start - timedelta(hours=1), datetime.now(UTC)))


def test_50000_made_up_topics_through_mosquitto_keep_ingest_s_memory_bounded(
    ingest: Ingest, mosquitto: MosquittoServer, accounts: Accounts
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    publisher = Publisher(mosquitto.port)
    samples: list[float] = []
    try:
        publisher.send([HALL_DISCOVERY, good(0, start), ("tele/room-1-co2/LWT", b"Online")], [])
        goods = itertools.count(1)
        warm_up = range(FLOOD, FLOOD + WARM_UP)
        publisher.send(mixed(warm_up, start, goods), [])
        expected = 1 + len(warm_up[::GOOD_EVERY])
        wait_for(lambda: stored_readings(ingest.pipeline.writer.store, start) == expected)
        gc.collect()
        baseline = rss_mb()

        began = time.monotonic()
        publisher.send(mixed(range(FLOOD), start, goods), samples)
        expected += len(range(FLOOD)[::GOOD_EVERY])
        wait_for(lambda: stored_readings(ingest.pipeline.writer.store, start) == expected, samples)
        took = time.monotonic() - began
    finally:
        publisher.close()
    gc.collect()
    samples.append(rss_mb())
    growth = max(samples) - baseline
    print(
        f"RSS {baseline:.0f} MB, peak growth {growth:.1f} MB over {FLOOD} messages in {took:.1f} s"
    )
    assert growth < RSS_GROWTH_BOUND_MB

    # Every reading of the site's own was stored, the °F node's as °C.
    frame = ingest.pipeline.writer.store.range(None, start - timedelta(hours=1), datetime.now(UTC))
    assert len(frame) == expected
    assert set(frame[frame["room"] == "Hall"]["temperature_c"]) == {20.0}
    assert ingest.pipeline.router.presence.peek(("tasmota", "room-1-co2")) == "online"

    # What was forgotten is counted, and shown where ingest's counters are.
    stats = ingest.stats()
    assert all(count > 0 for count in stats["evicted"].values()), stats["evicted"]
    app = create_app(
        SITE, ingest.pipeline.writer.store, accounts=accounts, ingest_stats=ingest.stats
    )
    token = {"Authorization": f"Bearer {accounts.new_token('admin', 'tests')}"}
    client = TestClient(app)
    shown = client.get("/api/ingest", headers=token).json()["evicted"]
    assert shown["metadata"] >= stats["evicted"]["metadata"] > 0
    metrics = client.get("/metrics", headers=token).text
    assert f'ventwatch_ingest_evicted_total{{map="metadata"}} {shown["metadata"]}' in metrics


def wait_for(condition: Any, samples: list[float] | None = None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "ingest did not take every message in time"
        if samples is not None:
            samples.append(rss_mb())
        time.sleep(0.05)


def test_a_site_bigger_than_the_default_bounds_keeps_every_sensor(tmp_path: Path) -> None:
    """A site file with more sensors than the bounds a school needs (a university, a trust's
    rooms in one file): the bounds grow with it, so its own sensors are never evicted (and
    no message walks a full map to make room)."""
    own = router_module.SENSORS_KEPT + 500
    big = SiteConfig.model_validate(
        {
            "site": {"name": "Big", "timezone": "UTC"},
            "broker": {"client_id": "ventwatch-test-big"},
            "rooms": [{"name": f"R{i}"} for i in range(own)],
            "sensors": [
                {"family": "tasmota", "device": f"d{i}", "room": f"R{i}"} for i in range(own)
            ],
        }
    )
    pipeline = Pipeline(big, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    for minutes in (2, 1):  # twice: a sensor forgotten in the first round would be relearned
        at = (NOW - timedelta(minutes=minutes)).isoformat()
        payload = json.dumps({"Time": at, "SCD40": {"CarbonDioxide": 700}}).encode()
        messages = [Message(f"tele/d{i}/SENSOR", payload, NOW) for i in range(own)]
        assert pipeline.process(messages) == own
    assert pipeline.router.evictions() == dict.fromkeys(pipeline.router.evictions(), 0)
    assert len(pipeline.router.sensors.snapshot()) == own
