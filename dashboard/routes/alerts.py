"""`/alerts`: the rep's view of alerts (what is open, which rooms stay unresolved, what was
done about them and whether it helped), the workflow forms, the audit log as CSV for the
employer, subscriptions made on the dashboard, and `/api/alerts`.

Every change goes through `AlertRecords`, which writes the audit row in the same transaction:
nothing here changes an alert any other way. A subscription added here names an address the
rep typed, so it waits for that address to confirm it (a single-use link that expires) before
any alert goes there. A process that does not run alerting answers
404, saying so, rather than an empty page that would read as "no alerts".
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from ventwatch.accounts import Role, User
from ventwatch.alerts.actions import (
    ACTIONS,
    CLEAR_CHANGE_POINTS,
    EFFECT_DAYS,
    MIN_SCHOOL_DAYS,
    STEPS,
    ActionEffect,
    UnknownActionError,
    check_action,
    effect_for,
)
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.messages import confirmation_notice, document, test_notice
from ventwatch.alerts.records import (
    ActionRecord,
    AuditEntry,
    ConfirmationError,
    StoredSubscription,
    WorkflowError,
)
from ventwatch.alerts.reviews import reminders_due
from ventwatch.alerts.rules import UNITS, attribution_of
from ventwatch.alerts.standing import (
    cited_source,
    monitor_status,
    rules_in_force,
    school_days_open,
    unresolved_rooms,
)
from ventwatch.analysis.profiles import SEVERITIES
from ventwatch.config import Recipient, SiteConfig, Subscription
from ventwatch.dashboard.auth import ALERT_ROLES, AccountsDep, AlertUserDep, CsrfChecked
from ventwatch.dashboard.dates import moment
from ventwatch.dashboard.deps import BaseDep, NowDep, SiteDep, StoreDep, TemplatesDep
from ventwatch.dashboard.present import DASH, quantity
from ventwatch.register import REMIND_BEFORE_DAYS
from ventwatch.store import Store, StoreError

log = logging.getLogger(__name__)
router = APIRouter()

NOT_RUNNING = "alerting is not running in this process"
RECENT_CLOSED = 20
# Ids go to SQLite, whose integers stop at 2**63 - 1: a larger one is a 422, not a crash.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# Severity -> (symbol, band): a word and a symbol go with every colour.
SEVERITY_STYLE = {"urgent": ("✖", "poor"), "advisory": ("▲", "act"), "info": ("i", "no-data")}
# A verdict -> the band it is drawn with (a word and a symbol go with it, as everywhere).
VERDICT_BAND = {"helped": "good", "worse": "poor", "no clear change": "act"}
# Cells a spreadsheet would run as a formula: the audit log is opened in one by the employer.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# How long a subscription's confirmation link works: over a weekend, from a Friday afternoon.
CONFIRM_WITHIN = timedelta(hours=72)
# A confirmation token as `AlertRecords.subscribe` makes it is 43 characters.
ConfirmToken = Annotated[str, Query(min_length=1, max_length=100)]


async def get_alerting(request: Request) -> Alerting:
    alerting: Alerting | None = request.app.state.alerting
    if alerting is None:
        raise HTTPException(status_code=404, detail=NOT_RUNNING)
    return alerting


AlertingDep = Annotated[Alerting, Depends(get_alerting)]


# -- how alerts read on a page ----------------------------------------------------------------


@dataclass(frozen=True)
class AlertView:
    """Times at the site and ages in school days, as of one `now` per request."""

    alerting: Alerting
    now: datetime

    @property
    def today(self) -> date:
        return self.now.astimezone(self.alerting.site.tz).date()

    def local(self, when: datetime | None) -> str:
        return moment(when, self.alerting.site.tz)

    def age(self, alert: Alert) -> int:
        """School days the alert has been open (closed: until it was closed)."""
        return school_days_open(self.alerting, alert, self.now)

    def figure(self, alert: Alert, value: float | None) -> str:
        unit = UNITS.get(alert.rule_snapshot.get("kind", ""))
        if unit is None:  # a daily rule's figure (a day's mean) has no unit of its own
            return DASH if value is None else f"{value:g}"
        return quantity(value, unit, 1 if unit == "°C" else 0)

    def rung(self, alert: Alert) -> str:
        ladder = self.alerting.site.alerts.ladder
        level = alert.escalation_level
        if level == 0 or not ladder:
            return DASH
        return f"{level} of {len(ladder)}: {ladder[min(level, len(ladder)) - 1].name}"

    def condition(self, alert: Alert) -> str:
        if alert.condition == "active":
            return f"active since {self.local(alert.active_since)}"
        return f"recovered {self.local(alert.recovered_at)}"


def severity_style(severity: str) -> tuple[str, str]:
    return SEVERITY_STYLE.get(severity, ("●", "no-data"))


def action_label(action: str) -> str:
    return ACTIONS[action][0] if action in ACTIONS else action


def step_label(step: str) -> str:
    return STEPS.get(step, step)


@dataclass(frozen=True)
class Episode:
    """A room's active alerts of one kind, as one entry of "Open alerts": the most severe
    (the urgent) leads and the rest (the advisory) fold under it, as their emails share one
    thread (`alerts.threads`)."""

    lead: Alert
    folded: list[Alert]


def episodes(active: list[Alert]) -> list[Episode]:
    """Active alerts grouped by room and rule kind, in the order of their leads (`active`
    comes most severe first)."""
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in active:
        groups.setdefault((alert.room, str(alert.rule_snapshot.get("kind"))), []).append(alert)
    return [Episode(group[0], group[1:]) for group in groups.values()]


def worst_text(worst: dict[str, float]) -> str:
    """An unresolved room's worst values, each quantity with its unit."""
    return (
        "; ".join(
            quantity(v, UNITS[kind], 1 if UNITS[kind] == "°C" else 0)
            for kind, v in sorted(worst.items())
        )
        or DASH
    )


