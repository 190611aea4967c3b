"""A trust's sites ingested over one broker connection: `ventwatch ingest --sites DIR` with
site files naming one broker session, a real Mosquitto (which sees one client) and one
InfluxDB database (each reading with its own site's tag); each message filed by the site
whose file lists its sensor, or whose topic prefix it is under; an unknown sensor quarantined;
a sensor listed by two site files refused. The multi-site router without the network too."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    ALL_SITES,
    PASSWORD,
    InfluxServer,
    MosquittoServer,
    publish,
    start_mosquitto,
    ventwatch_run,
)
from ventwatch.accounts import Accounts, Role
from ventwatch.config import SiteConfig, site_slug
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 15, 30, tzinfo=UTC)
CLIENT_ID = "ventwatch-trust-5e1f0a93"


def site_document(name: str, device: str, store_url: str, spool: Path, **broker: str) -> str:
    """A school's file as a trust writes them from one template: one broker session (client
    id), spool and InfluxDB database for all; `topic_prefix` for a school bridged in."""
    return json.dumps(
        {
            "site": {"name": name, "timezone": "Europe/London"},
            "broker": {"client_id": CLIENT_ID, **broker},
            "store": {"url": store_url, "spool": str(spool)},
            "rooms": [{"name": "Room 1"}, {"name": "Room 2"}],
            "sensors": [{"family": "tasmota", "device": device, "room": "Room 1"}],
        },
        indent=2,
    )


def wait_for(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.servers
def test_three_sites_over_one_connection_each_reading_with_its_own_site(
    tmp_path: Path, influxdb: InfluxServer
) -> None:
    broker: MosquittoServer = start_mosquitto(tmp_path / "broker")  # its log is this test's
    try:
        _three_sites(tmp_path, broker, influxdb)
    finally:
        broker.stop()


def _three_sites(tmp_path: Path, broker: MosquittoServer, influxdb: InfluxServer) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    store_url = influxdb.url_for("trust_ingest")
    spool = tmp_path / "spool"
    # East's school broker is bridged in under east/, and its sensor has North's id.
    (folder / "east.yaml").write_text(
        site_document("East Academy", "r1-co2", store_url, spool, topic_prefix="east")
    )
    (folder / "north.yaml").write_text(site_document("North School", "r1-co2", store_url, spool))
    (folder / "south.yaml").write_text(site_document("South School", "s1-co2", store_url, spool))
    env = {
        **os.environ,
        "VENTWATCH_BROKER_URL": broker.url,
        "VENTWATCH_STATE_DB": str(tmp_path / "state.sqlite"),
    }
    log_path = tmp_path / "ingest.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ventwatch", "ingest", "--sites", str(folder)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "subscribed to" in log_path.read_text(), "the subscriptions")
        # One client, one subscription set: each filter once, East's under its prefix.
        broker_log = (broker.folder / "mosquitto.log").read_text()
        connected = re.findall(r"New client connected from \S+ as (\S+)", broker_log)
        assert connected == [CLIENT_ID], broker_log
        subscribed = log_path.read_text().split("subscribed to ", 1)[1].splitlines()[0]
        filters = subscribed.split(", ")
        assert len(filters) == len(set(filters))
        assert {"tele/+/SENSOR", "east/tele/+/SENSOR"} <= set(filters)

        epoch = int(datetime.now(UTC).timestamp())
        sent = {
            "tele/r1-co2/SENSOR": 900,  # North's
            "tele/s1-co2/SENSOR": 1200,  # South's
            "east/tele/r1-co2/SENSOR": 1500,  # East's: its prefix tells
            "tele/cupboard-co2/SENSOR": 700,  # nobody's
        }
        for topic, co2 in sent.items():
            payload = {"Epoch": epoch, "SCD40": {"CarbonDioxide": co2}}
            publish(broker, topic, json.dumps(payload).encode())

        def rows() -> list[tuple[str, str, str, float]]:
            answer = influxdb.query(
                'SELECT "co2_ppm", "site", "room", "sensor" FROM "reading"', db="trust_ingest"
            )
            series = answer["results"][0].get("series")
            if not series:
                return []
            return sorted((r[2], r[3], r[4], r[1]) for r in series[0]["values"])

        wait_for(lambda: len(rows()) >= 3, "three readings in InfluxDB")
        time.sleep(0.5)  # the unknown sensor's message is handled by then too
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    text = log_path.read_text()
    assert process.returncode == 0, text[-3000:]
    assert rows() == [
        ("East Academy", "Room 1", "r1-co2", 1500.0),
        ("North School", "Room 1", "r1-co2", 900.0),
        ("South School", "Room 1", "s1-co2", 1200.0),
    ]
    # Each site's counters are its own: the unknown sensor is quarantined by the sites whose
    # topics it shares (North and South), as when each had its own connection; not by East.
    summaries = dict(re.findall(r"ingest: stopped; ([^:]+): (.*)", text))
    assert summaries == {
        "East Academy": "1 stored",
        "North School": "1 stored, 1 unknown_sensor",
        "South School": "1 stored, 1 unknown_sensor",
    }
    assert "tasmota sensor 'cupboard-co2' is not in the site file" in text
    # Still one connection of ventwatch's after it all (the sensors' are paho's `auto-` ids).
    broker_log = (broker.folder / "mosquitto.log").read_text()
    ours = re.findall(r"New client connected from \S+ as (?!auto-)(\S+)", broker_log)
    assert ours == [CLIENT_ID], broker_log


@pytest.mark.servers
def test_run_over_a_folder_shows_each_site_its_own_ingest_over_one_connection(
    tmp_path: Path, influxdb: InfluxServer
) -> None:
    """`ventwatch run --sites DIR`: one connection for the sites of one session, and each
    site's ingest panel (`/api/ingest`) counting only its own messages."""
    broker = start_mosquitto(tmp_path / "broker")
    folder = tmp_path / "sites"
    folder.mkdir()
    store_url = influxdb.url_for()
    schools = {"North School": "n1", "South School": "s1"}
    for name, device in schools.items():
        (folder / f"{site_slug(name)}.yaml").write_text(
            site_document(name, device, store_url, tmp_path / "spool")
        )
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.add_user("admin", Role.ADMIN, PASSWORD, [ALL_SITES])
    token = accounts.new_token("admin", "tests")
    try:
        with ventwatch_run(folder, tmp_path, broker.url) as base:
            client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})

            def ingest(name: str) -> dict:
                return dict(client.get(f"/sites/{site_slug(name)}/api/ingest").json())

            wait_for(lambda: all(ingest(name).get("connected") for name in schools), "connected")
            epoch = int(datetime.now(UTC).timestamp())
            for co2, device in enumerate(["n1", "n1", "s1", "nobody"]):
                payload = {"Epoch": epoch + co2, "SCD40": {"CarbonDioxide": 800 + co2}}
                publish(broker, f"tele/{device}/SENSOR", json.dumps(payload).encode())

            def counted() -> dict[str, tuple[int, int]]:
                return {
                    name: (c["stored"], c["unknown_sensor"])
                    for name in schools
                    for c in [ingest(name)["counts"]]
                }

            wait_for(
                lambda: counted() == {"North School": (2, 1), "South School": (1, 1)},
                "each site's counts",
            )
            north = ingest("North School")
            assert north["quarantine"][0]["topic"] == "tele/nobody/SENSOR"
            assert north["store"]["ok"]
        broker_log = (broker.folder / "mosquitto.log").read_text()
        ours = re.findall(r"New client connected from \S+ as (?!auto-)(\S+)", broker_log)
        assert ours == [CLIENT_ID], broker_log
    finally:
        broker.stop()


