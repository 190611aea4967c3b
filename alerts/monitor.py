"""The alert monitor: every tick, judge each room's newest minutes against its rules, move
each alert along its life, escalate what stays unclosed, remind of risk-assessment reviews
falling due (`reviews`), and hand messages to the outbox.

It reads the store like every other reader, through the one minute series every verdict is
computed on (`analysis.series`), so an alert and the room page count the same minutes, and it
works the same beside an embedded store or InfluxDB, with ingest in this process or another.
I/O stays here; what to decide lives in the pure modules (conditions, lifecycle) so tests
move a clock instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

import pandas as pd

from ventwatch.alerts.conditions import Observation, observe
from ventwatch.alerts.lifecycle import Alert, Event, escalation_due, step
from ventwatch.alerts.messages import MessageContext, alert_notice, digest_notice, summary_line
from ventwatch.alerts.records import AlertRecords
from ventwatch.alerts.reviews import ReviewReminder, reminders_due, review_notice
from ventwatch.alerts.reviews import summary_line as review_line
from ventwatch.alerts.rules import room_rules, snapshot
from ventwatch.alerts.threads import thread_of
from ventwatch.analysis.engine import analyse_site
from ventwatch.analysis.occupancy import Schedule, school_days_after
from ventwatch.analysis.profiles import AlertRule, Profile
from ventwatch.analysis.series import read_minutes, site_series
from ventwatch.config import QuietHours, Recipient, SiteConfig, Subscription
from ventwatch.notify.outbox import Outbox
from ventwatch.register import RegisterEdits
from ventwatch.store import Store, StoreError
from ventwatch.store.recent import RecentMinutes

log = logging.getLogger(__name__)

STREAMING = frozenset({"co2_above", "temperature_below", "temperature_above", "offline"})
DAILY = ("drift", "bb101_daily")
REPORTING_WITHIN = timedelta(days=7)
QUANTITY = {
    "co2_above": "co2_ppm",
    "temperature_below": "temperature_c",
    "temperature_above": "temperature_c",
    "offline": "co2_ppm",
}


def streaming_span(
    rules: Mapping[str, list[AlertRule]], now: datetime
) -> tuple[datetime, datetime]:
    """The minutes a tick judges: up to the current minute (which has begun), and back far
    enough for the longest rule to hold and clear. The reading that starts a run may stand
    from before them: `read_minutes` reads a hold further back."""
    longest = max(
        (r.for_minutes + r.clear_minutes for room in rules.values() for r in room), default=0
    )
    window = max(90, longest + 10)
    # From a whole minute: each minute judged is a whole one, and the next tick can keep the
    # minutes this one read (`RecentMinutes`).
    start = (now - timedelta(minutes=window)).replace(second=0, microsecond=0)
    return start, now + timedelta(minutes=1)


def observations(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    rules: Mapping[str, list[AlertRule]],
    now: datetime,
) -> Iterator[tuple[str, AlertRule, Observation]]:
    """What each room's streaming rules observe now, from the minute series of the tick's
    span (`streaming_span`; `minutes` from `read_minutes`). Pure: the alerts and the analysis
    judge the same series, so an alert holds exactly where `analyse` finds a run."""
    start, end = streaming_span(rules, now)
    wanted = [name for name, kinds in rules.items() if any(r.kind in STREAMING for r in kinds)]
    series = site_series(
        minutes,
        site,
        profile,
        start,
        end,
        wanted,
        quantities=("co2_ppm", "temperature_c"),
    )
    times = list(series.index.to_pydatetime())
    for room in series.rooms:
        name = room.room.name
        for rule in rules[name]:
            if rule.kind in STREAMING:
                values = room.values[QUANTITY[rule.kind]]
                yield name, rule, observe(rule, times, values, room.occupied)


def quiet_until(now: datetime, quiet: QuietHours | None, tz: tzinfo) -> datetime | None:
    """When a message due at `now` may leave: None at once, else the end of quiet hours as
    the site keeps them (in its zone `tz`)."""
    if quiet is None:
        return None
    local_now = now.astimezone(tz)
    t = local_now.time()
    overnight = quiet.start > quiet.end
    inside = (t >= quiet.start or t < quiet.end) if overnight else quiet.start <= t < quiet.end
    if not inside:
        return None
    end_day = local_now.date() + timedelta(days=1 if overnight and t >= quiet.start else 0)
    end = datetime.combine(end_day, quiet.end, local_now.tzinfo)
    return now + (end - local_now)


def told(recipients: Iterable[Recipient]) -> list[str]:
    """Who a message goes to, as every recipient reads it: names and the way each is told,
    never an address (a rep may forward the message to the employer)."""
    out = []
    for r in recipients:
        how = "email" if r.email else "webhook" if r.webhook else "MQTT" if r.mqtt_topic else "chat"
        if isinstance(r, Subscription) and r.delivery == "digest":
            how = "daily digest"
        out.append(f"{r.name} ({how})")
    return list(dict.fromkeys(out))


def matches(sub: Subscription, alert: Alert, building: str | None) -> bool:
    return (
        alert.severity in sub.severities
        and (not sub.rooms or alert.room in sub.rooms)
        and (not sub.buildings or building in sub.buildings)
    )


class AlertMonitor:
    def __init__(
        self,
        site: SiteConfig,
        profile: Profile,
        store: Store,
        records: AlertRecords,
        outbox: Outbox,
        dashboard_url: str,
        *,
        clock: Callable[[], datetime],
        register: RegisterEdits | None = None,
    ) -> None:
        self.site = site
        # The room register (site file and dashboard edits): its review dates get reminders.
        self.register = register
        self.profile = profile
        self.store = store
        self.records = records
        self.outbox = outbox
        self.clock = clock
        self.rules = room_rules(site, profile)
        self.buildings = {room.name: room.building for room in site.rooms}
        self.schedules = {
            room.name: Schedule(room.occupied_hours or site.occupied_hours, site.calendar, site.tz)
            for room in site.rooms
        }
        self.ctx = MessageContext(site.site.name, site.tz, profile, dashboard_url, self.buildings)
        # Each rule as alerts record it (with its one-line description), built once.
        self._snapshots: dict[int, dict[str, Any]] = {}
        self._reporting: tuple[datetime, set[str]] | None = None
        # The streaming window's minutes, kept from tick to tick: only the newest are read.
        self._recent = RecentMinutes(store)
        self.last_tick: datetime | None = None
        self.last_error: str | None = None

    # -- one tick -----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[tuple[Alert, Event]]:
        """Judge everything once; returns what happened (for logs and tests)."""
        now = now or self.clock()
        happened = self._streaming(now)
        happened += self._daily(now)
        happened += self._escalate(now)
        self._reviews(now)
        self._digest(now)
        self.last_tick = now
        return happened

    def _streaming(self, now: datetime) -> list[tuple[Alert, Event]]:
        start, end = streaming_span(self.rules, now)
        minutes = read_minutes(self._recent, self.site, self.profile, None, start, end)
        # A room that has not reported for a week (or ever) is a room without a sensor yet,
        # shown as such on the dashboard; "offline" is for a sensor that stopped.
        # The week-long scan is the tick's dearest read: refreshed every few minutes only.
        if self._reporting is None or abs(now - self._reporting[0]) > timedelta(minutes=5):
            self._reporting = (now, set(self.store.latest(now - REPORTING_WITHIN)))
        reporting = self._reporting[1]
        latest = self.records.latest()
        happened = []
        for room, rule, seen in observations(minutes, self.site, self.profile, self.rules, now):
            if rule.kind == "offline" and room not in reporting:
                continue
            happened += self._advance(room, rule, latest.get((room, rule.id)), seen, now)
        return happened

    def _daily(self, now: datetime) -> list[tuple[Alert, Event]]:
        """Drift and BB101 are judged on whole school days: once, after the day ends."""
        local = now.astimezone(self.site.tz)
        today = local.date()
        if self.records.mark("daily") == today.isoformat():
            return []
        if local.time() < max(s.hours.end for s in self.schedules.values()):
            return []
        self.records.set_mark("daily", today.isoformat())
        daily = {room: [r for r in rules if r.kind in DAILY] for room, rules in self.rules.items()}
        rooms = [room for room, rules in daily.items() if rules]
        start = datetime.combine(today, time(0), self.site.tz)
        try:
            minutes = read_minutes(self.store, self.site, self.profile, rooms, start, now)
        except StoreError as exc:
            log.warning("alerts: daily rules not judged today: %s", exc)
            return []
        result = analyse_site(minutes, self.site, self.profile, today, today, rooms=rooms)
        latest = self.records.latest()
        happened = []
        for analysed in result.rooms:
            if analysed.co2.occupied_minutes == 0:
                continue  # not a school day for this room
            for rule in daily[analysed.room]:
                if rule.kind == "bb101_daily":
                    day = analysed.bb101.days[0] if analysed.bb101.days else None
                    if day is None or day.passes is None:
                        seen = Observation("unknown")
                    elif day.passes:
                        seen = Observation("clear", value=day.mean_ppm)
                    else:
                        seen = Observation("holds", value=day.mean_ppm, worst=day.mean_ppm)
                elif analysed.co2.coverage_pct < self.profile.status.min_coverage_pct:
                    seen = Observation("unknown")  # too little of the day to judge the sensor
                else:
                    seen = Observation("holds" if analysed.health.drift_suspected else "clear")
                happened += self._advance(
                    analysed.room,
                    rule,
                    latest.get((analysed.room, rule.id)),
                    seen,
                    now,
                )
        return happened

    def _advance(
        self,
        room: str,
        rule: AlertRule,
        latest: Alert | None,
        seen: Observation,
        now: datetime,
    ) -> list[tuple[Alert, Event]]:
        if seen.state == "unknown" and latest is None:
            return []  # the usual case, decided without building anything
        if id(rule) not in self._snapshots:
            self._snapshots[id(rule)] = snapshot(rule, self.profile)
        cooldown = timedelta(minutes=self.site.alerts.cooldown_minutes)
        changed, events = step(
            latest, seen, room=room, rule=self._snapshots[id(rule)], now=now, cooldown=cooldown
        )
        if changed is None:
            return []
        if not events:
            self.records.save(changed, now)
            return []
        event = events[0]
        saved = self.records.save(changed, now, event.kind, event.details)
        if event.notify:
            self._send(saved, event, now)
        return [(saved, event)]

    def _escalate(self, now: datetime) -> list[tuple[Alert, Event]]:
        ladder = self.site.alerts.ladder
        if not ladder:
            return []
        today = now.astimezone(self.site.tz).date()
        every = self.site.alerts.escalate_after_school_days
        happened = []
        for alert in self.records.alerts(unclosed=True):
            opened = alert.opened_at.astimezone(self.site.tz).date()
            age = school_days_after(opened, today, self.schedules[alert.room])
            due = escalation_due(alert, age, every, len(ladder))
            if due <= alert.escalation_level:
                continue
            contact = ladder[due - 1]
            saved = self.records.log_escalation(alert, due, contact.name, now)
            event = Event("escalated", True, {"level": due, "to": contact.name})
            note = (
                f"Escalated to {contact.name}: not closed after {age} school days "
                f"(rung {due} of {len(ladder)})."
            )
            self._send(saved, event, now, extra=note, also=[contact])
            happened.append((saved, event))
        return happened

    def _reviews(self, now: datetime) -> None:
        """Remind of risk-assessment reviews due within two weeks or overdue, each once per
        room, due date and state (`alerts.reviews`). Dates are the monitor's clock's, in the
        site's zone: the demo's simulated day, like every other date it shows."""
        if self.register is None:
            return
        today = now.astimezone(self.site.tz).date()
        for reminder in reminders_due(self.register.effective(self.site), today):
            if self.records.mark(reminder.key) is not None:
                continue
            self._remind(reminder, now)
            # After queueing: a crash in between reminds twice rather than never.
            self.records.set_mark(reminder.key, now.isoformat())
            log.info("alerts: %s", review_line(reminder))

    def _remind(self, reminder: ReviewReminder, now: datetime) -> None:
        building = self.buildings.get(reminder.room)
        notice = review_notice(reminder, self.site.site.name, building, self.ctx.dashboard_url, now)
        not_before = quiet_until(now, self.site.alerts.quiet_hours, self.site.tz)
        for sub in self.subscriptions():
            if not (
                "info" in sub.severities
                and (not sub.rooms or reminder.room in sub.rooms)
                and (not sub.buildings or building in sub.buildings)
            ):
                continue
            if sub.delivery == "digest":
                self.records.add_digest_line(
                    sub.model_dump(by_alias=True), review_line(reminder), now
                )
            else:
                self.outbox.enqueue(sub, notice, now=now, not_before=not_before)

    # -- who is told --------------------------------------------------------------------

    def subscriptions(self) -> list[Subscription]:
        """The site file's subscriptions (trusted as configured) and those made on the
        dashboard whose address has confirmed them: a rep may type anyone's address, and
        nothing goes to it until its owner agrees."""
        stored = []
        for s in self.records.subscriptions():
            if not s.confirmed:
                continue
            try:
                stored.append(Subscription.model_validate(s.recipient))
            except ValueError as exc:  # written by an older version, say: skip, say why
                log.warning("alerts: subscription %s ignored: %s", s.id, exc)
        return [*self.site.alerts.subscriptions, *stored]

    def _send(
        self,
        alert: Alert,
        event: Event,
        now: datetime,
        extra: str = "",
        also: Iterable[Recipient] = (),
    ) -> None:
        also = list(also)
        subs = [
            sub
            for sub in self.subscriptions()
            if matches(sub, alert, self.buildings.get(alert.room))
        ]
        recipients = [*subs, *also]
        notice = alert_notice(
            alert,
            event,
            self.ctx,
            now,
            extra,
            told=told(recipients),
            thread=thread_of(alert, event.kind, self.records.latest().values(), now),
        )
        not_before = quiet_until(now, self.site.alerts.quiet_hours, self.site.tz)
        line = summary_line(alert, event.kind, self.ctx)
        for sub in subs:
            if sub.delivery == "digest":
                self.records.add_digest_line(sub.model_dump(by_alias=True), line, now)
            else:
                self.outbox.enqueue(sub, notice, now=now, alert_id=alert.id, not_before=not_before)
        for recipient in also:
            self.outbox.enqueue(
                recipient, notice, now=now, alert_id=alert.id, not_before=not_before
            )

    def _digest(self, now: datetime) -> None:
        local = now.astimezone(self.site.tz)
        if local.time() < self.site.alerts.digest_at:
            return
        if self.records.mark("digest") == local.date().isoformat():
            return
        self.records.set_mark("digest", local.date().isoformat())
        for recipient, lines in self.records.take_digest().items():
            sub = Subscription.model_validate_json(recipient)
            notice = digest_notice(self.site.site.name, lines, self.ctx.dashboard_url, now)
            self.outbox.enqueue(sub, notice, now=now)

    # -- as a thread --------------------------------------------------------------------

    def run(self, stop: threading.Event, every_s: float = 20.0) -> None:
        """Tick until stopped. A failing store or a bug in one tick is logged and shown on
        the alerts page, never the end of alerting."""
        while not stop.is_set():
            try:
                self.tick()
                self.last_error = None
            except StoreError as exc:
                self.last_error = f"store: {exc}"
                log.warning("alerts: cannot read the store: %s", exc)
            except Exception as exc:  # one bad tick must not stop alerting
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("alerts: tick failed")
            stop.wait(every_s)