def event_text(entry: AuditEntry, view: AlertView, alert: Alert | None) -> str:
    """An audit row in words: what the timeline and the CSV say happened."""
    d = entry.details

    def figures(what: str, *keys: str) -> str:
        """`what`, with the values the monitor logged (a sensor gone silent has none)."""
        shown = [(key, d[key]) for key in keys if d.get(key) is not None]
        if alert is None or not shown:
            return what
        (_, value), *rest = shown
        text = f"{what}: {view.figure(alert, value)}"
        return text + "".join(f" ({key} {view.figure(alert, v)})" for key, v in rest)

    match entry.kind:
        case "opened":
            return figures("Opened", "value", "worst")
        case "reopened":
            return figures("Came back", "value", "worst")
        case "recovered":
            return figures("Recovered", "value")
        case "escalated":
            return f"Escalated to {d.get('to')} (rung {d.get('level')})"
        case "acknowledged":
            return "Acknowledged"
        case "assigned":
            return f"Assigned to {d.get('to')}"
        case "commented":
            return f"Comment: {d.get('text')}"
        case "action" | "closed":
            what = "Closed with action" if entry.kind == "closed" else "Action"
            text = (
                f"{what}: {action_label(str(d.get('action')))} "
                f"({step_label(str(d.get('step')))}), taken on {d.get('taken_on')}"
            )
            return text + (f". Note: {d['note']}" if d.get("note") else "")
        case "subscribed" | "confirmed" | "unsubscribed":
            return f"{entry.kind.capitalize()}: {d.get('name')} <{d.get('email')}>"
    return f"{entry.kind}: {d}"


@dataclass(frozen=True)
class RecordedAction:
    action: ActionRecord
    effect: ActionEffect | None
    problem: str | None  # why there is no effect to show


def recorded_actions(
    alerting: Alerting, store: Store, site: SiteConfig, alert: Alert, today: date
) -> list[RecordedAction]:
    rooms = {room.name for room in site.rooms}
    out = []
    for action in alerting.records.actions(alert_id=alert.id):
        if action.room not in rooms:
            out.append(RecordedAction(action, None, "the room is no longer in the site file"))
            continue
        try:
            effect = effect_for(store, site, alerting.monitor.profile, action, today)
        except StoreError as exc:
            out.append(RecordedAction(action, None, f"the readings cannot be read now: {exc}"))
            continue
        out.append(RecordedAction(action, effect, None))
    return out


