"""Alert messages: the text, HTML and JSON of what is sent, built from an alert and its rule.

Every message names the room, the figures, the rule with its threshold, and the guidance
profile and source it comes from, and links to the room's page: a rep forwards it to the
employer as it is. The JSON document is a contract for webhook and MQTT receivers (building
management systems): its keys only ever grow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2

from ventwatch import __version__
from ventwatch.alerts.lifecycle import Alert, Event
from ventwatch.alerts.notices import Notice
from ventwatch.alerts.rules import UNITS, attribution_of
from ventwatch.analysis.profiles import Profile

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("ventwatch.alerts", "templates"),
    autoescape=True,  # room names come from site files and sensors
    undefined=jinja2.StrictUndefined,
)

HEADLINES = {
    "opened": "Alert",
    "reopened": "Alert again",
    "recovered": "Recovered",
    "escalated": "Escalated",
}


@dataclass(frozen=True)
class MessageContext:
    """What every message needs besides the alert: where it is and what it was judged by."""

    site: str
    timezone: ZoneInfo
    profile: Profile
    dashboard_url: str
    buildings: dict[str, str]  # room -> building

    def room_url(self, room: str) -> str:
        return f"{self.dashboard_url}/room?{urlencode({'name': room})}"

    def alert_url(self, alert_id: int | None) -> str:
        return f"{self.dashboard_url}/alerts/{alert_id}"

    def local(self, when: datetime | None) -> str:
        return when.astimezone(self.timezone).strftime("%a %d %b %H:%M") if when else "-"


# Decimals shown per unit: sensors resolve CO2 to whole ppm, minute means do not.
DECIMALS = {"ppm": 0, "°C": 1}


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.{DECIMALS.get(unit, 1)}f} {unit}".strip()


def summary_line(alert: Alert, event: str, ctx: MessageContext) -> str:
    """One line: how the alert appears in a digest and in `ventwatch alerts list`."""
    rule = alert.rule_snapshot
    unit = UNITS.get(rule.get("kind", ""), "")
    figures = f", now {_figure(alert.value, unit)}" if alert.value is not None else ""
    return (
        f"{HEADLINES.get(event, event)} [{alert.severity}] {alert.room}: "
        f"{rule.get('described', rule.get('id'))}{figures} ({ctx.local(alert.active_since)})"
    )


def document(alert: Alert, event: str, ctx: MessageContext, now: datetime) -> dict[str, Any]:
    """The JSON document webhooks and MQTT receive."""
    rule = alert.rule_snapshot
    source = ctx.profile.source(rule["source"]) if rule.get("source") else None
    words = attribution_of(rule, ctx.profile)
    return {
        "event": event,
        "at": now.isoformat(),
        "site": ctx.site,
        "alert": {
            "id": alert.id,
            "room": alert.room,
            "building": ctx.buildings.get(alert.room),
            "rule": alert.rule,
            "severity": alert.severity,
            "condition": alert.condition,
            "workflow": alert.workflow,
            "opened_at": alert.opened_at.isoformat(),
            "active_since": alert.active_since.isoformat() if alert.active_since else None,
            "recovered_at": alert.recovered_at.isoformat() if alert.recovered_at else None,
            "value": alert.value,
            "worst": alert.worst,
            "unit": UNITS.get(rule.get("kind", "")),
            "occurrences": alert.occurrences,
            "escalation_level": alert.escalation_level,
        },
        "rule": {
            "id": rule.get("id"),
            "kind": rule.get("kind"),
            "threshold": rule.get("threshold"),
            "for_minutes": rule.get("for_minutes"),
            "meaning": rule.get("meaning"),
            "described": rule.get("described"),
            "source": {"key": source.key, "title": source.title, "url": source.url}
            if source
            else None,
            # What the source says and what ventwatch chose (the duration, the severity).
            "attribution": {"source": words.source_part, "ventwatch": words.ventwatch_part}
            if words
            else None,
            "duration_reason": rule.get("duration_reason"),
        },
        "profile": {"id": ctx.profile.id, "version": ctx.profile.version},
        "room_url": ctx.room_url(alert.room),
        "alert_url": ctx.alert_url(alert.id),
        "ventwatch": __version__,
    }


def alert_notice(
    alert: Alert, event: Event | str, ctx: MessageContext, now: datetime, extra: str = ""
) -> Notice:
    """The message for an alert event (opened, reopened, recovered, escalated)."""
    kind = event if isinstance(event, str) else event.kind
    doc = document(alert, kind, ctx, now)
    rule = doc["rule"]
    unit = doc["alert"]["unit"] or ""
    subject = f"[ventwatch] {HEADLINES[kind]}: {alert.room} - {rule['described']}"
    facts = [
        ("Room", f"{alert.room} ({doc['alert']['building'] or '-'})"),
        ("Rule", f"{rule['described']} [{alert.severity}]"),
        ("Since", ctx.local(alert.active_since)),
        ("Latest value", _figure(alert.value, unit)),
        ("Worst value", _figure(alert.worst, unit)),
        ("Occurrences", str(alert.occurrences)),
    ]
    if kind == "recovered":
        facts.insert(3, ("Recovered", ctx.local(alert.recovered_at)))
    source = rule["source"]
    words = rule["attribution"]
    cited = f"{ctx.profile.title} (profile {ctx.profile.id} {ctx.profile.version})"
    source_text = f"{source['title']}" + (f" <{source['url']}>" if source["url"] else "")
    lines = [
        f"{HEADLINES[kind]} at {ctx.site}: {alert.room}",
        *( [extra] if extra else [] ),
        "",
        *(f"{name}: {value}" for name, value in facts),
        "",
        f"What it means: {rule['meaning']}",
        *( [f"From the source: {words['source']}", words["ventwatch"]] if words else [] ),
        *( [f"Why {rule['for_minutes']} minutes: {rule['duration_reason']}"]
           if rule["duration_reason"] else [] ),
        f"Source: {source_text}",
        f"Guidance: {cited}",
        "",
        f"Room page: {doc['room_url']}",
        f"Alert (acknowledge, record action): {doc['alert_url']}",
    ]  # fmt: skip
    html = _templates.get_template("alert.html").render(
        kind=kind,
        headline=HEADLINES[kind],
        site=ctx.site,
        alert=alert,
        facts=facts,
        extra=extra,
        rule=rule,
        cited=cited,
        doc=doc,
    )
    return Notice(kind, subject, "\n".join(lines) + "\n", html, doc)  # type: ignore[arg-type]


def digest_notice(site: str, lines: list[str], dashboard_url: str, now: datetime) -> Notice:
    """One message with the day's alert events, for subscribers who chose a digest."""
    subject = f"[ventwatch] Daily alert digest: {site} ({len(lines)} events)"
    text = "\n".join([f"Alerts at {site} since the last digest:", "", *lines, "",
                      f"Alerts page: {dashboard_url}/alerts"]) + "\n"  # fmt: skip
    html = _templates.get_template("digest.html").render(
        site=site, lines=lines, url=f"{dashboard_url}/alerts"
    )
    data = {"event": "digest", "at": now.isoformat(), "site": site, "lines": lines}
    return Notice("digest", subject, text, html, data)


