"""Each site of a site list has its own alert outbox: several sites in one process share one
accounts and state file, yet a site's messages leave only through its own mail relay, From
its own address, and its pages, retries and metrics see only its own deliveries. Checked in
process (two `Service`s as `site_list` wires them, a real SMTP server per site) and through
the real `ventwatch run` with two site files; and an old state file's deliveries are given
their sites."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import (
    PASSWORD,
    MosquittoServer,
    SmtpServer,
    sign_in,
    start_smtp,
    ventwatch_run,
)
from ventwatch.accounts import Accounts, Role
from ventwatch.alerts.records import AlertRecords
from ventwatch.config import Recipient, SiteConfig, site_slug
from ventwatch.notify.channels import Channels
from ventwatch.notify.notices import Notice
from ventwatch.notify.outbox import Outbox
from ventwatch.readings import Reading
from ventwatch.settings import parse_smtp_url, resolve
from ventwatch.store.duckdb import DuckDBStore
from ventwatch.wiring.service import Service, in_site_list, site_list

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # London is on UTC in November
NORTH, SOUTH = "North School", "South School"
# The address each site's relay refuses for good: a failed delivery of that site.
REFUSED = "gone@south.example"

pytestmark = pytest.mark.servers  # every test has its SMTP relays, some a broker too


@pytest.fixture
def relays() -> Iterator[dict[str, SmtpServer]]:
    """One real SMTP server per site; South's refuses one address."""
    servers = {NORTH: start_smtp(), SOUTH: start_smtp()}
    servers[SOUTH].refuse[REFUSED] = "550 5.1.1 no such user"
    yield servers
    for server in servers.values():
        assert server.controller is not None
        server.controller.stop()


def sender(name: str) -> str:
    return f"alerts@{site_slug(name).split('-')[0]}.example"


def rep_address(name: str) -> str:
    return f"rep@{site_slug(name).split('-')[0]}.example"


def site_document(name: str, relay: SmtpServer, **overrides: Any) -> dict[str, Any]:
    """A site with one room, its own relay and From address, and its rep told of urgent
    alerts; South also names an address its relay refuses."""
    subscriptions = [{"name": f"{name} rep", "email": rep_address(name), "severities": ["urgent"]}]
    if name == SOUTH:
        subscriptions.append({"name": "Gone", "email": REFUSED, "severities": ["urgent"]})
    return {
        "site": {"name": name, "timezone": "Europe/London"},
        "rooms": [{"name": f"{name.split()[0]} Hall"}],
        "alerts": {
            "smtp": {"host": "127.0.0.1", "port": relay.port, "from": sender(name)},
            "subscriptions": subscriptions,
        },
        **overrides,
    }


def poorly_ventilated(site: SiteConfig, start: datetime, minutes: int) -> list[Reading]:
    """A reading a minute at 1600 ppm in the site's room: an urgent alert after 20."""
    room = site.rooms[0].name
    return [
        Reading(
            start + timedelta(minutes=i), site.site.name, room, f"{room}-co2", "tasmota",
            co2_ppm=1600.0, temperature_c=20.0,
        )
        for i in range(minutes)
    ]  # fmt: skip


def from_header(message: Any) -> str:
    return str(message["From"])


# -- in one process, as `site_list` wires the sites -------------------------------------------


@dataclass
class Trust:
    services: dict[str, Service]
    client: TestClient  # the site list, signed in as North's rep
    accounts: Accounts


@pytest.fixture
def trust(tmp_path: Path, accounts: Accounts, relays: dict[str, SmtpServer]) -> Iterator[Trust]:
    accounts.add_user("north-rep", Role.REP, PASSWORD, [NORTH])
    accounts.add_user("north-manager", Role.SITE_MANAGER, PASSWORD, [NORTH])
    sites = []
    for name in (NORTH, SOUTH):
        site = SiteConfig.model_validate(site_document(name, relays[name]))
        env = {
            "VENTWATCH_STATE_DB": str(accounts.path),
            "VENTWATCH_SPOOL_DIR": str(tmp_path / f"{site_slug(name)}-spool"),
        }
        settings = in_site_list(site, resolve(site, None, env=env))
        store = DuckDBStore(tmp_path / f"{site_slug(name)}.duckdb")
        store.write(poorly_ventilated(site, MONDAY, 25))
        sites.append((site, settings, store))
    app, services = site_list(sites)
    client = TestClient(app)
    sign_in(client, "north-rep")
    yield Trust(dict(zip((NORTH, SOUTH), services, strict=True)), client, accounts)
    for service in services:
        service.store.close()


