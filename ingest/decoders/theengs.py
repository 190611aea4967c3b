"""Theengs Gateway / OpenMQTTGateway: BLE monitors such as the Aranet4, decoded to JSON on
`.../BTtoMQTT/<MAC>`. The sensor is the `id` field (the MAC with colons). No timestamp.
`rssi` is the BLE signal at the gateway, in dBm.

An advertisement without readings (the Aranet4's "smart home integrations" off) has nothing
usable and is reported as such, so the site manager can switch the setting on.
"""

from __future__ import annotations

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder
from ventwatch.ingest.decoders.units import convert
from ventwatch.ingest.decoders.values import carried, checked, json_object, number, signal


def claims(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) >= 3 and parts[-2] == "BTtoMQTT"


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    data = json_object(payload)
    sensor = data.get("id")
    if not isinstance(sensor, str) or not sensor:
        sensor = topic.split("/")[-1]
    temperature = number(data.get("tempc"))
    fahrenheit = number(data.get("tempf"))
    if temperature is None and fahrenheit is not None:
        temperature = convert("temperature_c", fahrenheit, "°F")
    values = {
        "co2_ppm": carried(data, "co2"),
        "temperature_c": temperature,
        "humidity_pct": number(data.get("hum")),
        "pressure_hpa": number(data.get("pres")),
        "battery_pct": number(data.get("batt")),
    }
    if all(v is None for v in values.values()):
        raise DecodeError("advertisement without readings (enable the monitor's integrations)")
    return Decoded(
        readings=[checked(sensor, None, values)],
        signal=signal(sensor, data.get("rssi"), "dBm"),
    )


DECODER = Decoder(family="theengs", claims=claims, decode=decode, subscriptions=("+/+/BTtoMQTT/+",))
