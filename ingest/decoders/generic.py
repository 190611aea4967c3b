"""A JSON decoder configured in the site file, for firmware ventwatch has no module for.

    decoders:
      generic:
        - name: school-air              # the family name the site's sensors use
          topic: school/+/air           # an MQTT topic filter (+ one level, # the rest)
          sensor_topic_level: 1         # the sensor id is topic level 1 ...
          # sensor_path: $.device.id    # ... or a field of the payload
          time_path: $.ts               # optional: ISO 8601, or epoch seconds / milliseconds
          values:
            co2_ppm: {path: $.co2}
            temperature_c: {path: $.env.temp, unit: °F}

Paths are the simple subset of JSONPath every firmware needs: `$.a.b[0].c`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from paho.mqtt.client import topic_matches_sub

from ventwatch.config import GenericDecoderSpec
from ventwatch.ingest.decoders.types import DecodeContext, Decoded, DecodeError, Decoder
from ventwatch.ingest.decoders.units import convert
from ventwatch.ingest.decoders.values import NoValue, carried, checked, json_object, number

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def path_steps(path: str) -> list[str | int]:
    """`$.a.b[0]` -> ["a", "b", 0]; the config loader has already checked the syntax."""
    return [name if name else int(index) for name, index in _STEP.findall(path[1:])]


# What `lookup` gives for a path the payload does not have, where None would be JSON null.
ABSENT: Final = object()


def lookup(data: Any, steps: list[str | int], absent: Any = None) -> Any:
    for step in steps:
        if isinstance(step, int) and isinstance(data, list) and step < len(data):
            data = data[step]
        elif isinstance(step, str) and isinstance(data, dict) and step in data:
            data = data[step]
        else:
            return absent
    return data


def _time(raw: Any, tz: Any) -> datetime | None:
    if raw is None:
        return None
    seconds = number(raw)
    if seconds is not None:
        # Epoch milliseconds are 1000x larger than any plausible epoch seconds.
        try:
            return datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise DecodeError(f"time {raw!r} is not a time") from None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise DecodeError(f"time {raw[:40]!r} is not ISO 8601 or epoch") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise DecodeError(f"time field is a {type(raw).__name__}, not a time")


def make_decoder(spec: GenericDecoderSpec) -> Decoder:
    value_steps = {q: (v.path, path_steps(v.path), v.unit) for q, v in spec.values.items()}
    sensor_steps = path_steps(spec.sensor_path) if spec.sensor_path else None
    time_steps = path_steps(spec.time_path) if spec.time_path else None

    def claims(topic: str) -> bool:
        return topic_matches_sub(spec.topic, topic)

    def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
        data = json_object(payload)
        if sensor_steps is not None:
            sensor = lookup(data, sensor_steps)
            if isinstance(sensor, int | float) and not isinstance(sensor, bool):
                sensor = str(sensor)
        else:
            levels = topic.split("/")
            level = spec.sensor_topic_level or 0
            sensor = levels[level] if level < len(levels) else None
        if not isinstance(sensor, str) or not sensor:
            raise DecodeError("no sensor id at the configured place")
        values: dict[str, float | NoValue | None] = {}
        for quantity, (path, steps, unit) in value_steps.items():
            raw = lookup(data, steps, ABSENT)
            if raw is ABSENT:
                continue
            # CO2 is read as every built-in decoder reads it: a field there but empty counts.
            value = carried({path: raw}, path) if quantity == "co2_ppm" else number(raw)
            values[quantity] = convert(quantity, value, unit) if type(value) is float else value
        time = _time(lookup(data, time_steps), ctx.timezone) if time_steps else None
        return Decoded(readings=[checked(sensor, time, values)])

    return Decoder(family=spec.name, claims=claims, decode=decode, subscriptions=(spec.topic,))