def _alert_or_404(alerting: Alerting, alert_id: int) -> Alert:
    alert = alerting.records.get(alert_id)
    if alert is None:
        raise HTTPException(status_code=404, detail=f"no alert {alert_id} at this site")
    return alert


# What the alert's page confirms after a change (`?done=`): fixed words, never the request's.
DONE: dict[str, str] = {
    "acknowledged": "Acknowledged: the alert's log now says you have seen it.",
    "assigned": "Assigned: the alert's log now names who deals with it.",
    "commented": "Comment added to the alert's log.",
    "action": "Action recorded in the action log.",
    "closed": "Action recorded, and the alert is closed.",
}
Done = Literal["acknowledged", "assigned", "commented", "action", "closed"]


def _changed(
    base: str, alert_id: int, change: Callable[[], object], done: Done
) -> RedirectResponse:
    """Run a workflow change and go back to the alert, whose page confirms it (`done`); one
    the alert's state refuses is a 409 page saying why."""
    try:
        change()
    except WorkflowError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return RedirectResponse(f"{base}/alerts/{alert_id}?done={done}", status_code=303)


# -- pages ------------------------------------------------------------------------------------


@router.get("/alerts", response_class=HTMLResponse, tags=["pages"])
def alerts_page(
    user: AlertUserDep,  # first: nothing else is computed for a request that is refused
    request: Request,
    alerting: AlertingDep,
    now: NowDep,
    templates: TemplatesDep,
) -> HTMLResponse:
    view = AlertView(alerting, now)
    # What needs attention now first: active before recovered, urgent first, oldest first.
    rank: dict[str, int] = {severity: i for i, severity in enumerate(SEVERITIES)}
    unclosed = sorted(
        alerting.records.alerts(unclosed=True),
        key=lambda a: (a.condition != "active", rank.get(a.severity, len(rank)), a.opened_at),
    )
    closed = sorted(
        (a for a in alerting.records.alerts() if a.workflow == "closed"),
        key=lambda a: a.closed_at or a.opened_at,
        reverse=True,
    )
    outbox = alerting.outbox
    registers = alerting.register.effective(alerting.site)
    reviews = [
        (reminder, _when(alerting.records.mark(reminder.key)))
        for reminder in reminders_due(registers, view.today)
    ]
    return templates.TemplateResponse(
        request,
        "alerts.html",
        {
            "site_name": alerting.site.site.name,
            "profile": alerting.monitor.profile,
            "v": view,
            # Open alerts are the rooms red now; recovered ones wait apart for the rep's record.
            "episodes": episodes([a for a in unclosed if a.condition == "active"]),
            "recovered": [a for a in unclosed if a.condition == "recovered"],
            "unresolved": unresolved_rooms(alerting, unclosed, now),
            "closed": closed[:RECENT_CLOSED],
            "failed": outbox.deliveries(status="failed"),
            "pending": outbox.deliveries(status="pending"),
            "counts": outbox.counts(),
            "monitor": monitor_status(alerting, now),
            "rules": rules_in_force(alerting),
            "action_label": action_label,
            "severity_style": severity_style,
            "worst_text": worst_text,
            "reviews": reviews,
            "unreviewed": [name for name, r in registers.items() if r.review_due is None],
            "remind_days": REMIND_BEFORE_DAYS,
        },
    )


def _when(mark: str | None) -> datetime | None:
    """A reminder's mark is the time it was queued."""
    return datetime.fromisoformat(mark) if mark else None


