"""The alert monitor end to end on a simulated clock: readings in a real DuckDB store, alert
state in a real SQLite file, messages through the outbox to a real SMTP server (aiosmtpd)
and a real HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HttpReceiver, SmtpServer, start_smtp
from ventwatch.alerts.alerting import Alerting
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.notify.channels import verify_signature
from ventwatch.readings import Reading
from ventwatch.settings import resolve
from ventwatch.store import Store, open_store

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # London is on UTC in November
BOLD = "<b>Bold</b> Room"


def site_config(*, extra_rooms: tuple[dict[str, Any], ...] = (), **alerts: Any) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"name": "Test School", "timezone": "Europe/London"},
            "calendar": {"holidays": ["2026-11-26"]},
            "rooms": [
                {"name": "Room A", "building": "Main"},
                {"name": BOLD, "building": "Arts"},
                *extra_rooms,
            ],
            "alerts": {
                "dashboard_url": "https://vw.example.org",
                "subscriptions": [{"name": "NEU rep", "email": "rep@example.org"}],
                **alerts,
            },
        }
    )


class Rig:
    """A site's store, alerting and mail server, driven by hand on a simulated clock."""

    def __init__(self, tmp: Path, smtp: SmtpServer, site: SiteConfig) -> None:
        self.tmp = tmp
        self.smtp = smtp
        self.site = site
        self.store: Store = open_store(f"duckdb://{tmp / 'store.duckdb'}", site=None)
        self.alerting = self.open()

    def open(self) -> Alerting:
        env = {
            "VENTWATCH_STATE_DB": str(self.tmp / "accounts.sqlite"),
            "VENTWATCH_SMTP_URL": f"smtp://127.0.0.1:{self.smtp.port}?from=vw@example.org",
        }
        settings = resolve(self.site, None, env=env)
        return Alerting(self.site, settings, self.store, load_profile("joint-union"))

    def readings(self, room: str, start: datetime, values: list[float], **kw: float) -> None:
        self.store.write(
            [
                Reading(
                    start + timedelta(minutes=i), "Test School", room, f"s-{room}", "tasmota",
                    co2_ppm=v, **kw,
                )
                for i, v in enumerate(values)
            ]
        )  # fmt: skip

    def tick(self, at: datetime) -> list[str]:
        happened = self.alerting.monitor.tick(at)
        self.alerting.outbox.deliver_due(at)
        return [f"{alert.room}:{alert.rule}:{event.kind}" for alert, event in happened]


