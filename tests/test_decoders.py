"""Every decoder case under testdata/decoders/<family>/<case>.json, walked by one test:
topic and payload in, readings (or presence, a signal, or an error) out. Plus fuzzing: no
input makes a decoder raise anything but DecodeError."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ventwatch.config import GenericDecoderSpec
from ventwatch.ingest.decoders import REGISTRY, DecodeContext, DecodeError, decoder_for, generic

CASES = sorted((Path(__file__).parent / "testdata" / "decoders").glob("*/*.json"))
CTX = DecodeContext(timezone=ZoneInfo("Europe/London"))


def test_every_family_has_cases() -> None:
    assert {c.parent.name for c in CASES} == {d.family for d in REGISTRY} | {"generic"}


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_decoder_case(case: Path) -> None:
    spec = json.loads(case.read_text())
    decoders = REGISTRY
    if "generic" in spec:
        decoders = (generic.make_decoder(GenericDecoderSpec(**spec["generic"])), *REGISTRY)
    decoder = decoder_for(spec["topic"], decoders)
    assert decoder is not None, "no decoder claims the topic"
    assert decoder.family == spec.get("generic", {}).get("name", case.parent.name)
    payload = spec["payload"].encode()
    ctx = DecodeContext(timezone=CTX.timezone, metadata=spec.get("metadata", {}))
    if "error" in spec:
        with pytest.raises(DecodeError, match=spec["error"]):
            decoder.decode(spec["topic"], payload, ctx)
        return
    decoded = decoder.decode(spec["topic"], payload, ctx)
    got = [
        {
            "sensor": r.sensor,
            "time": r.time.isoformat() if r.time else None,
            "values": r.values,
        }
        for r in decoded.readings
    ]
    expected = spec.get("expect", [])
    # Times compare as instants, whatever the offset they are written with.
    for g, e in zip(got, expected, strict=True):
        if e["time"] is not None:
            assert datetime.fromisoformat(g["time"]) == datetime.fromisoformat(e["time"])
            assert g["time"] is not None
            g["time"] = e["time"] = "checked"
        assert g == e
    assert list(decoded.presence or []) == spec.get("presence", [])
    assert list(decoded.learned or []) == spec.get("learned", [])
    # Strict: a case whose payload carries a signal must say which one it expects.
    assert (asdict(decoded.signal) if decoded.signal else None) == spec.get("signal")


@pytest.mark.parametrize(
    "topic",
    [
        "tele/x/SENSOR",
        "tele/x/LWT",
        "zigbee2mqtt/x",
        "zigbee2mqtt/x/availability",
        "airgradient/readings/x",
        "v3/app@ttn/devices/x/up",
        "home/gw/BTtoMQTT/AA",
        "node/sensor/co2/state",
        "node/status",
        "homeassistant/sensor/node/co2/config",
        "homeassistant/sensor/room_co2/state",
        "homeassistant/sensor/room_co2/unit_of_measurement",
    ],
)
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(topic: str, payload: bytes) -> None:
    decoder = decoder_for(topic)
    assert decoder is not None
    with contextlib.suppress(DecodeError):
        decoder.decode(topic, payload, CTX)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
known_keys = st.sampled_from(
    [
        "Time",
        "SCD40",
        "MHZ19B",
        "TempUnit",
        "co2",
        "temperature",
        "last_seen",
        "rco2",
        "atmp",
        "CarbonDioxide",
        "Temperature",
        "humidity",
        "battery",
        "state",
    ]
)


@pytest.mark.parametrize(
    "topic",
    [
        "tele/x/SENSOR",
        "zigbee2mqtt/x",
        "airgradient/readings/x",
        "v3/app@ttn/devices/x/up",
        "home/gw/BTtoMQTT/AA",
        "homeassistant/sensor/node/co2/config",
    ],
)
@given(data=st.dictionaries(known_keys | st.text(max_size=8), json_values, max_size=6))
def test_arbitrary_json_never_crashes(topic: str, data: dict[str, object]) -> None:
    decoder = decoder_for(topic)
    assert decoder is not None
    try:
        decoded = decoder.decode(topic, json.dumps(data).encode(), CTX)
    except DecodeError:
        return
    for reading in decoded.readings:
        assert reading.values, "a reading without values must be a DecodeError instead"


def test_unclaimed_topics() -> None:
    for topic in [
        "zigbee2mqtt/bridge/state",
        "homeassistant/x",
        "tele/x/STATE",
        "zigbee2mqtt/x/set",
    ]:
        assert decoder_for(topic) is None