@router.get("/alerts/audit.csv", dependencies=[Depends(ALERT_ROLES)], tags=["pages"])
def audit_csv(alerting: AlertingDep, now: NowDep) -> Response:
    """The whole audit log, oldest first, for the rep to hand to the employer."""
    view = AlertView(alerting, now)
    alerts: dict[int, Alert | None] = {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["at_utc", "site_time", "actor", "event", "alert_id", "room", "rule", "what", "details"]
    )
    for entry in alerting.records.audit(limit=10_000_000):
        alert = None
        if entry.alert_id is not None:
            if entry.alert_id not in alerts:
                alerts[entry.alert_id] = alerting.records.get(entry.alert_id)
            alert = alerts[entry.alert_id]
        row = [
            entry.at.isoformat(),
            entry.at.astimezone(alerting.site.tz).strftime("%Y-%m-%d %H:%M"),
            entry.actor,
            entry.kind,
            entry.alert_id if entry.alert_id is not None else "",
            alert.room if alert else "",
            alert.rule if alert else "",
            event_text(entry, view, alert),
            json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
        ]
        writer.writerow([_cell(value) for value in row])
    name = f"ventwatch-audit-{now.astimezone(alerting.site.tz):%Y-%m-%d}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: object) -> object:
    """Text a spreadsheet would run as a formula is quoted to stay text (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# -- subscriptions ----------------------------------------------------------------------------


def _subscriptions_page(
    request: Request,
    templates: Jinja2Templates,
    alerting: Alerting,
    user: User,
    now: datetime,
    form: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
    tested: str | None = None,
) -> HTMLResponse:
    site = alerting.site
    stored = alerting.records.subscriptions()
    return templates.TemplateResponse(
        request,
        "alert_subscriptions.html",
        {
            "site_name": site.site.name,
            "v": AlertView(alerting, now),
            "from_file": site.alerts.subscriptions,
            "stored": stored,
            "may_delete": {s.id for s in stored if user.role == Role.ADMIN or s.owner == user.name},
            "rooms": [room.name for room in site.rooms],
            "buildings": list(dict.fromkeys(room.building for room in site.rooms)),
            "severities": SEVERITIES,
            "form": form
            or {
                "name": user.name,
                "email": "",
                "severities": ["urgent", "advisory"],
                "rooms": [],
                "buildings": [],
                "delivery": "instant",
            },
            "errors": errors or [],
            "tested": tested,
        },
        status_code=status,
    )


@router.get("/alerts/subscriptions", response_class=HTMLResponse, tags=["pages"])
def subscriptions_page(
    user: AlertUserDep,
    request: Request,
    alerting: AlertingDep,
    templates: TemplatesDep,
    now: NowDep,
    tested: TestedId | None = None,
) -> HTMLResponse:
    return _subscriptions_page(
        request, templates, alerting, user, now, tested=_tested_name(alerting, tested)
    )


def _problems(form: dict[str, Any], site: SiteConfig) -> tuple[Subscription | None, list[str]]:
    """The subscription the form describes, or everything wrong with it."""
    known_rooms = {room.name for room in site.rooms}
    known_buildings = {room.building for room in site.rooms}
    errors = [f"Rooms: no room {r!r} on this site" for r in form["rooms"] if r not in known_rooms]
    errors += [
        f"Buildings: no building {b!r} on this site"
        for b in form["buildings"]
        if b not in known_buildings
    ]
    try:
        subscription = Subscription.model_validate({**form, "email": form["email"] or None})
    except ValidationError as exc:
        return None, errors + [_say(err) for err in exc.errors()]
    return (None if errors else subscription), errors


def _say(error: Any) -> str:
    """A validation error in the words of the form."""
    field = str(error["loc"][0]) if error["loc"] else ""
    if field == "severities" and error["type"] == "too_short":
        return "Severities: tick at least one"
    if not field:  # the model's own check that a target is given: here, the email address
        return "Email: give the address the alerts go to"
    return f"{field.capitalize()}: {error['msg'].removeprefix('Value error, ')}"


@router.post("/alerts/subscriptions", response_class=HTMLResponse, tags=["pages"])
def subscribe(
    user: AlertUserDep,  # first: the CSRF check below needs the session this signs in
    _csrf: Annotated[None, CsrfChecked],
    request: Request,
    alerting: AlertingDep,
    templates: TemplatesDep,
    now: NowDep,
    base: BaseDep,
    name: Annotated[str, Form(max_length=120)],
    email: Annotated[str, Form(max_length=254)],
    delivery: Annotated[str, Form(max_length=20)] = "instant",
    severities: Annotated[list[str] | None, Form()] = None,
    rooms: Annotated[list[str] | None, Form()] = None,
    buildings: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Alerts by email for the user (or anyone they name), kept beside the site file's once
    the address confirms them: this sends it the confirmation link, through the site's
    outbox (retried, and shown on the alerts page if it cannot be delivered)."""
    form = {
        "name": name,
        "email": email.strip(),
        "severities": severities or [],
        "rooms": rooms or [],
        "buildings": buildings or [],
        "delivery": delivery,
    }
    subscription, errors = _problems(form, alerting.site)
    if subscription is None:
        return _subscriptions_page(request, templates, alerting, user, now, form, errors, 400)
    _, token = alerting.records.subscribe(
        user.name, subscription.model_dump(mode="json"), now, CONFIRM_WITHIN
    )
    ctx = alerting.monitor.ctx
    link = f"{ctx.dashboard_url}/alerts/subscriptions/confirm?{urlencode({'token': token})}"
    notice = confirmation_notice(
        ctx.site, subscription.name, user.name, link, ctx.local(now + CONFIRM_WITHIN), now
    )
    alerting.outbox.enqueue(subscription, notice, now=now)
    log.info("%s subscribed %s to alerts, to be confirmed", user.name, subscription.address)
    return RedirectResponse(f"{base}/alerts/subscriptions", status_code=303)


