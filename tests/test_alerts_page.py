"""The alerts pages against real parts: a DuckDB store, the accounts file holding the alert
records and the outbox (as `ventwatch run` keeps them), `Alerting` on a fixed clock with its
threads not started, and an SMTP port with nothing listening for a delivery that fails.
Alerts are written with `AlertRecords` as the monitor writes them."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from tests.conftest import SmtpServer, free_port, sign_in
from tests.test_accounts import api_routes, required_roles
from ventwatch.accounts import Accounts, Role
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.messages import alert_notice
from ventwatch.alerts.records import AlertRecords, ConfirmationError
from ventwatch.alerts.rules import snapshot
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import Recipient, SiteConfig, Subscription
from ventwatch.dashboard.app import create_app
from ventwatch.readings import Reading
from ventwatch.settings import resolve
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)  # a Tuesday; GMT, so local = UTC
BOLD = "<b>Bold</b>"
PROFILE = load_profile("joint-union")
RULES = {rule.id: rule for rule in PROFILE.alerts.rules}
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "Europe/London"},
        "rooms": [
            {"name": "Room 4"},
            {"name": "Lab 3", "building": "Science"},
            {"name": BOLD},
            {"name": "-1.05", "building": "Science"},  # a basement room, as numbered
        ],
        "alerts": {
            "ladder": [{"name": "Head teacher", "email": "head@hillside.example"}],
            "rules": [
                {"rule": "co2-advisory", "rooms": ["Lab 3"], "threshold": 700},
                {"rule": "cold", "rooms": ["Lab 3"], "enabled": False},
            ],
            "subscriptions": [{"name": "Union rep", "email": "rep@union.example"}],
        },
    }
)
ALERT_ROLES = frozenset({Role.ADMIN, Role.SITE_MANAGER, Role.REP})


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    return DuckDBStore(tmp_path / "store.duckdb")


def alerting_for(site: SiteConfig, store: DuckDBStore, accounts: Accounts) -> Alerting:
    """Alerting as `ventwatch run` builds it, its records beside the accounts, on the fixed
    clock; the SMTP relay is a port nothing listens on."""
    env = {
        "VENTWATCH_STATE_DB": str(accounts.path),
        "VENTWATCH_SMTP_URL": f"smtp://127.0.0.1:{free_port()}?from=ventwatch@hillside.example",
    }
    return Alerting(site, resolve(site, None, env=env), store, PROFILE, clock=lambda: NOW)


@pytest.fixture
def alerting(store: DuckDBStore, accounts: Accounts) -> Alerting:
    return alerting_for(SITE, store, accounts)


@pytest.fixture
def app(alerting: Alerting, store: DuckDBStore, accounts: Accounts) -> FastAPI:
    return create_app(SITE, store, accounts=accounts, clock=lambda: NOW, alerting=alerting)


def opened(
    alerting: Alerting,
    room: str,
    rule_id: str = "co2-urgent",
    at: datetime = NOW - timedelta(days=4),  # Friday 13 November
    worst: float = 1840,
    value: float = 1620,
    occurrences: int = 1,
) -> Alert:
    """An alert as the monitor opens one: saved with its "opened" audit row."""
    rule = RULES[rule_id]
    alert = Alert(
        room=room,
        rule=rule.id,
        severity=rule.severity,
        opened_at=at,
        active_since=at,
        notified_at=at,
        notified=True,
        occurrences=occurrences,
        worst=worst,
        value=value,
        rule_snapshot=snapshot(rule, PROFILE),
    )
    details = {"value": value, "worst": worst, "since": at}
    return alerting.records.save(alert, at, "opened", details)


def client_for(app: FastAPI, role: Role) -> TestClient:
    client = TestClient(app)
    sign_in(client, role.value)
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def squeeze(html: str) -> str:
    """Runs of spaces and newlines as one space (no-break spaces kept: they are content)."""
    return re.sub(r"[ \n]+", " ", html)


def row(html: str, attribute: str, key: object) -> str:
    """One table row by its data attribute, squeezed."""
    found = re.search(rf'<tr {attribute}="{re.escape(str(key))}">(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={key}"
    return squeeze(found.group(1))


def post(client: TestClient, path: str, page: str, **form: Any) -> Any:
    return client.post(path, data={"csrf": csrf_of(page), **form}, follow_redirects=False)


# -- seeing -----------------------------------------------------------------------------------


def test_a_rep_sees_open_alerts_and_the_rooms_left_unresolved(
    app: FastAPI, alerting: Alerting
) -> None:
    urgent = opened(alerting, "Room 4", occurrences=3)
    cold = opened(alerting, "Room 4", "cold", at=NOW - timedelta(hours=2), worst=14.5, value=15)
    lab = opened(alerting, "Lab 3", "co2-advisory", at=NOW - timedelta(days=1), worst=990)
    html = client_for(app, Role.REP).get("/alerts").text

    first = row(html, "data-alert", urgent.id)
    assert '<a href="/room?name=Room+4">Room 4</a>' in first
    assert f'<a href="/alerts/{urgent.id}">CO2 above 1500 ppm for 20 occupied minutes</a>' in first
    assert "✖</span> urgent" in first
    assert "active since Fri 13 Nov 2026, 10:30" in first
    # episodes, workflow, assigned to, escalation, age in school days (Mon 16 and Tue 17)
    assert (
        '<td data-label="Episodes">3</td> <td data-label="Workflow">open</td> '
        '<td data-label="Assigned to">–</td> <td data-label="Escalation">–</td> '
        '<td data-label="Age (school days)">2</td>'
    ) in first
    assert "worst 1840\u00a0ppm" in first
    assert '<td data-label="Age (school days)">0</td>' in row(html, "data-alert", cold.id)  # today
    assert "▲</span> advisory" in row(html, "data-alert", lab.id)

    room4 = row(html, "data-room", "Room 4")
    # open alerts, oldest age, episodes (3 + 1), worst of each quantity
    assert (
        '<td data-label="Open alerts">2</td> <td data-label="Unresolved for (school days)">2</td> '
        '<td data-label="Episodes since">4</td>'
    ) in room4
    assert "1840\u00a0ppm; 14.5\u00a0°C" in room4
    assert "none recorded" in room4
    assert html.index('data-room="Room 4"') < html.index('data-room="Lab 3"')  # oldest first


def test_the_monitor_state_is_shown_and_a_stale_one_says_so(
    app: FastAPI, alerting: Alerting
) -> None:
    client = client_for(app, Role.REP)
    assert "has not judged the rooms yet" in client.get("/alerts").text
    alerting.monitor.last_tick = NOW - timedelta(seconds=15)
    html = client.get("/alerts").text
    assert "Alert monitor: last judged the rooms Tue 17 Nov 2026, 10:29 (every 20 s)" in html
    assert "al-trouble" not in html
    alerting.monitor.last_tick = NOW - timedelta(minutes=30)
    alerting.monitor.last_error = "store: InfluxDB at http://influx:8086 did not answer"
    html = client.get("/alerts").text
    assert (
        "The alert monitor is stale:</strong> it last judged the rooms Tue 17 Nov 2026, 10:00"
        in html
    )
    assert "store: InfluxDB at http://influx:8086 did not answer" in html


def test_the_rules_in_force_show_site_changes_and_cite_their_sources(app: FastAPI) -> None:
    html = client_for(app, Role.SITE_MANAGER).get("/alerts").text
    advisory = row(html, "data-rule", "co2-advisory")
    assert (
        "CO2 above 800 ppm for 30 occupied minutes: Room 4, &lt;b&gt;Bold&lt;/b&gt;, -1.05"
        in advisory
    )
    assert "CO2 above 700 ppm for 30 occupied minutes: Lab 3 (changed by the site file)" in (
        re.sub(r"<[^>]+>", "", advisory)
    )
    assert '<a href="https://neu.org.uk/advice/use-co2-monitors"' in advisory
    cold = row(html, "data-rule", "cold")
    assert "Switched off by the site file: Lab 3" in cold
    assert "HSE, 2013; secondary" in cold
    urgent = row(html, "data-rule", "co2-urgent")
    assert "CO2 above 1500 ppm for 20 occupied minutes: every room" in urgent


def test_the_hot_rule_is_in_force_and_its_worst_is_the_highest(
    app: FastAPI, alerting: Alerting
) -> None:
    """NEU's 26 °C: the rules in force list the hot rule with its source; a room with a cold
    and a hot alert shows the lowest of the one and the highest of the other, apart."""
    html = client_for(app, Role.SITE_MANAGER).get("/alerts").text
    hot = row(html, "data-rule", "hot")
    assert "temperature above 26 °C for 30 occupied minutes: every room" in hot
    assert "Hot weather and classroom temperature" in hot
    assert "26 °C: NEU (NEU-HOT; Verified)" in hot
    opened(alerting, "Room 4", "cold", at=NOW - timedelta(hours=5), worst=14.5, value=15)
    opened(alerting, "Room 4", "hot", at=NOW - timedelta(hours=2), worst=27.0, value=26.5)
    opened(alerting, "Room 4", "hot", at=NOW - timedelta(hours=1), worst=28.5, value=28)
    room4 = row(client_for(app, Role.REP).get("/alerts").text, "data-room", "Room 4")
    assert "28.5\u00a0°C; 14.5\u00a0°C" in room4


def test_the_page_the_alert_and_its_email_say_whose_part_is_whose(
    app: FastAPI, alerting: Alerting
) -> None:
    """The rules in force, the alert's page and its email word the source's part and
    ventwatch's part the one way (`Profile.attribution`): HSE gave 1500 ppm and
    "consistently"; the 20 minutes and "urgent" are ventwatch's."""
    words = PROFILE.attribution(RULES["co2-urgent"])
    assert "20 minutes" in words.ventwatch_part
    assert "'urgent'" in words.ventwatch_part
    assert "minute" not in words.source_part
    client = client_for(app, Role.REP)
    in_force = row(client.get("/alerts").text, "data-rule", "co2-urgent")
    alert = opened(alerting, "Lab 3")
    page = squeeze(client.get(f"/alerts/{alert.id}").text)
    mail = alert_notice(alert, "opened", alerting.monitor.ctx, NOW)
    for shown in (in_force, page, squeeze(mail.html)):
        assert escape(words.source_part) in shown
        assert escape(words.ventwatch_part) in shown
    assert f"From the source: {words.source_part}\n{words.ventwatch_part}\n" in mail.text
    assert mail.data["rule"]["attribution"] == {
        "source": words.source_part,
        "ventwatch": words.ventwatch_part,
    }
    # The advisory alert waits 30 minutes where amber needs 20, and every place says why.
    advisory = RULES["co2-advisory"]
    assert advisory.duration_reason
    assert escape(advisory.duration_reason) in row(
        client.get("/alerts").text, "data-rule", "co2-advisory"
    )
    second = opened(alerting, "Room 4", "co2-advisory")
    text = alert_notice(second, "opened", alerting.monitor.ctx, NOW).text
    assert f"Why 30 minutes: {advisory.duration_reason}" in text


