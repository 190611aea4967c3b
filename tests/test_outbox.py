"""The outbox against real receivers: enqueueing never sends, due deliveries go out oldest
first, temporary failures back off under a moved clock (no sleeping), permanent ones stop at
once, and everything survives reopening the file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import HttpReceiver, free_port
from ventwatch.config import Recipient, Subscription
from ventwatch.notify.channels import Channels
from ventwatch.notify.notices import Notice
from ventwatch.notify.outbox import Delivery, Outbox
from ventwatch.settings import SmtpSettings
from ventwatch.state_database import PostgresURL, StateLocation

T0 = datetime(2025, 3, 3, 10, 15, tzinfo=UTC)
SITE = "Hillside Academy"
NOTICE = Notice(
    kind="opened",
    subject="Room B12: CO₂ above 1500 ppm",
    text="Room B12 has had CO₂ above 1500 ppm for 20 minutes.",
    html="<p>Room B12 has had CO₂ above 1500 ppm for 20 minutes.</p>",
    data={"event": "opened", "alert": {"room": "B12", "co2_ppm": 1620}},
)


def hook(receiver: HttpReceiver, name: str = "Estates", path: str = "/hook") -> Recipient:
    return Recipient(name=name, webhook=receiver.url + path)


def outbox(where: StateLocation, **options: float) -> Outbox:
    return Outbox(where, SITE, Channels(None, None, timeout=2), **options)  # type: ignore[arg-type]


def only(box: Outbox) -> Delivery:
    (delivery,) = box.deliveries()
    return delivery


def test_enqueue_stores_without_sending(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    box = outbox(state_where)
    delivery_id = box.enqueue(hook(http_receiver), NOTICE, now=T0, alert_id=7)
    assert http_receiver.requests == []
    assert box.counts() == {"pending": 1, "sent": 0, "failed": 0}
    delivery = only(box)
    assert delivery.id == delivery_id
    assert delivery.alert_id == 7
    assert (delivery.channel, delivery.recipient_name) == ("webhook", "Estates")
    assert delivery.address == http_receiver.url + "/hook"
    assert delivery.notice == NOTICE
    assert delivery.recipient == hook(http_receiver)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.created_at == delivery.next_attempt_at == T0
    assert delivery.sent_at is None


def test_a_due_delivery_is_sent_and_recorded(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    box = outbox(state_where)
    box.enqueue(hook(http_receiver), NOTICE, now=T0)
    assert box.deliver_due(T0 + timedelta(seconds=1)) == 1
    (request,) = http_receiver.wait_for(1)
    assert json.loads(request.body) == NOTICE.data
    delivery = only(box)
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert delivery.sent_at == T0 + timedelta(seconds=1)
    assert delivery.last_error is None
    assert box.deliver_due(T0 + timedelta(hours=1)) == 0, "a sent delivery is never sent again"


def test_not_before_holds_a_delivery_back(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    box = outbox(state_where)
    box.enqueue(hook(http_receiver), NOTICE, now=T0, not_before=T0 + timedelta(minutes=10))
    assert box.deliver_due(T0 + timedelta(minutes=9, seconds=59)) == 0
    assert http_receiver.requests == []
    assert box.deliver_due(T0 + timedelta(minutes=10)) == 1
    assert only(box).status == "sent"


def test_temporary_failures_back_off_then_succeed(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    http_receiver.statuses = [500, 500, 200]
    box = outbox(state_where, first_retry_s=30)
    box.enqueue(hook(http_receiver), NOTICE, now=T0)

    assert box.deliver_due(T0) == 1
    first = only(box)
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.next_attempt_at == T0 + timedelta(seconds=30)
    assert first.last_error is not None
    assert "HTTP 500" in first.last_error

    assert box.deliver_due(T0 + timedelta(seconds=29)) == 0
    assert box.deliver_due(T0 + timedelta(seconds=30)) == 1
    second = only(box)
    assert (second.status, second.attempts) == ("pending", 2)
    assert second.next_attempt_at == T0 + timedelta(seconds=30 + 60), "the wait doubles"

    assert box.deliver_due(T0 + timedelta(seconds=89)) == 0
    assert box.deliver_due(T0 + timedelta(seconds=90)) == 1
    done = only(box)
    assert (done.status, done.attempts) == ("sent", 3)
    assert done.sent_at == T0 + timedelta(seconds=90)
    assert len(http_receiver.wait_for(3)) == 3


def test_the_wait_is_capped_and_attempts_run_out(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    http_receiver.statuses = [503] * 10
    box = outbox(state_where, first_retry_s=30, max_retry_s=45, max_attempts=3)
    box.enqueue(hook(http_receiver), NOTICE, now=T0)
    box.deliver_due(T0)
    box.deliver_due(T0 + timedelta(seconds=30))
    assert only(box).next_attempt_at == T0 + timedelta(seconds=30 + 45), "capped at 45 s"
    box.deliver_due(T0 + timedelta(seconds=75))
    failed = only(box)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert box.deliver_due(T0 + timedelta(days=1)) == 0
    assert len(http_receiver.requests) == 3


def test_a_permanent_failure_fails_at_once(
    state_where: StateLocation, http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    http_receiver.statuses = [400]
    box = outbox(state_where)
    box.enqueue(hook(http_receiver), NOTICE, now=T0)
    box.deliver_due(T0)
    failed = only(box)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "webhook answered HTTP 400 Bad Request"
    assert "HTTP 400" in caplog.text
    assert box.counts() == {"pending": 0, "sent": 0, "failed": 1}


def test_errors_never_record_or_log_secrets(
    state_where: StateLocation, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(
        state_where,
        SITE,
        Channels(None, None, env={"CHAT_URL": "nosuchservice://123456789:sEcReT_tOkEn/"}),
    )
    box.enqueue(Recipient(name="Chat", apprise_env="CHAT_URL"), NOTICE, now=T0)
    box.enqueue(
        Recipient(name="Hook", webhook="http://127.0.0.1:9/h", secret_env="S"), NOTICE, now=T0
    )
    box.deliver_due(T0)
    assert box.counts()["failed"] == 2  # an unknown apprise service; S is not set
    stored = " ".join(str(d.last_error) for d in box.deliveries())
    assert "sEcReT_tOkEn" not in stored + caplog.text
    assert "CHAT_URL" in stored


def test_retry_puts_a_failed_delivery_back(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    http_receiver.statuses = [400]
    box = outbox(state_where)
    delivery_id = box.enqueue(hook(http_receiver), NOTICE, now=T0)
    box.deliver_due(T0)
    assert only(box).status == "failed"

    later = T0 + timedelta(hours=2)
    assert box.retry(delivery_id, later)
    again = only(box)
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, later)
    assert not box.retry(delivery_id, later), "only a failed delivery can be retried"
    assert not box.retry(delivery_id + 1, later)

    assert box.deliver_due(later) == 1
    assert only(box).status == "sent"
    assert len(http_receiver.requests) == 2


def test_one_bad_recipient_does_not_hold_up_the_others(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    box = Outbox(
        state_where,
        SITE,
        # A relay that is down: the email fails (temporarily) before the webhook is tried.
        Channels(SmtpSettings("127.0.0.1", free_port(), "plain", "v@school.example"), None),
    )
    box.enqueue(Recipient(name="Rep", email="rep@school.example"), NOTICE, now=T0)
    box.enqueue(Recipient(name="Head", email="head@school.example"), NOTICE, now=T0)
    box.enqueue(hook(http_receiver), NOTICE, now=T0)
    assert box.deliver_due(T0) == 3
    assert box.counts() == {"pending": 2, "sent": 1, "failed": 0}
    assert [d.status for d in box.deliveries()] == ["sent", "pending", "pending"]
    assert len(http_receiver.requests) == 1


def test_deliveries_are_sent_oldest_first_and_listed_newest_first(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    box = outbox(state_where)
    for n in range(3):
        box.enqueue(hook(http_receiver, path=f"/{n}"), NOTICE, now=T0 + timedelta(seconds=n))
    box.deliver_due(T0 + timedelta(minutes=1))
    assert [r.path for r in http_receiver.wait_for(3)] == ["/0", "/1", "/2"]
    assert [d.address.rsplit("/", 1)[1] for d in box.deliveries()] == ["2", "1", "0"]
    assert len(box.deliveries(limit=2)) == 2
    assert box.deliveries(status="failed") == []
    assert len(box.deliveries(status="sent")) == 3


def test_a_subscription_is_stored_as_its_recipient(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    subscription = Subscription(name="Estates", webhook=http_receiver.url + "/hook", rooms=["B12"])
    box = outbox(state_where)
    box.enqueue(subscription, NOTICE, now=T0)
    box.deliver_due(T0)
    assert only(box).status == "sent"
    assert only(box).recipient == hook(http_receiver)


def test_state_survives_reopening_the_file(
    state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    http_receiver.statuses = [500]
    first = outbox(state_where)
    first.enqueue(hook(http_receiver, "A"), NOTICE, now=T0)
    first.enqueue(hook(http_receiver, "B"), NOTICE, now=T0, not_before=T0 + timedelta(hours=1))
    first.deliver_due(T0)  # A fails once; B is not due

    reopened = outbox(state_where)  # as after a restart
    assert reopened.counts() == {"pending": 2, "sent": 0, "failed": 0}
    _, a = reopened.deliveries()
    assert (a.recipient_name, a.attempts) == ("A", 1)
    assert a.next_attempt_at == T0 + timedelta(seconds=30)
    assert reopened.deliver_due(T0 + timedelta(hours=1)) == 2
    assert reopened.counts() == {"pending": 0, "sent": 2, "failed": 0}


def test_naive_times_are_refused(state_where: StateLocation, http_receiver: HttpReceiver) -> None:
    with pytest.raises(ValueError, match="time zone"):
        outbox(state_where).enqueue(hook(http_receiver), NOTICE, now=datetime(2025, 3, 3, 10))


def test_run_delivers_until_stopped_and_survives_errors(
    state_where: StateLocation, http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    box = outbox(state_where)
    box.enqueue(hook(http_receiver), NOTICE, now=T0)
    calls = 0

    def clock() -> datetime:
        """Fails the first time, as a broken step of the loop would."""
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("clock trouble")
        return T0

    stop = threading.Event()
    thread = threading.Thread(target=box.run, args=(stop, clock, 0.02))
    thread.start()
    try:
        http_receiver.wait_for(1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert "clock trouble" in caplog.text
    assert only(box).status == "sent"


# -- several processes sending from one file -----------------------------------------------

SENDER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from ventwatch.notify.channels import Channels
from ventwatch.notify.outbox import Outbox
from ventwatch.state_database import PostgresURL

where, site, go, claim_s, timeout = sys.argv[1:6]
channels = Channels(None, None, timeout=float(timeout))
state = PostgresURL(where) if where.startswith("postgresql:") else Path(where)
box = Outbox(state, site, channels, claim_s=float(claim_s))
while not Path(go).exists():
    time.sleep(0.005)
deadline = time.monotonic() + 30
while box.counts()["pending"] and time.monotonic() < deadline:
    box.deliver_due(datetime.now(UTC))
"""


