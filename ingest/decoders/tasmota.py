"""Tasmota: `tele/<topic>/SENSOR` telemetry JSON and `tele/<topic>/LWT` presence.

One message may hold several sensor objects (a BME280 beside an MH-Z19B): CO2 comes from the
CO2 chip, temperature and humidity preferably from the same chip. `Time` is local time with
no offset unless SetOption52 is on, so it is resolved in the site's time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder
from ventwatch.ingest.decoders.units import convert
from ventwatch.ingest.decoders.values import checked, json_object, number

# The sensor objects that carry a CO2 measurement (SCD41 reports as SCD40).
CO2_CHIPS = ("SCD30", "SCD40", "MHZ19B", "S8")


def claims(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) >= 3 and parts[-1] in ("SENSOR", "LWT") and parts[0] == "tele"


def _device(topic: str) -> str:
    return "/".join(topic.split("/")[1:-1])


def _time(raw: Any, ctx: DecodeContext) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise DecodeError(f"Time {raw!r} is not ISO 8601") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ctx.timezone)


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    device = _device(topic)
    if topic.endswith("/LWT"):
        state = payload.decode("utf-8", "replace").strip().lower()
        if state not in ("online", "offline"):
            raise DecodeError(f"LWT {state[:40]!r} is neither Online nor Offline")
        return Decoded(presence=(device, "online" if state == "online" else "offline"))

    data = json_object(payload)
    objects = [(name, v) for name, v in data.items() if type(v) is dict]
    if not objects:
        raise DecodeError("no sensor object in the message")
    # CO2 from the CO2 chip; temperature and humidity preferably from the same chip.
    objects.sort(key=lambda item: item[0] not in CO2_CHIPS)
    co2 = number(objects[0][1].get("CarbonDioxide")) if objects[0][0] in CO2_CHIPS else None
    if co2 == 0:
        # The chips' failure marker (MH-Z19B warming up, SCD30 after power loss), not fresh air.
        co2 = None
    temperature = humidity = None
    for _, fields in objects:
        if temperature is None:
            temperature = number(fields.get("Temperature"))
        if humidity is None:
            humidity = number(fields.get("Humidity"))
    if temperature is not None and data.get("TempUnit") == "F":
        temperature = convert("temperature_c", temperature, "°F")
    values = {"co2_ppm": co2, "temperature_c": temperature, "humidity_pct": humidity}
    return Decoded(readings=[checked(device, _time(data.get("Time"), ctx), values)])


DECODER = Decoder(
    family="tasmota", claims=claims, decode=decode, subscriptions=("tele/+/SENSOR", "tele/+/LWT")
)