def test_a_room_name_with_markup_is_escaped(app: FastAPI, alerting: Alerting) -> None:
    alert = opened(alerting, BOLD)
    client = client_for(app, Role.REP)
    for path in ("/alerts", f"/alerts/{alert.id}"):
        html = client.get(path).text
        assert BOLD not in html, path
        assert "&lt;b&gt;Bold&lt;/b&gt;" in html, path
        assert "/room?name=%3Cb%3EBold%3C%2Fb%3E" in html, path


def test_staff_are_refused_and_see_no_alerts_link(app: FastAPI, alerting: Alerting) -> None:
    alert = opened(alerting, "Room 4")
    staff = client_for(app, Role.STAFF)
    for path in (
        "/alerts", f"/alerts/{alert.id}", "/alerts/audit.csv", "/alerts/subscriptions",
        "/api/alerts",
    ):  # fmt: skip
        assert staff.get(path).status_code == 403, path
    csrf = csrf_of(staff.get("/").text)  # their own valid token: still not theirs to use
    answer = staff.post(f"/alerts/{alert.id}/acknowledge", data={"csrf": csrf})
    assert answer.status_code == 403
    assert alerting.records.get(alert.id).workflow == "open"  # type: ignore[union-attr]
    assert '<a href="/alerts">Alerts</a>' not in staff.get("/").text
    assert '<a href="/alerts">Alerts</a>' in client_for(app, Role.REP).get("/").text


