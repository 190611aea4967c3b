"""Which email thread an alert's message belongs to: one per room and episode.

A stuffy lesson usually trips both CO2 rules of a room, the advisory (800 ppm) and the urgent
(1500 ppm). They are two alerts to the monitor and the audit log, but one episode to a rep, so
their messages (each opening, recovery and escalation) share one thread in a mail client:
the first alert announced in the episode opens it (its message's Message-ID is the thread's
root) and every later message of the episode refers to it (In-Reply-To, References).

An episode is the room's alerts of one rule kind whose current occurrences overlap in time;
its root is the one announced first. Pure: the room's newest alerts in, a thread out, so the
same alerts always give the same thread, after a restart too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ventwatch.alerts.lifecycle import Alert


@dataclass(frozen=True, slots=True)
class Thread:
    token: str  # the root's identity: "alert-<id>.<occurrence>", within a site's mail domain
    opens: bool  # whether this message is the root (the episode's first announcement)


def _start(alert: Alert) -> datetime:
    return alert.active_since or alert.opened_at


def _overlap(a: Alert, b: Alert, now: datetime) -> bool:
    """Whether the current occurrences of two alerts were active at some same moment."""
    a_end = a.recovered_at if a.condition == "recovered" and a.recovered_at else now
    b_end = b.recovered_at if b.condition == "recovered" and b.recovered_at else now
    return _start(a) <= b_end and _start(b) <= a_end


def _announced(alert: Alert) -> tuple[datetime, int]:
    """When the occurrence was first told (its start if it never was), ties by id."""
    when = alert.notified_at if alert.notified and alert.notified_at else _start(alert)
    return max(when, _start(alert)), alert.id or 0


def thread_of(alert: Alert, kind: str, newest: Iterable[Alert], now: datetime) -> Thread:
    """The thread of `alert`'s message for event `kind`, given the newest alert of each rule
    (`newest`: any rooms; the alert itself may be among them)."""
    rule_kind = alert.rule_snapshot.get("kind")
    episode = [
        other
        for other in newest
        if other.id != alert.id
        and other.room == alert.room
        and other.rule_snapshot.get("kind") == rule_kind
        and _overlap(alert, other, now)
    ]
    root = min([alert, *episode], key=_announced)
    opens = root.id == alert.id and kind in ("opened", "reopened")
    return Thread(f"alert-{root.id}.{root.occurrences}", opens)
