"""What ingest did not store, and why: kept for a site manager to inspect, in bounded memory.

A message that cannot be stored is evidence of a problem (a sensor not yet in the site file, a
failing chip, a firmware sending something new), so it is never just dropped: it is counted
by reason (`ingest.counters`) and the most recent ones are kept here with their payload.
(Sensors that publish but have no room are listed, with their last values, by
`ingest.sensors.SensorRegistry`.)

Each one is also logged, in one line; a flood of the same kind is summed up rather than
logged message by message (`QuarantineLog`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from ventwatch.ingest.counters import Outcome


@dataclass(frozen=True, slots=True)
class Quarantined:
    time: datetime
    topic: str
    reason: str
    outcome: Outcome
    payload: str  # as text, cut to the size limit


class Quarantine:
    """The newest messages ingest did not store, with their reason and payload. (Unassigned
    sensors, with their last values, are in `ingest.sensors.SensorRegistry`.)"""

    def __init__(self, keep: int = 500, payload_limit: int = 4096):
        self._lock = threading.Lock()
        self._recent: deque[Quarantined] = deque(maxlen=keep)
        self._payload_limit = payload_limit

    def keep(
        self, outcome: Outcome, time: datetime, topic: str, payload: bytes, reason: str
    ) -> None:
        text = payload[: self._payload_limit].decode("utf-8", "replace")
        # The topic cut too (MQTT allows 64 KiB of it, and this keeps hundreds), and both it
        # and the reason as text any answer can encode, whatever a message put in them.
        kept = Quarantined(
            time, _encodable(topic[: self._payload_limit]), _encodable(reason), outcome, text
        )
        with self._lock:
            self._recent.append(kept)

    def recent(self) -> list[dict[str, Any]]:
        """The kept messages, newest first, JSON-ready (the dashboard's ingest panel and
        `/api/ingest`)."""
        with self._lock:
            return [
                {**asdict(q), "time": q.time.isoformat(), "outcome": q.outcome.value}
                for q in reversed(self._recent)
            ]


# A kind of quarantined message is logged at most once per this long; the messages held back
# meanwhile are summed up in one line when it is over.
LOG_EVERY = timedelta(minutes=1)
# A kind that keeps coming (a sensor stuck sending garbage, as one of the demo's does on
# purpose) is logged ever less often: each window that had to hold messages back doubles the
# next, up to this. The sensors page and the counters have every message meanwhile.
LOG_AT_MOST_EVERY = timedelta(hours=1)
# A log line shows at most this much of a topic or reason: both may come from a payload.
LOG_TEXT_LIMIT = 300


@dataclass(slots=True)
class _Window:
    until: datetime
    length: timedelta
    held: int = 0


class QuarantineLog:
    """One warning line per quarantined message, never a traceback; but at most one line per
    kind of message (its outcome and topic pattern, such as `tele/+/SENSOR`) per `LOG_EVERY`,
    so a sensor stuck sending garbage, or a flood of made-up topics, neither fills the disk nor
    buries the lines that matter. What was held back is summed up once the interval is over:
    "... and 41 more like it". A kind that keeps coming is logged ever less often (each
    window twice the last, up to `LOG_AT_MOST_EVERY`), so a sensor stuck sending garbage is
    not a warning a minute for ever. The counters have every message.

    Used from ingest's writer thread only. Its windows are bounded: `flush` closes each once
    its interval is over, and kinds are few (patterns are the decoders' subscriptions, or a
    topic's depth up to a limit).
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._open: dict[tuple[Outcome, str], _Window] = {}
        # Kinds whose last window held messages back: (the next window's length, until when
        # it applies; a kind quiet for that long starts again at `LOG_EVERY`).
        self._backoff: dict[tuple[Outcome, str], tuple[timedelta, datetime]] = {}

    def warn(self, now: datetime, outcome: Outcome, pattern: str, topic: str, reason: str) -> None:
        kind = (outcome, pattern)
        window = self._open.get(kind)
        if window is not None and now < window.until:
            window.held += 1
            return
        if window is not None:
            del self._open[kind]
            self._sum_up(kind, window, now)
        length, applies_until = self._backoff.pop(kind, (LOG_EVERY, now))
        if now >= applies_until:
            length = LOG_EVERY
        self._open[kind] = _Window(until=now + length, length=length)
        self._log.warning(
            "not stored (%s): %s [topic %s]", outcome.value, _printable(reason), _printable(topic)
        )

    def flush(self, now: datetime) -> None:
        """Sum up the kinds whose interval is over (cheap when nothing is open)."""
        for kind in [k for k, (_, until) in self._backoff.items() if now >= until]:
            del self._backoff[kind]
        if not self._open:
            return
        for kind, window in list(self._open.items()):
            if now >= window.until:
                del self._open[kind]
                self._sum_up(kind, window, now)

    def _sum_up(self, kind: tuple[Outcome, str], window: _Window, now: datetime) -> None:
        if window.held:
            outcome, pattern = kind
            self._log.warning(
                "not stored (%s) on %s: and %d more like it within %g s",
                outcome.value,
                _printable(pattern),
                window.held,
                window.length.total_seconds(),
            )
            longer = min(window.length * 2, LOG_AT_MOST_EVERY)
            self._backoff[kind] = (longer, now + longer)


def _encodable(text: str) -> str:
    """`text` with any lone surrogate (which UTF-8 cannot carry) escaped, as `\\ud800`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _printable(text: str) -> str:
    """Text from a message as one line of log a terminal shows as it is: cut, and with line
    breaks, control characters and lone surrogates escaped (a topic may hold any of them)."""
    cut = text[:LOG_TEXT_LIMIT] + ("…" if len(text) > LOG_TEXT_LIMIT else "")
    return cut if cut.isprintable() else cut.encode("unicode_escape").decode("ascii")
