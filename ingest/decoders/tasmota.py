"""Tasmota: `tele/<topic>/SENSOR` telemetry JSON and `tele/<topic>/LWT` presence.

One message holds an object per sensor driver, named by the driver: `SCD30`; `SCD40`, `SCD41`
or `SCD43` by the SCD4x's variant register (`xsns_92_scd40.ino`; a variant it has no name for
gives an empty name, and older releases wrote `SCD40` for all); `MHZ19B` for every MH-Z19;
`Kx0`, `S8` or `S88` for SenseAir. Whatever the name, an object with a `CarbonDioxide` key is a
CO2 chip, so a chip or name this module has never heard of still gives its CO2. Temperature and
humidity come from the CO2 chip's own object first, else from another (a BME280 beside an
MH-Z19B), and pressure from whichever object has it, in the top-level `PressureUnit` (hPa,
mmHg or inHg: SetOption24 and SetOption139).

`CarbonDioxide: 0` is never air: it is what the drivers report before their first reading
and, for the MH-Z19B, after eight unanswered reads, when the driver also resets `Temperature`
to 0. That pair is a reset and gives neither value; a 0 alone leaves the temperature good. Both
are counted as a CO2 field without a measurement (`DecodedReading.missing`).

Time (`ResponseGetTime` in `support_tasmota.ino`, format set by the `Time` command 1-4):
`"Time"` as local ISO time, with an offset only under SetOption52, and `.123` milliseconds
with `Time 4`; `Time 2` adds `"Epoch"` (UTC seconds); `Time 3` writes `"Time"` itself as UTC
epoch seconds. Epoch seconds win, being unambiguous; a local time without an offset is
resolved in the site's time zone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder
from ventwatch.ingest.decoders.units import convert
from ventwatch.ingest.decoders.values import NoValue, carried, checked, json_object, number

CO2 = "CarbonDioxide"
NOT_MEASURED = {
    0.0: "not a measurement (the driver's value before its first reading or after it lost the chip)"
}
# PressureUnit as Tasmota writes it (English builds) -> hPa.
PRESSURE_UNITS = {"hPa": 1.0, "mmHg": 1 / 0.75006375541921, "inHg": 1 / 0.02952998016471}


def claims(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) >= 3 and parts[-1] in ("SENSOR", "LWT") and parts[0] == "tele"


def _device(topic: str) -> str:
    return "/".join(topic.split("/")[1:-1])


def _epoch(raw: float) -> datetime:
    try:
        return datetime.fromtimestamp(raw, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise DecodeError(f"epoch {raw:g} is not a time") from None


def _time(data: dict[str, Any], ctx: DecodeContext) -> datetime | None:
    epoch = number(data.get("Epoch"))
    if epoch is not None:
        return _epoch(epoch)
    raw = data.get("Time")
    if type(raw) is not str:
        seconds = number(raw)
        return None if seconds is None else _epoch(seconds)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise DecodeError(f"Time {raw[:40]!r} is not ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ctx.timezone)


def _co2_chip(
    objects: list[tuple[str, dict[str, Any]]],
) -> tuple[dict[str, Any], float | NoValue | None]:
    """The CO2 chip's object and its CO2 (None without a chip): the first chip with a
    measurement, else the first chip, so that a device with two chips still gives a CO2 while
    one of them fails."""
    failing: tuple[dict[str, Any], NoValue] | None = None
    for _, fields in objects:
        if CO2 not in fields:
            continue
        co2 = carried(fields, CO2, NOT_MEASURED)
        if not isinstance(co2, NoValue):
            return fields, co2
        failing = failing or (fields, co2)
    return failing or ({}, None)


def _first(objects: list[dict[str, Any]], key: str) -> float | None:
    for fields in objects:
        value = number(fields.get(key))
        if value is not None:
            return value
    return None


def _pressure(objects: list[tuple[str, dict[str, Any]]], unit: Any) -> float | NoValue | None:
    """The first object's `Pressure`, in hPa. A unit this module does not know (a translated
    build names them in its language) leaves the pressure out, counted, not misread."""
    for _, fields in objects:
        found = number(fields.get("Pressure"))
        if found is None:
            continue
        named = "hPa" if unit is None else unit
        factor = PRESSURE_UNITS.get(named) if isinstance(named, str) else None
        if factor is None:
            return NoValue(
                f"PressureUnit {json.dumps(unit, ensure_ascii=False)[:20]} is not hPa, mmHg or inHg"
            )
        return round(found * factor, 2)
    return None


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
    chip, co2 = _co2_chip(objects)
    # The chip's own temperature and humidity first; an MH-Z19B reset (CO2 and Temperature
    # both 0) measured neither, so then only the other objects' count.
    reset = (
        isinstance(co2, NoValue)
        and number(chip.get(CO2)) == 0
        and number(chip.get("Temperature")) == 0
    )
    others = [fields for _, fields in objects if fields is not chip]
    order = others if reset else [chip, *others]
    temperature = _first(order, "Temperature")
    humidity = _first(order, "Humidity")
    if temperature is not None and data.get("TempUnit") == "F":
        temperature = convert("temperature_c", temperature, "°F")
    values = {
        "co2_ppm": co2,
        "temperature_c": temperature,
        "humidity_pct": humidity,
        "pressure_hpa": _pressure(objects, data.get("PressureUnit")),
    }
    return Decoded(readings=[checked(device, _time(data, ctx), values)])


DECODER = Decoder(
    family="tasmota", claims=claims, decode=decode, subscriptions=("tele/+/SENSOR", "tele/+/LWT")
)
