"""Which quantity a value is, and in what unit, for firmware that sends one bare value per
topic (ESPHome, Home Assistant statestream) or names its own units (Decentlab, generic JSON).

Home Assistant's device classes and units are the shared vocabulary; without them the
quantity is guessed from the entity's name, the way a person reading the topic would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ventwatch.ingest.decoders.types import MAX_ID_CHARS, DecodeError

DEVICE_CLASSES: dict[str, str] = {
    "carbon_dioxide": "co2_ppm",
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "pressure": "pressure_hpa",
    "atmospheric_pressure": "pressure_hpa",
    "battery": "battery_pct",
}

# Words in an entity or field name -> quantity, tried in this order.
NAME_WORDS: tuple[tuple[str, str], ...] = (
    ("co2", "co2_ppm"),
    ("carbon_dioxide", "co2_ppm"),
    ("temperature", "temperature_c"),
    ("temp", "temperature_c"),
    ("humidity", "humidity_pct"),
    ("pressure", "pressure_hpa"),
    ("battery", "battery_pct"),
)


def _same(v: float) -> float:
    return v


# quantity -> unit as written by firmware -> conversion into the quantity's unit.
CONVERSIONS: dict[str, dict[str, Callable[[float], float]]] = {
    "co2_ppm": {"ppm": _same},
    "temperature_c": {
        "°c": _same,
        "c": _same,
        "°f": lambda v: round((v - 32.0) * 5.0 / 9.0, 2),
        "f": lambda v: round((v - 32.0) * 5.0 / 9.0, 2),
        "k": lambda v: round(v - 273.15, 2),
    },
    "humidity_pct": {"%": _same, "%rh": _same},
    "pressure_hpa": {
        "hpa": _same,
        "mbar": _same,
        "pa": lambda v: v / 100.0,
        "kpa": lambda v: v * 10.0,
    },
    "battery_pct": {"%": _same},
}


def quantity_from_name(name: str) -> str | None:
    """The quantity an entity or field name suggests: `co2`, `room_4_temperature`, ...; none
    for a name longer than any firmware's, which also keeps the cache below small whatever
    a payload calls its fields (a 60 KB key would be kept 4,096 times over)."""
    return None if len(name) > MAX_ID_CHARS else _quantity_from_name(name)


@lru_cache(maxsize=4096)  # a site has few distinct names, and each arrives again and again
def _quantity_from_name(name: str) -> str | None:
    lowered = name.lower()
    words = set(re.split(r"[^a-z0-9]+", lowered))
    for word, quantity in NAME_WORDS:
        if word in words or (word in ("co2", "carbon_dioxide") and word in lowered):
            return quantity
    return None


def quantity_of(device_class: str | None, name: str) -> str | None:
    if device_class:
        return DEVICE_CLASSES.get(device_class.lower())
    return quantity_from_name(name)


def convert(quantity: str, value: float, unit: str | None) -> float:
    """`value` in `unit` -> the quantity's own unit; no unit means it is already in it."""
    if unit is None or not unit.strip():
        return value
    table = CONVERSIONS[quantity]
    key = unit.strip().lower().replace(" ", "")
    if key not in table:
        raise DecodeError(f"unit {unit!r} is not one ventwatch converts for {quantity}")
    return table[key](value)
