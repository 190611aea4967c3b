"""A trust's sites as data: a folder of site files run as one service (`run --sites DIR`),
every site's readings in one InfluxDB database, each site's pages showing only its own; and
monitor processes sharing the sites by leases. Real servers: Mosquitto, influxd and the
`ventwatch run` and `ventwatch monitor` processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    ALL_SITES,
    PASSWORD,
    InfluxServer,
    MosquittoServer,
    free_port,
    publish,
    sign_in,
    state_env,
    ventwatch_run,
    wait_for_port,
)
from ventwatch.accounts import Accounts, Role
from ventwatch.alerts.leases import SiteLeases
from ventwatch.config import site_slug
from ventwatch.state_database import StateLocation

pytestmark = pytest.mark.servers

# Three schools whose rooms share names (every school has a "Room 1"), told apart by site.
SCHOOLS = {"North School": "north-r1", "South School": "south-r1", "East <Academy>": "east-r1"}


def site_file(name: str, device: str, store_url: str, folder: Path) -> str:
    """A site file as a trust's IT team writes one per school: its own broker session and
    spool, the trust's one InfluxDB database."""
    slug = site_slug(name)
    return json.dumps(
        {
            "site": {"name": name, "timezone": "Europe/London"},
            "broker": {"client_id": f"ventwatch-{slug}"},
            "store": {"url": store_url, "spool": str(folder / f"{slug}-spool")},
            "rooms": [{"name": "Room 1"}, {"name": "Room 2"}],
            "sensors": [{"family": "tasmota", "device": device, "room": "Room 1"}],
        },
        indent=2,
    )


@pytest.fixture
def trust(
    tmp_path: Path, mosquitto: MosquittoServer, influxdb: InfluxServer
) -> Iterator[tuple[str, str, InfluxServer]]:
    """`ventwatch run --sites DIR` over the three schools; yields the dashboard's URL and an
    admin's token once every site's ingest is connected."""
    folder = tmp_path / "sites"
    folder.mkdir()
    store_url = influxdb.url_for("trust")
    for name, device in SCHOOLS.items():
        (folder / f"{site_slug(name)}.yaml").write_text(
            site_file(name, device, store_url, tmp_path)
        )
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.add_user("admin", Role.ADMIN, PASSWORD, [ALL_SITES])
    token = accounts.new_token("admin", "tests")
    with ventwatch_run(folder, tmp_path, mosquitto.url) as base:
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        deadline = time.monotonic() + 20
        for name in SCHOOLS:
            ingest = f"/sites/{site_slug(name)}/api/ingest"
            while not client.get(ingest).json().get("connected"):
                assert time.monotonic() < deadline, f"{name}: ingest did not connect"
                time.sleep(0.1)
        yield base, token, influxdb


def test_each_site_of_a_folder_reads_its_own_from_one_database(
    trust: tuple[str, str, InfluxServer], mosquitto: MosquittoServer
) -> None:
    base, token, influxdb = trust
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    sites = client.get("/api/sites").json()
    assert {s["site"] for s in sites} == set(SCHOOLS)

    epoch = int(datetime.now(UTC).timestamp())
    sent = {name: 900 + 300 * i for i, name in enumerate(SCHOOLS)}  # 900, 1200, 1500 ppm
    for name, device in SCHOOLS.items():
        payload = {"Epoch": epoch, "SCD40": {"CarbonDioxide": sent[name], "Temperature": 20.5}}
        publish(mosquitto, f"tele/{device}/SENSOR", json.dumps(payload).encode())

    def room_1(name: str) -> object:
        rooms = client.get(f"/sites/{site_slug(name)}/api/rooms").json()["rooms"]
        return {r["room"]: r for r in rooms}["Room 1"]["co2_ppm"]

    deadline = time.monotonic() + 20
    while any(room_1(name) != sent[name] for name in SCHOOLS):
        assert time.monotonic() < deadline, {name: room_1(name) for name in SCHOOLS}
        time.sleep(0.2)

    # One database holds every school's readings, each point tagged with its site.
    found = influxdb.query('SELECT "co2_ppm", "site", "room" FROM "reading"', db="trust")[
        "results"
    ][0]["series"][0]
    rows = [dict(zip(found["columns"], row, strict=True)) for row in found["values"]]
    assert sorted((r["site"], r["room"], r["co2_ppm"]) for r in rows) == sorted(
        (name, "Room 1", sent[name]) for name in SCHOOLS
    )
    # A page of one site never shows another's: East's name, escaped, only on its own.
    north_page = client.get(f"/sites/{site_slug('North School')}/").text
    assert "East" not in north_page
    east_page = client.get(f"/sites/{site_slug('East <Academy>')}/").text
    assert "East &lt;Academy&gt;" in east_page
    assert "<Academy>" not in east_page


