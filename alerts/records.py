"""Alerts, the rep's workflow and the audit log, kept in the state database.

Every change (the monitor opening or clearing an alert, a rep acknowledging, assigning,
commenting or closing it, a subscription added) is written in the same transaction as an
`alert_events` row saying who did what and when: the audit log a rep shows the employer.
Rows are only ever added to it.

Alert state lives here, not in memory, so a restart neither re-sends an open alert nor
forgets one.

A subscription added on the dashboard names an address the rep typed: nothing is sent to it
until its owner confirms it, with a single-use token that expires (`subscribe`, `confirm`).
The subscription keeps only the token's SHA-256, as API tokens are kept; the link itself
lives only in the confirmation message (in the outbox until it is sent).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from ventwatch.alerts.lifecycle import Alert
from ventwatch.state_database import (
    Row,
    StateConnection,
    StateDatabase,
    StateLocation,
    open_state,
)

SYSTEM = "ventwatch"  # the actor of what the monitor does

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    room TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    condition TEXT NOT NULL,
    workflow TEXT NOT NULL,
    active_since TEXT,
    recovered_at TEXT,
    notified_at TEXT,
    notified INTEGER NOT NULL,
    occurrences INTEGER NOT NULL,
    escalation_level INTEGER NOT NULL,
    assigned_to TEXT,
    closed_at TEXT,
    worst REAL,
    value REAL,
    rule_snapshot TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_pair ON alerts (site, room, rule, id);
CREATE INDEX IF NOT EXISTS alerts_workflow ON alerts (site, workflow);
CREATE TABLE IF NOT EXISTS alert_events (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    alert_id INTEGER REFERENCES alerts (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events (alert_id, id);
CREATE TABLE IF NOT EXISTS alert_actions (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    alert_id INTEGER REFERENCES alerts (id),
    room TEXT NOT NULL,
    taken_on TEXT NOT NULL,
    step TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_subscriptions (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    owner TEXT NOT NULL,
    recipient TEXT NOT NULL,
    created_at TEXT NOT NULL,
    confirmed_at TEXT,  -- NULL: its address has not confirmed it, and nothing goes to it
    confirm_sha256 TEXT,  -- the confirmation token's digest; NULL once used
    confirm_expires_at TEXT
);
CREATE TABLE IF NOT EXISTS alert_digest (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    recipient TEXT NOT NULL,
    at TEXT NOT NULL,
    line TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_marks (
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (site, key)
);
"""

_TIMES = {"opened_at", "active_since", "recovered_at", "notified_at", "closed_at"}
_COLUMNS = [f.name for f in fields(Alert) if f.name != "id"]


def _text(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat(), sort_keys=True)


def _alert(row: Row) -> Alert:
    values: dict[str, Any] = {}
    for name in _COLUMNS:
        raw = row[name]
        if name in _TIMES:
            values[name] = _time(raw)
        elif name == "notified":
            values[name] = bool(raw)
        elif name == "rule_snapshot":
            values[name] = json.loads(raw)
        else:
            values[name] = raw
    return Alert(id=row["id"], **values)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    alert_id: int | None
    at: datetime
    actor: str
    kind: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: int
    alert_id: int | None
    room: str
    taken_on: date
    step: str
    action: str
    note: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    id: int
    owner: str
    recipient: dict[str, Any]  # a config.Subscription, as JSON
    created_at: datetime
    confirmed_at: datetime | None  # None: waiting for its address to confirm it
    confirm_expires_at: datetime | None  # when its confirmation link stops working

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class WorkflowError(ValueError):
    """A change the alert's state does not allow (closing a closed alert, say)."""


class ConfirmationError(ValueError):
    """A confirmation token this site never issued, already used, or expired."""


_SUBSCRIPTION_COLUMNS = "id, owner, recipient, created_at, confirmed_at, confirm_expires_at"


def _subscription(row: tuple[Any, ...]) -> StoredSubscription:
    i, owner, recipient, created, confirmed, expires = row
    return StoredSubscription(
        i, owner, json.loads(recipient), datetime.fromisoformat(created), _time(confirmed),
        _time(expires),
    )  # fmt: skip


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _migrate(file: StateDatabase) -> None:
    """Give a file from before confirmation its columns. The subscriptions already in it are
    taken as confirmed when they were added: they have been receiving alerts, and stopping
    a rep's urgent alerts until they notice a confirmation email would be the worse harm."""
    with file.exclusive() as db:
        if "confirmed_at" in db.column_names("alert_subscriptions"):
            return
        for column in ("confirmed_at", "confirm_sha256", "confirm_expires_at"):
            db.execute(f"ALTER TABLE alert_subscriptions ADD COLUMN {column} TEXT")
        db.execute("UPDATE alert_subscriptions SET confirmed_at = created_at")


