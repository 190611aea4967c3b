"""The Things Stack v3 (LoRaWAN): uplinks on `v3/<app>@<tenant>/devices/<device>/up`.

The reading is in `uplink_message.decoded_payload`, whatever the device's payload formatter
made of it: flat fields (Milesight AM series, Elsys ERS CO2) or Decentlab's nested
`{"value", "unit"}` objects (pressure in Pa). Time is the network's `received_at`, in UTC with
nanoseconds, cut to microseconds for Python. The signal is the best gateway's RSSI
(`uplink_message.rx_metadata[].rssi`).

Milesight's AM devices keep readings taken while no gateway heard them and send them later
as `history`: an array of records, each with its own `timestamp` (UTC epoch seconds) and the
same flat fields (`Milesight-IoT/SensorDecoders`, `am-series/*/*-decoder.js`, channel 0x20
or 0x21). Each record becomes a reading at its own time, so the gap an outage left is filled
in; an uplink may carry records only. A record with nothing usable is left out and counted
(in the uplink's first reading's `dropped`); a record that is not one (no timestamp) makes the
uplink an error, as the formatter is then not the one this module reads.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ventwatch.ingest.decoders.types import (
    DecodeContext,
    Decoded,
    DecodedReading,
    DecodeError,
    Decoder,
    OutOfRangeError,
    Signal,
)
from ventwatch.ingest.decoders.units import convert, quantity_from_name
from ventwatch.ingest.decoders.values import (
    NoValue,
    carried,
    checked,
    json_object,
    number,
    signal,
)

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


def _values(decoded: dict[str, Any]) -> dict[str, float | NoValue | None]:
    # Flat fields are already in the quantity's own unit.
    values: dict[str, float | NoValue | None] = {
        q: number(decoded.get(name)) for name, q in FLAT.items()
    }
    values["co2_ppm"] = carried(decoded, "co2")
    nested = [name for name, field in decoded.items() if type(field) is dict]
    # Decentlab (`dl-lp8p.js`) sends CO2 raw and low-pass filtered (`co2_concentration_lpf`),
    # the one to keep, and temperatures of the air, the barometer and the CO2 sensor, of
    # which the air's is the room's.
    for name in sorted(nested, key=lambda n: (not n.endswith("_lpf"), not n.startswith("air_"))):
        field = decoded[name]
        quantity = quantity_from_name(name)
        value = number(field.get("value"))
        unit = field.get("unit")
        # Without a unit it is a status or a raw count (`co2_sensor_status`), not a quantity.
        if quantity is None or value is None or not isinstance(unit, str):
            continue
        if values.get(quantity) is not None:
            continue
        try:
            values[quantity] = convert(quantity, value, unit)
        except DecodeError:
            continue  # e.g. battery_voltage in V is not a battery percentage
    return values


def _history(device: str, records: Any) -> tuple[list[DecodedReading], list[DecodeError]]:
    """Milesight's retransmitted records: a reading each at its own time, and why each record
    that gave none was left out."""
    if records is None:
        return [], []
    if type(records) is not list:
        raise DecodeError("history is not an array of records")
    readings: list[DecodedReading] = []
    left_out: list[DecodeError] = []
    for i, record in enumerate(records):
        seconds = number(record.get("timestamp")) if type(record) is dict else None
        if seconds is None:
            raise DecodeError(f"history[{i}] is not a record with a timestamp")
        try:
            time = datetime.fromtimestamp(seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise DecodeError(f"history[{i}] timestamp {seconds:g} is not a time") from None
        try:
            readings.append(checked(device, time, _values(record)))
        except DecodeError as exc:
            left_out.append(type(exc)(f"history record at {time.isoformat()}: {exc}"))
    return readings, left_out


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
    found = data.get("uplink_message")
    uplink: dict[str, Any] = found if isinstance(found, dict) else {}
    decoded = uplink.get("decoded_payload")
    if not isinstance(decoded, dict):
        raise DecodeError("uplink has no decoded_payload (payload formatter missing or failed)")
    readings, left_out = _history(device, decoded.get("history"))
    values = _values(decoded)
    if any(v is not None for v in values.values()):
        try:
            readings.insert(0, checked(device, _received_at(data.get("received_at")), values))
        except DecodeError as exc:
            if not readings:
                raise
            left_out.insert(0, type(exc)(f"the uplink's own values: {exc}"))
    reasons = "; ".join(str(exc) for exc in left_out)
    if not readings:
        if not left_out:
            raise DecodeError("decoded_payload has no CO2, temperature or humidity field")
        if all(isinstance(exc, OutOfRangeError) for exc in left_out):
            raise OutOfRangeError(reasons)
        raise DecodeError(reasons)
    if left_out:
        readings[0] = replace(readings[0], dropped=(*readings[0].dropped, reasons))
    return Decoded(readings=readings, signal=_best_signal(device, uplink))


DECODER = Decoder(family="ttn", claims=claims, decode=decode, subscriptions=("v3/+/devices/+/up",))
