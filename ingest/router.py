"""Message → readings: which decoder, which sensor, which room; and why not, for each message
that yields no reading.

The first half of ingest's writer thread (`ingest.pipeline`), apart from storing: everything
here is in memory, so it can be tested message by message without a store. What it learns per
topic or per device lives in a `BoundedMap` that forgets made-up ones first (`evictions`
counts it), and a payload over the site's `broker.max_payload_kib` (or a topic over
`MAX_TOPIC_CHARS`) is quarantined as `too_large` unparsed.
"""

from __future__ import annotations

import json
import logging
import time as clock_time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from paho.mqtt.client import topic_matches_sub

from ventwatch.assignments import Assignments
from ventwatch.clock import real_time, utc_now
from ventwatch.config import SiteConfig
from ventwatch.ingest.bounded import BoundedMap
from ventwatch.ingest.counters import IngestCounters, Outcome
from ventwatch.ingest.decoders import (
    MAX_TOPIC_CHARS,
    DecodeContext,
    Decoded,
    DecodedReading,
    DecodeError,
    Decoder,
    OutOfRangeError,
    decoder_for,
    decoders_for_site,
)
from ventwatch.ingest.quarantine import Quarantine, QuarantineLog
from ventwatch.ingest.sensors import SensorKey, SensorRegistry
from ventwatch.readings import Reading
from ventwatch.state_database import StateError

log = logging.getLogger(__name__)

# A sensor's own clock may drift or be set to the wrong zone; further off than this from the
# arrival time and the reading would be filed in the wrong lesson, so it is quarantined.
MAX_FUTURE = timedelta(minutes=5)
MAX_PAST = timedelta(days=7)
# A republished cached state (same digest) within this window is the same measurement. Ten
# minutes covers the report interval of common Zigbee CO2 sensors; after it, an unchanged
# value is stored again so a steady room still shows as live.
REPEAT_WINDOW = timedelta(minutes=10)
# How often the room lookup asks whether a sensor was assigned a room from the dashboard (by
# any process): soon enough for the person who just did it, one tiny query per interval.
ASSIGNMENTS_CHECK_S = 5.0
# How many topics' learned facts and devices' states ingest keeps (`BoundedMap`): far more than
# a site has (a large school has a few hundred sensors; ESPHome and statestream learn a topic
# per quantity), far fewer than a flood of made-up topics needs to exhaust memory. A site file
# with more sensors than that (a university, or a trust's rooms in one file) gets bounds of
# this many times its own sensors instead: bounds the site itself fills would make every
# message walk the whole map before evicting one of the site's own sensors.
TOPICS_KEPT = 10_000
DEVICES_KEPT = 5_000
SENSORS_KEPT = 2_000
ROOM_FOR_SITE = 2  # devices (and sensors) kept per sensor of the site file, at least
TOPICS_PER_SENSOR = 8  # ESPHome and statestream: a topic per quantity, with room to spare
# A quarantined message whose topic no decoder claims is known in the log by the topic's shape
# (`+/+/+`), to this many levels.
SHAPE_LEVELS = 8


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    arrived: datetime
    # Tells the broker the message is safe with us (MQTT PUBACK); None when not from MQTT.
    ack: Callable[[], None] | None = None


