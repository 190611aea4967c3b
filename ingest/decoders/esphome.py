"""ESPHome: `<node>/sensor/<object_id>/state` bare numbers, `<node>/status` presence, and the
Home Assistant discovery configs (`homeassistant/sensor/<node>/<object_id>/config`) that say
which state topic is which quantity in which unit.

One message carries one value, so a room's reading arrives as several readings of the same
node; the store keeps the newest value of each quantity. Without discovery, the quantity is
taken from the object id (`co2`, `carbon_dioxide`, `temperature`, `humidity`).

ESPHome's Wi-Fi signal sensor (device class `signal_strength`, or an object id such as
`wifi_signal` without discovery) is the node's signal in dBm, not a reading.
"""

from __future__ import annotations

from ventwatch.ingest.decoders.types import (
    DecodeContext,
    Decoded,
    DecodeError,
    Decoder,
    is_presence,
)
from ventwatch.ingest.decoders.units import convert, quantity_of
from ventwatch.ingest.decoders.values import checked, json_object, plain_number, signal

DISCOVERY_PREFIX = "homeassistant"


def _is_state(parts: list[str]) -> bool:
    return len(parts) >= 4 and parts[-3] == "sensor" and parts[-1] == "state"


def _is_discovery(parts: list[str]) -> bool:
    return (
        len(parts) == 5
        and parts[0] == DISCOVERY_PREFIX
        and parts[1] == "sensor"
        and parts[-1] == "config"
    )


def claims(topic: str) -> bool:
    parts = topic.split("/")
    if parts[0] == DISCOVERY_PREFIX:
        return _is_discovery(parts)
    return _is_state(parts) or (len(parts) == 2 and parts[1] == "status")


def _discovery(payload: bytes) -> Decoded:
    config = json_object(payload)

    def key(short: str, full: str) -> object:
        return config.get(short, config.get(full))

    state_topic = key("stat_t", "state_topic")
    if not isinstance(state_topic, str) or not state_topic:
        raise DecodeError("discovery config has no state topic")
    base = config.get("~")
    if state_topic.startswith("~") and isinstance(base, str):
        state_topic = base + state_topic[1:]
    facts = {
        name: value
        for name, value in (
            ("device_class", key("dev_cla", "device_class")),
            ("unit", key("unit_of_meas", "unit_of_measurement")),
        )
        if isinstance(value, str)
    }
    return Decoded(learned=(state_topic, facts))


def _is_signal(device_class: str | None, object_id: str) -> bool:
    if device_class:
        return device_class.lower() == "signal_strength"
    return "wifi_signal" in object_id or "rssi" in object_id.split("_")


def _signal(node: str, payload: bytes, unit: str | None) -> Decoded:
    if unit is not None and unit.strip().lower() != "dbm":
        # A filter can turn the RSSI into a percentage, which is no RSSI any more.
        raise DecodeError(f"signal strength in {unit!r} is not an RSSI in dBm")
    value = plain_number(payload)
    found = signal(node, value, "dBm")
    if found is None:
        raise DecodeError(f"signal {value:g} dBm is not a plausible RSSI")
    return Decoded(signal=found)


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    parts = topic.split("/")
    if _is_discovery(parts):
        return _discovery(payload)
    if parts[-1] == "status":
        state = payload.decode("utf-8", "replace").strip()
        if not is_presence(state):
            raise DecodeError(f"status {state[:40]!r} is neither online nor offline")
        return Decoded(presence=(parts[0], state))
    node, object_id = "/".join(parts[:-3]), parts[-2]
    facts = ctx.metadata.get(topic, {})
    if _is_signal(facts.get("device_class"), object_id):
        return _signal(node, payload, facts.get("unit"))
    quantity = quantity_of(facts.get("device_class"), object_id)
    if quantity is None:
        raise DecodeError(f"cannot tell what {object_id!r} measures (no discovery config)")
    value = plain_number(payload)
    value = convert(quantity, value, facts.get("unit"))
    return Decoded(readings=[checked(node, None, {quantity: value})])


DECODER = Decoder(
    family="esphome",
    claims=claims,
    decode=decode,
    subscriptions=("+/sensor/+/state", "+/status", f"{DISCOVERY_PREFIX}/sensor/+/+/config"),
)
