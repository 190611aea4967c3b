"""The simulator: its physics against worked figures, its timetable, and its payloads read back
by ingest's own decoders, the pipeline and the analysis, so the demo shows what a school's
real sensors would."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import MosquittoServer
from ventwatch.analysis.engine import SiteAnalysis, analyse_site
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import read_minutes
from ventwatch.config import Calendar, OccupiedHours, SiteConfig, load_site
from ventwatch.ingest.counters import Outcome
from ventwatch.ingest.decoders import FAMILIES, decoder_for
from ventwatch.ingest.decoders.types import DecodeContext, DecodeError
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.simulator import Simulator, cadences, payloads
from ventwatch.simulator.classrooms import CATCH_UP, Sent
from ventwatch.simulator.history import backfill
from ventwatch.simulator.physics import RoomAir, steady_state_ppm
from ventwatch.simulator.timetable import is_school_day, people_in
from ventwatch.store import Store
from ventwatch.store.duckdb import DuckDBStore

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 11, 16)
HOURS = OccupiedHours.model_validate(
    {
        "start": "08:45",
        "end": "15:15",
        "breaks": [{"start": "10:45", "end": "11:00"}, {"start": "12:15", "end": "13:00"}],
    }
)


def test_steady_state_of_a_class_of_thirty() -> None:
    # 30 people × 0.004 L/s = 0.12 L/s of CO2 into 300 L/s of outdoor air: 400 ppm above it.
    air = RoomAir(420.0, 20.0)
    air.advance(6 * 3600, people=30, airflow_m3_s=0.3, volume_m3=180)
    assert air.co2_ppm == pytest.approx(820.0, abs=0.01)
    assert steady_state_ppm(30, 0.3) == pytest.approx(820.0)


def test_empty_room_decays_as_the_guide_s_worked_example() -> None:
    # Worked example E of ../shared/guidance: 1600 → 700 ppm in an hour is 1.4385 ACH.
    air = RoomAir(1600.0, 20.0)
    volume = 180.0
    air.advance(3600, people=0, airflow_m3_s=1.4385 * volume / 3600, volume_m3=volume)
    assert air.co2_ppm == pytest.approx(700.0, abs=0.05)


@settings(max_examples=200, deadline=None)
@given(
    start=st.floats(400, 5000),
    people=st.integers(0, 60),
    airflow=st.floats(0.005, 2.0),
    volume=st.floats(50, 1000),
    seconds=st.floats(1, 7200),
)
def test_co2_follows_the_mass_balance(
    start: float, people: int, airflow: float, volume: float, seconds: float
) -> None:
    one = RoomAir(start, 20.0)
    one.advance(seconds, people, airflow, volume)
    # Never overshoots: it moves from where it was towards the steady state, no further.
    steady = steady_state_ppm(people, airflow)
    assert min(start, steady) - 1e-6 <= one.co2_ppm <= max(start, steady) + 1e-6
    # Exact for any step: ten short steps land where one long one does.
    many = RoomAir(start, 20.0)
    for _ in range(10):
        many.advance(seconds / 10, people, airflow, volume)
    assert many.co2_ppm == pytest.approx(one.co2_ppm, rel=1e-9)
    # And its slope at the start is the mass balance's dC/dt.
    tiny = RoomAir(start, 20.0)
    dt = 1e-3
    tiny.advance(dt, people, airflow, volume)
    slope = (people * 0.004e-3 * 1e6 - airflow * (start - 420.0)) / volume
    assert (tiny.co2_ppm - start) / dt == pytest.approx(slope, rel=1e-3, abs=1e-3)


def test_open_windows_cool_the_room_and_shutting_them_lets_it_recover() -> None:
    air = RoomAir(1200.0, 21.0)
    air.advance(1200, people=30, airflow_m3_s=0.3, volume_m3=180, window_m3_s=0.24)
    cooled = air.temperature_c
    assert cooled < 19.0
    air.advance(3600, people=30, airflow_m3_s=0.06, volume_m3=180)
    assert air.temperature_c > 20.5


def test_timetable() -> None:
    cal = Calendar()
    at = lambda h, m, day=MONDAY: datetime.combine(day, clock(h, m), LONDON)  # noqa: E731
    assert people_in("Room 1", 30, HOURS, cal, at(3, 0)) == 0  # night
    assert people_in("Room 1", 30, HOURS, cal, at(10, 50)) == 0  # morning break
    assert people_in("Room 1", 30, HOURS, cal, at(12, 30)) == 0  # lunch
    assert people_in("Room 1", 30, HOURS, cal, at(9, 47)) == 0  # changeover between lessons
    saturday = MONDAY + timedelta(days=5)
    assert people_in("Room 1", 30, HOURS, cal, at(10, 0, saturday)) == 0
    # Lessons: each is a free period (empty) or 80-100 % of capacity, constant for its hour.
    lessons = [people_in(f"Room {i}", 30, HOURS, cal, at(9, 15)) for i in range(40)]
    assert all(n == 0 or 24 <= n <= 30 for n in lessons)
    assert sum(n > 0 for n in lessons) >= 25
    assert people_in("Room 7", 30, HOURS, cal, at(9, 10)) == people_in(
        "Room 7", 30, HOURS, cal, at(9, 40)
    )
    holiday = Calendar.model_validate({"holidays": [MONDAY.isoformat()]})
    assert not is_school_day(MONDAY, HOURS, holiday)
    assert all(people_in(f"R{i}", 30, HOURS, holiday, at(9, 15)) == 0 for i in range(10))


@pytest.mark.parametrize("family", sorted(payloads.FAMILIES))
def test_each_family_s_payload_decodes_to_what_was_measured(family: str) -> None:
    build, hello = payloads.FAMILIES[family]
    device = "AA:BB:CC:DD:EE:FF" if family == "theengs" else "room-9-co2"
    when = datetime(2026, 11, 17, 10, 15, 7, tzinfo=UTC)
    measured = payloads.Measured(812.4, 21.34, 44.6, when, 3)
    ctx = DecodeContext(timezone=LONDON)
    values: dict[str, float] = {}
    for topic, payload, _ in build(device, measured, LONDON):
        decoder = decoder_for(topic)
        assert decoder is not None, topic
        assert decoder.family == family
        for reading in decoder.decode(topic, payload, ctx).readings:
            assert reading.sensor == device
            if reading.time is not None:
                assert reading.time == when
            values.update(reading.values)
    assert values["co2_ppm"] == 812.0
    assert values["temperature_c"] == pytest.approx(21.34, abs=0.05)
    assert values["humidity_pct"] == pytest.approx(44.6, abs=0.5)
    for topic, payload, retain in hello(device):
        decoder = decoder_for(topic)
        assert decoder is not None
        assert retain
        assert decoder.decode(topic, payload, ctx).presence == (device, "online")


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_garbage_is_rejected_by_ingest(kind: int) -> None:
    measured = payloads.Measured(900, 21.0, 45.0, datetime(2026, 11, 17, 10, 0, tzinfo=UTC), 1)
    for family, (build, _) in sorted(payloads.FAMILIES.items()):
        good = build("AA:BB:CC:DD:EE:FF" if family == "theengs" else "x", measured, LONDON)
        topic, payload, _ = payloads.garbage(kind, good)[0]
        decoder = decoder_for(topic)
        assert decoder is not None
        try:
            readings = decoder.decode(topic, payload, DecodeContext(timezone=LONDON)).readings
        except DecodeError:
            continue
        # A fault code for CO2: whatever else survives, CO2 does not.
        assert readings, family
        assert all("co2_ppm" not in r.values for r in readings), family
        assert kind == 2


def example_site() -> SiteConfig:
    return load_site(Path(__file__).resolve().parent.parent / "sensors.example.yaml", FAMILIES)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(MONDAY, clock(hour, minute), LONDON)


def simulate_day(site: SiteConfig) -> tuple[Simulator, list[Sent]]:
    """Monday 08:00-16:00 at real speed, stepped a minute at a time (as the demo's history is):
    wall clock = simulated clock."""
    sim = Simulator(site, speed=1.0, start=at(8))
    sent: list[Sent] = []
    wall = at(8)
    while wall < at(16):
        sent.extend(sim.step_payloads(wall))
        wall += timedelta(minutes=1)
    return sim, sent


@pytest.fixture(scope="module")
def example_day() -> tuple[SiteConfig, Simulator, list[Sent]]:
    site = example_site()
    return (site, *simulate_day(site))


# Messages in a simulated hour, as `simulator/cadences.py` gives each firmware's cadence.
PER_HOUR = {
    "tele/room-2-co2/SENSOR": 60,  # Tasmota, TelePeriod 60 s
    "tele/room-4-co2/SENSOR": 60,
    "tele/lab-2-co2/SENSOR": 60,
    "home/TheengsGateway/BTtoMQTT/A4C1385E2103": 12,  # Aranet4: every 5 minutes
    "home/TheengsGateway/BTtoMQTT/A4C1385E2B17": 12,
    "home/TheengsGateway/BTtoMQTT/A4C1386A0C44": 12,
    "v3/school-air@ttn/devices/am319-lab-1/up": 4,  # as the site file declares: 15 minutes
    "zigbee2mqtt/Music CO2": 30,  # every 2 minutes
    "airgradient/readings/84fce612a3b4": 60,  # every minute
    "airgradient/readings/84fce612c0de": 60,  # the garbage one sends on time too
}


def test_each_sensor_reports_at_its_firmware_s_cadence(
    example_day: tuple[SiteConfig, Simulator, list[Sent]],
) -> None:
    _, _, sent = example_day
    counts = Counter(s.topic for s in sent if at(9) <= s.at < at(10))
    # 3600 / 59.5 s: 60 or 61 messages in an hour, as the drift falls.
    assert counts.pop("tele/room-1-co2/SENSOR") in (60, 61)
    assert counts == PER_HOUR  # and nothing from the silent sensor
    assert [s.at for s in sent] == sorted(s.at for s in sent)


def single_sensor_site(
    family: str, room: dict[str, object], sensor: dict[str, object]
) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": "Europe/London"},
            "rooms": [{"name": "R", **room}],
            "sensors": [{"family": family, "device": "r-air", "room": "R", **sensor}],
        }
    )


@pytest.mark.parametrize(
    ("family", "room", "sensor", "per_hour"),
    [
        ("esphome", {}, {}, 60),  # update_interval's default, 60 s
        ("ttn", {}, {}, 6),  # Milesight's factory interval, 10 minutes
        ("ttn", {"report_interval_minutes": 20}, {}, 3),  # declared on the room
        ("tasmota", {}, {"report_interval_minutes": 2}, 30),  # a declaration wins over drift
    ],
)
def test_a_sensor_reports_at_its_family_s_default_unless_the_site_declares_it(
    family: str, room: dict[str, object], sensor: dict[str, object], per_hour: int
) -> None:
    _, sent = simulate_day(single_sensor_site(family, room, sensor))
    # ESPHome sends one topic per quantity: count the instants it reported at.
    assert len({s.at for s in sent if at(9) <= s.at < at(10)}) == per_hour
    assert cadences.FAMILY_PERIOD.keys() == payloads.FAMILIES.keys()


def test_the_drifting_clock_slides_across_minute_boundaries(
    example_day: tuple[SiteConfig, Simulator, list[Sent]],
) -> None:
    _, sim, sent = example_day
    assert [s.entry.device for s in sim.sensors if s.period == cadences.DRIFTING_PERIOD] == [
        "room-1-co2"
    ]
    topic = "tele/room-1-co2/SENSOR"
    decoder = decoder_for(topic)
    assert decoder is not None
    mine = [s for s in sent if s.topic == topic]
    times = [
        reading.time
        for s in mine
        for reading in decoder.decode(topic, s.payload, DecodeContext(timezone=LONDON)).readings
        if reading.time is not None
    ]
    # Tasmota's Time is its own clock, to the second: not the minute the simulator stepped at.
    assert times == [s.at.replace(microsecond=0) for s in mine]
    assert {b - a for a, b in pairwise(times)} == {
        timedelta(seconds=59),
        timedelta(seconds=60),
    }
    per_minute = Counter(t.replace(second=0) for t in times)
    assert max(per_minute.values()) == 2  # now and then two readings land in one minute
    assert len(per_minute) == (times[-1] - times[0]) // timedelta(minutes=1) + 1  # none empty


def test_a_simulated_day_through_ingest(
    example_day: tuple[SiteConfig, Simulator, list[Sent]],
) -> None:
    site, sim, sent = example_day
    pipeline = Pipeline(site, store=None)  # type: ignore[arg-type]  # readings_of never stores
    readings = []
    for s in sent:
        readings.extend(
            pipeline.router.readings_of(Message(s.topic, s.payload, s.at.astimezone(UTC)))
        )
    counts = pipeline.outcomes()["counts"]
    per_sensor = {s.entry.device: s.sent for s in sim.sensors}
    silent = next(s for s in sim.sensors if s.role == "silent")
    garbage = next(s for s in sim.sensors if s.role == "garbage")
    # The silent sensor spoke once, 40 minutes late; the garbage one failed every third time.
    assert per_sensor[silent.entry.device] == 1
    silent_times = [r.time for r in readings if r.sensor == silent.entry.device]
    assert silent_times == [at(7, 20).astimezone(UTC)]
    bad = per_sensor[garbage.entry.device] // 3
    assert counts[Outcome.UNDECODABLE.value] + counts[Outcome.OUT_OF_RANGE.value] == bad
    # Every other message decoded to a reading of a sensor of the site (a fault code's too,
    # without its CO2), in its room.
    assert counts[Outcome.UNKNOWN_SENSOR.value] == counts[Outcome.UNCLAIMED_TOPIC.value] == 0
    assert len(readings) == len(sent) - counts[Outcome.UNDECODABLE.value]
    assert all(r.co2_ppm is None or r.co2_ppm < 10_000 for r in readings)
    assert {r.room for r in readings} == {room.name for room in site.rooms}


@pytest.fixture(scope="module", params=["stepped", "history"])
def stored_day(
    request: pytest.FixtureRequest,
    example_day: tuple[SiteConfig, Simulator, list[Sent]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Store]:
    """The example site's Monday in a DuckDB file through the real pipeline: the messages of
    `example_day`, or the demo's history (`backfill`) over the same hours."""
    site, _, sent = example_day
    store = DuckDBStore(tmp_path_factory.mktemp("day") / "day.duckdb")
    if request.param == "stepped":
        messages = [Message(s.topic, s.payload, s.at.astimezone(UTC)) for s in sent]
        assert Pipeline(site, store).process(messages) > 0
    else:
        assert backfill(site, store, at(8), at(16)) > 0
    yield store
    store.close()


def analysed(store: Store, site: SiteConfig) -> SiteAnalysis:
    profile = load_profile(site.guidance.profile)
    start, end = local_day_bounds(MONDAY, MONDAY, site.tz)
    minutes = read_minutes(store, site, profile, None, start, end)
    return analyse_site(minutes, site, profile, MONDAY, MONDAY)


def test_the_cadences_cover_every_occupied_minute(stored_day: Store) -> None:
    """Held as the minute series holds them (the Aranet4s' 5 minutes, the LoRaWAN room's
    declared 15, the drifting clock), the readings cover every occupied minute of every room
    but the silent sensor's."""
    site = example_site()
    coverage = {room.room: room.co2.coverage_pct for room in analysed(stored_day, site).rooms}
    assert coverage.pop("Lab 3") == 0.0  # the silent sensor's room
    assert coverage == {room.name: 100.0 for room in site.rooms if room.name != "Lab 3"}


def test_a_simulated_day_shows_every_band(stored_day: Store) -> None:
    result = analysed(stored_day, example_site())
    statuses = {room.room: room.co2.status for room in result.rooms}
    means = {room.room: room.co2.co2_mean_ppm for room in result.rooms}
    assert "green" in statuses.values(), means
    assert any(m is not None and 800 <= m <= 1500 for m in means.values()), means
    assert statuses["Music"] == "red", means  # the demo's poorly ventilated room
    assert statuses["Lab 3"] == "grey"  # no data is never good


def test_the_history_stores_each_reading_when_its_sensor_sent_it(
    example_day: tuple[SiteConfig, Simulator, list[Sent]], tmp_path: Path
) -> None:
    """Aranet4s send no time of their own: the history's messages arrive at the instants the
    sensor sent them, as live ones do, not on the minute it steps by."""
    site, _, sent = example_day
    store = DuckDBStore(tmp_path / "history.duckdb")
    backfill(site, store, at(8), at(16))
    stored = store.range(["Room 3"], at(8), at(16))["time"]
    topic = "home/TheengsGateway/BTtoMQTT/A4C1385E2103"
    assert [t.to_pydatetime() for t in stored] == [s.at for s in sent if s.topic == topic]
    store.close()


def test_late_caller_gets_no_backlog() -> None:
    site = example_site()
    sim = Simulator(site, speed=10, start=datetime(2026, 11, 16, 10, tzinfo=UTC))
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    first = sim.step_payloads(now)
    assert len(first) == len(sim.sensors)  # everyone at once: the dashboard fills at once
    assert sim.step_payloads(now) == []
    # An hour of wall clock later (ten simulated hours), each sensor sends only what fell due
    # in the last two simulated minutes, not ten hours of readings.
    later = now + timedelta(hours=1)
    sent = sim.step_payloads(later)
    assert sent
    assert all(later - CATCH_UP / sim.speed <= s.at <= later for s in sent)
    assert max(Counter(s.topic for s in sent).values()) <= 3
    assert sim.sim_now == datetime(2026, 11, 16, 20, tzinfo=UTC)
    assert not math.isnan(sim.rooms[0].air.co2_ppm)


def test_publishes_to_a_real_broker(mosquitto: MosquittoServer) -> None:
    site = example_site()
    received: dict[str, tuple[bytes, bool]] = {}
    got_all = threading.Event()
    expected = {
        "tele/room-1-co2/LWT",
        "tele/room-1-co2/SENSOR",
        "zigbee2mqtt/Music CO2",
        "zigbee2mqtt/Lab 3 CO2",
        "airgradient/readings/84fce612a3b4",
        "home/TheengsGateway/BTtoMQTT/A4C1385E2103",
        "v3/school-air@ttn/devices/am319-lab-1/up",
    }

    def on_message(client, userdata, message: mqtt.MQTTMessage) -> None:  # type: ignore[no-untyped-def]
        received.setdefault(message.topic, (message.payload, bool(message.retain)))
        if expected <= received.keys():
            got_all.set()

    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    listener.on_message = on_message
    listener.connect("127.0.0.1", mosquitto.port)
    topics = ["tele/#", "zigbee2mqtt/#", "airgradient/#", "home/#", "v3/#"]
    listener.subscribe([(topic, 1) for topic in topics])
    listener.loop_start()
    stop = threading.Event()
    sim = Simulator(site, speed=60)
    thread = threading.Thread(target=sim.run, args=(mosquitto.url, stop))
    try:
        time.sleep(0.3)  # the subscription is in place
        thread.start()
        assert got_all.wait(10), sorted(received)
    finally:
        stop.set()
        thread.join(10)
        listener.disconnect()
        listener.loop_stop()
    assert not thread.is_alive()
    assert received["tele/room-1-co2/LWT"][0] == b"Online"
    for topic in received:
        assert decoder_for(topic) is not None, topic


def test_simulate_command_publishes_until_ctrl_c(mosquitto: MosquittoServer) -> None:
    """`ventwatch simulate --broker URL`: the simulator alone against any broker."""
    tasmota = {f"tele/{s.device}/SENSOR" for s in example_site().sensors if s.family == "tasmota"}
    seen: set[str] = set()
    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    listener.on_message = lambda c, u, m: seen.add(m.topic)
    listener.connect("127.0.0.1", mosquitto.port)
    listener.subscribe("tele/+/SENSOR", 1)
    listener.loop_start()
    time.sleep(0.3)
    process = subprocess.Popen(
        [sys.executable, "-m", "ventwatch", "simulate", "--broker", mosquitto.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while seen != tasmota and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
        listener.disconnect()
        listener.loop_stop()
    assert process.returncode == 0, output.decode()
    assert seen == tasmota