def test_every_alerts_route_admits_admins_site_managers_and_reps(app: FastAPI) -> None:
    roles = {
        (method, route.path): required_roles(route)
        for route in api_routes(app.routes)
        for method in route.methods
        if "alerts" in route.path
    }
    assert set(roles) == {
        ("GET", "/alerts"),
        ("GET", "/alerts/audit.csv"),
        ("GET", "/alerts/subscriptions"),
        ("POST", "/alerts/subscriptions"),
        ("POST", "/alerts/subscriptions/{subscription_id}/delete"),
        ("POST", "/alerts/subscriptions/{subscription_id}/test"),
        ("POST", "/alerts/subscriptions/file/{index}/test"),
        ("GET", "/alerts/subscriptions/confirm"),
        ("POST", "/alerts/subscriptions/confirm"),
        ("POST", "/alerts/deliveries/{delivery_id}/retry"),
        ("GET", "/alerts/{alert_id}"),
        ("POST", "/alerts/{alert_id}/acknowledge"),
        ("POST", "/alerts/{alert_id}/assign"),
        ("POST", "/alerts/{alert_id}/comment"),
        ("POST", "/alerts/{alert_id}/action"),
        ("GET", "/api/alerts"),
    }
    assert set(roles.values()) == {ALERT_ROLES}


def test_without_alerting_the_pages_say_it_is_not_running(
    store: DuckDBStore, accounts: Accounts
) -> None:
    app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
    client = client_for(app, Role.REP)
    page = client.get("/alerts")
    assert page.status_code == 404
    assert "alerting is not running in this process" in page.text
    assert "<h1>Not found</h1>" in page.text
    api = client.get("/api/alerts")
    assert (api.status_code, api.json()) == (
        404, {"detail": "alerting is not running in this process"},
    )  # fmt: skip


# -- the workflow -----------------------------------------------------------------------------


