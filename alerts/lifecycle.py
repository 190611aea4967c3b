"""An alert's life, as a pure function: the room's latest alert for a rule and what the rule
observes now go in; the alert as it should be and the events to record come out.

Two things are tracked apart. The *condition* is the air: `active` while the rule holds,
`recovered` once it has cleared (hysteresis: see conditions). The *workflow* is the rep's:
`open` until acknowledged, `closed` when the rep records what was done. A poorly ventilated
room goes over the figure every lesson and clears every break, so a recurrence while the rep
still works on the alert re-opens the same alert (one more occurrence) instead of starting a
new one. Every message that said "opened" gets exactly one "recovered", and a recurrence after
an announced recovery is announced again whatever the cooldown: the rep's inbox never says
"recovered" while the room is red. The cooldown holds back only a recurrence whose previous
occurrence went unannounced, which since then happens only to alerts stored before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from ventwatch.alerts.conditions import Observation

Condition = Literal["active", "recovered"]
Workflow = Literal["open", "acknowledged", "closed"]
EventKind = Literal["opened", "reopened", "recovered", "escalated"]


@dataclass(frozen=True, slots=True)
class Alert:
    room: str
    rule: str
    severity: str
    opened_at: datetime
    condition: Condition = "active"
    workflow: Workflow = "open"
    active_since: datetime | None = None  # the current (or last) occurrence's start
    recovered_at: datetime | None = None
    notified_at: datetime | None = None  # the last "opened"/"reopened" message
    notified: bool = False  # whether the current occurrence was announced
    occurrences: int = 1
    escalation_level: int = 0
    assigned_to: str | None = None
    closed_at: datetime | None = None
    worst: float | None = None  # peak CO2 or temperature (lowest for cold), all occurrences
    value: float | None = None  # the value when last judged
    # The rule as applied when it opened (figure, minutes, source, meaning): cited in messages.
    rule_snapshot: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    notify: bool  # whether subscribers are sent a message for it
    details: dict[str, Any] = field(default_factory=dict)


def worse(rule_kind: str, a: float | None, b: float | None) -> float | None:
    """The worse of two values under a rule: the lower for cold, else the higher."""
    if a is None or b is None:
        return a if b is None else b
    return min(a, b) if rule_kind == "temperature_below" else max(a, b)


def step(
    latest: Alert | None,
    seen: Observation,
    *,
    room: str,
    rule: dict[str, Any],
    now: datetime,
    cooldown: timedelta,
) -> tuple[Alert | None, list[Event]]:
    """The next state of a (room, rule) pair. `latest` is its newest alert, closed or not;
    `rule` the rule as applied (id, kind, severity, threshold, ...). Returns the alert to
    save (a new one when `id` is None; None when nothing changed) and what happened."""
    kind = rule["kind"]
    if latest is not None and latest.condition == "active":
        if seen.state == "clear":
            recovered = replace(latest, condition="recovered", recovered_at=now, value=seen.value)
            return recovered, [Event("recovered", latest.notified, {"value": seen.value})]
        if seen.state == "holds":
            # Only a new worst value is worth a write; the latest value is kept at events.
            worst = worse(kind, latest.worst, seen.worst)
            if worst != latest.worst:
                return replace(latest, worst=worst, value=seen.value), []
        return None, []
    if seen.state != "holds":
        return None, []
    # The cooldown holds back a repeat only while the rep's inbox still says "alert": once
    # a recovery was announced (its occurrence was), a room red again is told at once, or
    # the inbox would say all is well while the room is red.
    quiet = (
        latest is not None
        and not latest.notified
        and latest.notified_at is not None
        and (now - latest.notified_at < cooldown)
    )
    details = {"value": seen.value, "worst": seen.worst, "since": seen.since}
    if latest is not None and latest.workflow != "closed":
        reopened = replace(
            latest,
            condition="active",
            active_since=seen.since or now,
            recovered_at=None,
            occurrences=latest.occurrences + 1,
            notified=not quiet,
            notified_at=latest.notified_at if quiet else now,
            worst=worse(kind, latest.worst, seen.worst),
            value=seen.value,
        )
        return reopened, [Event("reopened", not quiet, details)]
    opened = Alert(
        room=room,
        rule=rule["id"],
        severity=rule["severity"],
        opened_at=now,
        active_since=seen.since or now,
        notified=not quiet,
        notified_at=latest.notified_at if quiet and latest else now,
        worst=seen.worst,
        value=seen.value,
        rule_snapshot=rule,
    )
    return opened, [Event("opened", not quiet, details)]


def escalation_due(alert: Alert, school_days_open: int, every: int, ladder_size: int) -> int:
    """The rung an unresolved alert should have reached: one more every `every` school days
    it stays unclosed, up to the top of the ladder."""
    if alert.workflow == "closed" or ladder_size == 0:
        return alert.escalation_level
    return max(alert.escalation_level, min(ladder_size, school_days_open // every))
