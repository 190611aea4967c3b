"""`/metrics` read back with Prometheus' own parser (`prometheus_client`), against a real DuckDB
store, the accounts file and `Alerting` as `ventwatch run` builds them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import sign_in
from tests.test_alerts_page import NOW, alerting_for, opened
from ventwatch import __version__
from ventwatch.accounts import Accounts, Role
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.messages import alert_notice
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import Recipient, SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.metrics import Family, render
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

# A name with the characters the text format escapes in a label value that a site file may
# hold (not a newline: `check-config` refuses names line protocol cannot carry; the property
# test at the end gives the format any text, newlines included).
ODD = 'Room "B"\\annex upstairs'
PROFILE = load_profile("joint-union")
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "Europe/London"},
        "rooms": [
            {"name": "Room 4", "building": "Main"},
            {"name": ODD, "building": "Science"},
            {"name": "Empty Room", "building": "Science"},
        ],
        "sensors": [{"family": "tasmota", "device": "room-4-co2", "room": "Room 4"}],
    }
)
INGEST = {
    "counts": {"stored": 120, "undecodable": 3, "unknown_sensor": 0},
    "quarantine": [],
    "connected": True,
    "store": {
        "ok": False,
        "last_write": (NOW - timedelta(minutes=2)).isoformat(),
        "error": "InfluxDB down",
        "spool_pending": 42,
        "spool_bytes": 4096,
        "spool_full": False,
    },
}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample as (name, labels) -> value, through Prometheus' parser."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.write(
        [
            Reading(NOW - timedelta(seconds=30), SITE.site.name, "Room 4", "room-4-co2",
                    "tasmota", co2_ppm=1650, temperature_c=19.5, humidity_pct=48.0),
            Reading(NOW - timedelta(seconds=90), SITE.site.name, ODD, "odd",
                    "tasmota", co2_ppm=640, temperature_c=21.25, humidity_pct=40.0),
        ]
    )  # fmt: skip
    return store


@pytest.fixture
def alerting(store: DuckDBStore, accounts: Accounts) -> Alerting:
    return alerting_for(SITE, store, accounts)


@pytest.fixture
def client(store: DuckDBStore, accounts: Accounts, alerting: Alerting) -> TestClient:
    app = create_app(
        SITE,
        store,
        accounts=accounts,
        clock=lambda: NOW,
        ingest_stats=lambda: INGEST,
        alerting=alerting,
    )
    return TestClient(app)


def test_metrics_say_what_the_pages_say(client: TestClient, alerting: Alerting) -> None:
    alert = opened(alerting, "Room 4")
    advisory = opened(alerting, ODD, rule_id="co2-advisory")
    closed = opened(alerting, "Room 4", rule_id="co2-advisory")
    alerting.records.record_action(
        closed.id, step="evidence", action="reported-to-employer", note="", taken_on=NOW.date(),
        by="rep", at=NOW, close=True,
    )  # fmt: skip
    notice = alert_notice(alert, "opened", alerting.monitor.ctx, NOW)
    alerting.outbox.enqueue(Recipient(name="Rep", email="rep@union.example"), notice, now=NOW)
    sign_in(client, Role.SITE_MANAGER.value)

    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(answer.text)

    info = {
        "version": __version__,
        "site": "Hillside Academy",
        "profile": PROFILE.id,
        "profile_version": PROFILE.version,
    }
    assert value(found, "ventwatch_build_info", **info) == 1
    assert value(found, "ventwatch_room_co2_ppm", room="Room 4", building="Main") == 1650
    assert value(found, "ventwatch_room_co2_ppm", room=ODD, building="Science") == 640
    assert value(found, "ventwatch_room_temperature_celsius", room=ODD, building="Science") == 21.25
    assert value(found, "ventwatch_room_reading_age_seconds", room="Room 4", building="Main") == 30
    # A room without readings has a band and no values (not zeros).
    assert value(found, "ventwatch_room_band", room="Empty Room", building="Science",
                 band="no-data") == 1  # fmt: skip
    assert not [
        k for k in found if ("room", "Empty Room") in k[1] and k[0] != "ventwatch_room_band"
    ]
    assert value(found, "ventwatch_room_band", room="Room 4", building="Main", band="poor") == 1
    assert value(found, "ventwatch_rooms", band="poor") == 1
    assert value(found, "ventwatch_rooms", band="good") == 1
    assert value(found, "ventwatch_rooms", band="no-data") == 1

    assert value(found, "ventwatch_ingest_messages_total", outcome="stored") == 120
    assert value(found, "ventwatch_ingest_messages_total", outcome="undecodable") == 3
    assert value(found, "ventwatch_mqtt_connected") == 1
    assert value(found, "ventwatch_store_up") == 0
    assert value(found, "ventwatch_spool_readings") == 42
    assert (
        value(found, "ventwatch_store_last_write_timestamp_seconds")
        == (NOW - timedelta(minutes=2)).timestamp()
    )

    # The site file's sensor, not heard from (no ingest registry here).
    assert value(found, "ventwatch_sensors", health="never seen") == 1
    assert value(found, "ventwatch_alerts_unclosed", rule="co2-urgent", severity="urgent",
                 condition="active") == 1  # fmt: skip
    assert value(found, "ventwatch_alerts_unclosed", rule="co2-advisory", severity="advisory",
                 condition="active") == 1  # fmt: skip
    assert advisory.workflow != "closed"  # the one counted; the closed one is not
    assert value(found, "ventwatch_alert_deliveries", status="pending") == 1
    assert value(found, "ventwatch_alert_deliveries", status="failed") == 0


def test_metrics_need_a_manager_or_their_token(client: TestClient, accounts: Accounts) -> None:
    assert client.get("/metrics").status_code == 401  # Prometheus without credentials
    rep = accounts.new_token(Role.REP.value, "prometheus")
    refused = client.get("/metrics", headers={"Authorization": f"Bearer {rep}"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/json"
    admin = accounts.new_token(Role.ADMIN.value, "prometheus")
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 200
    assert "ventwatch_room_co2_ppm" in answer.text


def test_a_dashboard_without_ingest_or_alerting_leaves_those_metrics_out(
    store: DuckDBStore, accounts: Accounts
) -> None:
    client = TestClient(create_app(SITE, store, accounts=accounts, clock=lambda: NOW))
    sign_in(client, Role.ADMIN.value)
    names = {name for name, _ in samples(client.get("/metrics").text)}
    assert "ventwatch_room_co2_ppm" in names
    assert not {n for n in names if n.startswith(("ventwatch_ingest", "ventwatch_alert"))}


@given(
    st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5, unique=True),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
)
def test_any_label_value_and_number_survive_the_parser(names: list[str], number: float) -> None:
    family = Family("ventwatch_test", "gauge", "help with \\ and\na newline")
    for name in names:
        family.add(number, room=name)
    found = samples(render([family]))
    assert found == {("ventwatch_test", frozenset({("room", name)})): number for name in names}
