"""Per-sensor state in ingest (`SensorRegistry`, `health`), rooms assigned from the dashboard
(`Assignments`, SQLite), and the pipeline using both: an unknown sensor shows up unassigned,
is given a room, and its next message is stored there."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ventwatch.assignments import Assignments
from ventwatch.config import SiteConfig
from ventwatch.ingest.counters import Outcome
from ventwatch.ingest.decoders import Signal
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.ingest.sensors import Health, SensorRegistry, SensorSeen, health
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 15, 30, tzinfo=UTC)
HOLD = 10  # minutes a reading stands (the profile's stale time)
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "Europe/London"},
        "rooms": [{"name": "Room 4"}, {"name": "Room 7"}],
        "sensors": [{"family": "tasmota", "device": "room-4-co2", "room": "Room 4"}],
    }
)


def tasmota(co2: float, at: datetime = NOW) -> bytes:
    local = at.astimezone(SITE.tz).replace(tzinfo=None, microsecond=0)
    return json.dumps({"Time": local.isoformat(), "SCD40": {"CarbonDioxide": co2}}).encode()


def seen(registry: SensorRegistry, family: str, device: str) -> SensorSeen:
    return next(s for s in registry.snapshot() if (s.family, s.device) == (family, device))


# -- the registry ----------------------------------------------------------------------------
def test_registry_keeps_what_a_site_manager_asks_about() -> None:
    registry = SensorRegistry(started=NOW)
    t1, t2 = NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)
    lqi = Signal("Lab 3 CO2", 132, "lqi")
    registry.presence(
        "zigbee2mqtt", "Lab 3 CO2", "zigbee2mqtt/Lab 3 CO2/availability", NOW, "online"
    )
    registry.reading(
        "zigbee2mqtt", "Lab 3 CO2", "zigbee2mqtt/Lab 3 CO2", t1, t1, "Lab 3",
        {"co2_ppm": 900.0, "battery_pct": 87.0}, lqi,
    )  # fmt: skip
    registry.duplicate("zigbee2mqtt", "Lab 3 CO2", "zigbee2mqtt/Lab 3 CO2", t2, None)
    s = seen(registry, "zigbee2mqtt", "Lab 3 CO2")
    assert (s.first_seen, s.last_message, s.last_reading) == (NOW, t2, t1)
    assert (s.room, s.battery_pct, s.signal, s.presence) == ("Lab 3", 87.0, lqi, ("online", NOW))
    assert s.last_topic == "zigbee2mqtt/Lab 3 CO2"
    assert s.counts == {"readings": 1, "duplicate": 1, "presence": 1}
    # A battery value is kept until a newer one comes: not every message carries it.
    registry.reading("zigbee2mqtt", "Lab 3 CO2", "zigbee2mqtt/Lab 3 CO2", t2, t2, "Lab 3", {}, None)
    assert seen(registry, "zigbee2mqtt", "Lab 3 CO2").battery_pct == 87.0
    # A snapshot is a copy: changing it changes nothing inside.
    counts = s.counts
    assert isinstance(counts, dict)
    counts["readings"] = 99
    assert seen(registry, "zigbee2mqtt", "Lab 3 CO2").counts["readings"] == 2


def test_a_message_that_does_not_decode_is_pinned_on_the_sensor_of_its_topic() -> None:
    registry = SensorRegistry(started=NOW)
    registry.reading(
        "tasmota", "room-4-co2", "tele/room-4-co2/SENSOR", NOW, NOW, "Room 4", {}, None
    )
    later = NOW + timedelta(minutes=1)
    registry.quarantined_topic("tele/room-4-co2/SENSOR", later, Outcome.UNDECODABLE, "not JSON")
    registry.quarantined_topic("tele/nobody/SENSOR", later, Outcome.UNDECODABLE, "not JSON")
    (s,) = registry.snapshot()
    assert s.counts["undecodable"] == 1
    assert (s.last_fault, s.last_fault_at, s.last_message) == (
        "undecodable: not JSON",
        later,
        later,
    )
    # A topic two sensors share (a generic decoder with the id in the payload) names neither.
    registry.reading("school-air", "a", "school/air", NOW, NOW, "Room 4", {}, None)
    registry.reading("school-air", "b", "school/air", NOW, NOW, "Room 7", {}, None)
    registry.quarantined_topic("school/air", later, Outcome.UNDECODABLE, "not JSON")
    assert all(s.last_fault is None for s in registry.snapshot() if s.family == "school-air")


def test_a_store_refusal_is_a_fault_but_not_a_message() -> None:
    registry = SensorRegistry(started=NOW)
    registry.reading(
        "tasmota", "room-4-co2", "tele/room-4-co2/SENSOR", NOW, NOW, "Room 4", {}, None
    )
    registry.refused("tasmota", "room-4-co2", NOW + timedelta(hours=2), "field type conflict")
    (s,) = registry.snapshot()
    assert s.last_message == NOW  # a spooled reading replayed later is not news from it
    assert s.counts["rejected"] == 1
    assert s.last_fault == "rejected: field type conflict"


def test_a_flood_of_made_up_ids_evicts_sensors_without_a_room_first() -> None:
    registry = SensorRegistry(started=NOW, limit=3)
    registry.reading(
        "tasmota", "room-4-co2", "tele/room-4-co2/SENSOR", NOW, NOW, "Room 4", {}, None
    )
    for i in range(100):
        registry.reading("tasmota", f"fake-{i}", f"tele/fake-{i}/SENSOR", NOW, NOW, None, {}, None)
    devices = {s.device for s in registry.snapshot()}
    assert devices == {"room-4-co2", "fake-98", "fake-99"}


events = st.lists(
    st.tuples(
        st.sampled_from(["reading", "duplicate", "presence", "fault"]),
        st.integers(0, 7),  # device
        st.booleans(),  # has a room
    ),
    max_size=60,
)


@given(events=events, limit=st.integers(1, 10))
@settings(max_examples=200, deadline=None)
def test_registry_counts_and_bound_hold_for_any_events(
    events: list[tuple[str, int, bool]], limit: int
) -> None:
    """Never more sensors than the limit; every sensor it still holds has exactly the counts
    of the events it was sent (eviction forgets a sensor whole, never half of one)."""
    registry = SensorRegistry(started=NOW, limit=limit)
    expected: dict[str, dict[str, int]] = {}
    for i, (kind, n, roomed) in enumerate(events):
        device, topic, at = f"d{n}", f"tele/d{n}/SENSOR", NOW + timedelta(seconds=i)
        if device not in {s.device for s in registry.snapshot()}:
            expected[device] = {}
        counts = expected[device]
        if kind == "reading":
            registry.reading(
                "tasmota", device, topic, at, at, "Room 4" if roomed else None, {}, None
            )
            key = "readings" if roomed else None
        elif kind == "duplicate":
            registry.duplicate("tasmota", device, topic, at, None)
            key = "duplicate"
        elif kind == "presence":
            registry.presence("tasmota", device, topic, at, "online")
            key = "presence"
        else:
            registry.quarantined("tasmota", device, topic, at, Outcome.OUT_OF_RANGE, "too high")
            key = "out_of_range"
        if key:
            counts[key] = counts.get(key, 0) + 1
    snapshot = registry.snapshot()
    assert len(snapshot) <= limit
    for s in snapshot:
        assert dict(s.counts) == expected[s.device]


def test_registry_is_safe_to_read_while_ingest_writes() -> None:
    registry = SensorRegistry(started=NOW, limit=50)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            registry.reading("tasmota", f"d{i % 200}", f"t/{i % 200}", NOW, NOW, None, {}, None)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(2000):
            assert len(registry.snapshot()) <= 50
    except BaseException as exc:  # pragma: no cover - reported below
        errors.append(exc)
    finally:
        stop.set()
        writer.join()
    assert not errors


# -- health ----------------------------------------------------------------------------------
def sensor(**changes: object) -> SensorSeen:
    fields: dict[str, object] = {
        "family": "tasmota", "device": "room-4-co2", "first_seen": NOW - timedelta(hours=1),
        "last_message": NOW - timedelta(seconds=30), "last_topic": "tele/room-4-co2/SENSOR",
        "room": "Room 4", "last_reading": NOW - timedelta(seconds=30), "values": {},
        "battery_pct": None, "signal": None, "presence": None, "counts": {},
        "last_fault": None, "last_fault_at": None,
    }  # fmt: skip
    return SensorSeen(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seen_as", "room", "state", "reason"),
    [
        (None, "Room 4", Health.NEVER_SEEN, "no message since ingest started"),
        ({}, "Room 4", Health.OK, ""),
        ({"presence": ("offline", NOW - timedelta(seconds=10))}, "Room 4", Health.OFFLINE,
         "offline"),
        # Back since: a reading after the LWT said offline.
        ({"presence": ("offline", NOW - timedelta(minutes=5))}, "Room 4", Health.OK, ""),
        ({"last_reading": NOW - timedelta(minutes=11)}, "Room 4", Health.SILENT, "over 10 min"),
        ({"last_reading": None}, "Room 4", Health.SILENT, "none with a reading"),
        ({"last_fault": "out of range: co2_ppm=65000 outside 300..10000",
          "last_fault_at": NOW - timedelta(minutes=2), "last_reading": None},
         "Room 4", Health.ERRORS, "co2_ppm=65000"),
        ({"last_fault": "undecodable: not JSON", "last_fault_at": NOW - timedelta(hours=1)},
         "Room 4", Health.OK, ""),
        ({"battery_pct": 12.0}, "Room 4", Health.LOW_BATTERY, "battery at 12 %"),
        ({"battery_pct": 20.0}, "Room 4", Health.OK, ""),
        ({"room": None}, None, Health.UNASSIGNED, "quarantined"),
    ],
)  # fmt: skip
def test_health(
    seen_as: dict[str, object] | None, room: str | None, state: Health, reason: str
) -> None:
    got = health(None if seen_as is None else sensor(**seen_as), room, NOW, HOLD)
    assert got[0] == state
    assert reason in got[1]


def test_a_slow_sensor_is_told_which_interval_to_declare() -> None:
    """A sensor that reports every 15 minutes, undeclared, goes silent 10 minutes after each
    reading: its health says how often it really reports and the line to add."""
    registry = SensorRegistry(started=NOW - timedelta(hours=2))
    first = NOW - timedelta(minutes=56)
    topic = "v3/a@ttn/devices/am319/up"
    for n in range(4):
        at = first + timedelta(minutes=15 * n)
        registry.reading("ttn", "am319", topic, at, at, "Room 4", {"co2_ppm": 700.0}, None)
    [seen] = registry.snapshot()
    assert seen.typical_interval_s == 900
    state, reason = health(seen, "Room 4", NOW, HOLD)  # the last reading is 11 minutes old
    assert state == Health.SILENT
    assert "usually reports every 15 min" in reason
    assert "report_interval_minutes: 15" in reason
    # Declared, its readings stand for 23 minutes: not silent between reports.
    assert health(seen, "Room 4", NOW, 23) == (Health.OK, "")


def test_health_is_judged_from_when_the_reading_was_taken() -> None:
    """A dead sensor's retained message, delivered again now, is not a sign of life: its
    room's series has a gap, so the sensor is silent (one rule for both pages); a history
    record retransmitted later does not move its newest reading back."""
    registry = SensorRegistry(started=NOW - timedelta(hours=1))
    topic = "zigbee2mqtt/Lab 3 CO2"
    taken = NOW - timedelta(minutes=40)
    registry.reading("zigbee2mqtt", "Lab 3 CO2", topic, NOW, taken, "Lab 3", {}, None)
    [seen] = registry.snapshot()
    assert (seen.last_message, seen.last_reading) == (NOW, taken)
    assert health(seen, "Lab 3", NOW, HOLD)[0] == Health.SILENT
    older = NOW - timedelta(hours=2)
    registry.reading("zigbee2mqtt", "Lab 3 CO2", topic, NOW, older, "Lab 3", {}, None)
    assert registry.snapshot()[0].last_reading == taken


# -- assignments -----------------------------------------------------------------------------
def test_assignments_are_kept_per_site_with_who_and_when(tmp_path: Path) -> None:
    assignments = Assignments(tmp_path / "accounts.sqlite")
    before = assignments.version()
    assignments.assign("Hillside Academy", "tasmota", "cupboard", "Room 7", "alice", NOW)
    assignments.assign("Other School", "tasmota", "cupboard", "Hall", "bob", NOW)
    later = NOW + timedelta(hours=1)
    assignments.assign("Hillside Academy", "tasmota", "cupboard", "Room 4", "carol", later)
    (a,) = assignments.for_site("Hillside Academy")
    assert (a.family, a.device, a.room, a.assigned_by, a.assigned_at) == (
        "tasmota", "cupboard", "Room 4", "carol", later,
    )  # fmt: skip
    assert assignments.version() == before + 3
    # Another connection (another process, in real life) sees the same.
    assert Assignments(tmp_path / "accounts.sqlite").for_site("Hillside Academy") == [a]


# -- the pipeline ----------------------------------------------------------------------------
@pytest.fixture
def assignments(tmp_path: Path) -> Assignments:
    return Assignments(tmp_path / "accounts.sqlite")


@pytest.fixture
def pipeline(tmp_path: Path, assignments: Assignments) -> Pipeline:
    clock = [NOW]
    return Pipeline(
        SITE,
        DuckDBStore(tmp_path / "s.duckdb"),
        clock=lambda: clock[0],
        assignments=assignments,
        assignments_check_s=0,  # every batch asks: the test does not wait
    )


def test_unknown_sensor_is_unassigned_until_given_a_room_then_stored_there(
    pipeline: Pipeline, assignments: Assignments
) -> None:
    topic = "tele/cupboard/SENSOR"
    assert pipeline.process([Message(topic, tasmota(700), NOW)]) == 0
    s = seen(pipeline.router.sensors, "tasmota", "cupboard")
    assert s.room is None
    assert s.values == {"co2_ppm": 700.0}
    assert s.counts == {"unknown_sensor": 1}
    assert health(s, None, NOW, HOLD)[0] == Health.UNASSIGNED

    assignments.assign(SITE.site.name, "tasmota", "cupboard", "Room 7", "admin", NOW)
    later = NOW + timedelta(minutes=1)
    assert pipeline.process([Message(topic, tasmota(720, later), later)]) == 1
    latest = pipeline.writer.store.latest(NOW - timedelta(hours=1))
    assert latest["Room 7"].co2_ppm == 720  # the earlier message is not replayed
    assert latest["Room 7"].time == later.replace(microsecond=0)
    s = seen(pipeline.router.sensors, "tasmota", "cupboard")
    assert (s.room, s.counts) == ("Room 7", {"unknown_sensor": 1, "readings": 1})


def test_the_site_file_wins_and_unknown_rooms_are_ignored(
    pipeline: Pipeline, assignments: Assignments
) -> None:
    assignments.assign(SITE.site.name, "tasmota", "room-4-co2", "Room 7", "admin", NOW)
    assignments.assign(SITE.site.name, "tasmota", "cupboard", "Demolished Room", "admin", NOW)
    pipeline.process(
        [
            Message("tele/room-4-co2/SENSOR", tasmota(800), NOW),
            Message("tele/cupboard/SENSOR", tasmota(900), NOW),
        ]
    )
    latest = pipeline.writer.store.latest(NOW - timedelta(hours=1))
    assert set(latest) == {"Room 4"}
    assert pipeline.counters.counts()["unknown_sensor"] == 1


def test_assignments_are_read_at_most_every_few_seconds(
    tmp_path: Path, assignments: Assignments
) -> None:
    p = Pipeline(
        SITE, DuckDBStore(tmp_path / "s2.duckdb"), clock=lambda: NOW, assignments=assignments
    )
    p.process([Message("tele/cupboard/SENSOR", tasmota(700), NOW)])  # reads the table once
    assignments.assign(SITE.site.name, "tasmota", "cupboard", "Room 7", "admin", NOW)
    assert p.process([Message("tele/cupboard/SENSOR", tasmota(701), NOW)]) == 0  # not yet due


def test_an_assignment_from_another_process_is_picked_up(
    pipeline: Pipeline, assignments: Assignments
) -> None:
    pipeline.process([Message("tele/cupboard/SENSOR", tasmota(700), NOW)])
    script = (
        "import sys; from datetime import datetime, UTC; from pathlib import Path;"
        "from ventwatch.assignments import Assignments;"
        "Assignments(Path(sys.argv[1])).assign("
        "'Hillside Academy', 'tasmota', 'cupboard', 'Room 7', 'admin', datetime.now(UTC))"
    )
    subprocess.run([sys.executable, "-c", script, str(assignments.path)], check=True)
    later = NOW + timedelta(minutes=1)
    assert pipeline.process([Message("tele/cupboard/SENSOR", tasmota(710, later), later)]) == 1


def test_signal_battery_and_faults_reach_the_registry(pipeline: Pipeline) -> None:
    zigbee = {"co2": 956, "battery": 15, "linkquality": 132, "last_seen": NOW.isoformat()}
    pipeline.process(
        [
            Message("zigbee2mqtt/Lab 3 CO2", json.dumps(zigbee).encode(), NOW),
            Message("tele/room-4-co2/SENSOR", tasmota(800), NOW),
            Message("tele/room-4-co2/SENSOR", b"{not json", NOW),
            Message("tele/room-4-co2/LWT", b"Offline", NOW),
            Message("room-12-air/sensor/wifi_signal/state", b"-67", NOW),
        ]
    )
    lab = seen(pipeline.router.sensors, "zigbee2mqtt", "Lab 3 CO2")
    assert (lab.signal, lab.battery_pct) == (Signal("Lab 3 CO2", 132, "lqi"), 15)
    assert health(lab, "Lab 3", NOW, HOLD)[0] == Health.LOW_BATTERY
    room4 = seen(pipeline.router.sensors, "tasmota", "room-4-co2")
    assert room4.counts == {"readings": 1, "undecodable": 1, "presence": 1}
    assert "not JSON" in (room4.last_fault or "")
    assert health(room4, "Room 4", NOW, HOLD)[0] == Health.OFFLINE
    node = seen(pipeline.router.sensors, "esphome", "room-12-air")
    assert node.signal == Signal("room-12-air", -67, "dBm")
    # A signal of its own is device status, not a reading: counted as presence.
    assert pipeline.counters.counts()["presence"] == 2
