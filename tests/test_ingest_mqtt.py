"""Ingest against a real Mosquitto: one message of every firmware family is published, and
each reading is found in the store under its room."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import MosquittoServer
from ventwatch.config import load_site
from ventwatch.ingest.decoders import FAMILIES
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.subscriber import Subscriber
from ventwatch.settings import parse_broker_url
from ventwatch.store.duckdb import DuckDBStore

SITE = Path(__file__).parent / "testdata" / "sites" / "all-families.yaml"


def messages(now: datetime) -> list[tuple[str, dict | str, str, float]]:
    """(topic, payload, room, co2 expected in the store)."""
    local = now.astimezone(load_site(SITE).tz).replace(tzinfo=None, microsecond=0)
    iso = now.isoformat().replace("+00:00", "Z")
    return [
        (
            "tele/t1-co2/SENSOR",
            {"Time": local.isoformat(), "SCD40": {"CarbonDioxide": 801}},
            "T1",
            801,
        ),
        ("zigbee2mqtt/T2 CO2", {"co2": 802, "last_seen": iso}, "T2", 802),
        ("airgradient/readings/84fce6000002", {"rco2": 803, "atmp": 20.1}, "T3", 803),
        (
            "v3/school@ttn/devices/am319-t4/up",
            {
                "end_device_ids": {"device_id": "am319-t4"},
                "received_at": iso,
                "uplink_message": {"decoded_payload": {"co2": 804, "temperature": 21.0}},
            },
            "T4",
            804,
        ),
        (
            "home/TheengsGateway/BTtoMQTT/C41C9B000005",
            {"id": "C4:1C:9B:00:00:05", "co2": 805},
            "T5",
            805,
        ),
        ("homeassistant/sensor/t6_co2/state", "806", "T6", 806),
        ("t7-air/sensor/co2/state", "807", "T7", 807),
        ("school/t8/air", {"co2": 808}, "T8", 808),
    ]


def test_every_family_reaches_its_room(mosquitto: MosquittoServer, tmp_path: Path) -> None:
    site = load_site(SITE, families=FAMILIES)
    store = DuckDBStore(tmp_path / "s.duckdb")
    pipeline = Pipeline(site, store)
    subscriber = Subscriber(parse_broker_url(mosquitto.url), "test-all-families", pipeline)
    stop = threading.Event()
    writer = threading.Thread(target=pipeline.run, args=(stop,))
    writer.start()
    subscriber.start()
    try:
        deadline = time.monotonic() + 10
        while not subscriber.connected:
            assert time.monotonic() < deadline, "subscriber did not connect"
            time.sleep(0.05)
        now = datetime.now(UTC)
        sent = messages(now)
        publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        publisher.connect("127.0.0.1", mosquitto.port)
        publisher.loop_start()
        for topic, payload, _, _ in sent:
            body = payload if isinstance(payload, str) else json.dumps(payload)
            info = publisher.publish(topic, body.encode(), qos=1)
            assert info.rc == mqtt.MQTT_ERR_SUCCESS
            info.wait_for_publish(timeout=5)
        publisher.disconnect()
        publisher.loop_stop()

        expected = {room: co2 for _, _, room, co2 in sent}
        while True:
            latest = store.latest(now - timedelta(hours=1))
            got = {room: latest[room].co2_ppm for room in expected if room in latest}
            if got == expected or time.monotonic() > deadline + 10:
                break
            time.sleep(0.05)
        assert got == expected, pipeline.quarantine.snapshot()
        families = set(
            store.range(None, now - timedelta(hours=1), now + timedelta(hours=1))["family"]
        )
        assert families == FAMILIES | {"school-air"}
    finally:
        subscriber.stop()
        stop.set()
        writer.join(timeout=10)
        store.close()
