"""message → decoder → `Reading` → batch → store, with an outcome for every message.

The MQTT thread only queues raw messages; one writer thread decodes them and writes batches,
so a slow store never stalls the network loop and a bad payload never reaches the store.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ventwatch.config import SiteConfig
from ventwatch.ingest.decoders import (
    DecodeContext,
    DecodedReading,
    DecodeError,
    OutOfRangeError,
    decoder_for,
    decoders_for_site,
)
from ventwatch.ingest.quarantine import Outcome, Quarantine, Unassigned
from ventwatch.readings import Reading
from ventwatch.store import Store

log = logging.getLogger(__name__)

# A sensor's own clock may drift or be set to the wrong zone; further off than this from the
# arrival time and the reading would be filed in the wrong lesson, so it is quarantined.
MAX_FUTURE = timedelta(minutes=5)
MAX_PAST = timedelta(days=7)
# A republished cached state (same digest) within this window is the same measurement. Ten
# minutes covers the report interval of common Zigbee CO2 sensors; after it, an unchanged
# value is stored again so a steady room still shows as live.
REPEAT_WINDOW = timedelta(minutes=10)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    arrived: datetime


class Pipeline:
    """Turns raw MQTT messages into stored readings, counting what happens to each."""

    def __init__(
        self,
        site: SiteConfig,
        store: Store,
        *,
        quarantine: Quarantine | None = None,
        clock: Callable[[], datetime] = utc_now,
        batch_size: int = 1000,
        flush_interval_s: float = 0.2,
    ) -> None:
        self.site = site
        self.store = store
        self.quarantine = quarantine or Quarantine()
        self.clock = clock
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._rooms = site.room_of()
        self.decoders = decoders_for_site(site)
        # What discovery and attribute messages taught us, by state topic (bounded: one entry
        # per sensor topic of the site, and each message replaces its own entry).
        self._metadata: dict[str, dict[str, str]] = {}
        self._ctx = DecodeContext(timezone=site.tz, metadata=self._metadata)
        self._queue: queue.Queue[Message] = queue.Queue()
        self.presence: dict[str, str] = {}
        self._last_state: dict[tuple[str, str], tuple[object, datetime]] = {}

    # -- called from the MQTT thread -------------------------------------------------------
    def submit(self, topic: str, payload: bytes) -> None:
        self._queue.put(Message(topic, payload, self.clock()))

    # -- pure-ish core: one message in, readings out ---------------------------------------
    def readings_of(self, msg: Message) -> list[Reading]:
        """Decode one message and map its sensors to rooms; count and keep what fails."""
        decoder = decoder_for(msg.topic, self.decoders)
        if decoder is None:
            self._reject(msg, Outcome.UNCLAIMED_TOPIC, "no decoder claims this topic")
            return []
        try:
            decoded = decoder.decode(msg.topic, msg.payload, self._ctx)
        except OutOfRangeError as exc:
            self._reject(msg, Outcome.OUT_OF_RANGE, f"{decoder.family}: {exc}")
            return []
        except DecodeError as exc:
            self._reject(msg, Outcome.UNDECODABLE, f"{decoder.family}: {exc}")
            return []
        except Exception as exc:
            # A decoder bug must cost one message, never the ingest process.
            log.exception("decoder %s failed on %s", decoder.family, msg.topic)
            self._reject(msg, Outcome.UNDECODABLE, f"{decoder.family}: decoder failed: {exc!r}")
            return []
        if decoded.learned:
            topic, facts = decoded.learned
            self._metadata.setdefault(topic, {}).update(facts)
            self.quarantine.count(Outcome.METADATA)
        if decoded.presence:
            device, state = decoded.presence
            self.presence[f"{decoder.family}:{device}"] = state
            self.quarantine.count(Outcome.PRESENCE)
        out: list[Reading] = []
        for item in decoded.readings:
            if item.state_digest is not None and self._repeats(decoder.family, item, msg):
                self.quarantine.count(Outcome.DUPLICATE)
                continue
            if item.dropped:
                reason = f"{decoder.family}: left out {'; '.join(item.dropped)}"
                self._reject(msg, Outcome.OUT_OF_RANGE, reason)
            time = item.time.astimezone(UTC) if item.time else msg.arrived
            if not msg.arrived - MAX_PAST <= time <= msg.arrived + MAX_FUTURE:
                self._reject(msg, Outcome.TIME_OFF, f"time {time.isoformat()} is far from arrival")
                continue
            room = self._rooms.get((decoder.family, item.sensor))
            if room is None:
                self._reject(
                    msg,
                    Outcome.UNKNOWN_SENSOR,
                    f"{decoder.family} sensor {item.sensor!r} is not in the site file",
                )
                self.quarantine.unassigned(
                    Unassigned(decoder.family, item.sensor, time, item.values)
                )
                continue
            out.append(
                Reading(
                    time=time,
                    site=self.site.site.name,
                    room=room,
                    sensor=item.sensor,
                    family=decoder.family,
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
        self._last_state[key] = (item.state_digest, msg.arrived)
        return False

    def _reject(self, msg: Message, outcome: Outcome, reason: str) -> None:
        log.warning("not stored (%s): %s [topic %s]", outcome.value, reason, msg.topic)
        self.quarantine.keep(outcome, msg.arrived, msg.topic, msg.payload, reason)

    def process(self, messages: list[Message]) -> int:
        """Decode a batch of messages and write their readings in one store call."""
        readings = [r for msg in messages for r in self.readings_of(msg)]
        stored = self.store.write(readings)
        self.quarantine.count(Outcome.STORED, stored)
        self.quarantine.count(Outcome.DUPLICATE, len(readings) - stored)
        return stored

    # -- the writer thread -----------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Drain the queue in batches until `stop` is set and the queue is empty."""
        while not (stop.is_set() and self._queue.empty()):
            batch = self._take_batch()
            if batch:
                try:
                    self.process(batch)
                except Exception:
                    # The store failed: the batch is logged loudly; the spool of the
                    # no-loss issue will keep it instead. Ingest itself keeps running.
                    log.exception("store write failed for %d messages", len(batch))

    def _take_batch(self) -> list[Message]:
        try:
            first = self._queue.get(timeout=self.flush_interval_s)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch
