"""Alert messages: the text, HTML and JSON of what is sent, built from an alert and its rule.

Every message names the room, the figures, the rule with its threshold, and the guidance
profile and source it comes from, and links to the room's page: a rep forwards it to the
employer as it is. The JSON document is a contract for webhook and MQTT receivers (building
management systems): its keys only ever grow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ventwatch import __version__
from ventwatch.alerts.lifecycle import Alert, Event
from ventwatch.alerts.rules import UNITS, attribution_of
from ventwatch.alerts.threads import Thread
from ventwatch.analysis.profiles import CHECKED, Profile
from ventwatch.notify.notices import Notice
from ventwatch.notify.rendering import message_templates

_templates = message_templates("ventwatch.alerts")

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


# How a message's subject names the alert's urgency: the word a rep sorts the inbox by.
URGENCY = {"urgent": "URGENT", "advisory": "Advisory", "info": "Info"}
# What the subject adds after the urgency, by event (a recovery has no urgency left).
AGAIN = {"opened": "", "reopened": " again", "escalated": ", escalated"}


def short_rule(rule: Mapping[str, Any]) -> str:
    """The rule as a subject says it, from the alert's snapshot: 'CO2 over 1500 ppm for 20
    min of lessons' (occupied minutes are lesson time, as the rule's meaning says)."""
    kind = rule.get("kind")
    threshold, minutes = rule.get("threshold"), rule.get("for_minutes")
    unit = UNITS.get(str(kind), "")
    if kind == "co2_above":
        return f"CO2 over {threshold:g} {unit} for {minutes} min of lessons"
    if kind == "temperature_below":
        return f"temperature under {threshold:g} {unit} for {minutes} min of lessons"
    if kind == "temperature_above":
        return f"temperature over {threshold:g} {unit} for {minutes} min of lessons"
    if kind == "offline":
        return f"no reading for {minutes} min of lessons"
    if kind == "drift":
        return "sensor drift suspected"
    return str(rule.get("described", rule.get("id")))


def span(start: datetime | None, end: datetime | None) -> str:
    """How long from start to end, in words ('1 h 10 min')."""
    if start is None or end is None:
        return "-"
    minutes = max(0, round((end - start).total_seconds() / 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def subject_of(alert: Alert, kind: str) -> str:
    """'URGENT — Music: CO2 over 1500 ppm for 20 min of lessons': the urgency and the room
    first, so an inbox sorts itself; a recovery says so and how long the episode lasted."""
    what = short_rule(alert.rule_snapshot)
    if kind == "recovered":
        lasted = span(alert.active_since, alert.recovered_at)
        return f"Recovered \u2014 {alert.room}: {what} (lasted {lasted})"
    urgency = URGENCY.get(alert.severity, alert.severity.capitalize())
    return f"{urgency}{AGAIN.get(kind, '')} \u2014 {alert.room}: {what}"


def alert_notice(
    alert: Alert,
    event: Event | str,
    ctx: MessageContext,
    now: datetime,
    extra: str = "",
    *,
    told: Sequence[str] = (),
    thread: Thread | None = None,
) -> Notice:
    """The message for an alert event (opened, reopened, recovered, escalated): what a rep
    needs to act from the email alone. An alert says how long the room has been over, the
    worst value, the first steps the profile cites, who was told (`told`: names, never
    addresses) and where to act; a recovery says it recovered and how long the episode
    lasted, and no more "act now". `thread` puts it in its room's episode thread."""
    kind = event if isinstance(event, str) else event.kind
    doc = document(alert, kind, ctx, now)
    rule = doc["rule"]
    unit = doc["alert"]["unit"] or ""
    recovered = kind == "recovered"
    subject = subject_of(alert, kind)
    if recovered:
        headline = f"Recovered: {short_rule(alert.rule_snapshot)}"
        lead = (
            f"The room recovered {ctx.local(alert.recovered_at)}. The episode lasted "
            f"{span(alert.active_since, alert.recovered_at)} "
            f"({ctx.local(alert.active_since)} to {ctx.local(alert.recovered_at)}). "
            "Nothing to do now; record what was done on the alert's page."
        )
    else:
        headline = (
            f"{URGENCY.get(alert.severity, alert.severity)}: {short_rule(alert.rule_snapshot)}"
        )
        lead = (
            f"Over for {span(alert.active_since, now)} "
            f"(since {ctx.local(alert.active_since)}), worst {_figure(alert.worst, unit)}."
        )
    facts = [
        ("Room", f"{alert.room} ({doc['alert']['building'] or '-'})"),
        ("Rule", f"{rule['described']} [{alert.severity}]"),
        ("Since", ctx.local(alert.active_since)),
        ("Latest value", _figure(alert.value, unit)),
        ("Worst value", _figure(alert.worst, unit)),
        ("Occurrences", str(alert.occurrences)),
    ]
    if recovered:
        facts.insert(3, ("Recovered", ctx.local(alert.recovered_at)))
    steps = [] if recovered else first_steps(alert, ctx.profile)
    source = rule["source"]
    words = rule["attribution"]
    cited = f"{ctx.profile.title} (profile {ctx.profile.id} {ctx.profile.version})"
    source_text = f"{source['title']}" + (f" <{source['url']}>" if source["url"] else "")
    lines = [
        f"{headline}",
        f"{ctx.site}: {alert.room}",
        *( [extra] if extra else [] ),
        "",
        lead,
        "",
        *( ["What to do first:", *(f"{i}. {s}" for i, s in enumerate(steps, 1)), ""]
           if steps else [] ),
        f"Told: {', '.join(told) if told else 'nobody else (see the subscriptions page)'}",
        f"Acknowledge, assign or record an action: {doc['alert_url']}",
        f"Room page: {doc['room_url']}",
        "",
        *(f"{name}: {value}" for name, value in facts),
        "",
        # A recovery cites the rule but not its meaning ("act now") nor its reasons.
        *( [] if recovered else [f"What it means: {rule['meaning']}"] ),
        *( [f"From the source: {words['source']}", words["ventwatch"]]
           if words and not recovered else [] ),
        *( [f"Why {rule['for_minutes']} minutes: {rule['duration_reason']}"]
           if rule["duration_reason"] and not recovered else [] ),
        f"Source: {source_text}",
        f"Guidance: {cited}",
    ]  # fmt: skip
    html = _templates.get_template("alert.html").render(
        kind=kind,
        headline=headline,
        lead=lead,
        site=ctx.site,
        alert=alert,
        facts=facts,
        extra=extra,
        steps=steps,
        told=told,
        rule=rule,
        cited=cited,
        doc=doc,
    )
    return Notice(
        kind,  # type: ignore[arg-type]
        subject,
        "\n".join(lines) + "\n",
        html,
        doc,
        thread=thread.token if thread else "",
        opens_thread=thread.opens if thread else False,
    )


def first_steps(alert: Alert, profile: Profile) -> list[str]:
    """The profile's first practical steps for the alert's kind, each with its citation:
    what it is from, which part, and how far that was checked."""
    out = []
    for step in profile.alerts.steps_for(str(alert.rule_snapshot.get("kind"))):
        source = profile.source(step.source)
        checked = CHECKED[step.status] + (f"; {step.caveat}" if step.caveat else "")
        out.append(f"{step.do} ({source.title}, {step.where}; {checked})")
    return out


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
