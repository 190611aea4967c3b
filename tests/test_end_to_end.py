"""From an MQTT message to a room on the dashboard, through the real `ventwatch run` process,
a real Mosquitto, the embedded store and the HTTP API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import (
    PASSWORD,
    MosquittoServer,
    free_port,
    interrupt,
    publish,
    sign_in,
    ventwatch_run,
    wait_for_port,
)
from ventwatch.accounts import ALL_SITES, Accounts, Role

pytestmark = pytest.mark.servers


@pytest.fixture
def running(
    mosquitto: MosquittoServer, tmp_path: Path, example_site_path: Path
) -> Iterator[httpx.Client]:
    """`ventwatch run` on the example site, against the test broker, on a free port; a client
    holding an admin's API token."""
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.add_user("admin", Role.ADMIN, PASSWORD, [ALL_SITES])
    token = accounts.new_token("admin", "tests")
    with ventwatch_run(example_site_path, tmp_path, mosquitto.url) as base:
        deadline = time.monotonic() + 10
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        while not client.get("/api/ingest").json().get("connected"):
            assert time.monotonic() < deadline, "ingest did not connect to the broker"
            time.sleep(0.05)
        yield client


def test_tasmota_message_reaches_its_room(
    running: httpx.Client, mosquitto: MosquittoServer
) -> None:
    local = datetime.now(ZoneInfo("Europe/London")).replace(tzinfo=None, microsecond=0)
    payload = {
        "Time": local.isoformat(),
        "SCD40": {"CarbonDioxide": 1234, "eCO2": 1234, "Temperature": 19.6, "Humidity": 47.2},
        "TempUnit": "C",
    }
    sent = time.monotonic()
    publish(mosquitto, "tele/room-4-co2/SENSOR", json.dumps(payload).encode())
    room = None
    while time.monotonic() - sent < 10:
        rooms = {r["room"]: r for r in running.get("/api/rooms").json()["rooms"]}
        if rooms["Room 4"]["co2_ppm"] == 1234:
            room = rooms["Room 4"]
            break
        time.sleep(0.02)
    latency = time.monotonic() - sent
    print(f"publish → /api/rooms: {latency:.3f} s")
    assert room is not None, "the reading never reached /api/rooms"
    assert room["band"] == "act"
    assert room["temperature_c"] == 19.6
    assert datetime.fromisoformat(room["time"]) == local.replace(
        tzinfo=ZoneInfo("Europe/London")
    ).astimezone(UTC)


def test_garbage_is_counted_not_fatal(running: httpx.Client, mosquitto: MosquittoServer) -> None:
    publish(mosquitto, "tele/room-4-co2/SENSOR", b"<script>alert(1)</script>")
    publish(mosquitto, "tele/stranger/SENSOR", b'{"SCD40": {"CarbonDioxide": 700}}')
    deadline = time.monotonic() + 10
    while True:
        stats = running.get("/api/ingest").json()
        if stats["counts"]["undecodable"] >= 1 and stats["counts"]["unknown_sensor"] >= 1:
            break
        assert time.monotonic() < deadline, stats
        time.sleep(0.05)
    # Public: load balancers poll it without an account.
    assert httpx.get(str(running.base_url.join("/healthz"))).status_code == 200
    # `run` hands ingest's per-sensor registry to the dashboard: only it has heard of stranger.
    sensors = {s["device"]: s for s in running.get("/api/sensors").json()["sensors"]}
    assert [d for d, s in sensors.items() if s["room"] is None] == ["stranger"]
    assert (sensors["stranger"]["room"], sensors["stranger"]["health"]) == (None, "unassigned")


def test_demo_shows_live_rooms_within_30_seconds(tmp_path: Path) -> None:
    """The README's first command: the built-in broker, the simulator, ingest, store and
    dashboard in one process; every room live (or visibly stale) within 30 s; Ctrl-C ends it."""
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ventwatch", "demo", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started = time.monotonic()
    bands: dict[str, str] = {}
    try:
        wait_for_port(port, timeout=30)
        # The demo prints a fresh admin's password: sign in with it, as a person would.
        deadline = time.monotonic() + 10
        while "Sign in:" not in (tmp_path / "demo.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "demo.log").read_text()
            time.sleep(0.1)
        login = (tmp_path / "demo.log").read_text().split("Sign in:")[1].split()
        assert login[0] == "demo"
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        assert client.get("/api/rooms").status_code == 401
        sign_in(client, "demo", login[2])
        while time.monotonic() - started < 30:
            rooms = client.get("/api/rooms").json()["rooms"]
            bands = {r["room"]: r["band"] for r in rooms}
            if "no-data" not in bands.values():
                break
            time.sleep(0.5)
        print(f"demo: every room shown after {time.monotonic() - started:.1f} s")
    finally:
        interrupt(process, "ventwatch demo")
        log.close()
    output = (tmp_path / "demo.log").read_text()
    assert process.returncode == 0, output
    assert f"Dashboard: http://127.0.0.1:{port}" in output
    assert len(bands) == 12
    assert "no-data" not in bands.values(), bands
    # The simulated school shows its range: good rooms, poor ones, and the silent sensor.
    assert {"good", "stale"} <= set(bands.values()), bands
    assert {"act", "poor"} & set(bands.values()), bands
