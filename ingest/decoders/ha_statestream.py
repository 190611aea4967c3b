"""Home Assistant MQTT statestream: `<base>/sensor/<object_id>/state` plus sibling attribute
topics (`.../unit_of_measurement`, `.../device_class`) whose payloads are JSON strings.

The shape is the same as ESPHome's state topics, so this decoder claims only the configured
base topics (Home Assistant's default, `homeassistant`). `unavailable` and `unknown` are
failures. The sensor is the entity's object id: one entity carries one quantity.
"""

from __future__ import annotations

import json

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder
from ventwatch.ingest.decoders.units import convert, quantity_of
from ventwatch.ingest.decoders.values import checked, plain_number

ATTRIBUTES = {"unit_of_measurement": "unit", "device_class": "device_class"}
IGNORED_ATTRIBUTES = {"friendly_name", "icon", "state_class", "last_reset", "attribution"}


def make_decoder(bases: tuple[str, ...] = ("homeassistant",)) -> Decoder:
    def claims(topic: str) -> bool:
        parts = topic.split("/")
        return (
            len(parts) == 4
            and parts[0] in bases
            and parts[1] == "sensor"
            and (parts[3] == "state" or parts[3] in ATTRIBUTES or parts[3] in IGNORED_ATTRIBUTES)
        )

    def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
        base, _, object_id, leaf = topic.split("/")
        state_topic = f"{base}/sensor/{object_id}/state"
        if leaf in IGNORED_ATTRIBUTES:
            return Decoded()
        if leaf in ATTRIBUTES:
            try:
                value = json.loads(payload)
            except ValueError:
                value = payload.decode("utf-8", "replace").strip()
            if not isinstance(value, str):
                raise DecodeError(f"attribute {leaf} is not a string")
            return Decoded(learned=(state_topic, {ATTRIBUTES[leaf]: value}))
        facts = ctx.metadata.get(state_topic, {})
        quantity = quantity_of(facts.get("device_class"), object_id)
        if quantity is None:
            raise DecodeError(f"cannot tell what {object_id!r} measures (no device_class)")
        value = convert(quantity, plain_number(payload), facts.get("unit"))
        return Decoded(readings=[checked(object_id, None, {quantity: value})])

    topics = tuple(f"{base}/sensor/+/+" for base in bases)
    return Decoder(family="ha_statestream", claims=claims, decode=decode, subscriptions=topics)


DECODER = make_decoder()
