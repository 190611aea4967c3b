"""Nothing lost: N numbered readings are published while a part of the chain restarts, and
exactly N distinct readings end up in the store.

Real parts throughout: Mosquitto with persistence, Debian's influxd, and `ventwatch` as a
separate process that can be killed. Each test is bounded in time; the counts are printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import (
    PASSWORD,
    InfluxServer,
    MosquittoServer,
    free_port,
    start_influxd,
    start_mosquitto,
    wait_for_port,
)
from ventwatch.accounts import ALL_SITES, Accounts, Role

pytestmark = pytest.mark.servers

RUN = [sys.executable, "-m", "ventwatch", "run"]
INGEST = [sys.executable, "-m", "ventwatch", "ingest"]
# The Tasmota sensors of the example site.
DEVICES = ("room-1-co2", "room-2-co2", "room-4-co2", "lab-2-co2")
N = 2000
# Readings start this long ago, one second apart per sensor: all distinct, none in the future.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def numbered(i: int) -> tuple[str, bytes]:
    """Reading i: its own sensor and second, and CO2 = 1000 + i so it can be told apart."""
    when = START + timedelta(seconds=i // len(DEVICES))
    payload = {
        "Time": when.isoformat(),  # with its offset: no doubt about the zone
        "SCD40": {"CarbonDioxide": 1000 + i, "Temperature": 21.0, "Humidity": 45.0},
        "TempUnit": "C",
    }
    return f"tele/{DEVICES[i % len(DEVICES)]}/SENSOR", json.dumps(payload).encode()


class Publisher:
    """Publishes N numbered readings at a steady rate with QoS 1 from a persistent session,
    checking every return code; paho keeps QoS 1 messages while the broker is away and sends
    them when it is back."""

    def __init__(self, port: int, rate: float) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="fault-publisher", clean_session=False
        )
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 1)
        self.acked: set[int] = set()
        self.client.on_publish = lambda c, u, mid, rc, p: self.acked.add(mid)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.rate = rate
        self.sent = 0
        self.infos: list[mqtt.MQTTMessageInfo] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for i in range(N):
            topic, payload = numbered(i)
            info = self.client.publish(topic, payload, qos=1)
            assert info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN), info.rc
            self.infos.append(info)
            self.sent = i + 1
            time.sleep(1 / self.rate)

    def start(self) -> None:
        self.thread.start()

    def wait_until(self, sent: int) -> None:
        while self.sent < sent:
            assert self.thread.is_alive(), "publisher stopped early"
            time.sleep(0.05)

    def finish(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        # Not wait_for_publish: it gives up on a message published while disconnected, which
        # paho still holds and sends after reconnecting. The broker's PUBACKs count.
        wait_for(
            lambda: all(info.mid in self.acked for info in self.infos),
            timeout,
            "the broker to take every message",
        )
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


class Ventwatch:
    """`ventwatch run` (ingest + dashboard) as a process of its own, so it can be killed."""

    def __init__(self, site: Path, folder: Path, broker: str, store: str) -> None:
        self.port = free_port()
        self.folder = folder
        self.env = {
            **os.environ,
            "VENTWATCH_BROKER_URL": broker,
            "VENTWATCH_STORE_URL": store,
            "VENTWATCH_SPOOL_DIR": str(folder / "spool"),
            "VENTWATCH_STATE_DB": str(folder / "accounts.sqlite"),
        }
        accounts = Accounts(folder / "accounts.sqlite")
        accounts.add_user("admin", Role.ADMIN, PASSWORD, [ALL_SITES])
        self.auth = {"Authorization": f"Bearer {accounts.new_token('admin', 'tests')}"}
        self.site = site
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = (self.folder / f"run-{self.runs}.log").open("wb")
        self.process = subprocess.Popen(
            [*RUN, "--config", str(self.site), "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port, timeout=30)

    def stats(self) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/ingest"
        return dict(httpx.get(url, headers=self.auth, timeout=5).json())

    def idle(self, publisher: Publisher) -> Callable[[], bool]:
        """True once the publisher is done and nothing has been stored for 2 s."""
        last: list[object] = [None, time.monotonic()]

        def check() -> bool:
            stats = self.stats()
            now = (stats["counts"], stats["store"]["spool_pending"])
            if now != last[0]:
                last[0], last[1] = now, time.monotonic()
                return False
            done = not publisher.thread.is_alive() and stats["store"]["spool_pending"] == 0
            return done and time.monotonic() - float(last[1]) > 2  # type: ignore[arg-type]

        return check

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            self.process.wait(20)
            assert self.process.returncode == 0, self.log()

    def log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.folder.glob("run-*.log")))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoServer]:
    server = start_mosquitto(tmp_path / "mosquitto")
    yield server
    server.stop()


def duckdb_readings(path: Path) -> list[float]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT co2_ppm FROM readings ORDER BY co2_ppm").fetchall()
    return [float(r[0]) for r in rows]


def expected() -> list[float]:
    return [1000.0 + i for i in range(N)]


def test_broker_restart_loses_nothing(
    broker: MosquittoServer, tmp_path: Path, example_site_path: Path
) -> None:
    db = tmp_path / "store.duckdb"
    app = Ventwatch(example_site_path, tmp_path, broker.url, f"duckdb://{db}")
    app.start()
    try:
        wait_for(lambda: app.stats()["connected"], 10, "ingest to subscribe")
        publisher = Publisher(broker.port, rate=200)
        publisher.start()
        publisher.wait_until(N // 3)
        broker.stop()  # persistence on: its queue for ventwatch's session is saved
        time.sleep(2)
        broker.process = start_mosquitto(broker.folder, broker.port).process
        publisher.finish()
        wait_for(app.idle(publisher), 90, "ingest to drain")
    finally:
        app.stop()
    got = duckdb_readings(db)
    print(f"broker restart: published {N}, stored {len(got)} distinct")
    assert got == expected(), app.log()[-3000:]


def test_influxdb_outage_of_20_seconds_loses_nothing(
    broker: MosquittoServer, tmp_path: Path, example_site_path: Path
) -> None:
    influx: InfluxServer = start_influxd(tmp_path / "influxdb")
    url = influx.url_for("noloss")
    app = Ventwatch(example_site_path, tmp_path, broker.url, url)
    try:
        app.start()
        wait_for(lambda: app.stats()["connected"], 10, "ingest to subscribe")
        publisher = Publisher(broker.port, rate=100)
        publisher.start()
        publisher.wait_until(N // 5)
        influx.stop()
        wait_for(lambda: app.stats()["store"]["spool_pending"] > 0, 10, "readings to spool")
        time.sleep(20)
        stats = app.stats()["store"]
        print(f"influxdb down: {stats['spool_pending']} readings spooled, error {stats['error']}")
        assert not stats["ok"]
        influx.start()
        publisher.finish()
        wait_for(app.idle(publisher), 90, "the spool to drain into InfluxDB")
        answer = influx.query("SELECT co2_ppm FROM reading", db="noloss")
        got = sorted(float(v[1]) for v in answer["results"][0]["series"][0]["values"])
    finally:
        app.stop()
        influx.stop()
    print(f"influxdb outage: published {N}, stored {len(got)} distinct")
    assert got == expected()


def test_sigkill_of_ingest_loses_nothing(
    broker: MosquittoServer, tmp_path: Path, example_site_path: Path
) -> None:
    db = tmp_path / "store.duckdb"
    app = Ventwatch(example_site_path, tmp_path, broker.url, f"duckdb://{db}")
    app.start()
    try:
        wait_for(lambda: app.stats()["connected"], 10, "ingest to subscribe")
        publisher = Publisher(broker.port, rate=200)
        publisher.start()
        publisher.wait_until(N // 3)
        app.kill()  # no goodbye: in-flight messages unacknowledged, a batch maybe half done
        publisher.wait_until(N // 2)  # these wait at the broker for the persistent session
        app.start()
        publisher.finish()
        wait_for(app.idle(publisher), 90, "ingest to drain")
    finally:
        app.stop()
    got = duckdb_readings(db)
    print(f"SIGKILL: published {N}, stored {len(got)} distinct")
    assert got == expected(), app.log()[-3000:]


def test_two_ingest_processes_share_the_load(
    broker: MosquittoServer, tmp_path: Path, example_site_path: Path, influxdb: InfluxServer
) -> None:
    """Scaling out: two `ventwatch ingest` on one MQTT 5 shared subscription, one InfluxDB.
    Every reading is stored once, and each process took a share."""
    url = influxdb.url_for()
    database = url.rsplit("/", 1)[1]
    env = {**os.environ, "VENTWATCH_BROKER_URL": broker.url, "VENTWATCH_STORE_URL": url}
    env["VENTWATCH_SPOOL_DIR"] = str(tmp_path / "spool")
    env["VENTWATCH_STATE_DB"] = str(tmp_path / "accounts.sqlite")  # sensor assignments
    logs = {name: tmp_path / f"ingest-{name}.log" for name in ("a", "b")}
    processes = {}
    for name, log_path in logs.items():
        with log_path.open("wb") as log:
            processes[name] = subprocess.Popen(
                [*INGEST, "--config", str(example_site_path), "--share", "g", "--instance", name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    try:
        for log_path in logs.values():
            wait_for(lambda p=log_path: "subscribed to" in p.read_text(), 30, "subscriptions")
        publisher = Publisher(broker.port, rate=400)
        publisher.start()
        publisher.finish()

        def stored() -> int:
            answer = influxdb.query("SELECT count(co2_ppm) FROM reading", db=database)
            series = answer["results"][0].get("series")
            return int(series[0]["values"][0][1]) if series else 0

        wait_for(lambda: stored() >= N, 60, "every reading in InfluxDB")
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(30)
    shares = {}
    for name, log_path in logs.items():
        text = log_path.read_text()
        assert processes[name].returncode == 0, text[-2000:]
        summary = text.rsplit("ingest: stopped;", 1)[1].splitlines()[0]
        shares[name] = int(summary.split(" stored")[0].strip().rsplit(" ", 1)[-1])
    print(f"shared subscription: published {N}, stored {stored()}, shares {shares}")
    assert stored() == N
    assert sum(shares.values()) == N
    assert all(n > 0 for n in shares.values()), shares


def test_one_of_two_shared_ingest_processes_killed_mid_stream_loses_nothing(
    broker: MosquittoServer, tmp_path: Path, example_site_path: Path, influxdb: InfluxServer
) -> None:
    """A trust's ingest on two machines: one of two processes on the shared subscription is
    killed (SIGKILL) a third of the way through and started again. The messages it held
    unacknowledged wait at the broker for its session; every reading ends up in InfluxDB,
    each once, with its own value."""
    url = influxdb.url_for()
    database = url.rsplit("/", 1)[1]
    env = {**os.environ, "VENTWATCH_BROKER_URL": broker.url, "VENTWATCH_STORE_URL": url}
    env["VENTWATCH_SPOOL_DIR"] = str(tmp_path / "spool")
    env["VENTWATCH_STATE_DB"] = str(tmp_path / "accounts.sqlite")

    def start(name: str, attempt: int) -> subprocess.Popen[bytes]:
        with (tmp_path / f"ingest-{name}-{attempt}.log").open("wb") as log:
            return subprocess.Popen(
                [*INGEST, "--config", str(example_site_path), "--share", "g", "--instance", name],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def subscribed(name: str, attempt: int) -> bool:
        return "subscribed to" in (tmp_path / f"ingest-{name}-{attempt}.log").read_text()

    def values() -> list[int]:
        answer = influxdb.query("SELECT co2_ppm FROM reading", db=database)
        series = answer["results"][0].get("series")
        return sorted(int(row[1]) for row in series[0]["values"]) if series else []

    processes = {"a": start("a", 1), "b": start("b", 1)}
    try:
        wait_for(lambda: subscribed("a", 1) and subscribed("b", 1), 30, "subscriptions")
        publisher = Publisher(broker.port, rate=300)
        publisher.start()
        publisher.wait_until(N // 3)
        processes["a"].kill()  # its unacknowledged messages stay with its session
        processes["a"].wait(10)
        publisher.wait_until(N // 2)
        processes["a"] = start("a", 2)
        wait_for(lambda: subscribed("a", 2), 30, "the restarted process to subscribe")
        publisher.finish()
        wait_for(lambda: len(values()) >= N, 90, "every reading in InfluxDB")
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(30)
    got = values()
    print(f"one of two killed: published {N}, stored {len(got)}")
    assert got == [1000 + i for i in range(N)]
