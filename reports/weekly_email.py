"""The weekly report by email: last week's report, once a week, on the site's day and hour.

The schedule is judged from the newest scheduled moment at or before now, and a mark in the
state database records each week sent. So a service that was down at 07:00 on Monday
sends that week's report as soon as it is back, and only once. After a longer outage only
the latest week is sent (an inbox of stale reports helps nobody; `ventwatch report` makes
any week on demand), and a new install starts with the first moment after its first start.

Delivery goes through the site's outbox (`ventwatch.notify`), as alert messages do: a relay
that is down is retried with back-off and shows on the alerts page, like any alert message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from ventwatch.alerts.records import AlertRecords
from ventwatch.analysis.profiles import Profile
from ventwatch.config import WEEKDAYS, SiteConfig
from ventwatch.notify.notices import Attachment, Notice
from ventwatch.notify.outbox import Outbox
from ventwatch.notify.rendering import message_templates
from ventwatch.register import room_registers
from ventwatch.reports.formats import FORMATS
from ventwatch.reports.inputs import load_report, logged_actions
from ventwatch.reports.model import Report
from ventwatch.reports.period import Period, parse_week
from ventwatch.state_database import StateLocation
from ventwatch.store import Store, StoreError

log = logging.getLogger(__name__)

_templates = message_templates("ventwatch.reports")


def scheduled_week(site: SiteConfig, now: datetime) -> tuple[datetime, Period] | None:
    """The newest scheduled moment at or before `now`, and the week its report covers (the
    ISO week before the moment's week). None when no weekly email is configured."""
    plan = site.reports.weekly_email
    if plan is None:
        return None
    local = now.astimezone(site.tz)
    monday = local.date() - timedelta(days=local.weekday())
    moment = datetime.combine(monday + timedelta(days=WEEKDAYS.index(plan.day)), plan.at, site.tz)
    if moment > local:
        moment -= timedelta(days=7)
    covered = moment.date() - timedelta(days=moment.weekday() + 7)
    year, week, _ = covered.isocalendar()
    return moment, parse_week(f"{year}-W{week:02d}")


def summary_notice(report: Report, attachments: tuple[Attachment, ...], url: str) -> Notice:
    """The email: the site summary in the body (HTML and text), the formats attached."""
    header, summary = report.header, report.summary
    subject = f"[ventwatch] Weekly ventilation report: {header.site}, {header.period.label}"
    words = report.words  # the profile's status words, as on the pages
    counts = ", ".join(f"{n} {words.of(status).word}" for status, n in summary.counts.items() if n)
    lines = [
        f"Ventilation in occupied hours at {header.site}, {header.period.label} "
        f"({header.period.first:%d %b} to {header.period.last:%d %b %Y}).",
        f"Judged by {header.profile_title} (profile {header.profile_id} {header.profile_version}).",
        "",
        f"Rooms by status: {counts or 'no rooms'}.",
    ]
    if summary.worst:
        lines.append(f"Worst rooms: {', '.join(summary.worst)}.")
    if summary.not_enough_data:
        lines.append(f"{words.grey.word}: {', '.join(summary.not_enough_data)}.")
    if summary.worse:
        lines.append(f"Worse than the week before: {', '.join(summary.worse)}.")
    if summary.better:
        lines.append(f"Better than the week before: {', '.join(summary.better)}.")
    lines += [
        "",
        f"The full report is attached ({', '.join(a.filename for a in attachments)}).",
        f"Dashboard: {url}",
    ]
    html = _templates.get_template("weekly_email.html").render(
        report=report, attachments=attachments, url=url
    )
    data = {"event": "report", "site": header.site, "week": header.period.label}
    return Notice("report", subject, "\n".join(lines) + "\n", html, data, attachments)


class WeeklyEmail:
    def __init__(
        self,
        site: SiteConfig,
        profile: Profile,
        store: Store,
        records: AlertRecords,
        outbox: Outbox,
        state_db: StateLocation,
        dashboard_url: str,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.site = site
        self.profile = profile
        self.store = store
        self.records = records
        self.outbox = outbox
        self.state_db = state_db
        self.dashboard_url = dashboard_url
        self.clock = clock

    def tick(self, now: datetime | None = None) -> Period | None:
        """Send the report if one is due and not yet sent; returns the week sent, if any."""
        now = now or self.clock()
        plan = self.site.reports.weekly_email
        due = scheduled_week(self.site, now)
        if plan is None or due is None:
            return None
        moment, period = due
        # A new install does not start by sending a week it was not running for.
        started = self.records.mark("weekly-email:started")
        if started is None:
            self.records.set_mark("weekly-email:started", now.isoformat())
            return None
        key = f"weekly-email:{period.label}"
        if moment < datetime.fromisoformat(started) or self.records.mark(key) is not None:
            return None
        report = load_report(
            self.store,
            self.site,
            self.profile,
            period,
            now,
            logged_actions(self.state_db, self.site.site.name),
            registers=room_registers(self.state_db, self.site),
        )
        stem = f"ventilation-{period.label}"
        attachments = tuple(
            Attachment(
                f"{stem}.{FORMATS[name].suffix}",
                FORMATS[name].media_type.split(";")[0],
                FORMATS[name].render(report),
            )
            for name in plan.attach
        )
        notice = summary_notice(report, attachments, self.dashboard_url)
        for recipient in plan.recipients:
            self.outbox.enqueue(recipient, notice, now=now)
        # After enqueueing: a crash in between sends the week twice rather than never.
        self.records.set_mark(key, now.isoformat())
        log.info("weekly report %s queued for %d recipient(s)", period.label, len(plan.recipients))
        return period

    def run(self, stop: threading.Event, every_s: float = 60.0) -> None:
        """Check once a minute; a store that is down delays the report, never loses it."""
        while not stop.is_set():
            try:
                self.tick()
            except StoreError as exc:
                log.warning("weekly report not built yet (store): %s", exc)
            except Exception:  # one bad week must not stop the schedule for good
                log.exception("weekly report failed")
            stop.wait(every_s)
