"""What ingest did not store, and why: kept for a site manager to inspect, in bounded memory.

A message that cannot be stored is evidence of a problem (a sensor not yet in the site file, a
failing chip, a firmware sending something new), so it is never just dropped: it is counted
by reason and the most recent ones are kept with their payload. (Sensors that publish but have
no room are listed, with their last values, by `ingest.sensors.SensorRegistry`.)
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    STORED = "stored"
    SPOOLED = "spooled"  # kept on disk while the store is down; counted as stored on replay
    DUPLICATE = "duplicate"  # already stored: a redelivery or a repeated cached state
    PRESENCE = "presence"  # an online/offline or signal-strength message, not a reading
    METADATA = "metadata"  # a discovery config or unit attribute for another topic
    UNCLAIMED_TOPIC = "unclaimed_topic"  # no decoder knows the topic
    UNDECODABLE = "undecodable"  # the payload is malformed or has no usable value
    OUT_OF_RANGE = "out_of_range"  # a value is physically impossible (the rest may be stored)
    # A field the message carried with no measurement in it (null, text, a chip's failure
    # marker such as MH-Z19B's CO2 0): the rest is stored, the message is kept to show why.
    NO_VALUE = "no_value"
    UNKNOWN_SENSOR = "unknown_sensor"  # decoded, but the sensor is not in the site file
    OTHER_SITE = "other_site"  # a sensor of another site run by this process: that site's
    TIME_OFF = "time_off"  # the message's own time is far from its arrival time
    REJECTED = "rejected"  # the store refused the reading itself (e.g. a field type conflict)


# Outcomes that mean "this message was not stored": those are kept for inspection.
NOT_STORED = frozenset(
    {
        Outcome.UNCLAIMED_TOPIC,
        Outcome.UNDECODABLE,
        Outcome.OUT_OF_RANGE,
        Outcome.NO_VALUE,
        Outcome.UNKNOWN_SENSOR,
        Outcome.TIME_OFF,
        Outcome.REJECTED,
    }
)


@dataclass(frozen=True, slots=True)
class Quarantined:
    time: datetime
    topic: str
    reason: str
    outcome: Outcome
    payload: str  # as text, cut to the size limit


class Quarantine:
    """Counters by outcome and the newest quarantined messages. (Unassigned sensors, with
    their last values, are in `ingest.sensors.SensorRegistry`.)"""

    def __init__(self, keep: int = 500, payload_limit: int = 4096):
        self._lock = threading.Lock()
        self._counts: Counter[Outcome] = Counter()
        self._recent: deque[Quarantined] = deque(maxlen=keep)
        self._payload_limit = payload_limit

    def count(self, outcome: Outcome, n: int = 1) -> None:
        with self._lock:
            self._counts[outcome] += n

    def counts(self) -> dict[str, int]:
        """Messages by outcome so far (cheap: for polling)."""
        with self._lock:
            return {o.value: self._counts.get(o, 0) for o in Outcome}

    def keep(
        self, outcome: Outcome, time: datetime, topic: str, payload: bytes, reason: str
    ) -> None:
        text = payload[: self._payload_limit].decode("utf-8", "replace")
        with self._lock:
            self._counts[outcome] += 1
            self._recent.append(Quarantined(time, topic, reason, outcome, text))

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy for the dashboard's ingest panel and `/api/ingest`."""
        with self._lock:
            return {
                "counts": {o.value: self._counts.get(o, 0) for o in Outcome},  # as counts()
                "quarantine": [
                    {**asdict(q), "time": q.time.isoformat(), "outcome": q.outcome.value}
                    for q in reversed(self._recent)
                ],
            }
