"""Turning raw payload fields into checked quantities.

Every decoder goes through these, so that "what counts as a number" and "what is physically
possible" are decided once (a string "high" or a NaN is not a measurement).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ventwatch.ingest.decoders.types import DecodedReading, DecodeError, OutOfRangeError, Signal
from ventwatch.readings import PHYSICAL_RANGE


def json_value(text: str) -> Any:
    """Parse JSON text, or say why it is not JSON. A payload nested thousands deep (well
    within the size cap) makes Python's parser raise RecursionError: that is a bad message,
    not a fault of ingest."""
    try:
        return json.loads(text)
    except RecursionError:
        raise DecodeError("not JSON: nested too deeply") from None
    except ValueError as exc:
        raise DecodeError(f"not JSON: {exc}") from None


def json_object(payload: bytes) -> dict[str, Any]:
    """Parse a payload that must be a JSON object, or say why it is not."""
    try:
        # Decoding the bytes here skips json's encoding detection, a good part of its cost
        # (the figures: docs/development.md#benchmarks).
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("payload is not UTF-8 text") from None
    if not text.strip():
        raise DecodeError("empty payload")
    data = json_value(text)
    if type(data) is not dict:
        raise DecodeError(f"expected a JSON object, got {type(data).__name__}")
    return data


def number(value: Any) -> float | None:
    """A finite number, or None for anything else (booleans, strings, NaN, null)."""
    kind = type(value)  # exact types: bool is an int subclass and must not count
    if kind is int:
        return float(value)
    if kind is float and math.isfinite(value):
        return value  # type: ignore[no-any-return]
    return None


# Text that firmware sends in place of a number when it has none: a failure, not a format error.
NO_VALUE = frozenset({"nan", "-nan", "unavailable", "unknown", "none", "null", ""})


def plain_number(payload: bytes) -> float:
    """A payload that is one number as text (ESPHome, statestream), or why it is not."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise DecodeError("payload is not text") from None
    if text.lower() in NO_VALUE:
        raise DecodeError(f"the sensor has no value ({text or 'empty'!r})")
    try:
        value = float(text)
    except ValueError:
        raise DecodeError(f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise DecodeError(f"{text[:40]!r} is not a finite number")
    return value


@dataclass(frozen=True, slots=True)
class NoValue:
    """A field the message carried with no measurement in it (null, text, or the firmware's
    failure marker), and why. It differs from a field the message left out: the firmware
    meant to report the quantity and could not, which is worth counting."""

    why: str


def carried(
    fields: Mapping[str, Any], key: str, markers: Mapping[float, str] | None = None
) -> float | NoValue | None:
    """The number under `key`; None when the message does not carry the field; `NoValue` when
    it carries the field without a number in it, or with one of `markers` (value -> what the
    firmware means by it, e.g. MH-Z19B's 0).

    Decoders read their CO2 field through this: CO2 is what a room is judged on, and a reading
    that silently lost it would show the room's temperature as if its sensor were well.
    """
    if key not in fields:
        return None
    raw = fields[key]
    value = number(raw)
    if value is None:
        return NoValue(f"{key} is {json.dumps(raw, ensure_ascii=False)[:40]}")
    if markers and value in markers:
        return NoValue(f"{key} {value:g}: {markers[value]}")
    return value


def checked(
    sensor: str, time: datetime | None, values: Mapping[str, float | NoValue | None]
) -> DecodedReading:
    """A reading of the values that are present and physically possible.

    Values out of range go to the reading's `dropped`, fields carried empty (`NoValue`) to its
    `missing`, so ingest counts both while storing the rest. Raises DecodeError naming what
    was left out when nothing usable remains, so the message is counted and quarantined with
    its reason rather than stored empty.
    """
    out: dict[str, float] = {}
    dropped: list[str] = []
    missing: list[str] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, NoValue):
            missing.append(f"{key}: {value.why}")
            continue
        low, high = PHYSICAL_RANGE[key]
        if low <= value <= high:
            out[key] = value
        else:
            dropped.append(f"{key}={value:g} outside {low:g}..{high:g}")
    if not out:
        if dropped:
            raise OutOfRangeError(f"no usable value: {'; '.join(dropped + missing)}")
        raise DecodeError(f"no usable value{': ' if missing else ''}{'; '.join(missing)}")
    return DecodedReading(
        sensor=sensor, time=time, values=out, dropped=tuple(dropped), missing=tuple(missing)
    )


# What a radio can report. An RSSI above 0 dBm or below the noise floor of any receiver, or a
# link quality outside Zigbee's 0-255, is a firmware quirk or a placeholder, not a signal.
SIGNAL_RANGE: dict[str, tuple[float, float]] = {"dBm": (-150.0, 0.0), "lqi": (0.0, 255.0)}


def signal(device: str, value: Any, unit: Literal["dBm", "lqi"]) -> Signal | None:
    """The device's radio signal, or None when the field is missing or not plausible: a bad
    signal field must never cost the reading beside it."""
    found = number(value)
    if found is None:
        return None
    low, high = SIGNAL_RANGE[unit]
    return Signal(device, found, unit) if low <= found <= high else None