# What discovery and attribute messages taught, by state topic (`Decoded.learned`).
Metadata = BoundedMap[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class Decoding:
    """A message decoded, not yet filed (`Router.decode`, then `Router.file`): what a router
    of several sites looks at to find whose message it is."""

    decoder: Decoder
    decoded: Decoded

    def sensors(self) -> set[SensorKey]:
        """The sensors the message speaks of: its readings' and the device it gives the
        presence of."""
        family = self.decoder.family
        found = {(family, item.sensor) for item in self.decoded.readings}
        if self.decoded.presence:
            found.add((family, self.decoded.presence[0]))
        return found


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message could not be decoded at all (`Router.decode`), to count and keep."""

    outcome: Outcome
    reason: str
    decoder: Decoder | None = None


class Router:
    """Turns raw messages into readings filed under their rooms, counting what happens to
    each message and quarantining what cannot be stored. Used from one thread."""

    def __init__(
        self,
        site: SiteConfig,
        counters: IngestCounters,
        quarantine: Quarantine,
        *,
        clock: Callable[[], datetime] = utc_now,
        sensors: SensorRegistry | None = None,
        assignments: Assignments | None = None,
        assignments_check_s: float = ASSIGNMENTS_CHECK_S,
        other_sites: frozenset[tuple[str, str]] = frozenset(),
        metadata: Metadata | None = None,
    ) -> None:
        """`metadata`: the learned facts of a topic space this site shares with others (sites
        on one broker connection decode alike and learn the same topics: `SitesRouter`);
        by default the site's own."""
        self.site = site
        # (family, device) of the sensors the other sites of this process name in their files.
        # Sites that share a broker hear each other's sensors: those are the other site's to
        # store, not this site's unknown sensors to quarantine and offer for assignment.
        self.other_sites = other_sites
        self.counters = counters
        self.quarantine = quarantine
        self.clock = clock
        own = len(site.sensors)
        devices_kept = max(DEVICES_KEPT, ROOM_FOR_SITE * own)
        self.sensors = sensors or SensorRegistry(
            started=clock(), limit=max(SENSORS_KEPT, ROOM_FOR_SITE * own)
        )
        # The site file's rooms win over assignments made from the dashboard.
        self._site_rooms = site.room_of()
        self._rooms = dict(self._site_rooms)
        self.assignments = assignments
        self._assignments_check_s = assignments_check_s
        self._assignments_due = 0.0
        self._assignments_version: int | None = None
        self.decoders = decoders_for_site(site)
        self._max_payload = site.broker.max_payload_kib * 1024
        # What discovery and attribute messages taught us, by state topic. The facts of a
        # topic the site's sensors publish on are kept through a flood of made-up ones.
        self._metadata: Metadata = (
            metadata
            if metadata is not None
            else BoundedMap(
                max(TOPICS_KEPT, TOPICS_PER_SENSOR * own), keep=lambda topic, _: self.knows(topic)
            )
        )
        self._ctx = DecodeContext(timezone=site.tz, metadata=self._metadata)
        # The last LWT / availability / status of each device, and each Zigbee2MQTT device's
        # last state (to tell a republished cached state); the site's sensors are kept.
        self.presence: BoundedMap[SensorKey, str] = BoundedMap(devices_kept, keep=self._ours)
        self._last_state: BoundedMap[SensorKey, tuple[object, datetime]] = BoundedMap(
            devices_kept, REPEAT_WINDOW.total_seconds(), keep=self._ours
        )
        self._log = QuarantineLog(log)
        # The log is read in a terminal: its windows run on real time, even in the demo.
        self._log_clock = real_time(clock)

    def _ours(self, sensor: SensorKey, _: object) -> bool:
        """Is this a sensor of the site (in its file, or assigned a room)?"""
        return sensor in self._rooms

    @property
    def rooms(self) -> Mapping[SensorKey, str]:
        """The site's sensors and their rooms: its file's, and those assigned a room."""
        return self._rooms

    @property
    def listed(self) -> Mapping[SensorKey, str]:
        """The sensors the site file lists, with their rooms."""
        return self._site_rooms

    def knows(self, topic: str) -> bool:
        """Does one of the site's sensors publish on this topic?"""
        return self.sensors.sensor_on(topic) in self._rooms

    def evictions(self) -> dict[str, int]:
        """What the bounded maps forgot so far, by map: counts that grow in a flood of made-up
        topics or devices (or on a site too big for the bounds)."""
        return {
            "metadata": self._metadata.evicted,
            "presence": self.presence.evicted,
            "repeat_state": self._last_state.evicted,
            **self.sensors.evictions(),
        }

    def route(self, messages: list[Message]) -> list[Reading]:
        """The readings of a batch of messages, in order (rooms assigned from the dashboard
        picked up first)."""
        self.refresh_rooms()
        self.flush_log()
        return [r for msg in messages for r in self.readings_of(msg)]

    def flush_log(self) -> None:
        """Sum up the log's held-back lines whose window is over (called when idle too)."""
        self._log.flush(self._log_clock())

    def readings_of(self, msg: Message) -> list[Reading]:
        """Decode one message and map its sensors to rooms; count and keep what fails."""
        found = self.decode(msg)
        if isinstance(found, Refusal):
            self.refuse(msg, found)
            return []
        return self.file(msg, found)

    def decode(self, msg: Message) -> Decoding | Refusal:
        """The message decoded by the site's decoders in its time zone, or why it cannot be;
        nothing counted or kept yet (`file`, `refuse`)."""
        if len(msg.payload) > self._max_payload or len(msg.topic) > MAX_TOPIC_CHARS:
            return Refusal(Outcome.TOO_LARGE, self._too_large(msg))
        decoder = decoder_for(msg.topic, self.decoders, self._metadata)
        if decoder is None:
            return Refusal(Outcome.UNCLAIMED_TOPIC, "no decoder claims this topic")
        try:
            return Decoding(decoder, decoder.decode(msg.topic, msg.payload, self._ctx))
        except OutOfRangeError as exc:
            return Refusal(Outcome.OUT_OF_RANGE, f"{decoder.family}: {exc}", decoder)
        except DecodeError as exc:
            return Refusal(Outcome.UNDECODABLE, f"{decoder.family}: {exc}", decoder)
        except Exception as exc:
            # A decoder bug must cost one message, never the ingest process; and one line of
            # log, saying where, rather than a traceback per message of a flood.
            where = traceback.extract_tb(exc.__traceback__)[-1]
            reason = (
                f"{decoder.family}: decoder failed: {exc!r} "
                f"at {Path(where.filename).name}:{where.lineno}"
            )
            return Refusal(Outcome.UNDECODABLE, reason, decoder)

    def refuse(self, msg: Message, refusal: Refusal) -> None:
        """Count and keep a message that could not be decoded."""
        self._reject(msg, refusal.outcome, refusal.reason, decoder=refusal.decoder)

    def file(self, msg: Message, decoding: Decoding) -> list[Reading]:
        """A decoded message's readings, each filed under its room; what it teaches and says
        of presence kept; every other outcome counted, and kept where it is not stored."""
        decoder, decoded = decoding.decoder, decoding.decoded
        if decoded.learned:
            topic, facts = decoded.learned
            known = self._metadata.get(topic)
            self._metadata.put(topic, {**known, **facts} if known else facts)
            self.counters.count(Outcome.METADATA)
        family = decoder.family
        if decoded.presence:
            device, state = decoded.presence
            self.presence.put((family, device), state)
            self.sensors.presence(family, device, msg.topic, msg.arrived, state)
            self.counters.count(Outcome.PRESENCE)
        if decoded.signal and not decoded.readings:
            self.sensors.signal(family, decoded.signal, msg.topic, msg.arrived)
            if not (decoded.presence or decoded.learned):
                # A message of its own (ESPHome's Wi-Fi signal): device status, as presence is.
                self.counters.count(Outcome.PRESENCE)
        out: list[Reading] = []
        for item in decoded.readings:
            sensor = (family, item.sensor)
            if item.state_digest is not None and self._repeats(family, item, msg):
                self.counters.count(Outcome.DUPLICATE)
                self.sensors.duplicate(family, item.sensor, msg.topic, msg.arrived, decoded.signal)
                continue
            if item.dropped:
                reason = f"{family}: left out {'; '.join(item.dropped)}"
                self._reject(msg, Outcome.OUT_OF_RANGE, reason, sensor, decoder)
            if item.missing:
                reason = f"{family}: no measurement in {'; '.join(item.missing)}"
                self._reject(msg, Outcome.NO_VALUE, reason, sensor, decoder)
            time = item.time.astimezone(UTC) if item.time else msg.arrived
            if not msg.arrived - MAX_PAST <= time <= msg.arrived + MAX_FUTURE:
                reason = f"time {time.isoformat()} is far from arrival"
                self._reject(msg, Outcome.TIME_OFF, reason, sensor, decoder)
                continue
            room = self._rooms.get(sensor)
            if room is None and sensor in self.other_sites:
                self.counters.count(Outcome.OTHER_SITE)
                continue
            self.sensors.reading(
                family, item.sensor, msg.topic, msg.arrived, time, room, item.values, decoded.signal
            )
            if room is None:
                self._reject(
                    msg,
                    Outcome.UNKNOWN_SENSOR,
                    f"{family} sensor {item.sensor!r} is not in the site file or assigned",
                    sensor,
                    decoder,
                )
                continue
            out.append(
                Reading(
                    time=time,
                    site=self.site.site.name,
                    room=room,
                    sensor=item.sensor,
                    family=family,
                    **item.values,
                )
            )
        return out

    def _repeats(self, family: str, item: DecodedReading, msg: Message) -> bool:
        key = (family, item.sensor)
        previous = self._last_state.get(key)
        if (
            previous
            and previous[0] == item.state_digest
            and msg.arrived - previous[1] < REPEAT_WINDOW
        ):
            return True
        self._last_state.put(key, (item.state_digest, msg.arrived))
        return False

    def _too_large(self, msg: Message) -> str:
        if len(msg.topic) > MAX_TOPIC_CHARS:
            return f"topic of {len(msg.topic)} characters (at most {MAX_TOPIC_CHARS} are read)"
        return (
            f"payload of {len(msg.payload)} bytes, over the site's limit of "
            f"{self._max_payload // 1024} KiB (broker.max_payload_kib)"
        )

    def _reject(
        self,
        msg: Message,
        outcome: Outcome,
        reason: str,
        sensor: SensorKey | None = None,
        decoder: Decoder | None = None,
    ) -> None:
        """Quarantine a message, and count it against its sensor: the one it decoded to, or
        else the one known to publish on its topic. `decoder`: the one that claimed it."""
        self._keep(msg, outcome, reason, _topic_pattern(msg.topic, decoder))
        if sensor is None:
            self.sensors.quarantined_topic(msg.topic, msg.arrived, outcome, reason)
        else:
            self.sensors.quarantined(*sensor, msg.topic, msg.arrived, outcome, reason)

    def _keep(self, msg: Message, outcome: Outcome, reason: str, pattern: str) -> None:
        self._log.warn(self._log_clock(), outcome, pattern, msg.topic, reason)
        self.counters.count(outcome)
        self.quarantine.keep(outcome, msg.arrived, msg.topic, msg.payload, reason)

    def refused(self, reading: Reading, reason: str) -> None:
        """The store refuses this reading itself (retrying cannot help): keep it for a person
        to read in the quarantine, with the store's reason."""
        topic = f"{reading.family}:{reading.sensor}"
        payload = json.dumps({"room": reading.room, **reading.values()}).encode()
        message = Message(topic, payload, reading.time)
        self._keep(message, Outcome.REJECTED, reason, f"{reading.family} readings")
        self.sensors.refused(reading.family, reading.sensor, self.clock(), reason)

    def refresh_rooms(self) -> bool:
        """Pick up rooms assigned from the dashboard (by any process) without a restart: at
        most every few seconds, one read of a version number, and of the table only when that
        changed. Assignments to rooms no longer in the site file are ignored. True when the
        rooms were read again."""
        if self.assignments is None or clock_time.monotonic() < self._assignments_due:
            return False
        self._assignments_due = clock_time.monotonic() + self._assignments_check_s
        try:
            version = self.assignments.version()
            if version == self._assignments_version:
                return False
            assigned = self.assignments.for_site(self.site.site.name)
        except StateError as exc:
            log.warning("cannot read sensor assignments, keeping the rooms known so far: %s", exc)
            return False
        self._assignments_version = version
        rooms = {room.name for room in self.site.rooms}
        self._rooms = {
            **{(a.family, a.device): a.room for a in assigned if a.room in rooms},
            **self._site_rooms,
        }
        return True


def _topic_pattern(topic: str, decoder: Decoder | None) -> str:
    """What a kind of quarantined message is known by in the log: the subscription of the
    decoder that claimed its topic (`tele/+/SENSOR`), else the topic's shape (`+/+`), so that
    made-up topics make few kinds. Computed for quarantined messages only."""
    if decoder is not None:
        found = next((f for f in decoder.subscriptions if topic_matches_sub(f, topic)), None)
        if found is not None:
            return found
    levels = topic.count("/") + 1
    return "/".join(["+"] * min(levels, SHAPE_LEVELS)) + ("/#" if levels > SHAPE_LEVELS else "")
