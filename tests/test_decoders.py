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
from paho.mqtt.client import topic_matches_sub

from ventwatch.config import GenericDecoderSpec
from ventwatch.ingest.decoders import (
    REGISTRY,
    DecodeContext,
    Decoded,
    DecodeError,
    _covers,
    decoder_for,
    generic,
    ha_statestream,
    subscriptions,
)

CASES = sorted((Path(__file__).parent / "testdata" / "decoders").glob("*/*.json"))
CTX = DecodeContext(timezone=ZoneInfo("Europe/London"))


def test_every_family_has_cases() -> None:
    assert {c.parent.name for c in CASES} == {d.family for d in REGISTRY} | {"generic"}


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_decoder_case(case: Path) -> None:
    spec = json.loads(case.read_text())
    # Each case names where its payload comes from: the firmware source it was read from.
    assert isinstance(spec.get("source"), str), "the case has no source"
    assert spec["source"].strip(), "the case has an empty source"
    decoders = REGISTRY
    if "generic" in spec:
        decoders = (generic.make_decoder(GenericDecoderSpec(**spec["generic"])), *REGISTRY)
    metadata = spec.get("metadata", {})
    decoder = decoder_for(spec["topic"], decoders, metadata)
    assert decoder is not None, "no decoder claims the topic"
    assert decoder.family == spec.get("generic", {}).get("name", case.parent.name)
    payload = spec["payload"].encode()
    ctx = DecodeContext(timezone=CTX.timezone, metadata=metadata)
    if "error" in spec:
        with pytest.raises(DecodeError, match=spec["error"]):
            decoder.decode(spec["topic"], payload, ctx)
        return
    decoded = decoder.decode(spec["topic"], payload, ctx)
    # What a reading left out is part of what it says: a case states it whenever there is any.
    got = [
        {
            "sensor": r.sensor,
            "time": r.time.isoformat() if r.time else None,
            "values": r.values,
            **({"dropped": list(r.dropped)} if r.dropped else {}),
            **({"missing": list(r.missing)} if r.missing else {}),
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


EVERY_TOPIC = [
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
    "ha/sensor/room_co2/device_class",
    "ha/sensor/room_co2/last_updated",
    "zigbee2mqtt/x/co2",
    "zigbee2mqtt/floor 1/x/linkquality",
]


@pytest.mark.parametrize("topic", EVERY_TOPIC)
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(topic: str, payload: bytes) -> None:
    decoder = decoder_for(topic)
    assert decoder is not None
    with contextlib.suppress(DecodeError):
        decoder.decode(topic, payload, CTX)


@pytest.mark.parametrize("topic", EVERY_TOPIC)
@pytest.mark.parametrize(
    "nested", [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 15_000 + b"1" + b"}" * 15_000]
)
def test_json_nested_too_deeply_is_a_bad_message(topic: str, nested: bytes) -> None:
    """Within the size cap, yet deeper than Python's parser recurses (RecursionError)."""
    decoder = decoder_for(topic)
    assert decoder is not None
    with contextlib.suppress(DecodeError):
        decoder.decode(topic, nested, CTX)


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
        "Epoch",
        "Pressure",
        "PressureUnit",
        "S8",
        "",
        "history",
        "timestamp",
        "atmpCompensated",
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


def family_of(topic: str, metadata: dict[str, dict[str, str]] | None = None) -> str | None:
    decoder = decoder_for(topic, REGISTRY, metadata)
    return decoder.family if decoder else None


def decode_or_none(
    topic: str, payload: bytes, metadata: dict[str, dict[str, str]] | None = None
) -> Decoded | None:
    """What the decoder that takes `topic` makes of `payload`; None for a DecodeError (or no
    decoder), the one exception a decoder may raise."""
    decoder = decoder_for(topic, REGISTRY, metadata)
    if decoder is None:
        return None
    try:
        return decoder.decode(topic, payload, DecodeContext(CTX.timezone, metadata or {}))
    except DecodeError:
        return None


# Tasmota's `Time` in each of its formats (and near misses), beside the sensor objects.
tasmota_times = st.fixed_dictionaries(
    {"Time": st.integers() | st.floats() | st.text(max_size=30) | st.datetimes().map(str)},
    optional={"Epoch": st.integers() | st.floats() | st.text(max_size=12)},
)
chip_objects = st.dictionaries(
    st.sampled_from(["SCD40", "SCD41", "", "MHZ19B", "S88", "BME280", "Global"]),
    st.dictionaries(
        st.sampled_from(["CarbonDioxide", "Temperature", "Humidity", "Pressure"]),
        json_values,
        max_size=4,
    ),
    max_size=3,
)


@given(
    time=tasmota_times,
    objects=chip_objects,
    units=st.dictionaries(st.sampled_from(["TempUnit", "PressureUnit"]), json_values, max_size=2),
)
def test_tasmota_times_and_objects_never_crash(
    time: dict[str, object], objects: dict[str, object], units: dict[str, object]
) -> None:
    decoded = decode_or_none("tele/x/SENSOR", json.dumps({**time, **objects, **units}).encode())
    assert decoded is None or all(r.values for r in decoded.readings)


@given(
    history=st.lists(
        st.dictionaries(
            st.sampled_from(["timestamp", "co2", "temperature", "humidity", "pressure"]),
            json_values,
            max_size=5,
        )
        | json_values,
        max_size=4,
    ),
    own=json_values,
)
def test_ttn_history_never_crashes(history: list[object], own: object) -> None:
    uplink = {"uplink_message": {"decoded_payload": {"history": history, "co2": own}}}
    decoded = decode_or_none("v3/app@ttn/devices/x/up", json.dumps(uplink).encode())
    assert decoded is None or all(r.values for r in decoded.readings)


level = st.text(st.characters(blacklist_characters="/+#\x00"), min_size=1, max_size=10)


@given(base=level, object_id=level, leaf=level, payload=st.binary(max_size=60))
def test_statestream_under_any_base_never_crashes(
    base: str, object_id: str, leaf: str, payload: bytes
) -> None:
    metadata = {f"{base}/sensor/{object_id}/state": {"family": "ha_statestream"}}
    decoded = decode_or_none(f"{base}/sensor/{object_id}/{leaf}", payload, metadata)
    assert decoded is None or all(r.values for r in decoded.readings)


def test_unclaimed_topics() -> None:
    for topic in [
        "zigbee2mqtt/bridge/state",
        "homeassistant/x",
        "tele/x/STATE",
        "zigbee2mqtt/x/set",
        "zigbee2mqtt/x/set/state",
        "zigbee2mqtt/floor 1/x/l1/get/co2",
        "homeassistant/sensor/room_co2/config",
    ]:
        assert decoder_for(topic) is None, topic


def test_a_state_topic_goes_where_its_siblings_said() -> None:
    """`ha/sensor/co2/state` looks like ESPHome's until statestream's attribute topics say it
    is theirs: from then on (the pipeline keeps what they taught) statestream decodes it."""
    topic = "ha/sensor/room_4_co2/state"
    assert family_of(topic) == "esphome"
    sibling = "ha/sensor/room_4_co2/device_class"
    assert family_of(sibling) == "ha_statestream"
    decoded = decode_or_none(sibling, b'"carbon_dioxide"')
    assert decoded is not None
    assert decoded.learned is not None
    state_topic, facts = decoded.learned
    assert state_topic == topic
    assert family_of(topic, {state_topic: facts}) == "ha_statestream"


def test_subscriptions_do_not_overlap() -> None:
    """A broker may deliver a message once per matching filter: with `+/sensor/+/+` (any
    statestream base) ESPHome's `+/sensor/+/state` and the listed bases' filters go."""
    filters = subscriptions(REGISTRY)
    assert "+/sensor/+/+" in filters
    assert "+/sensor/+/state" not in filters
    assert "homeassistant/sensor/+/+" not in filters
    assert "homeassistant/sensor/+/+/config" in filters
    site_bases = ha_statestream.make_decoder(("ha/stream", "homeassistant"))
    assert "ha/stream/sensor/+/+" in subscriptions((site_bases,))


filter_level = st.sampled_from(["a", "b", "sensor", "+"])


@given(
    general=st.lists(filter_level, min_size=1, max_size=4).map("/".join)
    | st.lists(filter_level, max_size=3).map(lambda ls: "/".join([*ls, "#"])),
    specific=st.lists(filter_level, min_size=1, max_size=4).map("/".join),
    topic_levels=st.lists(st.sampled_from(["a", "b", "sensor", "x"]), min_size=1, max_size=5),
)
def test_a_covered_filter_matches_nothing_its_cover_misses(
    general: str, specific: str, topic_levels: list[str]
) -> None:
    topic = "/".join(topic_levels)
    if _covers(general, specific) and topic_matches_sub(specific, topic):
        assert topic_matches_sub(general, topic)