def test_acknowledge_assign_comment_and_close_write_the_audit_log_in_order(
    app: FastAPI, alerting: Alerting
) -> None:
    alert = opened(alerting, "Room 4")
    rep = client_for(app, Role.REP)
    path = f"/alerts/{alert.id}"
    page = rep.get(path).text
    assert 'list="people"' in page
    assert '<option value="Head teacher">' in page  # the ladder's contact
    assert '<option value="site_manager">' in page  # and the users
    steps = [
        ("acknowledge", {}),
        ("assign", {"to": "Head teacher"}),
        ("comment", {"text": "Windows in Room 4 are painted shut."}),
        (
            "action",
            {
                "step": "practical-steps",
                "action": "windows-opened",
                "taken_on": "2026-11-16",
                "note": "Site team freed two windows.",
                "close": "true",
            },
        ),
    ]
    confirmations = {
        "acknowledge": (
            "acknowledged",
            "✓ Acknowledged: the alert&#39;s log now says you have seen it.",
        ),
        "assign": ("assigned", "✓ Assigned: the alert&#39;s log now names who deals with it."),
        "comment": ("commented", "✓ Comment added to the alert&#39;s log."),
        "action": ("closed", "✓ Action recorded, and the alert is closed."),
    }
    for name, form in steps:
        answer = post(rep, f"{path}/{name}", page, **form)
        assert answer.status_code == 303, (name, answer.text)
        done, words = confirmations[name]
        assert answer.headers["location"] == f"{path}?done={done}"
        # Following the redirect, the page says what was just done (and only then).
        shown = rep.get(answer.headers["location"]).text
        confirmation = re.search(
            r'<p class="al-done" role="status" data-field="done">(.*?)</p>', shown
        )
        assert confirmation is not None, name
        assert confirmation[1] == words
    assert 'data-field="done"' not in rep.get(path).text
    assert rep.get(f"{path}?done=<script>").status_code == 422  # fixed words only

    log = alerting.records.audit(alert.id)
    assert [(e.kind, e.actor) for e in log] == [
        ("opened", "ventwatch"),
        ("acknowledged", "rep"),
        ("assigned", "rep"),
        ("commented", "rep"),
        ("closed", "rep"),
    ]
    assert [e.at for e in log[1:]] == [NOW] * 4
    assert log[4].details == {
        "step": "practical-steps", "action": "windows-opened",
        "note": "Site team freed two windows.", "taken_on": "2026-11-16",
    }  # fmt: skip
    closed = alerting.records.get(alert.id)
    assert closed is not None
    assert (closed.workflow, closed.assigned_to, closed.closed_at) == (
        "closed",
        "Head teacher",
        NOW,
    )
    [action] = alerting.records.actions(alert_id=alert.id)
    assert (action.room, action.taken_on, action.recorded_by) == (
        "Room 4",
        date(2026, 11, 16),
        "rep",
    )

    page = rep.get(path).text
    timeline = squeeze(page.split('id="timeline-heading"')[1])
    expected = [
        "<strong>ventwatch</strong>: Opened: 1620\u00a0ppm (worst 1840\u00a0ppm)",
        "<strong>rep</strong>: Acknowledged",
        "<strong>rep</strong>: Assigned to Head teacher",
        "<strong>rep</strong>: Comment: Windows in Room 4 are painted shut.",
        "<strong>rep</strong>: Closed with action: Windows opened (Practical steps to improve"
        " ventilation), taken on 2026-11-16. Note: Site team freed two windows.",
    ]
    positions = [timeline.index(text) for text in expected]
    assert positions == sorted(positions)
    # Closed: only the comment form is left.
    assert f'action="{path}/comment"' in page
    for form in ("acknowledge", "assign", "action"):
        assert f'action="{path}/{form}"' not in page


def test_a_closed_alert_takes_comments_only(app: FastAPI, alerting: Alerting) -> None:
    alert = opened(alerting, "Room 4")
    alerting.records.record_action(
        alert.id, step="evidence", action="reported-to-employer", note="", taken_on=NOW.date(),
        by="rep", at=NOW, close=True,
    )  # fmt: skip
    rep = client_for(app, Role.REP)
    path = f"/alerts/{alert.id}"
    page = rep.get(path).text
    again = post(
        rep, f"{path}/action", page, step="evidence", action="reported-to-employer",
        taken_on="2026-11-17", close="true",
    )  # fmt: skip
    assert again.status_code == 409
    assert f"alert {alert.id} is closed" in again.text
    assert post(rep, f"{path}/acknowledge", page).status_code == 409
    assert post(rep, f"{path}/assign", page, to="Head teacher").status_code == 409
    assert post(rep, f"{path}/comment", page, text="Employer replied.").status_code == 303
    kinds = [e.kind for e in alerting.records.audit(alert.id)]
    assert kinds == ["opened", "closed", "commented"]