@router.get("/alerts/subscriptions/confirm", response_class=HTMLResponse, tags=["pages"])
def confirm_page(
    user: AlertUserDep,
    request: Request,
    alerting: AlertingDep,
    templates: TemplatesDep,
    now: NowDep,
    token: ConfirmToken,
) -> HTMLResponse:
    """What the link in a confirmation email opens: the subscription, and a button. Opening
    it changes nothing, so a mail filter that follows links cannot confirm on its own."""
    try:
        waiting = alerting.records.awaiting(token, now)
    except ConfirmationError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return templates.TemplateResponse(
        request,
        "alert_subscription_confirm.html",
        {"site_name": alerting.site.site.name, "s": waiting, "token": token},
    )


@router.post("/alerts/subscriptions/confirm", tags=["pages"])
def confirm(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    token: Annotated[str, Form(min_length=1, max_length=100)],
) -> RedirectResponse:
    """Confirm a subscription with its token, once: alerts go to its address from now on."""
    try:
        confirmed = alerting.records.confirm(token, user.name, now)
    except ConfirmationError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    log.info("%s confirmed alert subscription %d", user.name, confirmed.id)
    return RedirectResponse(f"{base}/alerts/subscriptions", status_code=303)


def _owned_subscription(
    alerting: Alerting, subscription_id: int, user: User, verb: str
) -> StoredSubscription:
    """A dashboard subscription the user may act on: their own, or any for an admin."""
    found = next((s for s in alerting.records.subscriptions() if s.id == subscription_id), None)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no subscription {subscription_id}")
    if found.owner != user.name and user.role != Role.ADMIN:
        raise HTTPException(
            status_code=403,
            detail=f"this subscription is {found.owner}'s: they or an admin may {verb} it",
        )
    return found


@router.post("/alerts/subscriptions/{subscription_id}/delete", tags=["pages"])
def unsubscribe(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    subscription_id: RowId,
) -> RedirectResponse:
    """Remove a dashboard subscription: one's own, or any for an admin."""
    _owned_subscription(alerting, subscription_id, user, "remove")
    alerting.records.unsubscribe(subscription_id, user.name, now)
    return RedirectResponse(f"{base}/alerts/subscriptions", status_code=303)


TestedId = Annotated[str, Query(pattern=r"^(file-)?[0-9]{1,18}$")]


def _tested_name(alerting: Alerting, tested: str | None) -> str | None:
    """The name of the subscription a test alert was just queued for (`?tested=`): looked
    up, never echoed from the request."""
    if tested is None:
        return None
    if tested.startswith("file-"):
        index = int(tested.removeprefix("file-"))
        subs = alerting.site.alerts.subscriptions
        return subs[index].name if index < len(subs) else None
    found = next((s for s in alerting.records.subscriptions() if s.id == int(tested)), None)
    return str(found.recipient.get("name")) if found else None


