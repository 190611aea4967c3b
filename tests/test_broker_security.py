"""The shipped broker accounts, run: Debian's Mosquitto started with deploy/mosquitto.conf's
lines in force and deploy/mosquitto.acl as it is, only the listener (a free loopback port),
the files' folder and the log moved to a temp folder; the users made with `mosquitto_passwd
-b`, as the README's commands make them. Anonymous clients are refused, each sensor publishes
as itself only and reads nothing, and ventwatch reads everything the sensors may send."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.conftest import MOSQUITTO, MosquittoServer, free_port, wait_for_port
from tests.test_deployment import ACL, CONF, compose, directives
from tests.test_ingest_mqtt import SITE
from ventwatch.config import load_site
from ventwatch.ingest.decoders import FAMILIES, decoders_for_site, subscriptions
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.subscriber import Subscriber
from ventwatch.settings import BrokerURL
from ventwatch.store.duckdb import DuckDBStore

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
# One sensor of each family with its own user, the two gateways the ACL names, and ventwatch.
USERS = ["ventwatch", "t1-co2", "84fce6000002", "t7-air", "zigbee2mqtt", "TheengsGateway"]
ALERTS = "hillside/ventwatch/alerts"  # sensors.example.yaml's alert topic
ALLOWED = [
    ("t1-co2", "tele/t1-co2/SENSOR"),
    ("t1-co2", "tele/t1-co2/LWT"),
    ("84fce6000002", "airgradient/readings/84fce6000002"),
    ("t7-air", "t7-air/sensor/co2/state"),
    ("t7-air", "homeassistant/sensor/t7-air/co2/config"),
    ("zigbee2mqtt", "zigbee2mqtt/T2 CO2"),
    ("TheengsGateway", "home/TheengsGateway/BTtoMQTT/C41C9B000005"),
    ("ventwatch", ALERTS),
]
REFUSED = [
    ("t1-co2", "tele/t9-co2/SENSOR"),  # another Tasmota
    ("t1-co2", "zigbee2mqtt/T2 CO2"),  # a gateway's device
    ("t1-co2", "home/t1-co2/BTtoMQTT/C41C9B000005"),  # any BLE device, through a gateway topic
    ("84fce6000002", "airgradient/readings/84fce6000003"),
    ("t7-air", "t8-air/sensor/co2/state"),
    ("t7-air", "homeassistant/sensor/t8-air/co2/config"),
    ("zigbee2mqtt", "tele/t1-co2/SENSOR"),
    ("TheengsGateway", "home/OtherGateway/BTtoMQTT/C41C9B000005"),
    ("ventwatch", "tele/t1-co2/SENSOR"),  # ventwatch reads; it cannot make readings up
]


def password(user: str) -> str:
    return f"pw-{user}"


def start_shipped_broker(folder: Path) -> MosquittoServer:
    """Mosquitto with the shipped conf's lines, its container paths and listener replaced."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    passwd, acl = folder / "mosquitto.passwd", folder / "mosquitto.acl"
    shutil.copy(ACL, acl)
    for i, user in enumerate(USERS):
        create = ["-c"] if i == 0 else []
        subprocess.run(
            [MOSQUITTO_PASSWD, *create, "-b", str(passwd), user, password(user)],
            check=True,
            timeout=10,
        )
    moved = {
        "listener": f"{port} 127.0.0.1",
        "password_file": str(passwd),
        "acl_file": str(acl),
        "persistence_location": f"{folder}/",
        "log_dest": f"file {folder}/mosquitto.log",
    }
    lines = [f"{key} {moved.get(key, rest)}" for key, rest in directives(CONF.read_text())]
    if os.geteuid() == 0:  # else Mosquitto drops to its own user, who cannot write here
        lines.append("user root")
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], cwd=folder)
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        pytest.fail((folder / "mosquitto.log").read_text(errors="replace")[-2000:])
    return MosquittoServer(port, folder, process)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    server = start_shipped_broker(tmp_path_factory.mktemp("shipped-mosquitto"))
    yield server
    server.stop()


@dataclass
class Client:
    """A paho client that records what it was told and what it received."""

    client: mqtt.Client
    connack: list[ReasonCode] = field(default_factory=list)
    received: list[tuple[str, str]] = field(default_factory=list)
    answered: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(port: int, user: str | None, secret: str | None = None) -> Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    if user is not None:
        client.username_pw_set(user, secret if secret is not None else password(user))
    record = Client(client)

    def on_connect(c: mqtt.Client, u: object, flags: object, reason: ReasonCode, p: object) -> None:
        record.connack.append(reason)
        record.answered.set()

    def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        record.received.append((message.topic, message.payload.decode()))

    client.on_connect = on_connect
    client.on_message = on_message
    client.reconnect_delay_set(min_delay=5, max_delay=5)  # a refused client: one try in a test
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    assert record.answered.wait(5), f"no CONNACK for {user}"
    return record


