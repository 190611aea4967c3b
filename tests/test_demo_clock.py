"""The demo tells one story: with its simulated clock injected (`clock.SimulatedClock`), the
overview's "today", a room page, the sensors page and an alert's text follow the simulated
school day, not the wall clock (a Sunday night here); the sensors page and the overview agree
on a silent sensor whatever the time; and an export without a week is of the latest week with
readings. Real pipeline, DuckDB store, accounts file and SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import SmtpServer, sign_in
from ventwatch.accounts import ALL_SITES, Accounts, Role
from ventwatch.clock import SimulatedClock, real_time
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.default_week import latest_week_with_data
from ventwatch.ingest.router import Message
from ventwatch.readings import Reading
from ventwatch.settings import resolve
from ventwatch.store import open_store
from ventwatch.store.duckdb import DuckDBStore
from ventwatch.wiring.service import Service

SUNDAY_NIGHT = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)  # the wall clock (London is on UTC)
THURSDAY = datetime(2026, 11, 19, 9, 25, tzinfo=UTC)  # the simulated school day's now
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Demo School", "timezone": "Europe/London"},
        "rooms": [{"name": "Music"}, {"name": "Lab 3"}],
        "sensors": [
            {"family": "tasmota", "device": "music-co2", "room": "Music"},
            {"family": "tasmota", "device": "lab-3-co2", "room": "Lab 3"},
        ],
        "alerts": {
            "dashboard_url": "http://127.0.0.1:8000",
            "subscriptions": [{"name": "Rep", "email": "rep@example.org"}],
        },
    }
)


class Wall:
    """The real clock, moved by hand."""

    def __init__(self) -> None:
        self.now = SUNDAY_NIGHT

    def __call__(self) -> datetime:
        return self.now


def tasmota(device: str, co2: float, at: datetime) -> Message:
    local = at.astimezone(SITE.tz).replace(tzinfo=None)
    payload = json.dumps({"Time": local.isoformat(), "SCD40": {"CarbonDioxide": co2}})
    return Message(f"tele/{device}/SENSOR", payload.encode(), at)


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def demo(tmp_path: Path, wall: Wall, smtp_server: SmtpServer) -> Iterator[Service]:
    """The demo's wiring (`Service` with the simulated clock), its stages driven by hand:
    Music stuffy since 09:00, Lab 3's sensor last heard at 09:20 (simulated)."""
    env = {
        "VENTWATCH_STATE_DB": str(tmp_path / "accounts.sqlite"),
        "VENTWATCH_SPOOL_DIR": str(tmp_path / "spool"),
        "VENTWATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}?from=vw@example.org",
    }
    settings_ = resolve(SITE, None, env=env)
    clock = SimulatedClock(THURSDAY, speed=10.0, real=wall)
    service = Service(
        SITE, settings_, open_store(f"duckdb://{tmp_path / 's.duckdb'}", site=None), clock=clock
    )
    service.accounts.add_user("demo", Role.ADMIN, "correct horse battery", [ALL_SITES])
    start = THURSDAY - timedelta(minutes=25)
    messages = [tasmota("music-co2", 1700, start + timedelta(minutes=i)) for i in range(26)]
    messages += [tasmota("lab-3-co2", 700, start + timedelta(minutes=i)) for i in range(21)]
    service.ingest.pipeline.process(sorted(messages, key=lambda m: m.arrived))
    yield service
    service.store.close()


def client_of(service: Service) -> TestClient:
    client = TestClient(service.app)
    sign_in(client, "demo", "correct horse battery")
    return client