class AlertRecords:
    def __init__(self, path: StateLocation, site: str) -> None:
        self._file = open_state(path, _SCHEMA)
        _migrate(self._file)
        self.site = site

    # -- the monitor's side -------------------------------------------------------------

    def latest(self) -> dict[tuple[str, str], Alert]:
        """The newest alert of every (room, rule) pair that has had one."""
        with self._file.transaction() as db:
            rows = db.execute(
                "SELECT * FROM alerts WHERE id IN"
                " (SELECT max(id) FROM alerts WHERE site = ? GROUP BY room, rule)",
                (self.site,),
            ).fetchall()
        return {(r["room"], r["rule"]): _alert(r) for r in rows}

    def save(
        self, alert: Alert, at: datetime, event: str | None = None, details: Any = None
    ) -> Alert:
        """Insert or update an alert; with `event`, log it in the same transaction."""
        values = [
            _text(getattr(alert, n))
            if n in _TIMES
            else _json(alert.rule_snapshot)
            if n == "rule_snapshot"
            else int(alert.notified)
            if n == "notified"
            else getattr(alert, n)
            for n in _COLUMNS
        ]
        with self._file.transaction() as db:
            if alert.id is None:
                cur = db.execute(
                    f"INSERT INTO alerts (site, {', '.join(_COLUMNS)})"  # noqa: S608 (names from code; values bound)
                    f" VALUES (?, {', '.join('?' * len(_COLUMNS))}) RETURNING id",
                    [self.site, *values],
                )
                alert = replace(alert, id=cur.fetchone()[0])
            else:
                db.execute(
                    f"UPDATE alerts SET {', '.join(f'{n} = ?' for n in _COLUMNS)} WHERE id = ?",  # noqa: S608 (names from code; values bound)
                    [*values, alert.id],
                )
            if event is not None:
                self._log(db, alert.id, at, SYSTEM, event, details or {})
        return alert

    def _log(
        self,
        db: StateConnection,
        alert_id: int | None,
        at: datetime,
        actor: str,
        kind: str,
        details: Any,
    ) -> None:
        db.execute(
            "INSERT INTO alert_events (site, alert_id, at, actor, kind, details)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self.site, alert_id, at.isoformat(), actor, kind, _json(details)),
        )

    # -- reading ------------------------------------------------------------------------

    def get(self, alert_id: int) -> Alert | None:
        with self._file.transaction() as db:
            row = db.execute(
                "SELECT * FROM alerts WHERE id = ? AND site = ?", (alert_id, self.site)
            ).fetchone()
        return _alert(row) if row else None

    def alerts(self, *, unclosed: bool = False, limit: int = 500) -> list[Alert]:
        """Newest first; `unclosed`: only those the rep has not closed."""
        sql = "SELECT * FROM alerts WHERE site = ?"
        if unclosed:
            sql += " AND workflow != 'closed'"
        with self._file.transaction() as db:
            rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", (self.site, limit)).fetchall()
        return [_alert(r) for r in rows]

    def unclosed_counts(self) -> dict[tuple[str, str, str], int]:
        """How many alerts the rep has not closed, by (rule, severity, condition): all of them,
        where `alerts` stops at a page's worth."""
        with self._file.transaction() as db:
            rows = db.execute(
                "SELECT rule, severity, condition, count(*) FROM alerts"
                " WHERE site = ? AND workflow != 'closed' GROUP BY rule, severity, condition",
                (self.site,),
            ).fetchall()
        return {(rule, severity, condition): n for rule, severity, condition, n in rows}

    def audit(self, alert_id: int | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The audit log, oldest first: one alert's, or the site's."""
        sql = "SELECT id, alert_id, at, actor, kind, details FROM alert_events WHERE site = ?"
        params: list[Any] = [self.site]
        if alert_id is not None:
            sql += " AND alert_id = ?"
            params.append(alert_id)
        with self._file.transaction() as db:
            rows = db.execute(
                f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) AS newest ORDER BY id",  # noqa: S608 (fixed text; values bound)
                [*params, limit],
            ).fetchall()
        return [
            AuditEntry(i, a, datetime.fromisoformat(at), actor, kind, json.loads(d))
            for i, a, at, actor, kind, d in rows
        ]

    def actions(self, room: str | None = None, alert_id: int | None = None) -> list[ActionRecord]:
        sql = "SELECT * FROM alert_actions WHERE site = ?"
        params: list[Any] = [self.site]
        if room is not None:
            sql += " AND room = ?"
            params.append(room)
        if alert_id is not None:
            sql += " AND alert_id = ?"
            params.append(alert_id)
        with self._file.transaction() as db:
            rows = db.execute(sql + " ORDER BY taken_on, id", params).fetchall()
        return [
            ActionRecord(
                r[0], r[2], r[3], date.fromisoformat(r[4]), r[5], r[6], r[7], r[8],
                datetime.fromisoformat(r[9]),
            )
            for r in rows
        ]  # fmt: skip

    # -- the rep's workflow -------------------------------------------------------------

    def _change(
        self,
        alert_id: int,
        by: str,
        at: datetime,
        kind: str,
        details: Any,
        also: Callable[[StateConnection, Alert], None] | None = None,
        **set_: Any,
    ) -> Alert:
        """Change an alert and log who did it, in one transaction (with `also`, if given)."""
        alert = self.get(alert_id)
        if alert is None:
            raise WorkflowError(f"no alert {alert_id}")
        if alert.workflow == "closed" and kind != "commented":
            raise WorkflowError(f"alert {alert_id} is closed")
        changed = replace(alert, **set_)
        with self._file.transaction() as db:
            if set_:
                assignments = ", ".join(f"{k} = ?" for k in set_)
                db.execute(
                    f"UPDATE alerts SET {assignments} WHERE id = ?",  # noqa: S608 (names from code; values bound)
                    [*(_text(v) if k in _TIMES else v for k, v in set_.items()), alert_id],
                )
            self._log(db, alert_id, at, by, kind, details)
            if also is not None:
                also(db, alert)
        return changed

    def acknowledge(self, alert_id: int, by: str, at: datetime) -> Alert:
        return self._change(alert_id, by, at, "acknowledged", {}, workflow="acknowledged")

    def assign(self, alert_id: int, to: str, by: str, at: datetime) -> Alert:
        return self._change(alert_id, by, at, "assigned", {"to": to}, assigned_to=to)

    def comment(self, alert_id: int, text: str, by: str, at: datetime) -> Alert:
        return self._change(alert_id, by, at, "commented", {"text": text})

    def record_action(
        self,
        alert_id: int,
        *,
        step: str,
        action: str,
        note: str,
        taken_on: date,
        by: str,
        at: datetime,
        close: bool,
    ) -> Alert:
        """What was done about an alert (the guide's step 4); `close` ends the rep's work on
        it. Kept in `alert_actions` too, for the before/after comparison."""
        details = {"step": step, "action": action, "note": note, "taken_on": taken_on}
        changes: dict[str, Any] = {"workflow": "closed", "closed_at": at} if close else {}

        def keep(db: StateConnection, alert: Alert) -> None:
            db.execute(
                "INSERT INTO alert_actions (site, alert_id, room, taken_on, step, action, note,"
                " recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.site, alert_id, alert.room, taken_on.isoformat(), step, action, note, by,
                 at.isoformat()),
            )  # fmt: skip

        return self._change(
            alert_id, by, at, "closed" if close else "action", details, also=keep, **changes
        )

    def log_escalation(self, alert: Alert, level: int, to: str, at: datetime) -> Alert:
        saved = self.save(
            replace(alert, escalation_level=level), at, "escalated", {"level": level, "to": to}
        )
        return saved

    # -- subscriptions made on the dashboard --------------------------------------------

    def subscriptions(self, owner: str | None = None) -> list[StoredSubscription]:
        """Every subscription of the site, confirmed or not (the monitor keeps the confirmed)."""
        sql = f"SELECT {_SUBSCRIPTION_COLUMNS} FROM alert_subscriptions WHERE site = ?"  # noqa: S608 (names from code; values bound)
        params: list[Any] = [self.site]
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        with self._file.transaction() as db:
            rows = db.execute(sql + " ORDER BY id", params).fetchall()
        return [_subscription(row) for row in rows]

    def subscribe(
        self, owner: str, recipient: dict[str, Any], at: datetime, confirm_within: timedelta
    ) -> tuple[int, str]:
        """Add a subscription waiting for its address to confirm it; returns its id and the
        confirmation token (kept only as a digest), which works once, within
        `confirm_within`."""
        token = secrets.token_urlsafe(32)
        with self._file.transaction() as db:
            cur = db.execute(
                "INSERT INTO alert_subscriptions (site, owner, recipient, created_at,"
                " confirm_sha256, confirm_expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (self.site, owner, _json(recipient), at.isoformat(), _digest(token),
                 (at + confirm_within).isoformat()),
            )  # fmt: skip
            (subscription_id,) = cur.fetchone()
            self._log(db, None, at, owner, "subscribed", recipient)
        return subscription_id, token

    def awaiting(self, token: str, at: datetime) -> StoredSubscription:
        """The subscription `token` would confirm at `at`, or ConfirmationError saying why
        none: shown before the confirmation is made, which changes nothing."""
        with self._file.transaction() as db:
            return self._awaiting(db, token, at)

    def confirm(self, token: str, by: str, at: datetime) -> StoredSubscription:
        """Confirm the subscription `token` was issued for, and use the token up."""
        with self._file.transaction() as db:
            found = self._awaiting(db, token, at)
            db.execute(
                "UPDATE alert_subscriptions SET confirmed_at = ?, confirm_sha256 = NULL"
                " WHERE id = ?",
                (at.isoformat(), found.id),
            )
            self._log(db, None, at, by, "confirmed", found.recipient)
        return replace(found, confirmed_at=at)

    def _awaiting(self, db: StateConnection, token: str, at: datetime) -> StoredSubscription:
        row = db.execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM alert_subscriptions"  # noqa: S608 (names from code; values bound)
            " WHERE site = ? AND confirm_sha256 = ? AND confirmed_at IS NULL",
            (self.site, _digest(token)),
        ).fetchone()
        if row is None:
            raise ConfirmationError(
                "this confirmation link has been used already, or is not one of this site's"
            )
        found = _subscription(row)
        assert found.confirm_expires_at is not None
        if at >= found.confirm_expires_at:
            raise ConfirmationError(
                "this confirmation link has expired: remove the subscription and add it again"
                " for a new one"
            )
        return found

    def unsubscribe(self, subscription_id: int, by: str, at: datetime) -> bool:
        with self._file.transaction() as db:
            row = db.execute(
                "SELECT recipient FROM alert_subscriptions WHERE id = ? AND site = ?",
                (subscription_id, self.site),
            ).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM alert_subscriptions WHERE id = ?", (subscription_id,))
            self._log(db, None, at, by, "unsubscribed", json.loads(row[0]))
        return True

    # -- daily digests and the monitor's own marks --------------------------------------

    def add_digest_line(self, recipient: dict[str, Any], line: str, at: datetime) -> None:
        with self._file.transaction() as db:
            db.execute(
                "INSERT INTO alert_digest (site, recipient, at, line) VALUES (?, ?, ?, ?)",
                (self.site, _json(recipient), at.isoformat(), line),
            )

    def take_digest(self) -> dict[str, list[str]]:
        """Every waiting digest line, by recipient (as JSON), removed as it is taken."""
        out: dict[str, list[str]] = {}
        with self._file.transaction() as db:
            rows = db.execute(
                "SELECT recipient, line FROM alert_digest WHERE site = ? ORDER BY id",
                (self.site,),
            ).fetchall()
            db.execute("DELETE FROM alert_digest WHERE site = ?", (self.site,))
        for recipient, line in rows:
            out.setdefault(recipient, []).append(line)
        return out

    def mark(self, key: str) -> str | None:
        with self._file.transaction() as db:
            row = db.execute(
                "SELECT value FROM alert_marks WHERE site = ? AND key = ?", (self.site, key)
            ).fetchone()
        return row[0] if row else None

    def set_mark(self, key: str, value: str) -> None:
        with self._file.transaction() as db:
            db.execute(
                "INSERT INTO alert_marks VALUES (?, ?, ?)"
                " ON CONFLICT (site, key) DO UPDATE SET value = excluded.value",
                (self.site, key, value),
            )
