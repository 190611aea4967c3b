"""The sensors page and `/api/sensors` against a real pipeline, DuckDB store and accounts file:
every sensor with its health in words, escaping of what a sensor names itself, and an admin
giving an unassigned sensor a room (CSRF-checked), after which ingest stores it there."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import sign_in
from tests.test_accounts import api_routes, required_roles
from ventwatch.accounts import Accounts, Role
from ventwatch.assignments import Assignments
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
EVIL = "<script>alert(1)</script>"
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "Europe/London"},
        "rooms": [
            {"name": "Room 4"},
            {"name": "Room 7", "building": "Annex"},
            {"name": "Lab 3", "building": "Science"},
        ],
        "sensors": [
            {"family": "tasmota", "device": "room-4-co2", "room": "Room 4"},
            {"family": "zigbee2mqtt", "device": "Lab 3 CO2", "room": "Lab 3"},
            {"family": "airgradient", "device": "84fce612a3b4", "room": "Room 7"},
        ],
    }
)


def tasmota(co2: float, at: datetime) -> bytes:
    local = at.astimezone(SITE.tz).replace(tzinfo=None)
    return json.dumps({"Time": local.isoformat(), "SCD40": {"CarbonDioxide": co2}}).encode()


def zigbee(**state: object) -> bytes:
    return json.dumps({"last_seen": NOW.isoformat(), **state}).encode()


@pytest.fixture
def pipeline(tmp_path: Path, accounts: Accounts) -> Pipeline:
    """Ingest as `ventwatch run` wires it: its assignments in the accounts file."""
    pipeline = Pipeline(
        SITE,
        DuckDBStore(tmp_path / "store.duckdb"),
        clock=lambda: NOW,
        assignments=Assignments(accounts.path),
        assignments_check_s=0,
    )
    at = NOW - timedelta(seconds=40)
    pipeline.process(
        [
            Message("tele/room-4-co2/SENSOR", tasmota(812, at), at),
            Message("zigbee2mqtt/Lab 3 CO2", zigbee(co2=956, battery=15, linkquality=132), at),
            Message("tele/cupboard/SENSOR", tasmota(1400, at), at),
            Message(f"zigbee2mqtt/{EVIL}", zigbee(co2=700, temperature=21.5), at),
        ]
    )
    return pipeline


@pytest.fixture
def app(pipeline: Pipeline, accounts: Accounts):  # type: ignore[no-untyped-def]
    return create_app(
        SITE,
        pipeline.writer.store,
        accounts=accounts,
        sensors=pipeline.router.sensors,
        clock=lambda: NOW,
    )


def client_for(app, role: Role) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    sign_in(client, role.value)
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def row(html: str, attribute: str, key: str) -> str:
    """The table row of one sensor, by its data attribute (as the page escapes it)."""
    found = re.search(rf'<tr {attribute}="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={key}"
    return re.sub(r"[ \n]+", " ", found.group(1))  # not str.split(): it eats no-break spaces


def test_page_lists_every_sensor_with_its_health_in_words(app) -> None:  # type: ignore[no-untyped-def]
    html = client_for(app, Role.SITE_MANAGER).get("/sensors").text
    room4 = row(html, "data-sensor", "tasmota:room-4-co2")
    assert 'Room 4 <span class="hint"> (site file) </span>' in room4
    assert "40 s ago" in room4
    assert '<span class="icon" aria-hidden="true">✓</span> ok' in room4
    lab = row(html, "data-sensor", "zigbee2mqtt:Lab 3 CO2")
    assert "15\u00a0%" in lab
    assert "LQI</abbr> 132/255" in lab
    assert '<span class="icon" aria-hidden="true">▲</span> low battery' in lab
    assert "battery at 15 %" in lab
    never = row(html, "data-sensor", "airgradient:84fce612a3b4")
    assert "never seen" in never
    assert '<span class="icon" aria-hidden="true">○</span> never seen' in never
    cupboard = row(html, "data-sensor", "tasmota:cupboard")
    assert "unassigned" in cupboard
    assert '<span class="icon" aria-hidden="true">?</span> unassigned' in cupboard
    assert '1 <span class="hint">(1 unknown sensor)</span>' in cupboard
    # The second table: what ingest heard but cannot file, with its last values.
    unassigned = row(html, "data-unassigned", "tasmota:cupboard")
    assert "CO2 1400\u00a0ppm" in unassigned
    assert "tele/cupboard/SENSOR" in unassigned
    # A site manager sees them, but only an admin may assign.
    assert 'action="/sensors/assign"' not in html
    assert "An admin can assign them to a room." in html


def test_what_a_sensor_calls_itself_is_escaped(app) -> None:  # type: ignore[no-untyped-def]
    html = client_for(app, Role.ADMIN).get("/sensors").text
    assert EVIL not in html
    assert "<script" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<code>{escaped}</code>" in html
    assert f'<input type="hidden" name="device" value="{escaped}">' in html


def test_admin_assigns_a_sensor_and_ingest_stores_its_next_reading_there(
    app, pipeline: Pipeline
) -> None:  # type: ignore[no-untyped-def]
    admin = client_for(app, Role.ADMIN)
    page = admin.get("/sensors").text
    assert row(page, "data-unassigned", "tasmota:cupboard")
    assert "the messages\n      quarantined before are not replayed" in page
    form = {"family": "tasmota", "device": "cupboard", "room": "Room 7", "csrf": csrf_of(page)}
    answer = admin.post("/sensors/assign", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sensors"

    page = admin.get("/sensors").text
    assert 'data-unassigned="tasmota:cupboard"' not in page
    cupboard = row(page, "data-sensor", "tasmota:cupboard")
    assert "Room 7" in cupboard
    assert "assigned by admin, Tue 17 Nov 2026, 10:30" in cupboard
    assert "readings go to Room 7 from its next one" in cupboard
    sensor = next(
        s for s in admin.get("/api/sensors").json()["sensors"] if s["device"] == "cupboard"
    )
    assert (sensor["room"], sensor["room_source"], sensor["assigned_by"]) == (
        "Room 7", "dashboard", "admin",
    )  # fmt: skip
    assert sensor["filed_under"] is None

    pipeline.process([Message("tele/cupboard/SENSOR", tasmota(1450, NOW), NOW)])
    assert pipeline.writer.store.latest(NOW - timedelta(hours=1))["Room 7"].co2_ppm == 1450
    cupboard = row(admin.get("/sensors").text, "data-sensor", "tasmota:cupboard")
    assert "✓</span> ok" in cupboard


def test_the_form_needs_its_csrf_token(app, accounts: Accounts) -> None:  # type: ignore[no-untyped-def]
    admin = client_for(app, Role.ADMIN)
    form = {"family": "tasmota", "device": "cupboard", "room": "Room 7", "csrf": "forged"}
    assert admin.post("/sensors/assign", data=form).status_code == 403
    assert Assignments(accounts.path).for_site(SITE.site.name) == []


@pytest.mark.parametrize(
    ("form", "status", "detail"),
    [
        ({"family": "tasmota", "device": "cupboard", "room": "Gym"}, 400, "no room"),
        ({"family": "lora", "device": "cupboard", "room": "Room 7"}, 400, "no sensor family"),
        ({"family": "tasmota", "device": "room-4-co2", "room": "Room 7"}, 409, "site file"),
    ],
)
def test_an_assignment_must_make_sense(app, form: dict[str, str], status: int, detail: str) -> None:  # type: ignore[no-untyped-def]
    admin = client_for(app, Role.ADMIN)
    csrf = csrf_of(admin.get("/sensors").text)
    answer = admin.post("/sensors/assign", data={**form, "csrf": csrf})
    assert answer.status_code == status
    assert detail in answer.text


@pytest.mark.parametrize("role", [Role.SITE_MANAGER, Role.REP, Role.STAFF])
def test_only_admins_may_assign(app, role: Role) -> None:  # type: ignore[no-untyped-def]
    client = client_for(app, role)
    csrf = csrf_of(client.get("/").text)  # their own, valid token: still not theirs to use
    form = {"family": "tasmota", "device": "cupboard", "room": "Room 7", "csrf": csrf}
    assert client.post("/sensors/assign", data=form).status_code == 403
    if role != Role.SITE_MANAGER:
        assert client.get("/sensors").status_code == 403
        assert client.get("/api/sensors").status_code == 403


def test_routes_admit_the_roles_the_issue_names(app) -> None:  # type: ignore[no-untyped-def]
    roles = {
        (method, route.path): required_roles(route)
        for route in api_routes(app.routes)
        for method in route.methods
        if "sensors" in route.path
    }
    managers = frozenset({Role.ADMIN, Role.SITE_MANAGER})
    assert roles == {
        ("GET", "/sensors"): managers,
        ("GET", "/api/sensors"): managers,
        ("POST", "/sensors/assign"): frozenset({Role.ADMIN}),
    }


def test_api_sensors_shape(app, accounts: Accounts) -> None:  # type: ignore[no-untyped-def]
    token = accounts.new_token("site_manager", "tests")
    body = TestClient(app).get("/api/sensors", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["site"] == "Hillside Academy"
    assert datetime.fromisoformat(body["generated_at"]) == NOW
    assert datetime.fromisoformat(body["tracking_since"]) == NOW
    assert body["silent_after_minutes"] == 10
    sensors = {(s["family"], s["device"]): s for s in body["sensors"]}
    # Site-file sensors first, in its order; then the others by family and id.
    assert list(sensors) == [
        ("tasmota", "room-4-co2"),
        ("zigbee2mqtt", "Lab 3 CO2"),
        ("airgradient", "84fce612a3b4"),
        ("tasmota", "cupboard"),
        ("zigbee2mqtt", EVIL),
    ]
    lab = sensors["zigbee2mqtt", "Lab 3 CO2"]
    assert lab["signal"] == {"value": 132, "unit": "lqi"}
    assert (lab["battery_pct"], lab["health"], lab["room"]) == (15, "low battery", "Lab 3")
    assert (lab["room_source"], lab["filed_under"], lab["presence"]) == ("site file", "Lab 3", None)
    assert lab["counts"] == {"readings": 1}
    assert lab["last_message_age_s"] == 40
    assert lab["values"] == {"co2_ppm": 956, "battery_pct": 15}
    never = sensors["airgradient", "84fce612a3b4"]
    assert (never["health"], never["last_message"], never["counts"]) == (
        "never seen", None, {"readings": 0},
    )  # fmt: skip
    cupboard = sensors["tasmota", "cupboard"]
    assert (cupboard["room"], cupboard["health"], cupboard["quarantined"]) == (
        None, "unassigned", 1,
    )  # fmt: skip
    assert set(cupboard) == {
        "family", "device", "hold_minutes", "room", "room_source", "assigned_by", "assigned_at",
        "health", "health_reason", "typical_interval_min", "first_seen", "last_message",
        "last_message_age_s", "last_topic", "last_reading", "values", "filed_under",
        "battery_pct", "signal", "presence", "counts", "quarantined", "last_fault",
        "last_fault_at",
    }  # fmt: skip


def test_without_ingest_the_site_file_is_still_listed(tmp_path: Path, accounts: Accounts) -> None:
    app = create_app(SITE, DuckDBStore(tmp_path / "s.duckdb"), accounts=accounts)
    client = client_for(app, Role.ADMIN)
    html = client.get("/sensors").text
    assert "Ingest does not run in this process" in html
    assert "No unassigned sensors." in html
    body = client.get("/api/sensors").json()
    assert body["tracking_since"] is None
    assert [s["health"] for s in body["sensors"]] == ["never seen"] * 3