def sender(
    tmp_path: Path, where: StateLocation, *, claim_s: float = 60, timeout: float = 5
) -> subprocess.Popen[bytes]:
    """A real process sending the site's due deliveries from the file until none is left,
    once `tmp_path / "go"` exists (so that several start at the same moment)."""
    return subprocess.Popen(
        [sys.executable, "-c", SENDER,
         where.url if isinstance(where, PostgresURL) else str(where), SITE,
         str(tmp_path / "go"), str(claim_s), str(timeout)],
    )  # fmt: skip


@pytest.mark.servers
def test_two_processes_send_each_delivery_once(
    tmp_path: Path, state_where: StateLocation, http_receiver: HttpReceiver
) -> None:
    """Two senders on one file, started together on 40 due deliveries: each delivery is
    claimed in a transaction before it is sent, so each reaches the receiver once."""
    box = outbox(state_where)
    now = datetime.now(UTC)
    for n in range(40):
        box.enqueue(hook(http_receiver, path=f"/hook/{n}"), NOTICE, now=now)
    processes = [sender(tmp_path, state_where), sender(tmp_path, state_where)]
    (tmp_path / "go").touch()
    for process in processes:
        assert process.wait(timeout=60) == 0
    paths = sorted(request.path for request in http_receiver.requests)
    assert paths == sorted(f"/hook/{n}" for n in range(40))
    assert box.counts() == {"pending": 0, "sent": 40, "failed": 0}


