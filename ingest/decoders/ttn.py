"""The Things Stack v3 (LoRaWAN): uplinks on `v3/<app>@<tenant>/devices/<device>/up`.

The reading is in `uplink_message.decoded_payload`, whatever the device's payload formatter
made of it: flat fields (Milesight AM series, Elsys ERS CO2) or Decentlab's nested
`{"value", "unit"}` objects (pressure in Pa). Time is the network's `received_at`, in UTC with
nanoseconds, cut to microseconds for Python. The signal is the best gateway's RSSI
(`uplink_message.rx_metadata[].rssi`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder, Signal
from ventwatch.ingest.decoders.units import convert, quantity_from_name
from ventwatch.ingest.decoders.values import checked, json_object, number, signal

TOPIC = re.compile(r"^v3/[^/]+/devices/[^/]+/up$")
# Flat field name -> quantity (ppm, °C, %, hPa, %). Unknown names are ignored: devices send
# many extras.
FLAT: dict[str, str] = {
    "co2": "co2_ppm",
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "pressure": "pressure_hpa",
    "battery": "battery_pct",  # Milesight: percent. Elsys sends `vdd` in mV instead.
}


def claims(topic: str) -> bool:
    return TOPIC.match(topic) is not None


def _received_at(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    # 2026-11-17T10:15:03.123456789Z: Python takes at most microseconds.
    head, dot, tail = raw.partition(".")
    if dot:
        rest = tail.lstrip("0123456789")
        raw_text = f"{head}.{tail[: min(6, len(tail) - len(rest))]}{rest}"
    else:
        raw_text = raw
    text = raw_text[:-1] + "+00:00" if raw_text.endswith("Z") else raw_text
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise DecodeError(f"received_at {raw[:40]!r} is not ISO 8601") from None


def _values(decoded: dict[str, Any]) -> dict[str, float | None]:
    # Flat fields are already in the quantity's own unit.
    values: dict[str, float | None] = {q: number(decoded.get(name)) for name, q in FLAT.items()}
    nested = [name for name, field in decoded.items() if type(field) is dict]
    # Decentlab sends raw and filtered CO2: the filtered one is the one to keep.
    for name in sorted(nested, key=lambda n: "filtered" not in n):
        field = decoded[name]
        quantity = quantity_from_name(name)
        value = number(field.get("value"))
        if quantity is None or value is None or values.get(quantity) is not None:
            continue
        unit = field.get("unit")
        try:
            values[quantity] = convert(quantity, value, unit if isinstance(unit, str) else None)
        except DecodeError:
            continue  # e.g. battery_voltage in V is not a battery percentage
    return values


def _best_signal(device: str, uplink: dict[str, Any]) -> Signal | None:
    """The strongest gateway's RSSI: the uplink got through as well as its best hop, and a
    device heard by a second, weaker gateway is no worse off for it."""
    gateways = uplink.get("rx_metadata")
    if type(gateways) is not list:
        return None
    heard = [
        found
        for gateway in gateways
        if type(gateway) is dict
        and (found := signal(device, gateway.get("rssi", gateway.get("channel_rssi")), "dBm"))
    ]
    return max(heard, key=lambda s: s.value, default=None)


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    data = json_object(payload)
    ids = data.get("end_device_ids")
    device = ids.get("device_id") if isinstance(ids, dict) else None
    if not isinstance(device, str) or not device:
        device = topic.split("/")[3]
    uplink = data.get("uplink_message")
    decoded = uplink.get("decoded_payload") if isinstance(uplink, dict) else None
    if not isinstance(decoded, dict):
        raise DecodeError("uplink has no decoded_payload (payload formatter missing or failed)")
    values = _values(decoded)
    if not any(v is not None for v in values.values()):
        raise DecodeError("decoded_payload has no CO2, temperature or humidity field")
    return Decoded(
        readings=[checked(device, _received_at(data.get("received_at")), values)],
        signal=_best_signal(device, uplink),  # a dict: decoded_payload came out of it
    )


DECODER = Decoder(family="ttn", claims=claims, decode=decode, subscriptions=("v3/+/devices/+/up",))
