"""Ingest against a real Mosquitto: one message of every firmware family is published, and
each reading is found in the store under its room; another client taking ventwatch's session
raises the flag on the ingest panel, `/api/ingest` and `/metrics`, a broker restart does not."""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import MosquittoServer, sign_in, start_mosquitto
from ventwatch.accounts import Accounts
from ventwatch.config import load_site
from ventwatch.dashboard.app import create_app
from ventwatch.ingest.decoders import FAMILIES
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.subscriber import (
    TAKEOVER_EARLY_DISCONNECTS,
    TAKEOVER_WINDOW_S,
    SessionWatch,
    Subscriber,
)
from ventwatch.ingest.worker import Ingest
from ventwatch.settings import parse_broker_url, resolve
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
        assert got == expected, pipeline.outcomes()
        families = set(
            store.range(None, now - timedelta(hours=1), now + timedelta(hours=1))["family"]
        )
        assert families == FAMILIES | {"school-air"}
    finally:
        subscriber.stop()
        stop.set()
        writer.join(timeout=10)
        store.close()


# -- Another client using ventwatch's client id ---------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lost_connection() -> ReasonCode:
    """What paho reports when the broker closes the socket (MQTT 3.1.1 takeover, restart)."""
    return ReasonCode(PacketTypes.DISCONNECT, "Unspecified error")


def test_session_watch_flags_a_lost_session_and_repeated_early_disconnects() -> None:
    clock = FakeClock()
    watch = SessionWatch(clock)
    watch.connected(session_present=False)  # the first connect cannot tell: no alarm
    clock.now += 3600
    watch.disconnected(lost_connection(), by_us=False)  # after an hour: a restart, say
    watch.connected(session_present=True)
    assert watch.snapshot() == {
        "connections": 2,
        "session_lost": 0,
        "taken_over": 0,
        "early_disconnects": 0,
        "takeover_suspected": False,
        "warning": None,
    }
    # Knocked off soon after connecting: twice is not yet a pattern, three times is.
    for n in (1, 2, 3):
        clock.now += 2
        watch.disconnected(lost_connection(), by_us=False)
        watch.connected(session_present=True)
        assert watch.snapshot()["early_disconnects"] == n
        assert watch.snapshot()["takeover_suspected"] is (n == 3)
    assert watch.snapshot()["warning"] == (
        "possible takeover: another client is using our client id (the broker closed our "
        "connection within 60 s of accepting it 3 times in the last 10 minutes)"
    )
    # The flag outlives the evidence by the window, the counters stay.
    clock.now += TAKEOVER_WINDOW_S + 1
    assert watch.snapshot()["takeover_suspected"] is False
    assert watch.snapshot()["early_disconnects"] == 3
    # A reconnect that finds no session raises it at once.
    clock.now += 3600
    watch.disconnected(lost_connection(), by_us=False)
    watch.connected(session_present=False)
    snapshot = watch.snapshot()
    assert snapshot["session_lost"] == 1
    assert snapshot["warning"] == (
        "possible takeover: another client is using our client id (the broker had no session "
        "for us on reconnecting once (what was queued for us is gone) in the last 10 minutes)"
    )


def test_session_watch_ignores_our_own_disconnects_and_keep_alive_timeouts() -> None:
    clock = FakeClock()
    watch = SessionWatch(clock)
    watch.connected(session_present=True)
    watch.disconnected(ReasonCode(PacketTypes.DISCONNECT, "Success"), by_us=True)
    for _ in range(5):
        watch.connected(session_present=True)
        clock.now += 1
        watch.disconnected(ReasonCode(PacketTypes.DISCONNECT, "Keep alive timeout"), by_us=False)
    # A disconnect without a connection (a refused CONNECT) says nothing about the session.
    watch.disconnected(lost_connection(), by_us=False)
    assert watch.snapshot()["early_disconnects"] == 0
    assert watch.snapshot()["takeover_suspected"] is False
    # MQTT 5 brokers may say it outright ("Session taken over", 0x8E): once is enough.
    watch.connected(session_present=True)
    clock.now += 3600
    watch.disconnected(ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E), by_us=False)
    assert watch.snapshot()["taken_over"] == 1
    assert watch.snapshot()["takeover_suspected"] is True


CLIENT_ID = "ventwatch-takeover-test"  # each test has a broker (and so sessions) of its own


def ingest_on(broker: MosquittoServer, tmp_path: Path, share: str | None) -> Ingest:
    """ventwatch's ingest as `run` has it, on `broker`, MQTT 5 with `share`."""
    site = load_site(SITE, families=FAMILIES)
    env = {
        "VENTWATCH_BROKER_URL": broker.url,
        "VENTWATCH_SPOOL_DIR": str(tmp_path / "spool"),
        "VENTWATCH_STATE_DB": str(tmp_path / "ingest-accounts.sqlite"),
    }
    store = DuckDBStore(tmp_path / "takeover.duckdb")
    return Ingest(site, resolve(site, None, env), store, threading.Event(), share, CLIENT_ID)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def session_of(ingest: Ingest) -> dict[str, Any]:
    return ingest.stats()["mqtt_session"]  # type: ignore[return-value]


