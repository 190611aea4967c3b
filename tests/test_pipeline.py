"""Ingest's pipeline without the network: every message gets an outcome, bad ones are kept."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ventwatch.config import SiteConfig, load_site
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 15, 30, tzinfo=UTC)


def tasmota(co2: float, time: str = "2026-11-17T10:15:00") -> bytes:
    return json.dumps({"Time": time, "SCD40": {"CarbonDioxide": co2, "Temperature": 21.0}}).encode()


@pytest.fixture
def site(example_site_path: Path) -> SiteConfig:
    return load_site(example_site_path)


@pytest.fixture
def pipeline(site: SiteConfig, tmp_path: Path) -> Pipeline:
    return Pipeline(site, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)


def msg(topic: str, payload: bytes) -> Message:
    return Message(topic, payload, NOW)


def test_good_message_is_stored_under_its_room(pipeline: Pipeline) -> None:
    assert pipeline.process([msg("tele/room-4-co2/SENSOR", tasmota(950))]) == 1
    latest = pipeline.writer.store.latest(NOW - timedelta(hours=1))
    assert latest["Room 4"].co2_ppm == 950
    assert latest["Room 4"].time == datetime(2026, 11, 17, 10, 15, tzinfo=UTC)
    assert pipeline.outcomes()["counts"]["stored"] == 1


def test_redelivery_is_counted_as_duplicate(pipeline: Pipeline) -> None:
    m = msg("tele/room-4-co2/SENSOR", tasmota(950))
    pipeline.process([m, m])
    pipeline.process([m])
    counts = pipeline.outcomes()["counts"]
    assert (counts["stored"], counts["duplicate"]) == (1, 2)


@pytest.mark.parametrize(
    ("topic", "payload", "outcome", "reason"),
    [
        ("tele/room-4-co2/SENSOR", b"{not json", "undecodable", "not JSON"),
        (
            "tele/room-4-co2/SENSOR",
            b'{"SCD40": {"CarbonDioxide": 99999}}',
            "out_of_range",
            "outside",
        ),
        ("tele/cupboard/SENSOR", tasmota(700), "unknown_sensor", "'cupboard' is not in the site"),
        ("weather/outside", b"12", "unclaimed_topic", "no decoder"),
        ("tele/room-4-co2/SENSOR", tasmota(700, "2026-11-17T11:15:00"), "time_off", "far from"),
    ],
)
def test_bad_messages_are_counted_and_kept(
    pipeline: Pipeline, topic: str, payload: bytes, outcome: str, reason: str
) -> None:
    assert pipeline.process([msg(topic, payload)]) == 0
    snap = pipeline.outcomes()
    assert snap["counts"][outcome] == 1
    kept = snap["quarantine"][0]
    assert kept["topic"] == topic
    assert kept["outcome"] == outcome
    assert reason in kept["reason"]
    assert kept["payload"] == payload.decode()


def test_out_of_range_value_is_kept_and_the_rest_stored(pipeline: Pipeline) -> None:
    assert pipeline.process([msg("tele/room-4-co2/SENSOR", tasmota(99_999))]) == 1
    assert pipeline.writer.store.latest(NOW - timedelta(hours=1))["Room 4"].co2_ppm is None
    snap = pipeline.outcomes()
    assert snap["counts"]["out_of_range"] == 1
    assert "co2_ppm=99999 outside" in snap["quarantine"][0]["reason"]


def test_unknown_sensor_is_listed_as_unassigned(pipeline: Pipeline) -> None:
    pipeline.process([msg("tele/cupboard/SENSOR", tasmota(700))])
    (item,) = [s for s in pipeline.router.sensors.snapshot() if s.room is None]
    assert (item.family, item.device, item.values["co2_ppm"]) == (
        "tasmota",
        "cupboard",
        700,
    )


def test_another_site_s_sensor_is_left_to_that_site(site: SiteConfig, tmp_path: Path) -> None:
    """Sites of one process on one broker hear each other's sensors: not unknown ones here."""
    pipeline = Pipeline(
        site,
        DuckDBStore(tmp_path / "s.duckdb"),
        clock=lambda: NOW,
        other_sites=frozenset({("tasmota", "cupboard")}),
    )
    stored = pipeline.process(
        [msg("tele/cupboard/SENSOR", tasmota(700)), msg("tele/attic/SENSOR", tasmota(710))]
    )
    snap = pipeline.outcomes()
    assert stored == 0
    assert (snap["counts"]["other_site"], snap["counts"]["unknown_sensor"]) == (1, 1)
    assert [q["topic"] for q in snap["quarantine"]] == ["tele/attic/SENSOR"]
    assert [s.device for s in pipeline.router.sensors.snapshot() if s.room is None] == ["attic"]


def test_presence_is_tracked_not_stored(pipeline: Pipeline) -> None:
    pipeline.process([msg("tele/room-4-co2/LWT", b"Offline")])
    assert dict(pipeline.router.presence.items()) == {("tasmota", "room-4-co2"): "offline"}
    assert pipeline.outcomes()["counts"]["presence"] == 1


def test_quarantine_is_bounded(site: SiteConfig, tmp_path: Path) -> None:
    from ventwatch.ingest.quarantine import Quarantine

    p = Pipeline(
        site, DuckDBStore(tmp_path / "s.duckdb"), quarantine=Quarantine(keep=5, payload_limit=10)
    )
    p.process([msg("tele/room-4-co2/SENSOR", b"x" * 100) for _ in range(20)])
    snap = p.outcomes()
    assert snap["counts"]["undecodable"] == 20
    assert len(snap["quarantine"]) == 5
    assert all(len(q["payload"]) == 10 for q in snap["quarantine"])