def test_a_sensor_listed_by_two_sites_is_refused_before_anything_starts(tmp_path: Path) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    url = "influxdb://127.0.0.1:1/unused"
    (folder / "a.yaml").write_text(site_document("A", "r1-co2", url, tmp_path / "spool"))
    (folder / "b.yaml").write_text(site_document("B", "r1-co2", url, tmp_path / "spool"))
    env = {**os.environ, "VENTWATCH_STATE_DB": str(tmp_path / "state.sqlite")}
    for command in ("ingest", "run"):
        out = subprocess.run(
            [sys.executable, "-m", "ventwatch", command, "--sites", str(folder)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 1, out.stderr
        assert f"{folder / 'b.yaml'}:24: sensors[0].device: tasmota sensor 'r1-co2'" in out.stderr
        assert f"is listed by {folder / 'a.yaml'}:24" in out.stderr


def test_sites_of_one_session_must_name_one_store(tmp_path: Path) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    spool = tmp_path / "spool"
    (folder / "a.yaml").write_text(site_document("A", "a1", "influxdb://h:1/a", spool))
    (folder / "b.yaml").write_text(site_document("B", "b1", "influxdb://h:1/b", spool))
    env = {**os.environ, "VENTWATCH_STATE_DB": str(tmp_path / "state.sqlite")}
    out = subprocess.run(
        [sys.executable, "-m", "ventwatch", "ingest", "--sites", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert (
        f"{folder / 'a.yaml'} and {folder / 'b.yaml'} share a broker session (broker.client_id "
        f"'{CLIENT_ID}'), so one connection and one writer, but not the store (store.url)"
    ) in out.stderr


# -- the multi-site router, without the network ----------------------------------------------


def site(name: str, device: str, **broker: str) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"name": name, "timezone": "Europe/London"},
            "broker": broker,
            "rooms": [{"name": "Room 1"}],
            "sensors": [{"family": "tasmota", "device": device, "room": "Room 1"}],
        }
    )


def tasmota(co2: float) -> bytes:
    return json.dumps({"Time": "2026-11-17T10:15:00", "SCD40": {"CarbonDioxide": co2}}).encode()


def test_each_message_is_decoded_once_and_filed_by_its_own_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sites = [site("North", "n1"), site("South", "s1"), site("East", "e1", topic_prefix="east")]
    pipeline = Pipeline(sites, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    routers = pipeline.routes.routers
    decoded: list[str] = []
    for router in routers.values():
        original = router.decode
        monkeypatch.setattr(
            router,
            "decode",
            lambda m, o=original, n=router.site.site.name: decoded.append(n) or o(m),
        )
    messages = [
        Message("tele/n1/SENSOR", tasmota(900), NOW),
        Message("tele/s1/SENSOR", tasmota(1200), NOW),
        Message("east/tele/e1/SENSOR", tasmota(1500), NOW),
        Message("tele/n1/SENSOR", b"{broken", NOW),
    ]
    readings = pipeline.routes.route(messages)
    assert [(r.site, r.sensor, r.co2_ppm) for r in readings] == [
        ("North", "n1", 900),
        ("South", "s1", 1200),
        ("East", "e1", 1500),
    ]
    # North and South decode alike: one decode for both, by the first of them.
    assert decoded == ["North", "North", "East", "North"]
    assert pipeline.writer.write(readings) == 3
    counts = {name: router.counters.counts() for name, router in routers.items()}
    assert {name: c["stored"] for name, c in counts.items()} == {"North": 1, "South": 1, "East": 1}
    # A payload nobody can read says nothing of its sensor: every site of its topics keeps it.
    assert {name: c["undecodable"] for name, c in counts.items()} == {
        "North": 1,
        "South": 1,
        "East": 0,
    }
    assert pipeline.routes.subscriptions().count("tele/+/SENSOR") == 1
    assert "east/tele/+/SENSOR" in pipeline.routes.subscriptions()