def test_each_site_s_alert_leaves_through_its_own_relay_from_its_own_address(
    trust: Trust, relays: dict[str, SmtpServer]
) -> None:
    at = MONDAY + timedelta(minutes=24)
    for service in trust.services.values():
        assert service.alerting.monitor.tick(at), "the room's alert opens"
    # North's outbox runs first: it must leave South's messages to South's.
    assert trust.services[NORTH].alerting.outbox.deliver_due(at) == 1
    assert trust.services[SOUTH].alerting.outbox.deliver_due(at) == 2

    [north] = relays[NORTH].wait_for(1)
    [south] = relays[SOUTH].wait_for(1)
    assert (from_header(north), str(north["To"])) == (sender(NORTH), rep_address(NORTH))
    assert (from_header(south), str(south["To"])) == (sender(SOUTH), rep_address(SOUTH))
    assert "South Hall" in str(south["Subject"])
    assert len(relays[NORTH].messages) == 1, "North's relay carried only North's message"
    assert relays[SOUTH].envelopes[0][0] == sender(SOUTH)

    north_box, south_box = (trust.services[n].alerting.outbox for n in (NORTH, SOUTH))
    assert north_box.counts() == {"pending": 0, "sent": 1, "failed": 0}
    assert south_box.counts() == {"pending": 0, "sent": 1, "failed": 1}
    assert {d.address for d in north_box.deliveries()} == {rep_address(NORTH)}
    [failed] = south_box.deliveries(status="failed")
    assert failed.address == REFUSED
    assert not north_box.retry(failed.id, at), "North's outbox cannot retry South's delivery"


