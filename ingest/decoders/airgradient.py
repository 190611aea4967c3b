"""AirGradient local MQTT: `airgradient/readings/<serial>` JSON.

Compensated temperature and humidity are preferred over the raw values; a value not yet
available is missing, null or -1 (a CO2 of -1 is a failure). The payload has no time.
`wifi` is the Wi-Fi RSSI in dBm.
"""

from __future__ import annotations

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, Decoder
from ventwatch.ingest.decoders.values import checked, json_object, number, signal


def claims(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) == 3 and parts[0] == "airgradient" and parts[1] == "readings"


def _first(data: dict[str, object], *keys: str) -> float | None:
    for key in keys:
        value = number(data.get(key))
        if value is not None and value != -1:
            return value
    return None


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    data = json_object(payload)
    values = {
        "co2_ppm": _first(data, "rco2"),
        "temperature_c": _first(data, "atmpCompensated", "atmp"),
        "humidity_pct": _first(data, "rhumCompensated", "rhum"),
    }
    serial = topic.split("/")[2]
    return Decoded(
        readings=[checked(serial, None, values)],
        signal=signal(serial, _first(data, "wifi"), "dBm"),
    )


DECODER = Decoder(
    family="airgradient", claims=claims, decode=decode, subscriptions=("airgradient/readings/+",)
)
