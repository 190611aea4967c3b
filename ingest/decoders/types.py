"""What a decoder takes and gives back: the seam between MQTT transport and payload formats.

A decoder is pure: topic and payload bytes in, readings out, no clock and no I/O. The pipeline
supplies the arrival time and maps the sensor to its room.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo


class DecodeError(ValueError):
    """The payload cannot give a usable reading; the message says why, for a person to read."""


class OutOfRangeError(DecodeError):
    """Every value the payload carried was physically impossible (a fault, not a format)."""


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
    presence: tuple[str, Literal["online", "offline"]] | None = None
    learned: tuple[str, dict[str, str]] | None = None
    # Per message, not per reading: some firmware sends it in a message of its own (ESPHome's
    # Wi-Fi signal sensor), others beside the reading (Zigbee2MQTT's linkquality).
    signal: Signal | None = None


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