def test_notice(site: str, dashboard_url: str, now: datetime) -> Notice:
    """What `ventwatch alerts test` sends: proves the channel works, says it is a test."""
    subject = f"[ventwatch] Test message from {site}"
    text = (
        f"This is a test message from ventwatch at {site}, sent {now:%Y-%m-%d %H:%M} UTC.\n"
        f"If you can read it, alerts sent this way will reach you.\nDashboard: {dashboard_url}\n"
    )
    html = _templates.get_template("digest.html").render(
        site=site, lines=[text.splitlines()[0], text.splitlines()[1]], url=dashboard_url
    )
    data = {"event": "test", "at": now.isoformat(), "site": site}
    return Notice("test", subject, text, html, data)


def confirmation_notice(
    site: str, name: str, added_by: str, link: str, expires: str, now: datetime
) -> Notice:
    """What a subscription added on the dashboard sends first, to the address it names:
    whoever reads that mailbox decides whether alerts go there. Nothing else is sent to it
    until the link (`expires`: when it stops working, in words) is followed and confirmed."""
    subject = f"[ventwatch] Confirm alert emails from {site}"
    text = (
        f"{added_by} asked ventwatch at {site} to email ventilation alerts to this address"
        f" (for {name}).\n\n"
        f"Nothing will be sent here until you confirm. To confirm, open this link and press"
        f" Confirm (signed in to the dashboard; or pass the link to the person who added"
        f" you):\n{link}\n\n"
        f"The link works once, until {expires}. If you did not expect this, ignore it: no"
        f" alert will be sent to you.\n"
    )
    html = _templates.get_template("confirm.html").render(
        site=site, name=name, added_by=added_by, link=link, expires=expires
    )
    data = {"event": "confirm", "at": now.isoformat(), "site": site}
    return Notice("confirm", subject, text, html, data)
