"""Payload decoders, one module per firmware family, all registered in `REGISTRY`.

The MQTT transport knows nothing of payload formats (Telegraf keeps its parsers apart the same
way): ingest asks for the decoder that claims a topic and hands the payload over. A site adds
its own JSON formats (`decoders.generic` in the site file) and statestream base topics;
`decoders_for_site` puts those in front of the built-in ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ventwatch.config import SiteConfig
from ventwatch.ingest.decoders import (
    airgradient,
    esphome,
    generic,
    ha_statestream,
    tasmota,
    theengs,
    ttn,
    zigbee2mqtt,
)
from ventwatch.ingest.decoders.types import (
    MAX_TOPIC_CHARS,
    DecodeContext,
    Decoded,
    DecodedReading,
    DecodeError,
    Decoder,
    OutOfRangeError,
    Signal,
)

# The first decoder that claims a topic wins, unless an earlier message taught which family's
# the topic is (`decoder_for`). Statestream comes before ESPHome because both use
# `<prefix>/sensor/<id>/state`; statestream claims such a state topic by shape only under its
# configured base topics.
REGISTRY: tuple[Decoder, ...] = (
    tasmota.DECODER,
    zigbee2mqtt.DECODER,
    airgradient.DECODER,
    ttn.DECODER,
    theengs.DECODER,
    ha_statestream.DECODER,
    esphome.DECODER,
)
FAMILIES: frozenset[str] = frozenset(d.family for d in REGISTRY)


def decoders_for_site(site: SiteConfig | None) -> tuple[Decoder, ...]:
    """The decoders in force for a site: its generic ones first, then the built-in ones."""
    if site is None:
        return REGISTRY
    bases = tuple(site.decoders.ha_statestream.base_topics)
    own = tuple(generic.make_decoder(spec) for spec in site.decoders.generic)
    builtin = tuple(
        ha_statestream.make_decoder(bases) if d.family == "ha_statestream" else d for d in REGISTRY
    )
    return own + builtin


def decoder_for(
    topic: str,
    decoders: tuple[Decoder, ...] = REGISTRY,
    metadata: Mapping[str, Mapping[str, str]] | None = None,
) -> Decoder | None:
    """The decoder for a topic: the family that earlier messages taught for it (`metadata`,
    as the pipeline keeps `Decoded.learned`), else the first decoder that claims its shape.

    Shape alone cannot tell some families apart: a statestream state topic under a base topic
    the site file does not list looks exactly like ESPHome's, and only its attribute topics
    say whose it is (see `ha_statestream`)."""
    facts = metadata.get(topic) if metadata is not None else None
    family = facts.get("family") if facts else None
    if family is not None:
        taught = next((d for d in decoders if d.family == family), None)
        if taught is not None:
            return taught
    return next((d for d in decoders if d.claims(topic)), None)


def subscriptions(decoders: tuple[Decoder, ...], prefix: str | None = None) -> list[str]:
    """The MQTT topic filters to subscribe to: every decoder's (under `prefix/`, for a site
    whose sensors publish under a prefix), less those another filter of the list covers."""
    lead = f"{prefix}/" if prefix else ""
    return fewest_filters(lead + f for d in decoders for f in d.subscriptions)


def fewest_filters(filters: Iterable[str]) -> list[str]:
    """The filters less those another of them already covers. A broker may deliver a message
    once per matching filter (MQTT 5 does, and Mosquitto's `allow_duplicate_messages`), which
    would store a reading twice."""
    unique = set(filters)
    return sorted(f for f in unique if not any(g != f and _covers(g, f) for g in unique))


def _covers(general: str, specific: str) -> bool:
    """Does every topic that matches the filter `specific` match the filter `general`?"""
    wide, narrow = general.split("/"), specific.split("/")
    for i, level in enumerate(wide):
        if level == "#":
            return True
        if i >= len(narrow) or narrow[i] == "#" or (level != "+" and level != narrow[i]):
            return False
    return len(wide) == len(narrow)


__all__ = [
    "FAMILIES",
    "MAX_TOPIC_CHARS",
    "REGISTRY",
    "DecodeContext",
    "DecodeError",
    "Decoded",
    "DecodedReading",
    "Decoder",
    "OutOfRangeError",
    "Signal",
    "decoder_for",
    "decoders_for_site",
    "fewest_filters",
    "subscriptions",
]