def test_a_site_s_pages_retries_and_metrics_see_only_its_own_deliveries(trust: Trust) -> None:
    at = MONDAY + timedelta(minutes=24)
    for service in trust.services.values():
        service.alerting.monitor.tick(at)
    for name in (SOUTH, NORTH):
        trust.services[name].alerting.outbox.deliver_due(at)
    [failed] = trust.services[SOUTH].alerting.outbox.deliveries(status="failed")

    north = f"/sites/{site_slug(NORTH)}"
    page = trust.client.get(f"{north}/alerts")
    assert page.status_code == 200
    assert "1 sent, 0 waiting, 0 failed" in page.text
    for theirs in (REFUSED, rep_address(SOUTH), "South Hall", f'data-delivery="{failed.id}"'):
        assert theirs not in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    retry = trust.client.post(
        f"{north}/alerts/deliveries/{failed.id}/retry",
        data={"csrf": csrf.group(1)},
        follow_redirects=False,
    )
    assert retry.status_code == 404
    assert trust.services[SOUTH].alerting.outbox.counts()["failed"] == 1, "left as it was"

    token = trust.accounts.new_token("north-manager", "prometheus")
    metrics = trust.client.get(f"{north}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert metrics.status_code == 200
    deliveries = dict(
        re.findall(r'^ventwatch_alert_deliveries\{status="(\w+)"\} (\d+)$', metrics.text, re.M)
    )
    assert deliveries == {"pending": "0", "sent": "1", "failed": "0"}


def test_a_site_without_a_relay_fails_visibly_rather_than_borrow_another_s(
    tmp_path: Path, relays: dict[str, SmtpServer]
) -> None:
    """A message never falls back on another site's channels: North has no relay of its
    own, so its message is a failed delivery on its own alerts page."""
    db = tmp_path / "accounts.sqlite"
    south_relay = parse_smtp_url(f"smtp://127.0.0.1:{relays[SOUTH].port}?from={sender(SOUTH)}")
    north = Outbox(db, NORTH, Channels(None, None))
    south = Outbox(db, SOUTH, Channels(south_relay, None))
    notice = Notice("test", "Test", "A test.", "", {"event": "test", "site": NORTH})
    north.enqueue(Recipient(name="North rep", email=rep_address(NORTH)), notice, now=MONDAY)
    assert south.deliver_due(MONDAY) == 0
    assert north.deliver_due(MONDAY) == 1
    [failed] = north.deliveries(status="failed")
    assert failed.last_error is not None
    assert "no SMTP relay" in failed.last_error
    assert relays[SOUTH].messages == []


# -- an old state file ------------------------------------------------------------------------

OLD_OUTBOX = """
CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER,
    channel TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    address TEXT NOT NULL,
    recipient_json TEXT NOT NULL,
    notice_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    sent_at TEXT,
    last_error TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at);
"""


def test_an_old_file_s_deliveries_are_given_their_sites(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A delivery belongs to its alert's site; one without an alert (a digest, a weekly
    report) to the site its message names; one naming none to no site, which the log says."""
    db = tmp_path / "accounts.sqlite"
    south_alert = AlertRecords(db, SOUTH)  # the alerts table, as the old file has it
    with sqlite3.connect(db) as con:
        con.executescript("DROP TABLE IF EXISTS alert_deliveries;" + OLD_OUTBOX)
        con.execute(
            "INSERT INTO alerts (site, room, rule, severity, opened_at, condition, workflow,"
            " notified, occurrences, escalation_level, rule_snapshot)"
            " VALUES (?, 'South Hall', 'co2-urgent', 'urgent', ?, 'active', 'open', 1, 1, 0,"
            " '{}')",
            (SOUTH, MONDAY.isoformat()),
        )

        def row(alert_id: int | None, data: dict[str, Any], status: str = "failed") -> None:
            notice = Notice("digest", f"about {data.get('site')}", "", "", data)
            con.execute(
                "INSERT INTO alert_deliveries (alert_id, channel, recipient_name, address,"
                " recipient_json, notice_json, status, created_at, next_attempt_at)"
                " VALUES (?, 'email', 'Rep', 'rep@x.example', ?, ?, ?, ?, ?)",
                (alert_id, '{"name": "Rep", "email": "rep@x.example"}', notice.to_json(),
                 status, MONDAY.isoformat(), MONDAY.isoformat()),
            )  # fmt: skip

        row(1, {"event": "opened"})  # South's alert
        row(None, {"event": "digest", "site": NORTH})
        row(None, {"event": "report", "site": SOUTH}, status="sent")
        row(None, {"event": "mystery"})
    assert south_alert.get(1) is not None

    channels = Channels(None, None)
    north, south = Outbox(db, NORTH, channels), Outbox(db, SOUTH, channels)
    assert [d.notice.data["event"] for d in north.deliveries()] == ["digest"]
    assert [d.notice.data["event"] for d in south.deliveries()] == ["report", "opened"]
    assert south.counts() == {"pending": 0, "sent": 1, "failed": 1}
    assert "1 deliveries from before sites had their own outboxes name no site" in caplog.text
    assert "(ids 4)" in caplog.text
    with sqlite3.connect(db) as con:
        indexes = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
    assert "alert_deliveries_site_due" in indexes
    assert "alert_deliveries_due" not in indexes
    caplog.clear()
    Outbox(db, NORTH, channels)  # opened again: migrated once, nothing more to say
    assert "name no site" not in caplog.text


# -- the real `ventwatch run` with two site files ---------------------------------------------


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone in which `now` is between 12:00 and 13:00: the seeded lesson is
    then occupied time whenever the test runs."""
    offset = 12 - now.hour  # -11 .. 12 hours east of UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def wait_until(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    pytest.fail(f"{what}: not within {timeout} s")


def test_two_sites_in_one_run_each_send_and_see_only_their_own(
    tmp_path: Path, mosquitto: MosquittoServer, relays: dict[str, SmtpServer]
) -> None:
    now = datetime.now(UTC)
    zone = midday_zone(now)
    paths = []
    for name in (NORTH, SOUTH):
        slug = site_slug(name)
        store = tmp_path / f"{slug}.duckdb"
        overrides = {
            "occupied_hours": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                               "start": "06:00", "end": "20:00"},
            "store": {"url": f"duckdb://{store}", "spool": str(tmp_path / f"{slug}-spool")},
        }  # fmt: skip
        document = site_document(name, relays[name], **overrides)
        document["site"]["timezone"] = zone
        site = SiteConfig.model_validate(document)
        seeded = DuckDBStore(store)
        seeded.write(poorly_ventilated(site, now.replace(second=0) - timedelta(minutes=40), 40))
        seeded.close()
        path = tmp_path / f"{slug}.yaml"
        path.write_text(_yaml(document))
        paths.append(path)
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.add_user("north-rep", Role.REP, PASSWORD, [NORTH])
    accounts.add_user("north-manager", Role.SITE_MANAGER, PASSWORD, [NORTH])
    accounts.add_user("south-rep", Role.REP, PASSWORD, [SOUTH])
    token = accounts.new_token("north-manager", "prometheus")

    with ventwatch_run(paths, tmp_path, mosquitto.url) as base:
        [north_mail] = relays[NORTH].wait_for(1, timeout=60)
        [south_mail] = relays[SOUTH].wait_for(1, timeout=60)
        south = httpx.Client(base_url=base, timeout=10)
        sign_in(south, "south-rep")
        south_page = f"/sites/{site_slug(SOUTH)}/alerts"
        failed_id = wait_until(
            "South's refused delivery shown as failed on South's page",
            lambda: re.search(r'data-delivery="(\d+)">\s*<td[^>]*><strong class="warning">✖ failed',
                              south.get(south_page).text),
        ).group(1)  # fmt: skip

        north = httpx.Client(base_url=base, timeout=10)
        sign_in(north, "north-rep")
        north_base = f"/sites/{site_slug(NORTH)}"
        page = north.get(f"{north_base}/alerts").text
        assert "1 sent, 0 waiting, 0 failed" in page
        for theirs in (REFUSED, rep_address(SOUTH), "South Hall"):
            assert theirs not in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        retry = north.post(
            f"{north_base}/alerts/deliveries/{failed_id}/retry", data={"csrf": csrf.group(1)}
        )
        assert retry.status_code == 404
        metrics = north.get(
            f"{north_base}/metrics", headers={"Authorization": f"Bearer {token}"}
        ).text
        deliveries = dict(
            re.findall(r'^ventwatch_alert_deliveries\{status="(\w+)"\} (\d+)$', metrics, re.M)
        )
        assert deliveries == {"pending": "0", "sent": "1", "failed": "0"}

    assert (from_header(north_mail), str(north_mail["To"])) == (sender(NORTH), rep_address(NORTH))
    assert (from_header(south_mail), str(south_mail["To"])) == (sender(SOUTH), rep_address(SOUTH))
    assert [len(relays[n].messages) for n in (NORTH, SOUTH)] == [1, 1]


def _yaml(document: dict[str, Any]) -> str:
    """The site file: JSON is YAML, and says exactly what the test built."""
    return json.dumps(document, indent=2)
