"""The simulated school: every room's air on a simulated clock, and every sensor's messages.

`Simulator.step_payloads(wall_now)` is the whole model in one call, with no I/O: it moves the
simulated clock on to match the wall clock, steps each room's air (people from the
timetable, windows opened by the teacher when the air gets stuffy) and returns the messages of
the sensors that fell due, each measured at the instant it fell due. `run` (in
`mqtt_publisher`) only publishes what it returns.

The simulated clock replays a school day at `speed` × real time from an hour into its first
lesson, with the air integrated from 06:00, so the first messages already show rooms in every
band. Each sensor reports on its own cadence in simulated time (`cadences`: an Aranet4 every 5
minutes, a LoRaWAN device as its site file declares, a Tasmota every minute, one of them on a
drifting clock), so at 10× a 5-minute Aranet4 sends every 30 real seconds. Payloads carry the
wall-clock instant of each message, as real sensors would, so the dashboard's "now" and the
stale checks work unchanged.

Each room's ventilation is drawn once from its name: a third of the rooms are well
ventilated, a third middling, a third poor, so every site shows the whole range. One sensor
has gone silent (its last message is 40 minutes old) and one sends garbage every third time.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import NamedTuple

from ventwatch.clock import utc_now
from ventwatch.config import Room, SensorEntry, SiteConfig
from ventwatch.simulator import cadences, payloads
from ventwatch.simulator.payloads import Measured, Message
from ventwatch.simulator.physics import (
    OUTDOOR_CO2_PPM,
    RoomAir,
    relative_humidity,
)
from ventwatch.simulator.timetable import latest_school_morning, people_in

log = logging.getLogger(__name__)

STEP = timedelta(seconds=30)  # simulated seconds per integration step
WARM_UP_FROM = time(6, 0)
INFILTRATION_ACH = 0.3  # air changes per hour through the fabric with everything shut
SILENT_FOR = timedelta(minutes=40)
GARBAGE_EVERY = 3
# A caller this late (a laptop waking from sleep) gets no backlog: each sensor sends what fell
# due within it, and its schedule goes on from there. Longer than any caller's tick (the
# history's is a simulated minute), so stepping never loses a message.
CATCH_UP = timedelta(minutes=2)

# Outdoor air per person at full capacity (L/s), by tier: good, middling, poor.
TIER_AIRFLOW = ((12.0, 16.0), (5.0, 8.0), (2.2, 3.2))
WINDOW_EXTRA_L_S_PER_PERSON = 8.0


@dataclass(slots=True)
class SimRoom:
    """One room: its fixed character and its changing air."""

    room: Room
    airflow_m3_s: float  # outdoor air in lessons, windows shut
    window_m3_s: float  # extra outdoor air with the windows open
    opens_at_ppm: float | None  # when the teacher opens the windows; None: never
    air: RoomAir = field(default_factory=lambda: RoomAir(OUTDOOR_CO2_PPM, 19.0))
    windows_open: bool = False

    @property
    def volume_m3(self) -> float:
        return self.room.volume_m3 or self.room.capacity * 6.0


def _characters(site: SiteConfig) -> list[SimRoom]:
    """Draw each room's ventilation from its name, spreading the rooms over the three tiers."""
    order = sorted(site.rooms, key=lambda r: random.Random(f"tier|{r.name}").random())
    rooms = {}
    for rank, room in enumerate(order):
        draw = random.Random(f"air|{room.name}")
        tier = rank % 3
        per_person = draw.uniform(*TIER_AIRFLOW[tier])
        airflow = per_person * room.capacity / 1000.0
        if room.ventilation == "mechanical":
            window, opens_at = 0.0, None
        else:
            window = WINDOW_EXTRA_L_S_PER_PERSON * room.capacity / 1000.0
            # Teachers of stuffy rooms open the windows late, and some not at all.
            opens_at = None if tier == 2 and draw.random() < 0.5 else draw.uniform(1100, 1900)
        rooms[room.name] = SimRoom(room, airflow, window, opens_at)
    return [rooms[r.name] for r in site.rooms]


