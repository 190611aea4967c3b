"""AirGradient local MQTT: `airgradient/readings/<serial>` JSON, every 60 s.

The serial is taken from the topic: firmware 3.0.x sends no `serialno` in its MQTT payload
(and snake_case keys such as `pm003_count`, `tvoc_index`), 3.1 and later send one. The CO2,
temperature and humidity keys are the same in all: `rco2`, `atmp`, `rhum`, and from 3.1 on
`atmpCompensated` / `rhumCompensated`, which are preferred. A value the firmware does not have
is left out of the JSON. Older builds wrote their invalid values instead (`src/Main/utils.cpp`
and the 3.0.x sketches): -1 for CO2 and humidity, -1000 or -1001 for temperature; 3.0.x ONE
builds also set CO2 to 1 after three failed reads of the S8. A CO2 marker is counted as a CO2
field without a measurement; the others are left out. `rco2` is an average since 3.1.13 and
may be fractional. The payload has no time. `wifi` is the Wi-Fi RSSI in dBm.
"""

from __future__ import annotations

from typing import Any

from ventwatch.ingest.decoders.types import DecodeContext, Decoded, Decoder
from ventwatch.ingest.decoders.values import carried, checked, json_object, number, signal

CO2_MARKERS = {
    -1.0: "the firmware has no CO2 value (its invalid value)",
    1.0: "the S8 failed three reads in a row (3.0.x firmware's marker)",
}
# Below this a temperature is the firmware's invalid value (-1000; -1001 before 3.1).
INVALID_TEMPERATURE = -1000.0


def claims(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) == 3 and parts[0] == "airgradient" and parts[1] == "readings"


def _first(data: dict[str, Any], keys: tuple[str, str], invalid_at_or_below: float) -> float | None:
    for key in keys:
        value = number(data.get(key))
        if value is not None and value > invalid_at_or_below:
            return value
    return None


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    data = json_object(payload)
    values = {
        "co2_ppm": carried(data, "rco2", CO2_MARKERS),
        "temperature_c": _first(data, ("atmpCompensated", "atmp"), INVALID_TEMPERATURE),
        "humidity_pct": _first(data, ("rhumCompensated", "rhum"), -1.0),
    }
    serial = topic.split("/")[2]
    return Decoded(
        readings=[checked(serial, None, values)],
        signal=signal(serial, data.get("wifi"), "dBm"),
    )


DECODER = Decoder(
    family="airgradient", claims=claims, decode=decode, subscriptions=("airgradient/readings/+",)
)