@pytest.fixture
def rig(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[Rig]:
    made = Rig(tmp_path, smtp_server, site_config())
    yield made
    made.store.close()


def urgent(events: list[str]) -> list[str]:
    return [e for e in events if ":co2-urgent:" in e]


def test_a_poorly_ventilated_room_sends_one_alert_and_one_recovery(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    only_urgent = [{"name": "NEU rep", "email": "rep@example.org", "severities": ["urgent"]}]
    rig = Rig(tmp_path, smtp_server, site_config(subscriptions=only_urgent))
    rig.readings("Room A", MONDAY, [1600.0] * 19)
    assert urgent(rig.tick(MONDAY + timedelta(minutes=18))) == []  # 19 minutes: not yet
    rig.readings("Room A", MONDAY + timedelta(minutes=19), [1650.0, 1700.0, 1680.0])
    assert urgent(rig.tick(MONDAY + timedelta(minutes=20))) == ["Room A:co2-urgent:opened"]
    [alert_mail] = rig.smtp.wait_for(1)
    assert alert_mail["To"] == "rep@example.org"
    assert alert_mail["Subject"] == "URGENT — Room A: CO2 over 1500 ppm for 20 min of lessons"
    text = alert_mail.get_body(preferencelist=("plain",)).get_content()
    assert "Latest value: 1700 ppm" in text  # minute 20 is the newest judged
    assert "How to use CO2 monitors" not in text  # the urgent rule cites HSE, not NEU
    assert "Ventilation in the workplace" in text
    assert "profile joint-union 1.2" in text
    assert "https://vw.example.org/room?name=Room+A" in text
    html = alert_mail.get_body(preferencelist=("html",)).get_content()
    assert "https://vw.example.org/room?name=Room+A" in html
    # Still bad for the rest of the hour: the alert stays open, nothing more is sent.
    rig.readings("Room A", MONDAY + timedelta(minutes=22), [1700.0] * 30)
    for m in range(22, 52, 5):
        assert urgent(rig.tick(MONDAY + timedelta(minutes=m))) == []
    # Windows opened: 1450 is under the figure but inside the margin, so not yet clear.
    rig.readings("Room A", MONDAY + timedelta(minutes=52), [1450.0] * 12)
    assert urgent(rig.tick(MONDAY + timedelta(minutes=63))) == []
    rig.readings("Room A", MONDAY + timedelta(minutes=64), [1300.0] * 10)
    assert urgent(rig.tick(MONDAY + timedelta(minutes=73))) == ["Room A:co2-urgent:recovered"]
    recovery = rig.smtp.wait_for(2)[1]
    assert recovery["Subject"].startswith("Recovered — Room A: CO2 over 1500 ppm")
    assert urgent(rig.tick(MONDAY + timedelta(minutes=74))) == []
    assert len(rig.smtp.messages) == 2
    # The advisory rule opened too (over 800 for 30 minutes): recorded, not sent to a rep
    # who takes urgent alerts only.
    opened = [a.rule for a in rig.alerting.records.alerts()]
    assert sorted(opened) == ["co2-advisory", "co2-urgent"]
    rig.store.close()


def test_a_restart_neither_resends_nor_forgets(rig: Rig) -> None:
    rig.readings("Room A", MONDAY, [1600.0] * 25)
    assert "Room A:co2-urgent:opened" in rig.tick(MONDAY + timedelta(minutes=24))
    sent = len(rig.smtp.wait_for(1))
    rig.alerting = rig.open()  # a new process on the same files
    assert rig.tick(MONDAY + timedelta(minutes=25)) == []
    assert len(rig.smtp.messages) == sent
    open_alerts = rig.alerting.records.alerts(unclosed=True)
    assert [a.rule for a in open_alerts if a.room == "Room A"] == ["co2-urgent"]
    # ... and it still recovers (with its one recovery message) after the restart.
    rig.readings("Room A", MONDAY + timedelta(minutes=25), [600.0] * 16)
    assert rig.tick(MONDAY + timedelta(minutes=40)) == ["Room A:co2-urgent:recovered"]


def test_readings_that_arrive_late_still_count(rig: Rig) -> None:
    assert rig.tick(MONDAY + timedelta(minutes=25)) == []
    # A spool replayed after an outage: the minutes are in the past but within the window.
    rig.readings("Room A", MONDAY, [1600.0] * 26)
    assert rig.tick(MONDAY + timedelta(minutes=26)) == ["Room A:co2-urgent:opened"]


def test_nights_are_quiet_and_held_messages_leave_when_quiet_hours_end(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    site = site_config(quiet_hours={"start": "09:10", "end": "10:00"})
    rig = Rig(tmp_path, smtp_server, site)
    rig.readings("Room A", MONDAY, [1600.0] * 25)
    assert "Room A:co2-urgent:opened" in rig.tick(MONDAY + timedelta(minutes=24))
    pending = rig.alerting.outbox.deliveries(status="pending")
    assert pending
    assert all(d.next_attempt_at == MONDAY + timedelta(hours=1) for d in pending)
    assert rig.alerting.outbox.deliver_due(MONDAY + timedelta(minutes=59)) == 0
    assert smtp_server.messages == []
    assert rig.alerting.outbox.deliver_due(MONDAY + timedelta(hours=1)) == 1
    smtp_server.wait_for(1)
    rig.store.close()


def test_nothing_opens_for_an_empty_room_at_night(rig: Rig) -> None:
    night = MONDAY.replace(hour=20)
    rig.readings("Room A", night, [1900.0] * 60)
    assert rig.tick(night + timedelta(minutes=59)) == []


def test_digest_subscribers_get_one_message_a_day(tmp_path: Path, smtp_server: SmtpServer) -> None:
    site = site_config(
        subscriptions=[{"name": "Rep", "email": "rep@example.org", "delivery": "digest"}],
        digest_at="16:00",
    )
    rig = Rig(tmp_path, smtp_server, site)
    rig.readings("Room A", MONDAY, [1600.0] * 25)
    rig.readings(BOLD, MONDAY, [1700.0] * 25)
    opened = rig.tick(MONDAY + timedelta(minutes=24))
    assert {"Room A:co2-urgent:opened", f"{BOLD}:co2-urgent:opened"} <= set(opened)
    assert rig.alerting.outbox.deliveries() == []  # nothing instant
    rig.tick(MONDAY.replace(hour=16, minute=1))
    [digest] = smtp_server.wait_for(1)
    assert digest["Subject"].startswith("[ventwatch] Daily alert digest: Test School")
    text = digest.get_body(preferencelist=("plain",)).get_content()
    assert "Room A" in text
    assert BOLD in text
    html = digest.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;Bold&lt;/b&gt; Room" in html
    assert "<b>Bold</b>" not in html
    rig.tick(MONDAY.replace(hour=17))
    assert len(rig.alerting.outbox.deliveries()) == 1  # once a day
    rig.store.close()


def test_unclosed_alerts_climb_the_ladder_by_school_days(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    site = site_config(
        escalate_after_school_days=2,
        ladder=[
            {"name": "Site manager", "email": "sm@example.org"},
            {"name": "Head", "email": "head@example.org"},
        ],
        subscriptions=[{"name": "Rep", "email": "rep@example.org", "severities": ["urgent"]}],
    )
    rig = Rig(tmp_path, smtp_server, site)
    rig.readings("Room A", MONDAY, [1600.0] * 25)
    rig.tick(MONDAY + timedelta(minutes=24))
    smtp_server.wait_for(1)
    # Tuesday: one school day. Wednesday: two, escalate to the site manager.
    assert [
        e
        for e in rig.tick(MONDAY + timedelta(days=1, hours=1))
        if e.endswith("co2-urgent:escalated")
    ] == []
    wednesday = [
        e for e in rig.tick(MONDAY + timedelta(days=2)) if e.endswith("co2-urgent:escalated")
    ]
    assert wednesday == ["Room A:co2-urgent:escalated"]
    messages = smtp_server.wait_for(3)[1:]
    assert sorted(m["To"] for m in messages) == ["rep@example.org", "sm@example.org"]
    assert (
        "Escalated to Site manager: not closed after 2 school days"
        in messages[0].get_body(preferencelist=("plain",)).get_content()
    )
    # Thursday is a holiday: still two school days. Friday: three. Monday: four -> the head.
    assert [
        e for e in rig.tick(MONDAY + timedelta(days=3)) if e.endswith("co2-urgent:escalated")
    ] == []
    assert [
        e for e in rig.tick(MONDAY + timedelta(days=4)) if e.endswith("co2-urgent:escalated")
    ] == []
    assert [
        e for e in rig.tick(MONDAY + timedelta(days=7)) if e.endswith("co2-urgent:escalated")
    ] == ["Room A:co2-urgent:escalated"]
    urgent = next(a for a in rig.alerting.records.alerts() if a.rule == "co2-urgent")
    assert urgent.escalation_level == 2
    assert "head@example.org" in [m["To"] for m in smtp_server.messages]
    # Closing the alert stops the climb.
    rig.alerting.records.record_action(
        urgent.id, step="practical-steps", action="windows-opened", note="", by="rep",
        taken_on=MONDAY.date(), at=MONDAY + timedelta(days=7), close=True,
    )  # fmt: skip
    rig.store.close()


def test_a_sensor_silent_through_lessons_is_reported_offline(rig: Rig) -> None:
    # The last reading (08:59) stands until 09:08, so the room's minute series has a gap from
    # 09:09: its 30th minute of lesson time is 09:38.
    rig.readings("Room A", MONDAY - timedelta(minutes=5), [600.0] * 5)
    assert "Room A:offline:opened" not in rig.tick(MONDAY + timedelta(minutes=37))
    assert "Room A:offline:opened" in rig.tick(MONDAY + timedelta(minutes=38))
    rig.readings("Room A", MONDAY + timedelta(minutes=39), [600.0])
    assert "Room A:offline:recovered" in rig.tick(MONDAY + timedelta(minutes=40))


def test_a_cold_room_is_reported(rig: Rig) -> None:
    rig.readings("Room A", MONDAY, [600.0] * 31, temperature_c=14.5)
    assert "Room A:cold:opened" in rig.tick(MONDAY + timedelta(minutes=30))


def test_a_hot_room_is_reported_and_recovers(rig: Rig) -> None:
    """NEU's 26 °C: over it for 30 occupied minutes opens the hot alert; 15 minutes at or
    under 25 °C close it (25.5 is under the figure but within the margin)."""
    rig.readings("Room A", MONDAY, [600.0] * 30, temperature_c=27.0)
    assert rig.tick(MONDAY + timedelta(minutes=28)) == []  # 29 minutes: not yet
    assert rig.tick(MONDAY + timedelta(minutes=29)) == ["Room A:hot:opened"]
    [mail] = rig.smtp.wait_for(1)
    assert mail["Subject"] == "Advisory — Room A: temperature over 26 °C for 30 min of lessons"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Latest value: 27.0 °C" in text
    assert "From the source: 26 °C: NEU (NEU-HOT; Verified)" in text
    assert "a maximum indoor working temperature of 26°C is appropriate" in text
    assert "ventwatch's choice: NEU gives a maximum, not a duration" in text
    assert "Source: Hot weather and classroom temperature" in text
    rig.readings("Room A", MONDAY + timedelta(minutes=30), [600.0] * 20, temperature_c=25.5)
    assert rig.tick(MONDAY + timedelta(minutes=49)) == []
    rig.readings("Room A", MONDAY + timedelta(minutes=50), [600.0] * 15, temperature_c=25.0)
    assert rig.tick(MONDAY + timedelta(minutes=63)) == []  # 14 minutes at 25 °C
    assert rig.tick(MONDAY + timedelta(minutes=64)) == ["Room A:hot:recovered"]
    recovery = rig.smtp.wait_for(2)[1]
    assert recovery["Subject"] == (
        "Recovered — Room A: temperature over 26 °C for 30 min of lessons (lasted 1 h 4 min)"
    )
    [hot] = rig.alerting.records.alerts()
    assert (hot.rule, hot.worst, hot.value, hot.condition) == ("hot", 27.0, 25.0, "recovered")


def test_a_sports_hall_is_cold_below_l24s_13_degrees(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    hall = {"name": "Sports Hall", "building": "Main", "physical_effort": "severe"}
    rig = Rig(tmp_path, smtp_server, site_config(extra_rooms=(hall,)))
    rig.readings("Room A", MONDAY, [600.0] * 31, temperature_c=14.5)
    rig.readings("Sports Hall", MONDAY, [600.0] * 31, temperature_c=14.5)
    assert rig.tick(MONDAY + timedelta(minutes=30)) == ["Room A:cold:opened"]
    rig.readings("Sports Hall", MONDAY + timedelta(minutes=31), [600.0] * 30, temperature_c=12.5)
    assert rig.tick(MONDAY + timedelta(minutes=60)) == ["Sports Hall:cold:opened"]
    mail = next(m for m in rig.smtp.wait_for(2) if "Sports Hall" in m["Subject"])
    assert "temperature under 13 °C for 30 min of lessons" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "From the source: 13 °C: HSE (L24; Secondary)" in text
    assert "in which case the temperature should be at least 13 degrees Celsius" in text
    rig.store.close()


@pytest.mark.servers
def test_a_relay_that_is_down_delays_messages_but_never_the_monitor(tmp_path: Path) -> None:
    relay = start_smtp()
    rig = Rig(tmp_path, relay, site_config())
    relay.controller.stop()  # the relay goes down
    rig.readings("Room A", MONDAY, [1600.0] * 25)
    assert "Room A:co2-urgent:opened" in rig.tick(MONDAY + timedelta(minutes=24))
    [pending] = [d for d in rig.alerting.outbox.deliveries() if d.status == "pending"]
    assert pending.attempts == 1
    assert pending.last_error
    rig.readings(BOLD, MONDAY, [1700.0] * 26)
    assert f"{BOLD}:co2-urgent:opened" in rig.tick(MONDAY + timedelta(minutes=25))
    rig.store.close()


def test_webhook_subscribers_get_the_signed_json_document(
    tmp_path: Path, smtp_server: SmtpServer, http_receiver: HttpReceiver, monkeypatch
) -> None:
    monkeypatch.setenv("VW_HOOK_SECRET", "s3cret")
    site = site_config(
        subscriptions=[
            {
                "name": "BMS",
                "webhook": f"http://127.0.0.1:{http_receiver.port}/hook",
                "secret_env": "VW_HOOK_SECRET",
                "severities": ["urgent"],
                "buildings": ["Arts"],
            }
        ]
    )
    rig = Rig(tmp_path, smtp_server, site)
    rig.readings("Room A", MONDAY, [1600.0] * 25)  # Main: not this subscriber's building
    rig.readings(BOLD, MONDAY, [1800.0] * 25)
    rig.tick(MONDAY + timedelta(minutes=24))
    [request] = http_receiver.wait_for(1)
    assert verify_signature(
        "s3cret",
        request.headers["x-ventwatch-timestamp"],
        request.body,
        request.headers["x-ventwatch-signature"],
    )
    doc = json.loads(request.body)
    assert doc["event"] == "opened"
    assert doc["alert"]["room"] == BOLD
    assert doc["alert"]["building"] == "Arts"
    assert doc["alert"]["severity"] == "urgent"
    assert doc["alert"]["worst"] == 1800.0
    assert doc["rule"]["threshold"] == 1500
    assert doc["rule"]["source"]["key"] == "HSE-CO2"
    assert doc["profile"] == {"id": "joint-union", "version": "1.2"}
    rig.store.close()