@pytest.mark.servers
@pytest.mark.parametrize(
    ("share", "clean"),
    [(None, False), (None, True), ("g", False)],
    ids=["3.1.1-persistent-intruder", "3.1.1-clean-intruder", "5-shared-persistent-intruder"],
)
def test_a_client_reusing_our_id_raises_the_flag_on_the_panel_api_and_metrics(
    tmp_path: Path, accounts: Accounts, share: str | None, clean: bool
) -> None:
    """A second paho client with ventwatch's client id, reconnecting by itself each time
    Mosquitto closes it for ours (as in issue 17): the broker knocks the two off in turn. A
    persistent intruder keeps the session, so only the early disconnects show it; a clean one
    wipes it, so the reconnect finds no session."""
    broker = start_mosquitto(tmp_path / "mosquitto")
    ingest = ingest_on(broker, tmp_path, share)
    protocol = mqtt.MQTTv5 if share else mqtt.MQTTv311
    intruder = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=CLIENT_ID,
        protocol=protocol,
        **({} if share else {"clean_session": clean}),
    )
    intruder.reconnect_delay_set(min_delay=1, max_delay=1)
    ingest.start()
    try:
        wait_until(lambda: ingest.subscriber.connected, "ingest to subscribe", 10)
        assert session_of(ingest)["takeover_suspected"] is False
        if share:  # persistent too: a session that outlives the connection
            keep = Properties(PacketTypes.CONNECT)
            keep.SessionExpiryInterval = 3600
            intruder.connect_async("127.0.0.1", broker.port, clean_start=False, properties=keep)
        else:
            intruder.connect_async("127.0.0.1", broker.port)
        intruder.loop_start()
        wait_until(lambda: session_of(ingest)["takeover_suspected"], "the takeover flag")
        intruder.disconnect()
        intruder.loop_stop()
        wait_until(lambda: ingest.subscriber.connected, "ingest to get its session back", 10)

        session = session_of(ingest)
        if clean:
            assert session["session_lost"] >= 1
        else:
            assert session["session_lost"] == 0
            assert session["early_disconnects"] >= TAKEOVER_EARLY_DISCONNECTS
        assert session["connections"] >= 2
        warning = session["warning"]
        assert warning.startswith("possible takeover: another client is using our client id")

        client = TestClient(
            create_app(ingest.pipeline.router.site, DuckDBStore(tmp_path / "dash.duckdb"),
                       accounts=accounts, ingest_stats=ingest.stats)
        )  # fmt: skip
        sign_in(client, "admin")
        api = client.get("/api/ingest").json()["mqtt_session"]
        assert api["takeover_suspected"] is True
        assert api["warning"].startswith("possible takeover")
        assert html.escape(api["warning"], quote=False) in client.get("/").text
        found = {
            s.name: s.value
            for family in text_string_to_metric_families(client.get("/metrics").text)
            for s in family.samples
        }
        assert found["ventwatch_mqtt_takeover_suspected"] == 1
        assert found["ventwatch_mqtt_session_lost_total"] == api["session_lost"]
        assert found["ventwatch_mqtt_early_disconnects_total"] == api["early_disconnects"]
        assert found["ventwatch_mqtt_connections_total"] == api["connections"]
        assert found["ventwatch_mqtt_session_taken_over_total"] == api["taken_over"]
    finally:
        intruder.loop_stop()
        ingest.stop()
        broker.stop()


@pytest.mark.servers
@pytest.mark.parametrize("share", [None, "g"], ids=["3.1.1", "5-shared"])
def test_a_broker_restart_with_persistence_is_no_takeover(
    tmp_path: Path, share: str | None
) -> None:
    broker = start_mosquitto(tmp_path / "mosquitto")
    ingest = ingest_on(broker, tmp_path, share)
    ingest.start()
    try:
        wait_until(lambda: ingest.subscriber.connected, "ingest to subscribe", 10)
        broker.stop()  # persistence on: our session is saved with the broker's state
        broker.process = start_mosquitto(broker.folder, broker.port).process
        wait_until(
            lambda: session_of(ingest)["connections"] == 2 and ingest.subscriber.connected,
            "ingest to reconnect",
        )
        session = session_of(ingest)
        assert session["session_lost"] == 0  # session present stayed true
        assert session["early_disconnects"] <= 1  # the restart came soon after connecting
        assert session["takeover_suspected"] is False
        assert session["warning"] is None
    finally:
        ingest.stop()
        broker.stop()