def _send_test(alerting: Alerting, recipient: Recipient, now: datetime, by: str) -> None:
    """One test message, to this recipient only, through the site's outbox (retried, and
    shown on the alerts page if it cannot be delivered)."""
    ctx = alerting.monitor.ctx
    alerting.outbox.enqueue(recipient, test_notice(ctx.site, ctx.dashboard_url, now), now=now)
    log.info("%s sent a test alert to %s", by, recipient.address)


@router.post("/alerts/subscriptions/file/{index}/test", tags=["pages"])
def send_test_to_file_subscription(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    index: Annotated[int, Path(ge=0, le=10_000)],
) -> RedirectResponse:
    """A test message to one of the site file's subscriptions (trusted as configured)."""
    subs = alerting.site.alerts.subscriptions
    if index >= len(subs):
        raise HTTPException(status_code=404, detail=f"no subscription {index} in the site file")
    _send_test(alerting, subs[index], now, user.name)
    return RedirectResponse(f"{base}/alerts/subscriptions?tested=file-{index}", status_code=303)


@router.post("/alerts/subscriptions/{subscription_id}/test", tags=["pages"])
def send_test_to_subscription(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    subscription_id: RowId,
) -> RedirectResponse:
    """A test message to one confirmed dashboard subscription, by its owner or an admin: an
    address that has not confirmed gets nothing but its confirmation link."""
    found = _owned_subscription(alerting, subscription_id, user, "test")
    if not found.confirmed:
        raise HTTPException(
            status_code=409, detail="its address has not confirmed it: nothing is sent there yet"
        )
    _send_test(alerting, Subscription.model_validate(found.recipient), now, user.name)
    return RedirectResponse(
        f"{base}/alerts/subscriptions?tested={subscription_id}", status_code=303
    )


# -- deliveries -------------------------------------------------------------------------------


@router.post("/alerts/deliveries/{delivery_id}/retry", tags=["pages"])
def retry_delivery(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    delivery_id: RowId,
) -> RedirectResponse:
    """Queue a failed delivery again (someone fixed the address or the relay)."""
    if not alerting.outbox.retry(delivery_id, now):
        raise HTTPException(status_code=404, detail=f"no failed delivery {delivery_id}")
    log.info("%s queued delivery %d again", user.name, delivery_id)
    return RedirectResponse(f"{base}/alerts#deliveries", status_code=303)


# -- one alert --------------------------------------------------------------------------------


@router.get("/alerts/{alert_id}", response_class=HTMLResponse, tags=["pages"])
def alert_page(
    user: AlertUserDep,
    request: Request,
    alerting: AlertingDep,
    accounts: AccountsDep,
    site: SiteDep,
    store: StoreDep,
    now: NowDep,
    templates: TemplatesDep,
    alert_id: RowId,
    done: Annotated[Done | None, Query(description="the change just made, to confirm")] = None,
) -> HTMLResponse:
    alert = _alert_or_404(alerting, alert_id)
    view = AlertView(alerting, now)
    rule = alert.rule_snapshot
    profile = alerting.monitor.profile
    people = [contact.name for contact in site.alerts.ladder] + [
        u.name for u in accounts.users() if u.may_see(site.site.name)
    ]
    return templates.TemplateResponse(
        request,
        "alert.html",
        {
            "a": alert,
            "done": DONE[done] if done else None,
            "v": view,
            "rule": rule,
            "unit": UNITS.get(rule.get("kind", ""), ""),
            "source": cited_source(profile, rule.get("source")),
            "words": attribution_of(rule, profile),
            "profile": profile,
            "building": alerting.monitor.buildings.get(alert.room),
            "timeline": [(e, event_text(e, view, alert)) for e in alerting.records.audit(alert_id)],
            "actions": recorded_actions(alerting, store, site, alert, view.today),
            "people": list(dict.fromkeys(people)),
            "steps": STEPS,
            "vocabulary": ACTIONS,
            "action_label": action_label,
            "step_label": step_label,
            "verdict_band": VERDICT_BAND,
            "severity_style": severity_style,
            "effect": {
                "days": EFFECT_DAYS,
                "points": CLEAR_CHANGE_POINTS,
                "school_days": MIN_SCHOOL_DAYS,
            },
        },
    )


