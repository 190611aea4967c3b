"""Payload decoders, one module per firmware family, all registered in `REGISTRY`.

The MQTT transport knows nothing of payload formats (Telegraf keeps its parsers apart the same
way): ingest asks for the decoder that claims a topic and hands the payload over. A site adds
its own JSON formats (`decoders.generic` in the site file) and statestream base topics;
`decoders_for_site` puts those in front of the built-in ones.
"""

from __future__ import annotations

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
    DecodeContext,
    Decoded,
    DecodedReading,
    DecodeError,
    Decoder,
    OutOfRangeError,
    Signal,
)

# The first decoder that claims a topic wins. Statestream comes before ESPHome because both
# use `<prefix>/sensor/<id>/state`; statestream claims only its base topics.
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


def decoder_for(topic: str, decoders: tuple[Decoder, ...] = REGISTRY) -> Decoder | None:
    return next((d for d in decoders if d.claims(topic)), None)


def subscriptions(decoders: tuple[Decoder, ...]) -> list[str]:
    return sorted({f for d in decoders for f in d.subscriptions})


__all__ = [
    "FAMILIES",
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
    "subscriptions",
]
