"""The weekly report email: due on the site's day and hour, sent once per week, a missed run
sent when the service is back (once), with the summary in the body and the PDF and XLSX
attached, into a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import SmtpServer
from tests.report_week import SITE_NAME, seed
from ventwatch.alerts.records import AlertRecords
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import ReportsConfig, SiteConfig, WeeklyReportEmail
from ventwatch.notify.channels import Channels
from ventwatch.notify.outbox import Outbox
from ventwatch.reports.weekly_email import WeeklyEmail, scheduled_week
from ventwatch.settings import parse_smtp_url
from ventwatch.store.duckdb import DuckDBStore

# W47 is 16-22 Nov 2026 (seeded); its report is due on Monday 23 Nov at 07:00 (GMT = UTC).
DUE = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def with_weekly_email(site: SiteConfig) -> SiteConfig:
    plan = WeeklyReportEmail(
        day="mon",
        at=DUE.time(),
        recipients=[{"name": "Staff room", "email": "staff@school.example"}],  # type: ignore[list-item]
    )
    return site.model_copy(update={"reports": ReportsConfig(weekly_email=plan)})


@pytest.fixture
def weekly(tmp_path: Path, smtp_server: SmtpServer) -> WeeklyEmail:
    _, site = seed(tmp_path)
    site = with_weekly_email(site)
    db = tmp_path / "accounts.sqlite"
    smtp = parse_smtp_url(f"smtp://127.0.0.1:{smtp_server.port}?from=vw@school.example")
    return WeeklyEmail(
        site,
        load_profile("joint-union"),
        DuckDBStore(tmp_path / "store.duckdb"),
        AlertRecords(db, site.site.name),
        Outbox(db, site.site.name, Channels(smtp, None)),
        db,
        "https://vw.school.example",
        clock=lambda: DUE,
    )


def test_the_schedule_covers_the_week_before_the_moment() -> None:
    site = with_weekly_email(
        SiteConfig.model_validate({"site": {"name": "S"}, "rooms": [{"name": "R"}]})
    )
    moment, period = scheduled_week(site, DUE + timedelta(days=2))
    assert moment == DUE
    assert period.label == "2026-W47"
    moment, period = scheduled_week(site, DUE - timedelta(minutes=1))
    assert moment == DUE - timedelta(days=7)
    assert period.label == "2026-W46"


def send(weekly: WeeklyEmail, at: datetime) -> str | None:
    period = weekly.tick(at)
    weekly.outbox.deliver_due(at)
    return period.label if period else None


def test_the_report_arrives_once_with_its_attachments(
    weekly: WeeklyEmail, smtp_server: SmtpServer
) -> None:
    assert send(weekly, DUE - timedelta(days=4)) is None  # first start: nothing old is sent
    assert send(weekly, DUE - timedelta(minutes=1)) is None
    assert send(weekly, DUE) == "2026-W47"
    assert send(weekly, DUE + timedelta(minutes=1)) is None
    assert send(weekly, DUE + timedelta(days=3)) is None
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "staff@school.example"
    assert message["Subject"] == f"[ventwatch] Weekly ventilation report: {SITE_NAME}, 2026-W47"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Rooms by status: 1 Poor, 1 Needs action, 1 Good, 2 Not enough data." in text
    assert "Worst rooms: Lab 1, Hall." in text
    assert "Worse than the week before: Lab 1." in text
    assert "Better than the week before: Room 2." in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Hillside &lt;Academy&gt;" in html
    files = {part.get_filename(): part for part in message.iter_attachments()}
    assert sorted(files) == ["ventilation-2026-W47.pdf", "ventilation-2026-W47.xlsx"]
    assert files["ventilation-2026-W47.pdf"].get_content().startswith(b"%PDF")
    book = openpyxl.load_workbook(io.BytesIO(files["ventilation-2026-W47.xlsx"].get_content()))
    assert "Summary" in book.sheetnames
    # A week later, the next week is due (W48: no data, but still a report).
    assert send(weekly, DUE + timedelta(days=7)) == "2026-W48"
    assert len(smtp_server.wait_for(2)) == 2


def test_a_missed_run_is_sent_when_the_service_is_back_and_only_once(
    weekly: WeeklyEmail, smtp_server: SmtpServer
) -> None:
    assert send(weekly, DUE - timedelta(days=4)) is None  # running on Thursday
    # Down from Sunday to Tuesday 09:30: Monday 07:00 passed unseen.
    back = DUE + timedelta(days=1, hours=2, minutes=30)
    assert send(weekly, back) == "2026-W47"
    assert send(weekly, back + timedelta(minutes=1)) is None
    # A restart (new objects on the same file) does not send it again.
    again = WeeklyEmail(
        weekly.site, weekly.profile, weekly.store,
        AlertRecords(weekly.state_db, weekly.site.site.name), weekly.outbox,
        weekly.state_db, weekly.dashboard_url, clock=weekly.clock,
    )  # fmt: skip
    assert send(again, back + timedelta(hours=1)) is None
    smtp_server.wait_for(1)
    assert len(smtp_server.messages) == 1  # deliver_due returns once the relay has it
