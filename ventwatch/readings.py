"""The `Reading`: one sensor's measurement, mapped to its room, on its way to the store.

Quantities use fixed keys and units so that every decoder, the store and analysis agree
without conversion tables of their own (the Home Assistant way: a unit per quantity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

# Quantity key -> unit. The key order is the column order in the store.
QUANTITIES: Final[dict[str, str]] = {
    "co2_ppm": "ppm",
    "temperature_c": "°C",
    "humidity_pct": "%",
    "pressure_hpa": "hPa",
    "battery_pct": "%",
}

# Values outside these ranges are physically implausible for a classroom sensor: a decoder
# leaves them out rather than storing them (a chip's own narrower range may apply on top).
# CO2 below about 300 ppm cannot be indoor air (outdoor air is about 420 ppm): it is a chip
# fault or a half-sent number, never fresh air (../shared/payloads, "Ranges").
PHYSICAL_RANGE: Final[dict[str, tuple[float, float]]] = {
    "co2_ppm": (300.0, 10_000.0),
    "temperature_c": (-30.0, 60.0),
    "humidity_pct": (0.0, 100.0),
    "pressure_hpa": (300.0, 1_100.0),
    "battery_pct": (0.0, 100.0),
}


@dataclass(frozen=True, slots=True)
class Reading:
    """A decoded, validated measurement with its room: what the store keeps.

    `time` is timezone-aware UTC. A quantity the sensor did not report is None.
    """

    time: datetime
    site: str
    room: str
    sensor: str
    family: str
    co2_ppm: float | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None
    pressure_hpa: float | None = None
    battery_pct: float | None = None

    def values(self) -> dict[str, float]:
        """The quantities this reading carries, by key."""
        return {k: v for k in QUANTITIES if (v := getattr(self, k)) is not None}


@dataclass(frozen=True, slots=True)
class RoomLatest:
    """The newest value of each quantity in one room, and when the room last reported."""

    room: str
    time: datetime
    sensor: str
    co2_ppm: float | None
    temperature_c: float | None
    humidity_pct: float | None


def stands_at(reading: datetime, now: datetime, hold_minutes: int) -> bool:
    """Does a reading taken at `reading` still stand for the minute `now` falls in? A reading
    stands for its own minute and the ones after it, `hold_minutes` in all: the rule of the
    minute series every verdict is computed on (`analysis.series`), for one reading. The live
    band and a sensor's health use it, so a room is stale on the overview, and its sensor
    silent on the sensors page, exactly when its minute series has a gap."""
    elapsed = _minute_of(now) - _minute_of(reading)
    return elapsed < timedelta(minutes=hold_minutes)


def _minute_of(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(second=0, microsecond=0)