def test_today_pages_and_alert_text_follow_the_simulated_clock(
    demo: Service, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    client = client_of(demo)
    overview = client.get("/").text
    assert "Simulated school day — <span data-simulated-time>Thursday 09:25</span>" in overview
    rooms = {r["room"]: r for r in client.get("/api/rooms").json()["rooms"]}
    assert rooms["Music"]["band"] == "poor"
    assert rooms["Music"]["today"] != "Today: no occupied time yet"
    assert rooms["Music"]["today_status"] in ("amber", "red")
    room_page = client.get("/room", params={"name": "Music"}).text
    assert "19 Nov" in room_page
    assert "29 Nov" not in room_page
    assert "Thursday 09:25" in client.get("/sensors").text
    # The same store judged on the wall clock is a Sunday night: what the demo showed before.
    wall_app = create_app(SITE, demo.store, accounts=demo.accounts, clock=demo.clock.real)  # type: ignore[attr-defined]
    wall_client = TestClient(wall_app)
    sign_in(wall_client, "demo", "correct horse battery")
    wall_rooms = {r["room"]: r for r in wall_client.get("/api/rooms").json()["rooms"]}
    assert wall_rooms["Music"]["today"] == "Today: no occupied time yet"
    assert "simulated-day" not in wall_client.get("/").text
    # The alert opens on the simulated clock, and its text says so.
    demo.alerting.monitor.tick()
    demo.alerting.outbox.deliver_due(demo.clock())
    mail = next(m for m in smtp_server.wait_for(1) if "Music" in m["Subject"])
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert re.search(r"\b19 Nov", text), text
    assert "29 Nov" not in text
    assert "Sun" not in text
    opened = demo.alerting.records.alerts()[0].opened_at
    assert opened.astimezone(SITE.tz).date() == THURSDAY.date()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(real_seconds=st.integers(min_value=0, max_value=120))
@example(real_seconds=29)
@example(real_seconds=30)
def test_the_sensors_page_and_the_overview_agree_on_a_silent_sensor(
    demo: Service, wall: Wall, real_seconds: int
) -> None:
    """Lab 3's last reading is 09:20 (simulated); it stands for 10 minutes, its own included
    (09:20 to 09:29), so at 09:30, 30 real seconds in at 10x, it is silent: before and
    after, both pages say the same."""
    wall.now = SUNDAY_NIGHT + timedelta(seconds=real_seconds)
    client = client_of(demo)
    room = next(r for r in client.get("/api/rooms").json()["rooms"] if r["room"] == "Lab 3")
    sensor = next(s for s in client.get("/api/sensors").json()["sensors"] if s["room"] == "Lab 3")
    assert (room["band"] == "stale") == (sensor["health"] == "silent"), (room, sensor)
    assert (room["band"] == "stale") == (real_seconds >= 30)


def test_the_quarantine_log_runs_on_real_time_in_the_demo(wall: Wall) -> None:
    clock = SimulatedClock(THURSDAY, speed=10.0, real=wall)
    assert real_time(clock)() == SUNDAY_NIGHT
    wall.now += timedelta(seconds=6)
    assert clock() == THURSDAY + timedelta(minutes=1)
    assert real_time(clock)() == wall.now


def week_of_readings(store: DuckDBStore, start: datetime, days: int) -> None:
    store.write(
        [
            Reading(start + timedelta(minutes=m), "Demo School", "Music", "music-co2", "tasmota",
                    co2_ppm=900.0)
            for m in range(0, days * 24 * 60, 10)
        ]
    )  # fmt: skip


def test_the_export_defaults_to_the_latest_week_with_readings(
    tmp_path: Path, accounts: Accounts
) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    # Readings in 2026-W45 (2-8 Nov) only: last week (W48) and the one before are empty.
    week_of_readings(store, datetime(2026, 11, 2, tzinfo=UTC), 7)
    assert latest_week_with_data(store, SITE.tz, SUNDAY_NIGHT) == "2026-W45"
    app = create_app(SITE, store, accounts=accounts, clock=lambda: SUNDAY_NIGHT)
    client = TestClient(app)
    sign_in(client, "staff")
    answer = client.get("/export", params={"format": "csv", "week": ""})
    assert answer.status_code == 200
    assert "2026-W45" in answer.headers["content-disposition"]
    # A newer week with readings wins; the week in progress only when nothing earlier has any.
    week_of_readings(store, datetime(2026, 11, 17, tzinfo=UTC), 1)
    assert latest_week_with_data(store, SITE.tz, SUNDAY_NIGHT) == "2026-W47"
    empty = DuckDBStore(tmp_path / "empty.duckdb")
    assert latest_week_with_data(empty, SITE.tz, SUNDAY_NIGHT) == "2026-W47"  # last week
    week_of_readings(empty, datetime(2026, 11, 30, tzinfo=UTC), 1)
    assert latest_week_with_data(empty, SITE.tz, datetime(2026, 12, 1, 12, tzinfo=UTC)) == (
        "2026-W49"
    )
    store.close()
    empty.close()