class FirstCallHangs:
    """A webhook receiver whose first request is read and never answered (the sender is
    killed waiting), and whose later ones are answered 200 and counted as delivered."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.hung = threading.Event()
        self.delivered = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        first = True
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                if first:
                    first = False
                    self.hung.set()
                    while connection.recv(65536):  # until the sender's end closes
                        pass
                    continue
                self.delivered += 1
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.servers
def test_a_sender_killed_while_sending_leaves_the_message_to_be_sent_once(
    tmp_path: Path, state_where: StateLocation
) -> None:
    receiver = FirstCallHangs()
    box = outbox(state_where, claim_s=1.5)
    now = datetime.now(UTC)
    box.enqueue(Recipient(name="Estates", webhook=receiver.url), NOTICE, now=now)
    killed = sender(tmp_path, state_where, claim_s=1.5, timeout=30)
    (tmp_path / "go").touch()
    assert receiver.hung.wait(timeout=20), "the sender never started sending"
    killed.kill()  # mid-send: its claim stays until it runs out
    killed.wait(timeout=10)
    assert box.deliver_due(datetime.now(UTC)) == 0, "claimed by the killed sender"
    deadline = time.monotonic() + 10
    while not box.deliver_due(datetime.now(UTC)):
        assert time.monotonic() < deadline, "the killed sender's claim never ran out"
        time.sleep(0.1)
    assert receiver.delivered == 1
    assert box.counts() == {"pending": 0, "sent": 1, "failed": 0}
    assert box.deliver_due(datetime.now(UTC) + timedelta(hours=1)) == 0
    receiver.listener.close()