@dataclass(slots=True)
class SimSensor:
    entry: SensorEntry
    room: SimRoom
    noise: random.Random
    period: timedelta  # simulated time between its messages (see `cadences`)
    next_due: datetime | None = None  # simulated
    sent: int = 0
    role: str = "normal"  # normal, silent or garbage


class Sent(NamedTuple):
    """A message and the wall-clock instant its sensor sent it (for the history: its arrival)."""

    at: datetime
    topic: str
    payload: bytes
    retain: bool


def _falling_due(sensor: SimSensor, until: datetime) -> list[datetime]:
    """The simulated instants `sensor` reports at up to `until`, none more than `CATCH_UP`
    before it; its schedule moves past them, keeping its phase."""
    assert sensor.next_due is not None
    if sensor.next_due < until - CATCH_UP:  # the caller was late: no backlog of old values
        behind = (sensor.next_due - (until - CATCH_UP)) // sensor.period  # negative
        sensor.next_due -= behind * sensor.period
    instants = []
    while sensor.next_due <= until:
        instants.append(sensor.next_due)
        sensor.next_due += sensor.period
    return instants


def replay_start(site: SiteConfig, now: datetime) -> datetime:
    """Where a replayed school day starts: an hour into the first lesson of the latest
    school day up to `now` (a demo on a Sunday replays Friday), so rooms are in every band
    from the first messages."""
    hours = site.occupied_hours
    day = latest_school_morning(now.astimezone(site.tz), hours, site.calendar)
    return datetime.combine(day, hours.start, site.tz) + timedelta(hours=1)


