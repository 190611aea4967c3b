"""Reminders that a room's ventilation risk assessment is due for review: the joint union
guide's step 2 asks "Will it be revised at regular intervals?", and a date in the room
register (`ventwatch.register`) that passes unnoticed answers no.

The rule: a room whose register has a `review_due` date gets one reminder when the date is
`register.REMIND_BEFORE_DAYS` (14) days away or nearer, and one more once it has passed (overdue),
each sent once per due date: a new date (the review was done and the next one set) starts
again. A date already past when it is first seen gets the overdue reminder only. They go,
as info-severity notices, to the site's subscriptions that take `info` for the room
(through the site's outbox, quiet hours and digests), and the monitor records each one
sent in the state file's marks, so a restart does not send it again.

What to remind is decided here, purely; the monitor does the sending.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from urllib.parse import urlencode

from ventwatch.notify.notices import Notice
from ventwatch.notify.rendering import message_templates
from ventwatch.register import RoomRegister

_templates = message_templates("ventwatch.alerts")

SEVERITY = "info"


@dataclass(frozen=True, slots=True)
class ReviewReminder:
    room: str
    due: date
    state: Literal["due", "overdue"]
    days: int  # until the date; negative: overdue by that many

    @property
    def key(self) -> str:
        """The monitor's mark for this reminder: one per room, due date and state."""
        return "register-review:" + json.dumps([self.room, self.due.isoformat(), self.state])

    @property
    def words(self) -> str:
        if self.days < 0:
            return f"overdue by {-self.days} day{'s' if self.days != -1 else ''}"
        if self.days == 0:
            return "due today"
        return f"due in {self.days} day{'s' if self.days != 1 else ''}"


def reminders_due(registers: Mapping[str, RoomRegister], today: date) -> list[ReviewReminder]:
    """The reminder each room's review date calls for on `today` (rooms in register order),
    whether or not it was sent already: the overdue first, then the nearest."""
    found = []
    for room, register in registers.items():
        state = register.review_state(today)
        if register.review_due is None or state is None or state == "ok":
            continue
        found.append(
            ReviewReminder(room, register.review_due, state, (register.review_due - today).days)
        )
    return sorted(found, key=lambda r: r.days)


def summary_line(reminder: ReviewReminder) -> str:
    """One line, for a digest: what it says and when."""
    return (
        f"Review [{SEVERITY}] {reminder.room}: ventilation risk assessment review "
        f"{reminder.words} ({reminder.due:%d %b %Y})"
    )


def review_notice(
    reminder: ReviewReminder,
    site: str,
    building: str | None,
    dashboard_url: str,
    now: datetime,
) -> Notice:
    """The reminder as a message: which room, the date, and where to record the review."""
    room_url = f"{dashboard_url}/room?{urlencode({'name': reminder.room})}"
    overdue = reminder.state == "overdue"
    subject = (
        f"[ventwatch] Risk assessment review {'overdue' if overdue else 'due'}: "
        f"{reminder.room} ({reminder.due:%d %b %Y})"
    )
    lines = [
        f"The ventilation risk assessment of {reminder.room} at {site} is {reminder.words}"
        f" (review due {reminder.due:%A %d %B %Y}).",
        "The joint union guide's step 2 asks for the risk assessment to be shared with staff"
        " and revised at regular intervals.",
        "Once it is reviewed, record the new dates in the room register (room page, Edit the"
        " register) or in the site file.",
    ]
    text = "\n".join([*lines, "", f"Room page: {room_url}"]) + "\n"
    html = _templates.get_template("digest.html").render(site=site, lines=lines, url=room_url)
    data = {
        "event": "review",
        "at": now.isoformat(),
        "site": site,
        "severity": SEVERITY,
        "room": reminder.room,
        "building": building,
        "review_due": reminder.due.isoformat(),
        "state": reminder.state,
        "days": reminder.days,
        "room_url": room_url,
    }
    return Notice("review", subject, text, html, data)
