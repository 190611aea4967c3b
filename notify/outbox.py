"""Messages waiting to be delivered, kept in a SQLite file until they are sent or given up.

Why an outbox and not sending where an alert opens: a mail relay or webhook can take seconds
to answer or be down for an hour, and neither may delay judging the next room or lose the
message. `enqueue` only writes a row; one thread (`run`) sends what is due, retrying
temporary failures with exponential back-off, and a restart picks up where it stopped,
because the rows are in the file.

Every row belongs to one site. Several sites run in one process over one SQLite file (a
site list), each with its own outbox and its own channels (its mail relay and From address,
its broker): an outbox sends, lists, counts and retries only its own site's rows, so a
site's message never leaves through another site's relay and a site's pages never show
another's recipients.

Several processes may send from one state database (monitors partitioning sites, a dashboard
process sending a test message, a monitor taking over a killed one's sites): each due row is
*claimed* in a transaction before it is sent (`claimed_by`, `claim_expires`), so only one
process sends it. A claim lasts `claim_s` of wall-clock time, several times a channel's
timeout; a process killed while sending leaves its claim to run out, and the row is then sent
by whoever comes next. (Killed after the relay took the message but before the row was marked
sent, it would be sent again: SMTP cannot do better than at least once there.)

Every other time is passed in (`now`, `clock`): nothing else here reads the wall clock, so
tests move time instead of sleeping. Times are stored as ISO 8601 UTC text in one fixed form, so
comparing the text compares the times.

Delivery knows nothing of what it delivers: a row's `alert_id` (the table keeps its name,
`alert_deliveries`, for the files already written) is only data, which the alerts page links
from. No alert is imported here; only `_migrate`, once, reads an old file's alerts table to
learn which site each of its rows was for.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ventwatch.config import Recipient
from ventwatch.notify.channels import Channels, DeliveryError
from ventwatch.notify.notices import Notice
from ventwatch.state_database import Row, StateDatabase, StateLocation, open_state

log = logging.getLogger(__name__)

STATUSES = ("pending", "sent", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT,  -- NULL only for a row from before sites had outboxes that names none
    alert_id INTEGER,
    channel TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    address TEXT NOT NULL,
    recipient_json TEXT NOT NULL,
    notice_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    sent_at TEXT,
    last_error TEXT,
    claimed_by TEXT,  -- the process sending it now (host:pid), until claim_expires
    claim_expires REAL  -- wall-clock seconds since the epoch
);
"""
# A claim outlasts any one attempt (a channel gives up after about 10 s), and a killed
# sender's rows are taken up again within a minute.
CLAIM_S = 60.0
# Made once `_migrate` has given an old file its `site` column; the index before it, on
# (status, next_attempt_at), served an outbox that sent every row.
_SITE_INDEX = (
    "DROP INDEX IF EXISTS alert_deliveries_due",
    "CREATE INDEX IF NOT EXISTS alert_deliveries_site_due"
    " ON alert_deliveries (site, status, next_attempt_at)",
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notice for one recipient, and how sending it has gone so far."""

    id: int
    alert_id: int | None
    channel: str
    recipient_name: str
    address: str  # as shown on pages: never a secret
    recipient: Recipient
    notice: Notice
    status: str  # pending, sent or failed
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


class Outbox:
    """The deliveries of the site named `site` in the SQLite file at `path`, sent through
    `channels` (that site's own: its relay, its broker).

    A temporary failure is tried again after `first_retry_s`, then twice as long each time
    up to `max_retry_s`; after `max_attempts` attempts, or at once for a permanent failure,
    the delivery is marked failed and waits for a person (`retry`)."""

    def __init__(
        self,
        path: StateLocation,
        site: str,
        channels: Channels,
        *,
        first_retry_s: float = 30,
        max_retry_s: float = 3600,
        max_attempts: int = 8,
        claim_s: float = CLAIM_S,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = open_state(path, _SCHEMA)
        _migrate(self._db)
        self.claim_s = claim_s
        self._wall_clock = wall_clock  # for claims alone: they are about processes
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.site = site
        self.channels = channels
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.max_attempts = max_attempts
        # One sender at a time in this process: the run thread and, say, a "send a test
        # message" request must not both pick up the same due row and send it twice.
        self._sending = threading.Lock()

    def enqueue(
        self,
        recipient: Recipient,
        notice: Notice,
        *,
        now: datetime,
        alert_id: int | None = None,
        not_before: datetime | None = None,
    ) -> int:
        """Store a delivery due at `not_before` (default: now) and return its id. Never sends:
        the caller (alert evaluation, a web request) is never held up by a slow channel."""
        # Only the Recipient fields: a Subscription's own fields (severities, rooms) would not
        # load back into a Recipient.
        recipient_json = recipient.model_dump_json(
            include=set(Recipient.model_fields), by_alias=True
        )
        with self._db.transaction() as db:
            cursor = db.execute(
                "INSERT INTO alert_deliveries (site, alert_id, channel, recipient_name,"
                " address, recipient_json, notice_json, status, created_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
                (
                    self.site,
                    alert_id,
                    recipient.channel,
                    recipient.name,
                    recipient.address,
                    recipient_json,
                    notice.to_json(),
                    _iso(now),
                    _iso(not_before or now),
                ),
            )
            (delivery_id,) = cursor.fetchone()
        return int(delivery_id)

    def deliver_due(self, now: datetime) -> int:
        """Try every pending delivery due by `now`, oldest first, and return how many were
        tried. Each is settled on its own: one failing recipient never stops the rest."""
        with self._sending:
            with self._db.transaction() as db:
                due = [
                    row_id
                    for (row_id,) in db.execute(
                        "SELECT id FROM alert_deliveries WHERE site = ? AND status = 'pending'"
                        " AND next_attempt_at <= ? AND (claim_expires IS NULL"
                        " OR claim_expires <= ?) ORDER BY id",
                        (self.site, _iso(now), self._wall_clock()),
                    )
                ]
            tried = 0
            for row_id in due:
                row = self._claim(row_id, now)
                if row is not None:  # else another process has it, or has sent it
                    self._attempt(row, now)
                    tried += 1
            return tried

    def _claim(self, delivery_id: int, now: datetime) -> Row | None:
        """Make the row this process's to send, in one transaction, if it is still due and
        nobody else's; returns it as it is now (another process may have tried it)."""
        wall = self._wall_clock()
        with self._db.transaction() as db:
            claimed = db.execute(
                "UPDATE alert_deliveries SET claimed_by = ?, claim_expires = ?"
                " WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?"
                " AND (claim_expires IS NULL OR claim_expires <= ?)",
                (self.holder, wall + self.claim_s, delivery_id, _iso(now), wall),
            ).rowcount
            if claimed != 1:
                return None
            cursor = db.execute("SELECT * FROM alert_deliveries WHERE id = ?", (delivery_id,))
            row: Row = cursor.fetchone()
        return row

    def _attempt(self, row: Row, now: datetime) -> None:
        delivery_id, to, attempts = row["id"], row["address"], row["attempts"] + 1
        try:
            delivery = _delivery(row)
            self.channels.send(delivery.recipient, delivery.notice)
        except DeliveryError as exc:
            self._failed(delivery_id, to, attempts, now, str(exc), permanent=exc.permanent)
        except Exception as exc:
            # A bug or an unforeseen error in a channel's library: logged with its traceback,
            # and retried like a temporary failure so that a fix can still deliver the message.
            log.exception("delivery %d to %s: unexpected error", delivery_id, to)
            error = f"{type(exc).__name__}: {exc}"
            self._failed(delivery_id, to, attempts, now, error, permanent=False)
        else:
            with self._db.transaction() as db:
                db.execute(
                    "UPDATE alert_deliveries SET status = 'sent', attempts = ?, sent_at = ?,"
                    " last_error = NULL, claimed_by = NULL, claim_expires = NULL WHERE id = ?",
                    (attempts, _iso(now), delivery_id),
                )
            log.info("delivery %d sent to %s", delivery_id, to)

    def _failed(
        self,
        delivery_id: int,
        to: str,
        attempts: int,
        now: datetime,
        error: str,
        *,
        permanent: bool,
    ) -> None:
        if permanent or attempts >= self.max_attempts:
            status, due = "failed", now
            log.warning(
                "delivery %d to %s failed after %d attempt(s), giving up: %s",
                delivery_id,
                to,
                attempts,
                error,
            )
        else:
            delay = min(self.first_retry_s * 2 ** (attempts - 1), self.max_retry_s)
            status, due = "pending", now + timedelta(seconds=delay)
            log.warning(
                "delivery %d to %s failed (attempt %d of %d), next try in %g s: %s",
                delivery_id,
                to,
                attempts,
                self.max_attempts,
                delay,
                error,
            )
        with self._db.transaction() as db:
            db.execute(
                "UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,"
                " last_error = ?, claimed_by = NULL, claim_expires = NULL WHERE id = ?",
                (status, attempts, _iso(due), error, delivery_id),
            )

    def deliveries(self, status: str | None = None, limit: int = 100) -> list[Delivery]:
        """The site's newest deliveries first, all or those with one status."""
        with self._db.transaction() as db:
            cursor = db.execute(
                "SELECT * FROM alert_deliveries WHERE site = ? AND (? IS NULL OR status = ?)"
                " ORDER BY id DESC LIMIT ?",
                (self.site, status, status, limit),
            )
            rows = cursor.fetchall()
        return [_delivery(row) for row in rows]

    def retry(self, delivery_id: int, now: datetime) -> bool:
        """Put a failed delivery back in the queue, due now and with a fresh set of attempts
        (someone has fixed the address or the relay). False if the site has no such failed
        delivery: another site's, whatever its id, is not this one's to send."""
        with self._db.transaction() as db:
            cursor = db.execute(
                "UPDATE alert_deliveries SET status = 'pending', attempts = 0,"
                " next_attempt_at = ? WHERE id = ? AND site = ? AND status = 'failed'",
                (_iso(now), delivery_id, self.site),
            )
        return cursor.rowcount == 1

    def counts(self) -> dict[str, int]:
        """How many of the site's deliveries have each status (every status present, zero
        included)."""
        with self._db.transaction() as db:
            found = dict(
                db.execute(
                    "SELECT status, count(*) FROM alert_deliveries WHERE site = ? GROUP BY status",
                    (self.site,),
                ).fetchall()
            )
        return {status: found.get(status, 0) for status in STATUSES}

    def run(
        self, stop: threading.Event, clock: Callable[[], datetime], poll_s: float = 2.0
    ) -> None:
        """Deliver what is due every `poll_s` seconds until `stop` is set: a thread's target.
        An error (the file locked too long, a disk full) is logged and the loop goes on, so
        messages keep going out once it clears."""
        while not stop.is_set():
            try:
                self.deliver_due(clock())
            except Exception:
                log.exception("outbox: delivering failed; trying again in %g s", poll_s)
            stop.wait(poll_s)


def _migrate(file: StateDatabase) -> None:
    """Bring an older file up to date: the claim columns, and for a file from before
    deliveries belonged to a site, its `site` column, each row given the site it was written
    for: the site of its alert, else the site its message names (every message ventwatch
    writes names one: alerts, digests, weekly reports). A row that names none (none was ever
    written) keeps NULL: no site sends, lists or counts it, which the log says once, with its
    ids."""
    unknown: list[int] = []
    with file.exclusive() as db:
        if "site" not in db.column_names("alert_deliveries"):
            db.execute("ALTER TABLE alert_deliveries ADD COLUMN site TEXT")
            has_alerts = "site" in db.column_names("alerts")
            alert_sites = dict(db.execute("SELECT id, site FROM alerts")) if has_alerts else {}
            for row_id, alert_id, notice_json in db.execute(
                "SELECT id, alert_id, notice_json FROM alert_deliveries"
            ).fetchall():
                site = alert_sites.get(alert_id) or _named_site(notice_json)
                if site is None:
                    unknown.append(row_id)
                else:
                    db.execute("UPDATE alert_deliveries SET site = ? WHERE id = ?", (site, row_id))
        for statement in _SITE_INDEX:
            db.execute(statement)
        # Claims, for several processes sending from one file (from before: none).
        columns = db.column_names("alert_deliveries")
        if "claimed_by" not in columns:
            db.execute("ALTER TABLE alert_deliveries ADD COLUMN claimed_by TEXT")
        if "claim_expires" not in columns:
            db.execute("ALTER TABLE alert_deliveries ADD COLUMN claim_expires REAL")
    if unknown:
        log.warning(
            "outbox: %d deliveries from before sites had their own outboxes name no site;"
            " no site sends or shows them (ids %s)",
            len(unknown),
            ", ".join(map(str, unknown)),
        )


def _named_site(notice_json: str) -> str | None:
    """The site a stored message names in its JSON document, if it names one."""
    try:
        site = json.loads(notice_json).get("data", {}).get("site")
    except (ValueError, AttributeError):
        return None
    return site if isinstance(site, str) and site else None


def _delivery(row: Row) -> Delivery:
    def moment(column: str) -> datetime:
        return datetime.fromisoformat(row[column])

    return Delivery(
        id=row["id"],
        alert_id=row["alert_id"],
        channel=row["channel"],
        recipient_name=row["recipient_name"],
        address=row["address"],
        recipient=Recipient.model_validate_json(row["recipient_json"]),
        notice=Notice.from_json(row["notice_json"]),
        status=row["status"],
        attempts=row["attempts"],
        created_at=moment("created_at"),
        next_attempt_at=moment("next_attempt_at"),
        sent_at=None if row["sent_at"] is None else moment("sent_at"),
        last_error=row["last_error"],
    )


def _iso(moment: datetime) -> str:
    """One fixed text form (UTC, microseconds) so that text order is time order."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone: pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
