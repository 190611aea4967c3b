"""Alert emails a rep can act on, end to end: readings in a real DuckDB store, the monitor on
a simulated clock, the outbox delivering to a real SMTP server (aiosmtpd), and the dashboard
pages the emails link to. What the rep reads is checked in the messages as received."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SmtpServer, sign_in
from tests.test_alert_monitor import MONDAY, Rig, site_config
from ventwatch.accounts import Accounts
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.messages import span
from ventwatch.alerts.threads import thread_of
from ventwatch.dashboard.app import create_app

DIGEST = {"name": "Site manager", "email": "sm@example.org", "delivery": "digest"}
BMS = {"name": "Building system", "webhook": "https://bms.example.org/hook"}


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content()).replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content()).replace("\r\n", "\n")


def stuffy_lesson(rig: Rig, room: str = "Room A") -> None:
    """CO2 over 1500 ppm from 09:00 for 40 minutes, then aired (1300 ppm) for 20."""
    rig.readings(room, MONDAY, [1600.0] * 10 + [1750.0] * 30)
    rig.readings(room, MONDAY + timedelta(minutes=40), [1300.0] * 20)


def test_an_urgent_email_says_the_urgency_the_room_and_what_to_do_first(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    subs = [
        {"name": "NEU rep", "email": "rep@example.org", "severities": ["urgent"]},
        {**DIGEST, "severities": ["urgent"]},
    ]
    rig = Rig(tmp_path, smtp_server, site_config(subscriptions=subs))
    stuffy_lesson(rig)
    assert "Room A:co2-urgent:opened" in rig.tick(MONDAY + timedelta(minutes=25))
    [mail] = rig.smtp.wait_for(1)
    assert mail["To"] == "rep@example.org"
    assert mail["Subject"] == "URGENT — Room A: CO2 over 1500 ppm for 20 min of lessons"
    text = text_of(mail)
    # How long it has been over (since the run began at 09:00) and the worst value.
    assert "Over for 25 min (since Mon 23 Nov 09:00), worst 1750 ppm." in text
    # The first practical steps, from the profile, each cited with how far it was checked.
    steps = rig.alerting.monitor.profile.alerts.steps_for("co2_above")
    assert len(steps) >= 2
    first = text.split("What to do first:\n")[1].split("\n\n")[0].splitlines()
    assert len(first) == len(steps)
    for line, step in zip(first, steps, strict=True):
        assert step.do in line
        assert "Joint union guide to improving ventilation" in line
        assert step.where in line
    assert (
        "(Joint union guide to improving ventilation in schools and colleges (ref. NEU2318),"
        " step 4, practical steps to improve ventilation; Verified;" in text
    )
    # Who was told, by name and way, never by address.
    assert "Told: NEU rep (email), Site manager (daily digest)\n" in text
    assert "sm@example.org" not in text
    alert_id = rig.alerting.records.alerts()[0].id
    assert (
        f"Acknowledge, assign or record an action: https://vw.example.org/alerts/{alert_id}" in text
    )
    html = html_of(mail)
    assert '<h2 style="font-size: 1.1em">What to do first</h2>' in html
    assert html.count("<li>") == len(steps)
    assert f'<a href="https://vw.example.org/alerts/{alert_id}">' in html
    assert "act now" in text  # the rule's meaning, while the room is red
    rig.store.close()


def test_a_recovery_email_says_it_recovered_and_how_long_the_episode_lasted(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    only_urgent = [{"name": "NEU rep", "email": "rep@example.org", "severities": ["urgent"]}]
    rig = Rig(tmp_path, smtp_server, site_config(subscriptions=only_urgent))
    stuffy_lesson(rig)
    rig.tick(MONDAY + timedelta(minutes=25))
    assert "Room A:co2-urgent:recovered" in rig.tick(MONDAY + timedelta(minutes=50))
    recovery = rig.smtp.wait_for(2)[1]
    assert recovery["Subject"] == (
        "Recovered — Room A: CO2 over 1500 ppm for 20 min of lessons (lasted 50 min)"
    )
    text = text_of(recovery)
    assert "The episode lasted 50 min (Mon 23 Nov 09:00 to Mon 23 Nov 09:50)." in text
    for shown in (text, html_of(recovery)):
        assert "act now" not in shown.lower()
        assert "What to do first" not in shown
    assert "Source: Ventilation in the workplace" in text  # still cited
    rig.store.close()


def test_a_room_red_again_after_a_recovery_is_emailed_again_despite_the_cooldown(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """The rep was told "recovered" at 09:50; at 10:30 the room is red again, well inside
    the 120-minute cooldown: the inbox must not go on saying all is well."""
    only_urgent = [{"name": "NEU rep", "email": "rep@example.org", "severities": ["urgent"]}]
    rig = Rig(tmp_path, smtp_server, site_config(subscriptions=only_urgent, cooldown_minutes=120))
    stuffy_lesson(rig)
    rig.tick(MONDAY + timedelta(minutes=25))
    rig.tick(MONDAY + timedelta(minutes=50))
    rig.readings("Room A", MONDAY + timedelta(minutes=60), [1800.0] * 30)
    assert "Room A:co2-urgent:reopened" in rig.tick(MONDAY + timedelta(minutes=85))
    subjects = [m["Subject"] for m in rig.smtp.wait_for(3)]
    assert subjects == [
        "URGENT — Room A: CO2 over 1500 ppm for 20 min of lessons",
        "Recovered — Room A: CO2 over 1500 ppm for 20 min of lessons (lasted 50 min)",
        "URGENT again — Room A: CO2 over 1500 ppm for 20 min of lessons",
    ]
    [alert] = [a for a in rig.alerting.records.alerts() if a.rule == "co2-urgent"]
    assert alert.occurrences == 2  # the same alert, one more episode
    rig.store.close()


def ids(value: Any) -> str:
    return str(value or "").strip()


def test_urgent_and_advisory_of_one_episode_are_one_thread_and_one_entry(
    tmp_path: Path, smtp_server: SmtpServer, accounts: Accounts
) -> None:
    both = [{"name": "NEU rep", "email": "rep@example.org", "severities": ["urgent", "advisory"]}]
    rig = Rig(tmp_path, smtp_server, site_config(subscriptions=both))
    stuffy_lesson(rig)
    rig.tick(MONDAY + timedelta(minutes=21))  # the urgent: 20 minutes over 1500
    rig.tick(MONDAY + timedelta(minutes=31))  # the advisory: 30 minutes over 800
    urgent_mail, advisory_mail = rig.smtp.wait_for(2)
    assert urgent_mail["Subject"].startswith("URGENT — Room A")
    assert advisory_mail["Subject"] == "Advisory — Room A: CO2 over 800 ppm for 30 min of lessons"
    root = ids(urgent_mail["Message-ID"])
    assert re.fullmatch(r"<ventwatch\.alert-\d+\.1@example\.org>", root)
    assert urgent_mail["In-Reply-To"] is None
    assert ids(advisory_mail["In-Reply-To"]) == root
    assert ids(advisory_mail["References"]) == root
    assert ids(advisory_mail["Message-ID"]) != root

    # The alerts page shows one entry: the advisory folded under the urgent.
    app = create_app(rig.site, rig.store, accounts=accounts, alerting=rig.alerting,
                     clock=lambda: MONDAY + timedelta(minutes=31))  # fmt: skip
    client = TestClient(app)
    sign_in(client, "rep")
    page = client.get("/alerts").text
    urgent, advisory = sorted(rig.alerting.records.alerts(), key=lambda a: a.severity != "urgent")
    assert "Open alerts (1)" in page
    lead = re.search(rf'<tr data-alert="{urgent.id}">(.*?)</tr>', page, re.S)
    assert lead is not None
    assert f'data-folded="{advisory.id}"' in lead[1]
    assert f'<tr data-alert="{advisory.id}">' not in page

    # Both recover: the recoveries join the thread, and the alerts leave "Open alerts".
    rig.tick(MONDAY + timedelta(minutes=50))  # the urgent: 10 minutes at 1300
    rig.readings("Room A", MONDAY + timedelta(minutes=60), [700.0] * 20)
    rig.tick(MONDAY + timedelta(minutes=76))  # the advisory: 15 minutes under 750
    recoveries = rig.smtp.wait_for(4)[2:]
    assert [m["Subject"].split(" — ")[0] for m in recoveries] == ["Recovered", "Recovered"]
    assert all(ids(m["In-Reply-To"]) == root for m in recoveries)
    page = client.get("/alerts").text
    assert "Open alerts (0)" in page
    assert "No open alerts: no room is over a rule now." in page
    for alert in (urgent, advisory):
        assert f'<tr data-alert="{alert.id}">' not in page
        assert f'<tr data-recovered="{alert.id}">' in page  # still there, to be closed
    rig.store.close()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(1, 120), st.booleans()), min_size=1, max_size=5
    )
)
def test_a_thread_is_the_same_whichever_alert_of_an_episode_asks(
    spans: list[tuple[int, int, bool]],
) -> None:
    """Alerts of one room and kind whose episodes overlap at the moment of asking share the
    thread of the first announced; each asks from its own side and gets the same root when
    every pair overlaps."""
    alerts = []
    for i, (start, length, recovered) in enumerate(spans, 1):
        since = MONDAY + timedelta(minutes=start)
        alerts.append(
            Alert(
                room="Room A", rule=f"r{i}", severity="urgent", opened_at=since,
                active_since=since, notified=True, notified_at=since,
                condition="recovered" if recovered else "active",
                recovered_at=since + timedelta(minutes=length) if recovered else None,
                rule_snapshot={"kind": "co2_above"}, id=i,
            )
        )  # fmt: skip
    now = MONDAY + timedelta(minutes=500)
    threads = {thread_of(a, "recovered", alerts, now).token for a in alerts}
    ends = [a.recovered_at or now for a in alerts]
    starts = [a.active_since or now for a in alerts]
    all_overlap = max(starts) <= min(ends)
    if all_overlap:
        assert len(threads) == 1
        first = min(alerts, key=lambda a: (a.notified_at, a.id))
        assert threads == {f"alert-{first.id}.1"}
    opener = thread_of(alerts[0], "opened", [alerts[0]], now)
    assert opener.opens
    assert opener.token == "alert-1.1"


@given(st.integers(0, 10_000))
def test_a_span_reads_back_as_the_minutes_it_lasted(minutes: int) -> None:
    words = span(MONDAY, MONDAY + timedelta(minutes=minutes))
    found = re.fullmatch(r"(?:(\d+) h)?(?: ?(\d+) min)?", words)
    assert words
    assert found is not None
    assert int(found[1] or 0) * 60 + int(found[2] or 0) == minutes


def test_send_a_test_alert_reaches_that_subscriber_only_and_says_so(
    tmp_path: Path, smtp_server: SmtpServer, accounts: Accounts
) -> None:
    subs = [
        {"name": "NEU rep", "email": "rep@example.org"},
        {"name": "Head", "email": "head@example.org"},
    ]
    rig = Rig(tmp_path, smtp_server, site_config(subscriptions=subs))
    now = MONDAY
    records = rig.alerting.records
    waiting_id, _ = records.subscribe(
        "rep", {"name": "Waiting", "email": "new@example.org"}, now, timedelta(hours=72)
    )
    ann_id, token = records.subscribe(
        "rep", {"name": "Ann", "email": "ann@example.org"}, now, timedelta(hours=72)
    )
    records.confirm(token, "rep", now)
    app = create_app(rig.site, rig.store, accounts=accounts, alerting=rig.alerting,
                     clock=lambda: now)  # fmt: skip
    client = TestClient(app)
    sign_in(client, "rep")
    page = client.get("/alerts/subscriptions").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    # A confirmed subscription has the button; one waiting for its address has none.
    assert f'action="/alerts/subscriptions/{ann_id}/test"' in page
    assert f'action="/alerts/subscriptions/{waiting_id}/test"' not in page

    def send(path: str, expect_to: str, expect_shown: str) -> None:
        sent = len(rig.smtp.messages)
        answer = client.post(path, data={"csrf": csrf[1]}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        shown = client.get(answer.headers["location"]).text
        assert f"✓ Test alert queued for {expect_shown}: only they get it." in shown
        assert rig.alerting.outbox.deliver_due(now) == 1  # one message, to one recipient
        [message] = rig.smtp.wait_for(sent + 1)[sent:]
        assert message["To"] == expect_to
        assert message["Subject"] == "[ventwatch] Test message from Test School"

    send("/alerts/subscriptions/file/1/test", "head@example.org", "Head")
    send(f"/alerts/subscriptions/{ann_id}/test", "ann@example.org", "Ann")
    assert [m["To"] for m in rig.smtp.messages] == ["head@example.org", "ann@example.org"]
    refused = client.post(
        f"/alerts/subscriptions/{waiting_id}/test", data={"csrf": csrf[1]}, follow_redirects=False
    )
    assert refused.status_code == 409  # nothing goes to an address that has not confirmed
    missing = client.post(
        "/alerts/subscriptions/file/7/test", data={"csrf": csrf[1]}, follow_redirects=False
    )
    assert missing.status_code == 404
    assert rig.alerting.outbox.deliver_due(now) == 0
    assert "Test alert queued" not in client.get("/alerts/subscriptions").text
    rig.store.close()