def test_the_forms_need_their_csrf_token(app: FastAPI, alerting: Alerting) -> None:
    alert = opened(alerting, "Room 4")
    rep = client_for(app, Role.REP)
    path = f"/alerts/{alert.id}"
    forged = rep.post(f"{path}/acknowledge", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    missing = rep.post(f"{path}/comment", data={"text": "hi"}, follow_redirects=False)
    assert missing.status_code == 422
    bearer = TestClient(app)  # a token has no session, so no form token either
    token = app.state.accounts.new_token("rep", "tests")
    headers = {"Authorization": f"Bearer {token}"}
    answer = bearer.post(f"{path}/acknowledge", data={"csrf": "guessed"}, headers=headers)
    assert answer.status_code == 403
    assert [e.kind for e in alerting.records.audit(alert.id)] == ["opened"]


@pytest.mark.parametrize(
    ("form", "detail"),
    [
        ({"step": "evidence", "action": "air-cleaner-installed"}, "part of the step"),
        ({"step": "practical-steps", "action": "prayed"}, "no action"),
        ({"step": "practical-steps", "action": "windows-opened", "taken_on": "2026-11-18"},
         "is after today"),
    ],
)  # fmt: skip
def test_an_action_must_be_in_the_vocabulary_and_not_in_the_future(
    app: FastAPI, alerting: Alerting, form: dict[str, str], detail: str
) -> None:
    alert = opened(alerting, "Room 4")
    rep = client_for(app, Role.REP)
    path = f"/alerts/{alert.id}"
    answer = post(rep, f"{path}/action", rep.get(path).text, **{"taken_on": "2026-11-17", **form})
    assert answer.status_code == 400
    assert detail in answer.text
    assert alerting.records.actions(alert_id=alert.id) == []


def test_an_unknown_alert_is_not_found(app: FastAPI) -> None:
    rep = client_for(app, Role.REP)
    assert rep.get("/alerts/999").status_code == 404
    page = rep.get("/alerts").text
    assert post(rep, "/alerts/999/acknowledge", page).status_code == 404
    assert rep.get(f"/alerts/{2**63}").status_code == 422  # past SQLite's integers


def test_the_page_shows_the_rule_its_source_and_whether_the_action_helped(
    app: FastAPI, alerting: Alerting, store: DuckDBStore
) -> None:
    """Two weeks at 1200 ppm through lessons, then two weeks at 650 after the windows were
    opened on Monday 2 November: the page says it helped, with both sides' figures."""
    taken_on = date(2026, 11, 2)
    start = datetime(2026, 10, 19, tzinfo=UTC)
    batch = []
    for day in range(29):
        local = start + timedelta(days=day)
        if local.weekday() >= 5:
            continue
        level = 1200.0 if local.date() < taken_on else 650.0
        for minute in range(8 * 60 + 45, 15 * 60 + 15):
            at = local.astimezone(SITE.tz).replace(hour=minute // 60, minute=minute % 60)
            batch.append(Reading(at, SITE.site.name, "Room 4", "s4", "tasmota", co2_ppm=level))
    store.write(batch)
    alert = opened(alerting, "Room 4", "co2-advisory", worst=1260, value=1200)
    rep = client_for(app, Role.REP)
    path = f"/alerts/{alert.id}"
    answer = post(
        rep, f"{path}/action", rep.get(path).text, step="practical-steps",
        action="windows-opened", taken_on=taken_on.isoformat(), note="",
    )  # fmt: skip
    assert answer.status_code == 303
    page = rep.get(path).text
    assert "<h1>Room 4: CO2 above 800 ppm for 30 occupied minutes</h1>" in page
    assert "800 ppm for 30 occupied minutes" in page
    assert '<a href="https://neu.org.uk/advice/use-co2-monitors" rel="noopener noreferrer">' in page
    assert PROFILE.title in page
    assert f"({PROFILE.id} {PROFILE.version})" in page
    action = squeeze(page.split('data-action="')[1].split("</article>")[0])
    assert '✓ Helped</span> <span data-field="reason">time above 800 ppm 100% → 0%' in action
    assert "mean 1200 → 650 ppm" in action
    assert "Before <span" in action
    assert "<td>10</td> <td>100\u00a0%</td> <td>1200\u00a0ppm</td> <td>100.0\u00a0%</td>" in action
    assert "<td>10</td> <td>100\u00a0%</td> <td>650\u00a0ppm</td> <td>0.0\u00a0%</td>" in action


def test_messages_show_minute_means_as_a_sensor_would(alerting: Alerting) -> None:
    """Minute means have decimals; a message shows CO2 in whole ppm and °C to a tenth."""
    co2 = opened(alerting, "Lab 3", value=1361.5, worst=1857.7)
    text = alert_notice(co2, "recovered", alerting.monitor.ctx, NOW).text
    assert "Latest value: 1362 ppm\nWorst value: 1858 ppm\n" in text
    cold = opened(alerting, "Room 4", rule_id="cold", value=15.46, worst=14.04)
    text = alert_notice(cold, "opened", alerting.monitor.ctx, NOW).text
    assert "Latest value: 15.5 °C\nWorst value: 14.0 °C\n" in text


# -- deliveries -------------------------------------------------------------------------------


def test_retry_puts_a_failed_delivery_back_in_the_queue(app: FastAPI, alerting: Alerting) -> None:
    alert = opened(alerting, "Lab 3")
    head = Recipient(name="Head teacher", email="head@hillside.example")
    notice = alert_notice(alert, "opened", alerting.monitor.ctx, NOW)
    delivery_id = alerting.outbox.enqueue(head, notice, now=NOW, alert_id=alert.id)
    at = NOW
    for _ in range(alerting.outbox.max_attempts):  # the relay stays down through every retry
        assert alerting.outbox.deliver_due(at) == 1
        at += timedelta(hours=2)
    [failed] = alerting.outbox.deliveries(status="failed")
    assert failed.id == delivery_id

    rep = client_for(app, Role.REP)
    page = rep.get("/alerts").text
    shown = row(page, "data-delivery", delivery_id)
    assert "✖ failed" in shown
    assert "Head teacher<br><code>head@hillside.example</code>" in shown
    assert f'<td data-label="Attempts">{alerting.outbox.max_attempts}</td>' in shown
    assert "127.0.0.1" in shown  # the relay's error, as the outbox recorded it
    assert f'action="/alerts/deliveries/{delivery_id}/retry"' in shown

    answer = post(rep, f"/alerts/deliveries/{delivery_id}/retry", page)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/alerts#deliveries"
    [pending] = alerting.outbox.deliveries(status="pending")
    assert (pending.id, pending.attempts, pending.next_attempt_at) == (delivery_id, 0, NOW)
    shown = row(rep.get("/alerts").text, "data-delivery", delivery_id)
    assert "◷ waiting" in shown
    assert "/retry" not in shown
    # Only a failed delivery can be retried.
    assert post(rep, f"/alerts/deliveries/{delivery_id}/retry", page).status_code == 404


# -- subscriptions ----------------------------------------------------------------------------


def test_subscriptions_from_the_file_and_from_the_dashboard(
    app: FastAPI, alerting: Alerting
) -> None:
    rep = client_for(app, Role.REP)
    page = rep.get("/alerts/subscriptions").text
    assert "These come from the site file's <code>alerts.subscriptions</code>" in page
    assert "Union rep" in page
    assert "rep@union.example" in page

    bad = post(
        rep, "/alerts/subscriptions", page, name="Ann Rep", email="not-an-email",
        delivery="instant",
    )  # fmt: skip
    assert bad.status_code == 400
    assert "The subscription was not added" in bad.text
    assert "Email: &#39;not-an-email&#39; is not an email address" in bad.text
    assert "Severities: tick at least one" in bad.text
    assert 'value="Ann Rep"' in bad.text  # the form keeps what was typed
    assert alerting.records.subscriptions() == []

    good = rep.post(
        "/alerts/subscriptions",
        data={
            "csrf": csrf_of(page), "name": "Ann Rep", "email": "ann@union.example",
            "severities": ["urgent", "advisory"], "rooms": ["Lab 3"], "delivery": "digest",
        },
        follow_redirects=False,
    )  # fmt: skip
    assert good.status_code == 303
    [stored] = alerting.records.subscriptions()
    assert (stored.owner, stored.confirmed) == ("rep", False)
    # Only the site file's until the address confirms it (see the test below).
    assert [s.name for s in alerting.monitor.subscriptions()] == ["Union rep"]
    added = Subscription.model_validate(stored.recipient)
    assert (added.email, added.rooms, added.delivery) == ("ann@union.example", ["Lab 3"], "digest")
    assert added.severities == ["urgent", "advisory"]

    listed = row(rep.get("/alerts/subscriptions").text, "data-subscription", stored.id)
    assert "ann@union.example" in listed
    assert "Remove" in listed
    manager = client_for(app, Role.SITE_MANAGER)
    manager_page = manager.get("/alerts/subscriptions").text
    assert "Remove" not in row(manager_page, "data-subscription", stored.id)
    removal = f"/alerts/subscriptions/{stored.id}/delete"
    assert post(manager, removal, manager_page).status_code == 403
    assert post(rep, removal, page).status_code == 303
    assert alerting.records.subscriptions() == []
    log = [(e.kind, e.actor) for e in alerting.records.audit()]
    assert log == [("subscribed", "rep"), ("unsubscribed", "rep")]


def test_an_unknown_room_cannot_be_subscribed_to(app: FastAPI, alerting: Alerting) -> None:
    rep = client_for(app, Role.REP)
    page = rep.get("/alerts/subscriptions").text
    answer = rep.post(
        "/alerts/subscriptions",
        data={
            "csrf": csrf_of(page), "name": "Ann", "email": "ann@union.example",
            "severities": ["urgent"], "rooms": ["Gym"],
        },
    )  # fmt: skip
    assert answer.status_code == 400
    assert "Rooms: no room &#39;Gym&#39; on this site" in answer.text
    assert alerting.records.subscriptions() == []


def test_a_subscription_added_here_waits_for_its_address_to_confirm_it(
    store: DuckDBStore, accounts: Accounts, smtp_server: SmtpServer
) -> None:
    """Nothing goes to an address a rep typed until its owner confirms: the address gets a
    link that works once, for 72 hours, behind sign-in; then alerts go to it. The site
    file's subscriptions are trusted as configured."""
    clock = [NOW]
    env = {
        "VENTWATCH_STATE_DB": str(accounts.path),
        "VENTWATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}?from=vw@hillside.example",
    }
    settings = resolve(SITE, None, env=env)
    alerting = Alerting(SITE, settings, store, PROFILE, clock=lambda: clock[0])
    app = create_app(SITE, store, accounts=accounts, clock=lambda: clock[0], alerting=alerting)
    rep = client_for(app, Role.REP)

    def subscribe(email: str) -> str:
        """Add a subscription for `email`; the confirmation link it is sent."""
        page = rep.get("/alerts/subscriptions").text
        sent = len(smtp_server.messages)
        answer = post(
            rep, "/alerts/subscriptions", page, name="Ann Rep", email=email,
            severities=["urgent"], delivery="instant",
        )  # fmt: skip
        assert answer.status_code == 303
        assert alerting.outbox.deliver_due(clock[0]) == 1
        message = smtp_server.wait_for(sent + 1)[-1]
        assert (str(message["To"]), str(message["From"])) == (email, "vw@hillside.example")
        assert message["Subject"] == "[ventwatch] Confirm alert emails from Hillside Academy"
        text = message.get_body(preferencelist=("plain",)).get_content()
        found = re.search(r"(\S+/alerts/subscriptions/confirm\?token=\S+)", text)
        assert found, text
        assert found[1].startswith(settings.dashboard_url + "/")
        return found[1].removeprefix(settings.dashboard_url)

    link = subscribe("ann@union.example")
    [waiting] = alerting.records.subscriptions()
    assert not waiting.confirmed
    listed = row(rep.get("/alerts/subscriptions").text, "data-subscription", waiting.id)
    assert "◷ waiting" in listed
    assert "works until Fri 20 Nov 2026, 10:30" in listed

    def alert_in(room: str, at: datetime) -> set[str]:
        """Who an urgent alert in `room` at `at` is sent to."""
        store.write(
            [
                Reading(at - timedelta(minutes=25 - i), SITE.site.name, room, f"{room}-co2",
                        "tasmota", co2_ppm=1700.0)
                for i in range(25)
            ]
        )  # fmt: skip
        before = {d.id for d in alerting.outbox.deliveries()}
        assert any(a.room == room for a, _ in alerting.monitor.tick(at)), "the alert opens"
        return {d.address for d in alerting.outbox.deliveries() if d.id not in before}

    assert alert_in("Room 4", NOW) == {"rep@union.example"}, "the site file's, not Ann's yet"

    assert TestClient(app).get(link, follow_redirects=False).status_code == 303  # sign in first
    page = rep.get(link)
    assert page.status_code == 200
    assert "ann@union.example" in page.text
    assert not alerting.records.subscriptions()[0].confirmed, "opening the link confirms nothing"
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    confirmed = post(rep, "/alerts/subscriptions/confirm", page.text, token=token[1])
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, "/alerts/subscriptions")
    [done] = alerting.records.subscriptions()
    assert done.confirmed_at == NOW
    assert "✓" in row(rep.get("/alerts/subscriptions").text, "data-subscription", done.id)
    assert [s.name for s in alerting.monitor.subscriptions()] == ["Union rep", "Ann Rep"]
    assert ("confirmed", "rep") in [(e.kind, e.actor) for e in alerting.records.audit()]
    # Once only.
    assert post(rep, "/alerts/subscriptions/confirm", page.text, token=token[1]).status_code == 404
    assert rep.get(link).status_code == 404

    assert alert_in("Lab 3", NOW + timedelta(hours=1)) == {
        "rep@union.example", "ann@union.example",
    }  # fmt: skip
    alerting.outbox.deliver_due(NOW + timedelta(hours=1))
    assert "ann@union.example" in {str(m["To"]) for m in smtp_server.wait_for(4)}

    # A link not followed within 72 hours stops working.
    late = subscribe("bob@union.example")
    clock[0] = NOW + timedelta(hours=72)
    rep = client_for(app, Role.REP)  # the session of 72 hours ago has ended
    expired = rep.get(late)
    assert expired.status_code == 404
    assert "this confirmation link has expired" in expired.text
    bob = next(s for s in alerting.records.subscriptions() if not s.confirmed)
    assert "✖ not confirmed" in row(
        rep.get("/alerts/subscriptions").text, "data-subscription", bob.id
    )
    assert [s.email for s in alerting.monitor.subscriptions()] == [
        "rep@union.example", "ann@union.example",
    ]  # fmt: skip


def test_confirmation_links_are_single_use_per_site_and_older_files_keep_theirs(
    tmp_path: Path,
) -> None:
    """A token confirms only a subscription of the site that issued it; subscriptions in a
    file from before confirmation keep working (they are taken as confirmed)."""
    db = tmp_path / "accounts.sqlite"
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TABLE alert_subscriptions (id INTEGER PRIMARY KEY, site TEXT NOT NULL,"
            " owner TEXT NOT NULL, recipient TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
        con.execute(
            "INSERT INTO alert_subscriptions VALUES (1, 'Hillside Academy', 'rep', ?, ?)",
            (json.dumps({"name": "Old", "email": "old@union.example"}), NOW.isoformat()),
        )
    hillside, other = AlertRecords(db, "Hillside Academy"), AlertRecords(db, "Other School")
    [old] = hillside.subscriptions()
    assert old.confirmed_at == NOW
    _, token = hillside.subscribe("rep", {"name": "New"}, NOW, timedelta(hours=72))
    with pytest.raises(ConfirmationError):
        other.confirm(token, "someone", NOW)
    assert hillside.confirm(token, "rep", NOW).confirmed
    with pytest.raises(ConfirmationError, match="used already"):
        hillside.confirm(token, "rep", NOW)


# -- for other programs -----------------------------------------------------------------------


def test_the_audit_log_as_csv(app: FastAPI, alerting: Alerting) -> None:
    alert = opened(alerting, "Room 4")
    alerting.records.acknowledge(alert.id, "rep", NOW)
    alerting.records.comment(alert.id, "Reported to the head; no reply yet.", "rep", NOW)
    basement = opened(alerting, "-1.05", at=NOW)
    answer = client_for(app, Role.REP).get("/alerts/audit.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="ventwatch-audit-2026-11-17.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["event"], r["actor"], r["alert_id"], r["room"], r["rule"]) for r in rows] == [
        ("opened", "ventwatch", str(alert.id), "Room 4", "co2-urgent"),
        ("acknowledged", "rep", str(alert.id), "Room 4", "co2-urgent"),
        ("commented", "rep", str(alert.id), "Room 4", "co2-urgent"),
        # A spreadsheet would take a cell starting with - + = @ as a formula: kept as text.
        ("opened", "ventwatch", str(basement.id), "'-1.05", "co2-urgent"),
    ]
    assert rows[0]["at_utc"] == "2026-11-13T10:30:00+00:00"
    assert rows[0]["site_time"] == "2026-11-13 10:30"
    assert rows[0]["what"] == "Opened: 1620\u00a0ppm (worst 1840\u00a0ppm)"
    assert json.loads(rows[0]["details"]) == {
        "since": "2026-11-13T10:30:00+00:00", "value": 1620, "worst": 1840,
    }  # fmt: skip
    assert rows[2]["what"] == "Comment: Reported to the head; no reply yet."


def test_api_alerts(app: FastAPI, alerting: Alerting, accounts: Accounts) -> None:
    still = opened(alerting, "Room 4")
    done = opened(alerting, "Lab 3", "co2-advisory", worst=990)
    alerting.records.assign(still.id, "Head teacher", "rep", NOW)
    alerting.records.record_action(
        done.id, step="evidence", action="evidence-gathered", note="", taken_on=NOW.date(),
        by="rep", at=NOW, close=True,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {accounts.new_token('rep', 'tests')}"}
    client = TestClient(app)
    body = client.get("/api/alerts", headers=headers).json()
    assert (body["site"], body["state"]) == ("Hillside Academy", "unclosed")
    assert body["profile"] == {"id": PROFILE.id, "version": PROFILE.version}
    [only] = body["alerts"]
    listed = only["alert"]
    assert (listed["id"], listed["room"], listed["rule"], listed["severity"]) == (
        still.id, "Room 4", "co2-urgent", "urgent",
    )  # fmt: skip
    assert (listed["condition"], listed["workflow"], listed["assigned_to"]) == (
        "active", "open", "Head teacher",
    )  # fmt: skip
    assert (listed["worst"], listed["unit"], listed["age_school_days"]) == (1840, "ppm", 2)
    assert only["rule"]["threshold"] == 1500
    assert only["rule"]["source"]["url"] == (
        "https://www.hse.gov.uk/ventilation/using-co2-monitors.htm"
    )
    assert only["alert_url"].endswith(f"/alerts/{still.id}")
    assert only["room_url"].endswith("/room?name=Room+4")
    every = client.get("/api/alerts", params={"state": "all"}, headers=headers).json()
    assert [(a["alert"]["id"], a["alert"]["workflow"]) for a in every["alerts"]] == [
        (done.id, "closed"), (still.id, "open"),
    ]  # fmt: skip
    assert every["alerts"][0]["alert"]["closed_at"] == NOW.isoformat()
    assert client.get("/api/alerts", params={"state": "some"}, headers=headers).status_code == 422
    staff = {"Authorization": f"Bearer {accounts.new_token('staff', 'tests')}"}
    assert client.get("/api/alerts", headers=staff).status_code == 403
    assert client.get("/api/alerts").status_code == 401


def test_the_room_chart_marks_the_actions_recorded_that_week(
    app: FastAPI, alerting: Alerting
) -> None:
    alert = opened(alerting, "Room 4")
    alerting.records.record_action(
        alert.id, step="practical-steps", action="trickle-vents-unblocked", note="<vents> freed",
        taken_on=date(2026, 11, 16), by="rep", at=NOW, close=False,
    )  # fmt: skip
    page = client_for(app, Role.STAFF).get("/room", params={"name": "Room 4", "range": "week"})
    assert page.status_code == 200
    html = squeeze(page.text)
    assert "Mon 16 Nov 2026: <strong>Trickle vents unblocked</strong>" in html
    assert "&lt;vents&gt; freed" in html
    figure = json.loads(re.search(r'id="co2-figure"[^>]*>(.*?)</script>', page.text, re.S)[1])
    [marks] = [t for t in figure["data"] if t["name"] == "Actions"]
    assert marks["x"] == ["2026-11-16T00:00:00"]  # local time, as the CO2 line
    assert marks["text"] == ["Trickle vents unblocked: &lt;vents&gt; freed"]  # as typed
    # Not in another week's range.
    other = client_for(app, Role.STAFF).get(
        "/room",
        params={"name": "Room 4", "range": "custom", "from": "2026-11-02", "to": "2026-11-06"},
    )
    assert "Actions recorded" not in other.text


def test_a_link_in_an_action_note_reaches_the_chart_as_text(
    app: FastAPI, alerting: Alerting
) -> None:
    """Plotly reads hover text as HTML: a note's markup goes to the figure escaped, so no
    viewer's tooltip shows a live link (or any other tag) a rep typed."""
    alert = opened(alerting, "Room 4")
    note = '<a href="https://evil.example/login">Sign in again</a> & <br>windows open'
    alerting.records.record_action(
        alert.id, step="practical-steps", action="windows-opened", note=note,
        taken_on=date(2026, 11, 16), by="rep", at=NOW, close=False,
    )  # fmt: skip
    page = client_for(app, Role.STAFF).get("/room", params={"name": "Room 4", "range": "week"})
    figure = json.loads(re.search(r'id="co2-figure"[^>]*>(.*?)</script>', page.text, re.S)[1])
    [marks] = [t for t in figure["data"] if t["name"] == "Actions"]
    assert marks["text"] == [
        'Windows opened: &lt;a href="https://evil.example/login"&gt;Sign in again&lt;/a&gt;'
        " &amp; &lt;br&gt;windows open"
    ]
    for trace in figure["data"]:
        for text in trace.get("text", []):
            assert "<" not in text, text
