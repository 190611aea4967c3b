"""Home Assistant MQTT statestream: `<base>/sensor/<object_id>/state` plus sibling topics of the
same entity, under any base topic.

Statestream publishes an entity's state on `.../state` (the raw state string: `834`, `21.4`,
`unavailable`, `unknown`), then, with `publish_timestamps`, `.../last_updated` and
`.../last_changed` (plain ISO times), then, with `publish_attributes`, every attribute on a
topic of its own (`.../device_class`, `.../unit_of_measurement`, `.../friendly_name`, ...),
its payload JSON-encoded (`"carbon_dioxide"`, quotes included). Attributes and timestamps are
off by default. The sensor is the entity's object id: one entity carries one quantity, named
by its `device_class` attribute (else by its object id), in its `unit_of_measurement`.

**Telling statestream from ESPHome.** ESPHome's state topics have the very same shape,
`<prefix>/sensor/<object_id>/state`, so a state topic is statestream's when

1. its base topic is listed in the site file (`decoders.ha_statestream.base_topics`): this
   decoder claims every `<base>/sensor/<object_id>/<leaf>` (but a discovery `config`); or else
2. a sibling topic of the same entity has been heard: a non-`state` leaf with a JSON payload,
   or a timestamp leaf with an ISO time. ESPHome publishes nothing under
   `<prefix>/sensor/<object_id>/` but `state` (and its units live in discovery configs under
   `homeassistant/sensor/<node>/<object_id>/config`, five levels, never a sibling), so such a
   sibling proves the entity is statestream's. It teaches `family: ha_statestream` for the
   state topic, and `decoder_for` routes that state topic here from then on.

Otherwise ESPHome's decoder takes the state topic, as it always has. Limits that follow:
statestream publishes the state before its siblings, so under an unlisted base the first
state of an entity since ingest started goes to ESPHome's decoder (counted as an unknown
ESPHome sensor, and kept) until a sibling arrives; with neither attributes nor timestamps
published, an unlisted base cannot be told apart and must be listed; and a base with `/` in it
must be listed, because no MQTT filter matches any depth before `sensor` (any single-level
base is heard through `+/sensor/+/+`).
"""

from __future__ import annotations

from datetime import datetime

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder
from ventwatch.ingest.decoders.units import convert, quantity_of
from ventwatch.ingest.decoders.values import checked, json_value, plain_number

FAMILY = "ha_statestream"
# Attributes that say what the state measures, and the fact each teaches.
ATTRIBUTES = {"unit_of_measurement": "unit", "device_class": "device_class"}
TIMESTAMPS = frozenset({"last_updated", "last_changed"})
# A four-level discovery topic (`homeassistant/sensor/<object_id>/config`, no node id) has the
# shape of a sibling, but is a discovery config, not an attribute.
DISCOVERY_LEAF = "config"


def _split(topic: str) -> tuple[str, str, str] | None:
    """(base, object id, leaf) of a `<base>/sensor/<object_id>/<leaf>` topic, else None."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[-3] != "sensor" or not all(parts[-2:]):
        return None
    return "/".join(parts[:-3]), parts[-2], parts[-1]


def _attribute(leaf: str, payload: bytes, state_topic: str) -> Decoded:
    facts = {"family": FAMILY}
    text = payload.decode("utf-8", "replace").strip()
    if leaf in TIMESTAMPS:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise DecodeError(f"{leaf} {text[:40]!r} is not an ISO time") from None
        return Decoded(learned=(state_topic, facts))
    try:
        value = json_value(text)
    except DecodeError:
        # Statestream JSON-encodes every attribute: a bare word is someone else's topic.
        raise DecodeError(f"attribute {leaf} is not JSON, as statestream sends it") from None
    if leaf in ATTRIBUTES and value is not None:
        if not isinstance(value, str):
            raise DecodeError(f"attribute {leaf} is not a string")
        facts[ATTRIBUTES[leaf]] = value
    return Decoded(learned=(state_topic, facts))


def make_decoder(bases: tuple[str, ...] = ("homeassistant",)) -> Decoder:
    listed = frozenset(bases)

    def claims(topic: str) -> bool:
        split = _split(topic)
        if split is None:
            return False
        base, _, leaf = split
        return leaf != DISCOVERY_LEAF and (base in listed or leaf != "state")

    def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
        split = _split(topic)
        if split is None:
            raise DecodeError("not a statestream topic (<base>/sensor/<object_id>/<leaf>)")
        base, object_id, leaf = split
        state_topic = f"{base}/sensor/{object_id}/state"
        if leaf != "state":
            return _attribute(leaf, payload, state_topic)
        facts = ctx.metadata.get(state_topic, {})
        quantity = quantity_of(facts.get("device_class"), object_id)
        if quantity is None:
            raise DecodeError(f"cannot tell what {object_id!r} measures (no device_class)")
        value = convert(quantity, plain_number(payload), facts.get("unit"))
        return Decoded(readings=[checked(object_id, None, {quantity: value})])

    # Listed bases may have several levels; `+/sensor/+/+` hears siblings under any other
    # single-level base (and covers ESPHome's `+/sensor/+/state`, see `subscriptions`).
    topics = (*(f"{base}/sensor/+/+" for base in bases), "+/sensor/+/+")
    return Decoder(family=FAMILY, claims=claims, decode=decode, subscriptions=topics)


DECODER = make_decoder()