class Simulator:
    def __init__(
        self,
        site: SiteConfig,
        *,
        speed: float = 10.0,
        start: datetime | None = None,
    ) -> None:
        """`start`: the simulated instant of the first message (aware). By default an hour
        into the first lesson of the latest school day."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.site = site
        self.tz = site.tz
        self.speed = speed
        self.rooms = _characters(site)
        by_name = {r.room.name: r for r in self.rooms}
        self.sensors: list[SimSensor] = []
        undeclared: list[SimSensor] = []
        for entry in site.sensors:
            if entry.family not in payloads.FAMILIES:
                log.warning(
                    "simulator: %s sensor %r left out: no simulated %s firmware",
                    entry.family,
                    entry.device,
                    entry.family,
                )
                continue
            room = by_name[entry.room]
            noise = random.Random(f"noise|{entry.family}|{entry.device}")
            declared = cadences.declared(entry, room.room)
            period = declared or cadences.FAMILY_PERIOD[entry.family]
            self.sensors.append(SimSensor(entry, room, noise, period))
            if declared is None:
                undeclared.append(self.sensors[-1])
        if len(self.sensors) >= 3:
            silent = next((s for s in self.sensors if s.entry.family == "zigbee2mqtt"), None)
            silent = silent or self.sensors[len(self.sensors) // 2]
            silent.role = "silent"
            next(s for s in reversed(self.sensors) if s.role == "normal").role = "garbage"
        drifting = (s for s in undeclared if s.entry.family == "tasmota" and s.role == "normal")
        if (sensor := next(drifting, None)) is not None:
            sensor.period = cadences.DRIFTING_PERIOD
        if start is None:
            start = replay_start(site, datetime.now(self.tz))
        self.sim_start = start
        self.sim_now = datetime.combine(start.astimezone(self.tz).date(), WARM_UP_FROM, self.tz)
        self.sim_now = min(self.sim_now, start)
        self.wall_start: datetime | None = None

    # -- the model ------------------------------------------------------------------------
    def sim_time(self, wall: datetime) -> datetime:
        assert self.wall_start is not None
        return self.sim_start + (wall - self.wall_start) * self.speed

    def wall_time(self, sim: datetime) -> datetime:
        assert self.wall_start is not None
        return self.wall_start + (sim - self.sim_start) / self.speed

    def _people(self, sim: SimRoom, at: datetime) -> int:
        hours = sim.room.occupied_hours or self.site.occupied_hours
        local = at.astimezone(self.tz)
        return people_in(sim.room.name, sim.room.capacity, hours, self.site.calendar, local)

    def advance_to(self, until: datetime) -> None:
        """Integrate every room's air from the simulated now to `until`."""
        while self.sim_now < until:
            step = min(STEP, until - self.sim_now)
            for sim in self.rooms:
                people = self._people(sim, self.sim_now)
                self._teacher(sim, people)
                if people or self._school_hours(sim, self.sim_now):
                    airflow = sim.airflow_m3_s
                else:
                    airflow = INFILTRATION_ACH * sim.volume_m3 / 3600.0
                window = sim.window_m3_s if sim.windows_open else 0.0
                sim.air.advance(
                    step.total_seconds(), people, airflow + window, sim.volume_m3, window
                )
            self.sim_now += step

    def _school_hours(self, sim: SimRoom, at: datetime) -> bool:
        """Mechanical ventilation and trickle vents run through the school day, breaks too."""
        hours = sim.room.occupied_hours or self.site.occupied_hours
        local = at.astimezone(self.tz).time()
        return hours.start <= local < hours.end

    @staticmethod
    def _teacher(sim: SimRoom, people: int) -> None:
        """Windows open when the room feels stuffy; shut when it is fresh, cold or empty."""
        air = sim.air
        if sim.opens_at_ppm is not None and people and air.co2_ppm > sim.opens_at_ppm:
            sim.windows_open = True
        elif sim.windows_open and (air.co2_ppm < 700 or air.temperature_c < 17 or not people):
            sim.windows_open = False

    # -- the sensors ----------------------------------------------------------------------
    def _measure(self, sensor: SimSensor, wall: datetime) -> Measured:
        air = sensor.room.air
        co2 = max(OUTDOOR_CO2_PPM - 30, air.co2_ppm + sensor.noise.gauss(0, 8))
        temperature = air.temperature_c + sensor.noise.gauss(0, 0.08)
        humidity = relative_humidity(air.co2_ppm, air.temperature_c) + sensor.noise.gauss(0, 0.4)
        return Measured(co2, temperature, humidity, wall, sensor.sent)

    def hello_payloads(self) -> list[Message]:
        """The retained presence messages each device sends when it comes online."""
        out: list[Message] = []
        for sensor in self.sensors:
            _, hello = payloads.FAMILIES[sensor.entry.family]
            out.extend(hello(sensor.entry.device))
        return out

    def step_payloads(self, wall_now: datetime) -> list[Sent]:
        """Advance the model to the wall clock and return the messages that fell due since
        the last call, in the order they were sent, each measured when it fell due."""
        due: list[tuple[datetime, int]] = []
        if self.wall_start is None:
            self.wall_start = wall_now
            for index, sensor in enumerate(self.sensors):
                # Everyone reports at once on the first call (the dashboard fills at once),
                # then on its own cadence, the phases spread as independent devices' are.
                due.append((self.sim_start, index))
                sensor.next_due = self.sim_start + sensor.period * (1 - index / len(self.sensors))
        target = self.sim_time(wall_now)
        for index, sensor in enumerate(self.sensors):
            due.extend((at, index) for at in _falling_due(sensor, target))
        out: list[Sent] = []
        for at, index in sorted(due):
            self.advance_to(at)
            wall = self.wall_time(at)
            out.extend(Sent(wall, *message) for message in self._message(self.sensors[index], wall))
        self.advance_to(target)
        return out

    def _message(self, sensor: SimSensor, wall: datetime) -> list[Message]:
        build, _ = payloads.FAMILIES[sensor.entry.family]
        if sensor.role == "silent":
            if sensor.sent:
                return []
            sensor.sent += 1
            # Its battery died 40 minutes ago; the broker still holds its last state.
            return build(sensor.entry.device, self._measure(sensor, wall - SILENT_FOR), self.tz)
        good = build(sensor.entry.device, self._measure(sensor, wall), self.tz)
        sensor.sent += 1
        if sensor.role == "garbage" and sensor.sent % GARBAGE_EVERY == 0:
            return payloads.garbage(sensor.sent // GARBAGE_EVERY, good)
        return good

    def run(
        self, broker_url: str, stop: threading.Event, clock: Callable[[], datetime] = utc_now
    ) -> None:
        """Publish to `broker_url` until `stop` is set, messages stamped by `clock` (see
        `mqtt_publisher`)."""
        from ventwatch.simulator.mqtt_publisher import publish_forever

        publish_forever(self, broker_url, stop, clock)