@router.post("/alerts/{alert_id}/acknowledge", tags=["pages"])
def acknowledge(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    alert_id: RowId,
) -> RedirectResponse:
    _alert_or_404(alerting, alert_id)
    return _changed(
        base,
        alert_id,
        lambda: alerting.records.acknowledge(alert_id, user.name, now),
        "acknowledged",
    )


@router.post("/alerts/{alert_id}/assign", tags=["pages"])
def assign(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    alert_id: RowId,
    to: Annotated[str, Form(min_length=1, max_length=120)],
) -> RedirectResponse:
    """Say who deals with it: a user, a ladder contact, or anyone named in free text."""
    _alert_or_404(alerting, alert_id)
    name = to.strip()
    if not name:
        raise HTTPException(status_code=400, detail="name who the alert is assigned to")
    return _changed(
        base, alert_id, lambda: alerting.records.assign(alert_id, name, user.name, now), "assigned"
    )


@router.post("/alerts/{alert_id}/comment", tags=["pages"])
def comment(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    alert_id: RowId,
    text: Annotated[str, Form(min_length=1, max_length=4000)],
) -> RedirectResponse:
    """A note on the record; closed alerts take them too (a reply from the employer, say)."""
    _alert_or_404(alerting, alert_id)
    if not text.strip():
        raise HTTPException(status_code=400, detail="the comment is empty")
    return _changed(
        base,
        alert_id,
        lambda: alerting.records.comment(alert_id, text.strip(), user.name, now),
        "commented",
    )


@router.post("/alerts/{alert_id}/action", tags=["pages"])
def record_action(
    user: AlertUserDep,
    _csrf: Annotated[None, CsrfChecked],
    alerting: AlertingDep,
    now: NowDep,
    base: BaseDep,
    alert_id: RowId,
    step: Annotated[str, Form(max_length=40)],
    action: Annotated[str, Form(max_length=60)],
    taken_on: Annotated[date, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
    close: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """What was done (a step of the guide), and optionally the end of the rep's work on it."""
    _alert_or_404(alerting, alert_id)
    try:
        check_action(step, action)
    except UnknownActionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    today = now.astimezone(alerting.site.tz).date()
    if taken_on > today:
        raise HTTPException(status_code=400, detail=f"{taken_on} is after today: record it then")
    return _changed(
        base,
        alert_id,
        lambda: alerting.records.record_action(
            alert_id,
            step=step,
            action=action,
            note=note.strip(),
            taken_on=taken_on,
            by=user.name,
            at=now,
            close=close,
        ),
        "closed" if close else "action",
    )


# -- JSON -------------------------------------------------------------------------------------


@router.get(
    "/api/alerts",
    dependencies=[Depends(ALERT_ROLES)],
    tags=["api"],
    responses={404: {"description": NOT_RUNNING}},
)
def alerts_api(
    alerting: AlertingDep,
    now: NowDep,
    state: Annotated[
        Literal["unclosed", "all"], Query(description="unclosed (default) or all alerts")
    ] = "unclosed",
) -> dict[str, Any]:
    """The site's alerts, newest first, each as webhook messages carry it (`alert`, `rule`
    with its source, links), the alert with who it is assigned to, when it was closed and
    its age in school days besides."""
    view = AlertView(alerting, now)
    ctx = alerting.monitor.ctx
    listed = []
    for alert in alerting.records.alerts(unclosed=state == "unclosed"):
        doc = document(alert, alert.condition, ctx, now)
        doc["alert"] |= {
            "assigned_to": alert.assigned_to,
            "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
            "age_school_days": view.age(alert),
        }
        listed.append({key: doc[key] for key in ("alert", "rule", "room_url", "alert_url")})
    return {
        "site": ctx.site,
        "generated_at": now.isoformat(),
        "state": state,
        "profile": {"id": ctx.profile.id, "version": ctx.profile.version},
        "alerts": listed,
    }
