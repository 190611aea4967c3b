"""A trust's sites as data: a folder of site files run as one service (`run --sites DIR`),
every site's readings in one InfluxDB database, each site's pages showing only its own.
Real servers: Mosquitto, influxd and the `ventwatch run` process."""

from __future__ import annotations

import json
import time
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
    publish,
    ventwatch_run,
)
from ventwatch.accounts import Accounts, Role
from ventwatch.config import site_slug

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
