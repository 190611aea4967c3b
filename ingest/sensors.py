"""Every sensor ingest has heard from, as a site manager needs to see it: when it last spoke,
where its readings went, its battery and radio signal, and what went wrong with its messages.

The ingest counters count by reason for the whole site; this keeps the same story per sensor,
so "12 messages out of range" becomes "Room 7's sensor sends out-of-range values". The router
updates it for every message, so each update is one short locked dict operation; judging a
sensor's health is left to the reader (`health`), which knows the time and the profile.

In memory and per process: it starts empty, so "never seen" means "not since ingest started".
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from ventwatch.ingest.bounded import BoundedMap
from ventwatch.ingest.counters import Outcome
from ventwatch.ingest.decoders import Signal
from ventwatch.readings import stands_at

# Per-sensor count of readings filed under a room and handed to the store. Not "stored": the
# store reports new rows per batch, not per sensor, so a redelivered copy it drops is counted
# here too (and as a duplicate in the site's ingest counters).
READINGS = "readings"
# Below this, a battery sensor has days to a few weeks left: time to change it before it goes
# silent in the middle of a lesson.
LOW_BATTERY_PCT = 20.0
# How many gaps between a sensor's readings are kept to tell its usual reporting interval.
INTERVALS_KEPT = 9
# Quarantine reasons that say something is wrong with the sensor itself. An unknown sensor is
# not faulty, only not yet given a room (its health says "unassigned").
FAULTS = frozenset(
    {
        Outcome.TOO_LARGE,
        Outcome.UNDECODABLE,
        Outcome.OUT_OF_RANGE,
        Outcome.NO_VALUE,
        Outcome.TIME_OFF,
        Outcome.REJECTED,
    }
)

SensorKey = tuple[str, str]  # (family, device), as the site file's `sensors:` list names them
Presence = Literal["online", "offline"]


@dataclass(slots=True)
class _Entry:
    first_seen: datetime
    last_message: datetime
    last_topic: str
    room: str | None = None
    last_reading: datetime | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    battery_pct: float | None = None
    signal: Signal | None = None
    presence: tuple[Presence, datetime] | None = None
    readings: int = 0  # READINGS, apart from `counts`: it is the one counted per message
    counts: dict[str, int] = field(default_factory=dict)
    last_fault: str | None = None
    last_fault_at: datetime | None = None
    # Seconds between its latest readings: how often it really reports.
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=INTERVALS_KEPT))


@dataclass(frozen=True, slots=True)
class SensorSeen:
    """One sensor as ingest last heard it (times are arrival times, UTC)."""

    family: str
    device: str
    first_seen: datetime
    last_message: datetime
    last_topic: str
    room: str | None  # where its last reading was filed; None: it had no room then
    last_reading: datetime | None  # when its newest reading was taken (as the store has it)
    values: Mapping[str, float]  # that reading's values (to tell an unassigned sensor's room)
    battery_pct: float | None
    signal: Signal | None
    presence: tuple[Presence, datetime] | None  # the last LWT / availability / status, when
    counts: Mapping[str, int]  # READINGS, "duplicate", "presence" and quarantine reasons
    last_fault: str | None  # the reason of the last message quarantined for a fault
    last_fault_at: datetime | None
    # The median time between its latest readings (None: fewer than two yet), so a site
    # manager can declare a slow sensor's interval in the site file.
    typical_interval_s: float | None = None


class SensorRegistry:
    """The sensors ingest has heard from, bounded (`BoundedMap`): a flood of made-up device ids
    evicts the least recently heard sensors without a room first, never the site's own while
    others remain, and a sensor without a room is forgotten after a week of silence."""

    def __init__(self, started: datetime, limit: int = 2000) -> None:
        self.started = started  # "never seen" means: not since then
        self._lock = threading.Lock()
        self._sensors: BoundedMap[SensorKey, _Entry] = BoundedMap(
            limit, keep=lambda _, entry: entry.room is not None
        )
        # Which sensor a topic belongs to, learned from messages that decoded: a message on
        # the same topic that fails to decode is then counted against its sensor. None: the
        # topic is shared (a generic decoder taking the sensor from the payload), so a
        # message that did not decode cannot be pinned on any one sensor. Four per sensor:
        # ESPHome and statestream publish a topic per quantity.
        self._topics: BoundedMap[str, SensorKey | None] = BoundedMap(
            4 * limit, keep=lambda _, key: key is not None and self._has_room(key)
        )

    # -- called by the pipeline, one call per event ----------------------------------------
    def reading(
        self,
        family: str,
        device: str,
        topic: str,
        arrived: datetime,
        taken: datetime,
        room: str | None,
        values: Mapping[str, float],
        signal: Signal | None,
    ) -> None:
        """A decoded reading taken at `taken` (its own time, as stored; else its arrival),
        filed under `room` (None: it has no room and is quarantined), with its message's
        signal. The one call most messages make: keep it lean.

        Health is judged from `taken`, as the room's minute series is: a retained message of
        a dead sensor, delivered again at a reconnect, is old news, not a sign of life."""
        key = (family, device)
        with self._lock:
            entry = self._sensors.get(key)
            if entry is not None and entry.last_topic == topic and topic in self._topics:
                entry.last_message = arrived  # nothing new for the topic map
            else:
                entry = self._touch(key, topic, arrived)
            entry.room = room
            if entry.last_reading is None or taken > entry.last_reading:
                # (A retransmitted older reading, as Milesight's history, leaves it be.)
                if entry.last_reading is not None:
                    entry.intervals.append((taken - entry.last_reading).total_seconds())
                entry.last_reading = taken
            entry.values = values
            if "battery_pct" in values:
                entry.battery_pct = values["battery_pct"]
            if signal is not None:
                entry.signal = signal
            if room is not None:
                entry.readings += 1

    def duplicate(
        self, family: str, device: str, topic: str, at: datetime, signal: Signal | None
    ) -> None:
        """A repeat of cached state: the measurement is old news, but the radio link is not."""
        with self._lock:
            entry = self._touch((family, device), topic, at)
            entry.counts[Outcome.DUPLICATE.value] = entry.counts.get(Outcome.DUPLICATE.value, 0) + 1
            if signal is not None:
                entry.signal = signal

    def presence(self, family: str, device: str, topic: str, at: datetime, state: Presence) -> None:
        with self._lock:
            entry = self._touch((family, device), topic, at)
            entry.presence = (state, at)
            entry.counts[Outcome.PRESENCE.value] = entry.counts.get(Outcome.PRESENCE.value, 0) + 1

    def signal(self, family: str, signal: Signal, topic: str, at: datetime) -> None:
        """A signal in a message without readings (a reading brings its own)."""
        with self._lock:
            self._touch((family, signal.device), topic, at).signal = signal

    def quarantined(
        self, family: str, device: str, topic: str, at: datetime, outcome: Outcome, reason: str
    ) -> None:
        """A message of this sensor was quarantined (decoded, so the sensor is known)."""
        with self._lock:
            self._fault(self._touch((family, device), topic, at), at, outcome, reason)

    def quarantined_topic(self, topic: str, at: datetime, outcome: Outcome, reason: str) -> None:
        """A message that did not decode: counted against the sensor that publishes on its
        topic, if one has decoded there before (otherwise only the site's counters have it)."""
        with self._lock:
            key = self._topics.peek(topic)
            if key is not None:
                self._fault(self._touch(key, topic, at), at, outcome, reason)

    def refused(self, family: str, device: str, at: datetime, reason: str) -> None:
        """The store refused one of its readings. Not a new message (it may be a spooled
        reading replayed hours later), so its last message stays as it was."""
        with self._lock:
            entry = self._sensors.peek((family, device))
            if entry is not None:
                self._fault(entry, at, Outcome.REJECTED, reason)

    def sensor_on(self, topic: str) -> SensorKey | None:
        """The one sensor known to publish on `topic` (None: none known, or several)."""
        with self._lock:
            return self._topics.peek(topic)

    def evictions(self) -> dict[str, int]:
        """Sensors and topics forgotten so far (see `BoundedMap`)."""
        return {"sensors": self._sensors.evicted, "sensor_topics": self._topics.evicted}

    # -- read by the dashboard ---------------------------------------------------------------
    def snapshot(self) -> list[SensorSeen]:
        """A consistent copy of every sensor, in no particular order."""
        with self._lock:
            return [
                SensorSeen(
                    family=family,
                    device=device,
                    first_seen=e.first_seen,
                    last_message=e.last_message,
                    last_topic=e.last_topic,
                    room=e.room,
                    last_reading=e.last_reading,
                    values=dict(e.values),
                    battery_pct=e.battery_pct,
                    signal=e.signal,
                    presence=e.presence,
                    counts={READINGS: e.readings, **e.counts} if e.readings else dict(e.counts),
                    last_fault=e.last_fault,
                    last_fault_at=e.last_fault_at,
                    typical_interval_s=statistics.median(e.intervals) if e.intervals else None,
                )
                for (family, device), e in self._sensors.items()
            ]

    # -- inside the lock ---------------------------------------------------------------------
    def _touch(self, key: SensorKey, topic: str, at: datetime) -> _Entry:
        entry = self._sensors.get(key)
        if entry is None:
            entry = _Entry(first_seen=at, last_message=at, last_topic=topic)
            self._sensors.put(key, entry)
        else:
            entry.last_message = at
            entry.last_topic = topic
        if topic not in self._topics:
            self._topics.put(topic, key)
        else:
            known = self._topics[topic]
            if known is not None and known != key:
                self._topics.put(topic, None)
        return entry

    def _has_room(self, key: SensorKey) -> bool:
        entry = self._sensors.peek(key)
        return entry is not None and entry.room is not None

    @staticmethod
    def _fault(entry: _Entry, at: datetime, outcome: Outcome, reason: str) -> None:
        entry.counts[outcome.value] = entry.counts.get(outcome.value, 0) + 1
        if outcome in FAULTS:
            entry.last_fault = f"{outcome.value.replace('_', ' ')}: {reason}"
            entry.last_fault_at = at


class Health(StrEnum):
    """A sensor's state in one word, worst first when several apply."""

    OFFLINE = "offline"  # the device said so (LWT, availability, status topic)
    ERRORS = "errors"  # a message quarantined for a fault within the sensor's hold
    SILENT = "silent"  # its last reading no longer stands: no reading for longer than that
    LOW_BATTERY = "low battery"
    UNASSIGNED = "unassigned"  # readings arrive, but there is no room to file them under
    NEVER_SEEN = "never seen"  # in the site file, but not heard since ingest started
    OK = "ok"


def health(
    seen: SensorSeen | None, room: str | None, now: datetime, hold_minutes: int
) -> tuple[Health, str]:
    """The sensor's health and, unless it is ok, why, in words for the sensors page.

    `room` is the room the sensor has now (site file or assignment), which may be newer than
    the room its last reading went to. `hold_minutes` is how long a reading of it stands (its
    room's hold): a sensor whose last reading no longer stands is silent, and never "ok", as
    the overview shows its room stale for the same reason.
    """
    if seen is None:
        return Health.NEVER_SEEN, "no message since ingest started"
    if (
        seen.presence is not None
        and seen.presence[0] == "offline"
        and (seen.last_reading is None or seen.presence[1] >= seen.last_reading)
    ):
        return Health.OFFLINE, "the device reported itself offline"
    # Before silence: a sensor whose messages are all quarantined is silent *because* of it.
    if seen.last_fault_at is not None and stands_at(seen.last_fault_at, now, hold_minutes):
        return Health.ERRORS, seen.last_fault or ""
    if seen.last_reading is None:
        return Health.SILENT, "messages arrive, but none with a reading"
    if not stands_at(seen.last_reading, now, hold_minutes):
        return Health.SILENT, f"no reading for over {hold_minutes} min" + _interval_hint(
            seen, hold_minutes
        )
    if seen.battery_pct is not None and seen.battery_pct < LOW_BATTERY_PCT:
        return Health.LOW_BATTERY, f"battery at {seen.battery_pct:.0f} %: change it soon"
    if room is None:
        return Health.UNASSIGNED, "not in the site file nor assigned: its readings are quarantined"
    return Health.OK, ""


def _interval_hint(seen: SensorSeen, hold_minutes: int) -> str:
    """For a sensor that usually reports less often than its readings stand: the interval to
    declare in the site file, so it is not called silent between reports (nothing is
    guessed silently: a person decides)."""
    if seen.typical_interval_s is None or seen.typical_interval_s <= hold_minutes * 60:
        return ""
    minutes = max(1, round(seen.typical_interval_s / 60))
    return (
        f"; it usually reports every {minutes} min: if that is its setting, give it "
        f"report_interval_minutes: {minutes} in the site file"
    )
