"""Where the site's alerting stands: which rooms stay unresolved (their unclosed alerts, how
long, how bad, what was tried), which rules are in force in which rooms as the site file
applies them, and whether the monitor is still judging the rooms.

Queries over `Alerting` only, as of one `now`: the dashboard's `/alerts` page puts them into
words; nothing here is about a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.lifecycle import Alert, worse
from ventwatch.alerts.records import ActionRecord
from ventwatch.alerts.rules import UNITS, describe
from ventwatch.analysis.occupancy import Schedule, school_days_after
from ventwatch.analysis.profiles import AlertRule, Attribution, Profile, Source


def school_days_open(alerting: Alerting, alert: Alert, now: datetime) -> int:
    """School days the alert has been open (closed: until it was closed)."""
    site = alerting.site
    schedule = alerting.monitor.schedules.get(alert.room) or Schedule(
        site.occupied_hours, site.calendar, site.tz
    )
    until = (alert.closed_at or now).astimezone(site.tz).date()
    return school_days_after(alert.opened_at.astimezone(site.tz).date(), until, schedule)


def cited_source(profile: Profile, key: str | None) -> Source | None:
    """The cited source, if the profile still has it (a rule may predate a profile change)."""
    return next((s for s in profile.sources if s.key == key), None)


@dataclass(frozen=True)
class UnresolvedRoom:
    room: str
    building: str | None
    alerts: int
    oldest_age: int  # school days
    episodes: int  # occurrences over its unclosed alerts
    actions: list[ActionRecord]  # everything recorded for the room, closed alerts' too
    # The worst value over its unclosed alerts, by rule kind (only kinds with a unit): a cold
    # room's lowest temperature and a hot room's highest are apart.
    worst: dict[str, float]


def unresolved_rooms(
    alerting: Alerting, unclosed: list[Alert], now: datetime
) -> list[UnresolvedRoom]:
    """One row per room with unclosed alerts, the longest unresolved first."""
    by_room: dict[str, list[Alert]] = {}
    for alert in unclosed:
        by_room.setdefault(alert.room, []).append(alert)
    rows = []
    for room, alerts in by_room.items():
        worst: dict[str, float] = {}
        for alert in alerts:
            kind = alert.rule_snapshot.get("kind", "")
            value = worse(kind, worst.get(kind), alert.worst)
            if kind in UNITS and value is not None:
                worst[kind] = value
        rows.append(
            UnresolvedRoom(
                room=room,
                building=alerting.monitor.buildings.get(room),
                alerts=len(alerts),
                oldest_age=max(school_days_open(alerting, a, now) for a in alerts),
                episodes=sum(a.occurrences for a in alerts),
                actions=alerting.records.actions(room=room),
                worst=worst,
            )
        )
    return sorted(rows, key=lambda r: (-r.oldest_age, r.room))


@dataclass(frozen=True)
class RuleInForce:
    rule: AlertRule  # as the profile has it
    source: Source | None
    words: Attribution  # the source's part and ventwatch's
    # (the rule as applied, its rooms (empty: every room), whether the site file changed it)
    variants: list[tuple[str, list[str], bool]]
    off_in: list[str]  # rooms where the site file switches it off


def rules_in_force(alerting: Alerting) -> list[RuleInForce]:
    monitor = alerting.monitor
    rooms = [room.name for room in alerting.site.rooms]
    out = []
    for rule in monitor.profile.alerts.rules:
        groups: dict[str, list[str]] = {}
        changed: dict[str, bool] = {}
        off = []
        for room in rooms:
            applied = next((r for r in monitor.rules.get(room, []) if r.id == rule.id), None)
            if applied is None:
                off.append(room)
                continue
            text = describe(applied)
            groups.setdefault(text, []).append(room)
            changed[text] = applied != rule
        variants = [
            (text, [] if len(names) == len(rooms) else names, changed[text])
            for text, names in groups.items()
        ]
        profile = monitor.profile
        words = profile.attribution(rule)
        out.append(RuleInForce(rule, cited_source(profile, rule.source), words, variants, off))
    return out


@dataclass(frozen=True)
class MonitorStatus:
    last_tick: datetime | None
    stale: bool  # no tick for three periods: the page must not look reassuring
    last_error: str | None
    every_s: float


def monitor_status(alerting: Alerting, now: datetime) -> MonitorStatus:
    last = alerting.monitor.last_tick
    limit = timedelta(seconds=max(3 * alerting.tick_s, 60))
    stale = last is None or now - last > limit
    return MonitorStatus(last, stale, alerting.monitor.last_error, alerting.tick_s)