def subscribed(port: int, user: str, topic: str) -> Client:
    record = connect(port, user)
    done = threading.Event()
    record.client.on_subscribe = lambda *args: done.set()
    record.client.subscribe(topic, qos=1)
    assert done.wait(5), f"no SUBACK for {user}"
    return record


@pytest.mark.servers
def test_anonymous_and_wrong_password_are_refused(broker: MosquittoServer) -> None:
    for user, secret in ((None, None), ("ventwatch", "wrong"), ("nobody", "pw-nobody")):
        record = connect(broker.port, user, secret)
        try:
            assert record.connack[0].is_failure, (user, record.connack)
            assert str(record.connack[0]) == "Not authorized"
        finally:
            record.close()


@pytest.mark.servers
def test_sensors_publish_as_themselves_only_and_only_ventwatch_reads(
    broker: MosquittoServer,
) -> None:
    reader = subscribed(broker.port, "ventwatch", "#")
    spies = [subscribed(broker.port, "t1-co2", "#"), subscribed(broker.port, "t7-air", "+/#")]
    publishers = {user: connect(broker.port, user) for user in USERS if user != "ventwatch"}
    publishers["ventwatch"] = connect(broker.port, "ventwatch")
    try:
        for user, topic in [*REFUSED, *ALLOWED]:
            info = publishers[user].client.publish(topic, f"{user} -> {topic}", qos=1)
            info.wait_for_publish(5)  # a refused QoS 1 publish is acknowledged all the same
            assert info.is_published(), (user, topic)
        # The broker routes a message before it acknowledges it and keeps each reader's
        # order: once the last one is in, every earlier one that was let through is too.
        publishers["t1-co2"].client.publish("tele/t1-co2/SENSOR", "end", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while ("tele/t1-co2/SENSOR", "end") not in reader.received:
            assert time.monotonic() < deadline, reader.received
            time.sleep(0.05)
        time.sleep(0.3)
        got = {(topic, payload) for topic, payload in reader.received if payload != "end"}
        assert got == {(topic, f"{user} -> {topic}") for user, topic in ALLOWED}
        for spy in spies:  # their subscriptions were accepted; nothing was delivered
            assert spy.received == []
    finally:
        for record in [reader, *spies, *publishers.values()]:
            record.close()


def test_what_sensors_may_publish_is_what_ventwatch_reads() -> None:
    """The ACL's sensor topics are the families' topics, not a guess at them."""
    filters = subscriptions(decoders_for_site(load_site(SITE, families=FAMILIES)))
    for user, topic in ALLOWED:
        if topic != ALERTS:
            assert any(mqtt.topic_matches_sub(f, topic) for f in filters), (user, topic)


@pytest.mark.servers
def test_ventwatch_stores_a_sensors_reading_through_its_account(
    broker: MosquittoServer, tmp_path: Path
) -> None:
    site = load_site(SITE, families=FAMILIES)
    store = DuckDBStore(tmp_path / "s.duckdb")
    pipeline = Pipeline(site, store)
    account = BrokerURL("127.0.0.1", broker.port, "ventwatch", password("ventwatch"))
    subscriber = Subscriber(account, "ventwatch-security-test", pipeline)
    stop = threading.Event()
    writer = threading.Thread(target=pipeline.run, args=(stop,))
    writer.start()
    subscriber.start()
    sensor = connect(broker.port, "t1-co2")
    try:
        deadline = time.monotonic() + 10
        while not subscriber.connected:
            assert time.monotonic() < deadline, "ventwatch did not subscribe"
            time.sleep(0.05)
        now = datetime.now(UTC)
        payload = f'{{"Time": {int(now.timestamp())}, "SCD40": {{"CarbonDioxide": 912}}}}'
        sensor.client.publish("tele/t1-co2/SENSOR", payload, qos=1).wait_for_publish(5)
        while "T1" not in (latest := store.latest(now - timedelta(hours=1))):
            assert time.monotonic() < deadline + 10, pipeline.outcomes()
            time.sleep(0.05)
        assert latest["T1"].co2_ppm == 912
    finally:
        sensor.close()
        subscriber.stop()
        stop.set()
        writer.join(timeout=10)
        store.close()


def healthcheck(port: int) -> int:
    """docker-compose.yml's healthcheck for the broker, pointed at `port`."""
    command = compose()["services"]["mosquitto"]["healthcheck"]["test"][1]
    command = command.replace("$$", "$").replace("-h 127.0.0.1", f"-h 127.0.0.1 -p {port}")
    return subprocess.run(["sh", "-c", command], capture_output=True, timeout=15).returncode


def test_compose_healthcheck_passes_only_for_a_broker_that_refuses_anonymous_clients(
    broker: MosquittoServer, mosquitto: MosquittoServer
) -> None:
    assert healthcheck(broker.port) == 0
    assert healthcheck(mosquitto.port) != 0  # the tests' anonymous broker
    assert healthcheck(free_port()) != 0  # nothing listening