def test_zigbee_cached_state_repeat_is_not_a_new_reading(site: SiteConfig, tmp_path: Path) -> None:
    clock = [NOW]
    p = Pipeline(site, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: clock[0])
    state = {"co2": 956, "temperature": 20.4, "linkquality": 132}
    topic = "zigbee2mqtt/Music CO2"

    def send(**changes: object) -> None:
        p.process([Message(topic, json.dumps({**state, **changes}).encode(), clock[0])])

    send()
    clock[0] += timedelta(seconds=30)
    send(linkquality=90)  # only the radio link changed: the same cached state
    clock[0] += timedelta(seconds=30)
    send(co2=990)  # a new measurement
    clock[0] += timedelta(minutes=11)
    send(co2=990)  # unchanged, but past the repeat window: stored so the room stays live
    counts = p.outcomes()["counts"]
    assert (counts["stored"], counts["duplicate"]) == (3, 1)


def test_a_decoder_bug_costs_one_message_not_the_process(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("bug")

    decoders = tuple(
        replace(d, decode=broken) if d.family == "tasmota" else d for d in pipeline.router.decoders
    )
    monkeypatch.setattr(pipeline.router, "decoders", decoders)
    assert pipeline.process([msg("tele/room-4-co2/SENSOR", tasmota(700))]) == 0
    assert "decoder failed" in pipeline.outcomes()["quarantine"][0]["reason"]
    assert pipeline.process([msg("zigbee2mqtt/Music CO2", b'{"co2": 700}')]) == 1


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "room", "kept"),
    [
        (
            "tele/room-4-co2/SENSOR",
            b'{"Time": "2026-11-17T10:15:00", "MHZ19B": {"Model": "B", "CarbonDioxide": 0,'
            b' "Temperature": 22.0}, "TempUnit": "C"}',
            "CarbonDioxide 0: not a measurement",
            "Room 4",
            {"temperature_c": 22.0},
        ),
        (
            "zigbee2mqtt/Music CO2",
            b'{"co2": null, "temperature": 19.5, "humidity": 41}',
            "co2 is null",
            "Music",
            {"temperature_c": 19.5, "humidity_pct": 41.0},
        ),
    ],
)
def test_a_co2_field_without_a_measurement_is_counted_and_the_rest_stored(
    pipeline: Pipeline,
    topic: str,
    payload: bytes,
    reason: str,
    room: str,
    kept: dict[str, float],
) -> None:
    """A failing CO2 chip beside a good thermometer: the temperature is a reading, but the
    message must not pass for a healthy one, so it is counted and kept with the reason."""
    assert pipeline.process([msg(topic, payload)]) == 1
    latest = pipeline.writer.store.latest(NOW - timedelta(hours=1))[room]
    assert latest.co2_ppm is None
    assert {k: getattr(latest, k) for k in kept} == kept
    snap = pipeline.outcomes()
    assert (snap["counts"]["no_value"], snap["counts"]["stored"]) == (1, 1)
    (held,) = snap["quarantine"]
    assert (held["outcome"], held["topic"]) == ("no_value", topic)
    assert reason in held["reason"]
    (seen,) = [s for s in pipeline.router.sensors.snapshot() if s.room == room]
    assert seen.counts["no_value"] == 1


def test_statestream_under_an_unlisted_base_is_told_by_its_siblings(pipeline: Pipeline) -> None:
    """`ha/sensor/<id>/state` has ESPHome's shape; once statestream's attribute topic has
    said whose it is, the same state topic decodes as statestream's (the pipeline keeps what
    the attribute taught and routes by it)."""
    state = "ha/sensor/room_4_co2/state"
    pipeline.process([msg(state, b"1034")])
    pipeline.process([msg("ha/sensor/room_4_co2/device_class", b'"carbon_dioxide"')])
    pipeline.process([msg(state, b"1040")])
    unassigned = {
        (s.family, s.device) for s in pipeline.router.sensors.snapshot() if s.room is None
    }
    assert unassigned == {("esphome", "ha"), ("ha_statestream", "room_4_co2")}
    assert pipeline.outcomes()["counts"]["metadata"] == 1


def test_zigbee_attribute_copies_of_a_json_state_are_not_stored_twice(pipeline: Pipeline) -> None:
    """`output: attribute_and_json` publishes the state as JSON, then each value again on its
    own topic: the measurement is stored once, from the JSON."""
    pipeline.process(
        [
            msg("zigbee2mqtt/Music CO2", b'{"co2": 990, "temperature": 20.1}'),
            msg("zigbee2mqtt/Music CO2/co2", b"990"),
            msg("zigbee2mqtt/Music CO2/temperature", b"20.1"),
        ]
    )
    assert pipeline.outcomes()["counts"]["stored"] == 1


def test_zigbee_attribute_output_alone_gives_readings(pipeline: Pipeline) -> None:
    """`output: attribute`: each value on its own topic is a reading of its own, at its
    arrival (as ESPHome's one-value topics are)."""
    later = NOW + timedelta(milliseconds=3)
    stored = pipeline.process(
        [
            msg("zigbee2mqtt/Music CO2/co2", b"990"),
            Message("zigbee2mqtt/Music CO2/temperature", b"20.1", later),
        ]
    )
    assert stored == 2
    latest = pipeline.writer.store.latest(NOW - timedelta(hours=1))["Music"]
    assert (latest.co2_ppm, latest.temperature_c) == (990, 20.1)
