"""Zigbee2MQTT: `zigbee2mqtt/<friendly_name>` device state JSON.

Friendly names may contain `/`; bridge messages and the availability/set/get sub-topics are
not readings (availability is presence). Every message repeats the device's cached state, so
`last_seen`, when enabled, is the reading's time: a repeat then has the same time and the
store's (sensor, time) key keeps it once. Without it, the reading carries a digest of its
values (not linkquality, which changes with every hop) so that the pipeline can drop an
unchanged repeat. linkquality (0-255) is the device's signal, for the sensors page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder
from ventwatch.ingest.decoders.values import checked, json_object, number, signal

_NOT_STATE = ("set", "get")


def claims(topic: str) -> bool:
    parts = topic.split("/")
    return (
        len(parts) >= 2
        and parts[0] == "zigbee2mqtt"
        and parts[1] != "bridge"
        and parts[-1] not in _NOT_STATE
    )


def _last_seen(raw: Any) -> datetime | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(raw / 1000.0, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise DecodeError(f"last_seen {raw!r} is not a time") from None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise DecodeError(f"last_seen {raw[:40]!r} is not ISO 8601") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    parts = topic.split("/")
    if parts[-1] == "availability":
        device = "/".join(parts[1:-1])
        text = payload.decode("utf-8", "replace").strip()
        state = json_object(payload).get("state") if text.startswith("{") else text
        if state not in ("online", "offline"):
            raise DecodeError(f"availability {str(state)[:40]!r} is neither online nor offline")
        return Decoded(presence=(device, state))
    device = "/".join(parts[1:])
    data = json_object(payload)
    values = {
        "co2_ppm": number(data.get("co2")),
        "temperature_c": number(data.get("temperature")),
        "humidity_pct": number(data.get("humidity")),
        "battery_pct": number(data.get("battery")),
    }
    reading = checked(device, _last_seen(data.get("last_seen")), values)
    if reading.time is None:
        reading = replace(reading, state_digest=tuple(reading.values.items()))
    return Decoded(readings=[reading], signal=signal(device, data.get("linkquality"), "lqi"))


DECODER = Decoder(
    family="zigbee2mqtt", claims=claims, decode=decode, subscriptions=("zigbee2mqtt/#",)
)
