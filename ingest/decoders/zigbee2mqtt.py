"""Zigbee2MQTT: `zigbee2mqtt/<friendly_name>` device state JSON, and the one-value-per-topic
`zigbee2mqtt/<friendly_name>/<attribute>` messages of `advanced.output: attribute` (or
`attribute_and_json`, which sends both).

Friendly names may contain `/`, so the topic alone cannot say whether
`zigbee2mqtt/floor1/co2` is the state of a device named `floor1/co2` or the `co2` attribute of
`floor1`: the payload does. Device state is always a JSON object; an attribute payload never is
(Zigbee2MQTT flattens objects into `<attribute>-<key>` topics and sends a number as its JSON
text, a string bare, null as an empty payload). So a payload starting with `{` is a state
(a broken one is an error, never an attribute), anything else on a topic below a name is an
attribute. Bridge messages are not devices; `.../availability` is presence; `.../set` and
`.../get` (also `<name>/<endpoint>/set/<attribute>`) are commands to a device, not from it.

Every message repeats the device's **cached** state, so `last_seen`, when enabled, is the
reading's time: a repeat then has the same time and the store's (sensor, time) key keeps it
once. Without it, the reading carries a digest of its values (not linkquality, which changes
with every hop) so that the pipeline can drop an unchanged repeat. linkquality (0-255) is the
device's signal, for the sensors page.

Attribute topics: `co2`, `temperature`, `humidity` and `battery` each give a reading of that
one quantity at its arrival time (`last_seen` comes on a topic of its own, after the values,
so it cannot date them); `linkquality` gives the signal; other attributes are not readings.
With `attribute_and_json` the attributes copy the JSON state just sent, and storing them too
would defeat its repeat check: the first JSON state of a device teaches `output: json` for its
state topic, and that device's attribute readings are skipped from then on (so a device
switched to `attribute` alone needs an ingest restart; until then its room shows stale).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ventwatch.ingest.decoders.types import (
    DecodeContext,
    Decoded,
    DecodeError,
    Decoder,
    is_presence,
)
from ventwatch.ingest.decoders.values import (
    carried,
    checked,
    json_object,
    number,
    plain_number,
    signal,
)

BASE = "zigbee2mqtt"
_COMMANDS = frozenset({"set", "get"})
# Zigbee2MQTT's exposes (`e.co2()`, `e.temperature()`, ...) -> quantity, units as ventwatch's.
QUANTITIES: dict[str, str] = {
    "co2": "co2_ppm",
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "battery": "battery_pct",
}


def claims(topic: str) -> bool:
    parts = topic.split("/")
    return (
        len(parts) >= 2
        and parts[0] == BASE
        and parts[1] != "bridge"
        and _COMMANDS.isdisjoint(parts[2:])
    )


def _last_seen(raw: Any) -> datetime | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(raw / 1000.0, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise DecodeError(f"last_seen {raw!r} is not a time") from None
    if isinstance(raw, str):
        if raw.endswith(" ago"):
            return None  # `last_seen: relative` ("5 minutes ago") cannot date a reading
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise DecodeError(f"last_seen {raw[:40]!r} is not ISO 8601") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _availability(device: str, payload: bytes) -> Decoded:
    text = payload.decode("utf-8", "replace").strip()
    if not text:
        return Decoded()  # a renamed device's old retained availability, cleared
    state = json_object(payload).get("state") if text.startswith("{") else text
    if not is_presence(state):
        raise DecodeError(f"availability {str(state)[:40]!r} is neither online nor offline")
    return Decoded(presence=(device, state))


def _state(topic: str, device: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    data = json_object(payload)
    values = {
        "co2_ppm": carried(data, "co2"),
        "temperature_c": number(data.get("temperature")),
        "humidity_pct": number(data.get("humidity")),
        "battery_pct": number(data.get("battery")),
    }
    reading = checked(device, _last_seen(data.get("last_seen")), values)
    if reading.time is None:
        reading = replace(reading, state_digest=tuple(reading.values.items()))
    learned = None if topic in ctx.metadata else (topic, {"output": "json"})
    return Decoded(
        readings=[reading],
        signal=signal(device, data.get("linkquality"), "lqi"),
        learned=learned,
    )


def _attribute(device: str, attribute: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    if attribute == "linkquality":
        found = signal(device, plain_number(payload), "lqi")
        if found is None:
            raise DecodeError("linkquality is not a link quality (0-255)")
        return Decoded(signal=found)
    quantity = QUANTITIES.get(attribute)
    if quantity is None or ctx.metadata.get(f"{BASE}/{device}", {}).get("output") == "json":
        return Decoded()
    return Decoded(readings=[checked(device, None, {quantity: plain_number(payload)})])


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    parts = topic.split("/")
    if parts[-1] == "availability" and len(parts) > 2:
        return _availability("/".join(parts[1:-1]), payload)
    if len(parts) == 2 or payload.lstrip().startswith(b"{"):
        return _state(topic, "/".join(parts[1:]), payload, ctx)
    return _attribute("/".join(parts[1:-1]), parts[-1], payload, ctx)


DECODER = Decoder(family="zigbee2mqtt", claims=claims, decode=decode, subscriptions=(f"{BASE}/#",))
