"""What ingest did with every message, counted by outcome: stored, spooled, duplicate, or one
of the reasons it was not stored.

Apart from the quarantine (which keeps the messages that were not stored, to be read): every
stage of ingest counts here, the router as it decodes and the writer as it stores, and the
dashboard, `/api/ingest` and `/metrics` read the totals.
"""

from __future__ import annotations

import threading
from collections import Counter
from enum import StrEnum


class Outcome(StrEnum):
    STORED = "stored"
    SPOOLED = "spooled"  # kept on disk while the store is down; counted as stored on replay
    DUPLICATE = "duplicate"  # already stored: a redelivery or a repeated cached state
    PRESENCE = "presence"  # an online/offline or signal-strength message, not a reading
    METADATA = "metadata"  # a discovery config or unit attribute for another topic
    UNCLAIMED_TOPIC = "unclaimed_topic"  # no decoder knows the topic
    TOO_LARGE = "too_large"  # a payload over the size limit or a topic too long: not parsed
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
        Outcome.TOO_LARGE,
        Outcome.UNDECODABLE,
        Outcome.OUT_OF_RANGE,
        Outcome.NO_VALUE,
        Outcome.UNKNOWN_SENSOR,
        Outcome.TIME_OFF,
        Outcome.REJECTED,
    }
)


class IngestCounters:
    """Messages (or readings, for `STORED`, `SPOOLED` and store-side `DUPLICATE`) by outcome
    since the start. Thread-safe: the writer thread counts while the dashboard reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Outcome] = Counter()

    def count(self, outcome: Outcome, n: int = 1) -> None:
        with self._lock:
            self._counts[outcome] += n

    def counts(self) -> dict[str, int]:
        """Every outcome with its count so far, zeros included (cheap: for polling)."""
        with self._lock:
            return {o.value: self._counts.get(o, 0) for o in Outcome}
