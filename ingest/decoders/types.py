"""What a decoder takes and gives back: the seam between MQTT transport and payload formats.

A decoder is pure: topic and payload bytes in, readings out, no clock and no I/O. The pipeline
supplies the arrival time and maps the sensor to its room.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeGuard
from zoneinfo import ZoneInfo


class DecodeError(ValueError):
    """The payload cannot give a usable reading; the message says why, for a person to read."""


class OutOfRangeError(DecodeError):
    """Every value the payload carried was physically impossible (a fault, not a format)."""


# The longest sensor id (or learned fact) taken from a topic or payload. A site file names a
# device in at most 120 characters, so a longer id can only be junk, and ids are shown on pages
# and kept as keys in memory.
MAX_ID_CHARS = 200
# The longest topic ingest handles, or a discovery config may name: topics are keys of its
# maps, and no firmware family uses more than a few dozen characters.
MAX_TOPIC_CHARS = 1024
# What has no place in a name a person reads: C0 and C1 control characters; surrogates, which
# JSON's "\ud800" decodes to and no page or JSON answer can encode; and the bidi controls that
# make text display other than it reads.
_UNFIT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def check_readable(text: str, what: str) -> None:
    """Raise DecodeError, saying why, unless a person can read `text` and every page and API
    can show it. Every id and fact a decoder takes from a message passes here (the dataclasses
    below call it), so nothing unfit reaches the pipeline's maps, the store or a page."""
    if text and len(text) <= MAX_ID_CHARS and text.isprintable():
        return  # the usual case, told in C: printable text has none of the characters below
    if not text:
        raise DecodeError(f"{what} is empty")
    if len(text) > MAX_ID_CHARS:
        raise DecodeError(f"{what} of {len(text)} characters is longer than {MAX_ID_CHARS}")
    unfit = _UNFIT.search(text)
    if unfit is not None:
        char = unfit.group()
        kind = {"Cs": "a lone surrogate", "Cc": "a control character"}.get(
            unicodedata.category(char), "a bidi control character"
        )
        raise DecodeError(f"{what} {text[:40]!a} has {kind} (U+{ord(char):04X})")


@dataclass(frozen=True, slots=True)
class DecodedReading:
    """A reading as the firmware named it: device id, its own timestamp if any, and values
    under the fixed quantity keys of `ventwatch.readings.QUANTITIES`."""

    sensor: str
    time: datetime | None
    values: dict[str, float]
    # Values left out as physically impossible, e.g. "co2_ppm=65000 outside 0..10000": the
    # rest of the reading is still good, but the fault is worth counting and showing.
    dropped: tuple[str, ...] = ()
    # Fields the message carried with no measurement in them, e.g. "co2_ppm: CarbonDioxide 0:
    # ...": the chip failed while the rest of the message is good. Counted apart from
    # `dropped` (nothing impossible was measured), and never left out silently.
    missing: tuple[str, ...] = ()
    # For firmware that republishes cached state (Zigbee2MQTT without last_seen): the
    # measured values as a hashable digest. The pipeline treats an unchanged digest within
    # its repeat window as the same measurement, not a new one.
    state_digest: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        check_readable(self.sensor, "sensor id")


@dataclass(frozen=True, slots=True)
class Signal:
    """How well a device's radio reaches its gateway or access point, as the firmware reports
    it. It tells a site manager why a sensor drops out, but says nothing about the room, so it
    goes to the sensors page and never to the store.

    The unit stays explicit because the two scales do not convert into each other: `dBm` is an
    RSSI (Wi-Fi, BLE, LoRaWAN; nearer 0 is stronger), `lqi` is Zigbee's link quality, 0-255
    (higher is better)."""

    device: str
    value: float
    unit: Literal["dBm", "lqi"]

    def __post_init__(self) -> None:
        check_readable(self.device, "device id")


# What a status or availability message says of a device.
Presence = Literal["online", "offline"]


def is_presence(state: object) -> TypeGuard[Presence]:
    """Whether a status or availability message's state is one of the two words (and, for the
    type checker, which type it has from then on)."""
    return state in ("online", "offline")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded message: readings, a presence change (LWT / availability), metadata, and
    the device's radio signal where the message carries it.

    `learned` is what a discovery or attribute message says about another topic, as
    (state topic, {"device_class": ..., "unit": ...}); the pipeline keeps it and hands it back
    in `DecodeContext.metadata`, so decoders stay free of state. A `"family"` fact names the
    family whose decoder takes that topic from then on, whatever its shape suggests
    (`decoder_for`): statestream's attribute topics teach it for a state topic that looks like
    ESPHome's.
    """

    readings: list[DecodedReading] = field(default_factory=list)
    presence: tuple[str, Presence] | None = None
    learned: tuple[str, dict[str, str]] | None = None
    # Per message, not per reading: some firmware sends it in a message of its own (ESPHome's
    # Wi-Fi signal sensor), others beside the reading (Zigbee2MQTT's linkquality).
    signal: Signal | None = None

    def __post_init__(self) -> None:
        if self.presence is not None:
            check_readable(self.presence[0], "device id")
        if self.learned is not None:
            topic, facts = self.learned
            if len(topic) > MAX_TOPIC_CHARS:
                raise DecodeError(f"state topic of {len(topic)} characters is too long")
            for name, value in facts.items():
                check_readable(value, name)


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What a decoder may know beyond its message: the site's time zone, for firmware that
    sends local time without an offset (Tasmota's default), and the metadata learned from
    earlier discovery/attribute messages, by state topic."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decoder:
    """One firmware family: which topics it claims and how it reads their payloads."""

    family: str
    claims: Callable[[str], bool]
    decode: Callable[[str, bytes, DecodeContext], Decoded]
    subscriptions: tuple[str, ...]  # the MQTT topic filters ingest subscribes to for it