# -- monitors sharing the sites by leases ----------------------------------------------------


def start_monitor(folder: Path, state: StateLocation, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **state_env(state)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ventwatch", "monitor", "--sites", str(folder),
             "--lease-seconds", "3"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def judged(log: Path) -> set[str]:
    """The sites a monitor's log says it judges now."""
    now: set[str] = set()
    for line in log.read_text().splitlines():
        if found := re.search(r"monitor: stopped judging (.+) \(another", line):
            now.discard(found.group(1))
        elif found := re.search(r"monitor: judging (.+)$", line):
            now.add(found.group(1))
    return now


def test_monitors_share_the_sites_and_take_over_a_killed_one(
    tmp_path: Path, influxdb: InfluxServer, state_where: StateLocation
) -> None:
    """Two `ventwatch monitor` processes over four sites: two each, never one site by both;
    one killed, the other holds all four within a lease and a renewal; stopped, it hands
    every lease back."""
    folder = tmp_path / "sites"
    folder.mkdir()
    names = ["North School", "South School", "East <Academy>", "West School"]
    for n, name in enumerate(names):
        (folder / f"{site_slug(name)}.yaml").write_text(
            site_file(name, f"s{n}", influxdb.url_for("trust"), tmp_path)
        )
    state = state_where
    leases = SiteLeases(state, "the test")
    logs = [tmp_path / "monitor-a.log", tmp_path / "monitor-b.log"]
    monitors = [start_monitor(folder, state, log) for log in logs]

    def split() -> bool:
        a, b = judged(logs[0]), judged(logs[1])
        return len(a) == len(b) == 2 and not a & b and a | b == set(names)

    try:
        deadline = time.monotonic() + 30
        while not split():
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            time.sleep(0.2)
        holders = leases.holders()
        assert sorted(holders) == sorted(names)
        assert sorted(Counter(holders.values()).values()) == [2, 2]

        monitors[0].kill()
        killed_at = time.monotonic()
        while judged(logs[1]) != set(names):
            assert time.monotonic() - killed_at < 3 + 1 + 5, logs[1].read_text()
            time.sleep(0.2)
        assert len(set(leases.holders().values())) == 1

        monitors[1].send_signal(signal.SIGTERM)
        assert monitors[1].wait(timeout=30) == 0, logs[1].read_text()
        assert leases.holders() == {}, "a monitor that stops hands its leases back"
        assert "Traceback" not in logs[1].read_text()
    finally:
        for process in monitors:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_session_signed_in_on_one_serve_process_works_on_another(
    tmp_path: Path, influxdb: InfluxServer, state_where: StateLocation
) -> None:
    """`ventwatch serve` keeps nothing a request needs in memory: a session opened through
    one process is good on another (as behind a proxy), and survives the first being
    killed."""
    folder = tmp_path / "sites"
    folder.mkdir()
    for n, name in enumerate(["North School", "South School"]):
        (folder / f"{site_slug(name)}.yaml").write_text(
            site_file(name, f"s{n}", influxdb.url_for("trust"), tmp_path)
        )
    Accounts(state_where).add_user("north-manager", Role.SITE_MANAGER, PASSWORD, ["North School"])
    ports = [free_port(), free_port()]
    env = {**os.environ, **state_env(state_where)}
    command = [sys.executable, "-m", "ventwatch", "serve", "--sites", str(folder), "--port"]
    processes = [
        subprocess.Popen([*command, str(port)], env=env, stderr=subprocess.PIPE) for port in ports
    ]
    try:
        for port in ports:
            wait_for_port(port, timeout=30)
        first = httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=10)
        sign_in(first, "north-manager")
        processes[0].kill()
        second = httpx.Client(
            base_url=f"http://127.0.0.1:{ports[1]}", cookies=first.cookies, timeout=10
        )
        north = second.get(f"/sites/{site_slug('North School')}/api/rooms")
        assert north.status_code == 200
        assert {r["room"] for r in north.json()["rooms"]} == {"Room 1", "Room 2"}
        south = second.get(f"/sites/{site_slug('South School')}/api/rooms")
        assert south.status_code == 403  # signed in, but not one of this user's sites
        processes[1].send_signal(signal.SIGINT)
        assert processes[1].wait(timeout=30) == 0
        assert b"Traceback" not in (processes[1].stderr.read() if processes[1].stderr else b"")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
