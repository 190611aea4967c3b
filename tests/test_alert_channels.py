"""Each delivery channel against a real server: aiosmtpd (plain, STARTTLS, SSL, AUTH), an HTTP
receiver for webhooks and apprise's json:// service, and Mosquitto."""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import (
    HttpReceiver,
    MosquittoServer,
    SmtpServer,
    client_ssl_context,
    free_port,
    start_smtp,
)
from ventwatch.config import Recipient
from ventwatch.notify.channels import Channels, DeliveryError, sign, verify_signature
from ventwatch.notify.notices import Attachment, Notice
from ventwatch.settings import BrokerURL, SmtpSettings

SENDER = "ventwatch@school.example"
NOTICE = Notice(
    kind="opened",
    subject="Room B12: CO₂ above 1500 ppm",
    text="Room B12 has had CO₂ above 1500 ppm for 20 minutes (now 1620 ppm).",
    html="<p>Room <b>B12</b> has had CO₂ above 1500 ppm for 20 minutes.</p>",
    data={"event": "opened", "alert": {"room": "B12", "co2_ppm": 1620, "note": "CO₂ ✓"}},
)


def smtp_relay(server: SmtpServer, security: str = "plain", **login: str) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", server.port, security, SENDER, **login)  # type: ignore[arg-type]


def email_to(address: str = "rep@school.example") -> Recipient:
    return Recipient(name="Union rep", email=address)


@pytest.fixture
def stop_after() -> Iterator[list[SmtpServer]]:
    """SMTP servers a test starts itself, stopped at teardown even if the test fails."""
    servers: list[SmtpServer] = []
    yield servers
    for server in servers:
        assert server.controller is not None
        server.controller.stop()


def check_received(server: SmtpServer, to: str = "rep@school.example") -> None:
    (message,) = server.wait_for(1)
    assert message["Subject"] == NOTICE.subject
    assert message["From"] == SENDER
    assert message["To"] == to
    assert message["Date"] is not None
    assert message["Message-ID"].endswith("@school.example>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().strip() == NOTICE.text
    assert html.get_content().strip() == NOTICE.html
    assert server.envelopes == [(SENDER, [to])]


# -- email -----------------------------------------------------------------------------------


def test_email_through_a_plain_relay(smtp_server: SmtpServer) -> None:
    Channels(smtp_relay(smtp_server), None).send(email_to(), NOTICE)
    check_received(smtp_server)


@pytest.mark.servers
def test_email_through_starttls_with_the_relay_certificate_verified(
    tls_ca: trustme.CA, stop_after: list[SmtpServer]
) -> None:
    server = start_smtp("starttls", tls_ca)
    stop_after.append(server)
    channels = Channels(
        smtp_relay(server, "starttls"), None, ssl_context=client_ssl_context(tls_ca)
    )
    channels.send(email_to(), NOTICE)
    check_received(server)


@pytest.mark.servers
def test_email_through_ssl(tls_ca: trustme.CA, stop_after: list[SmtpServer]) -> None:
    server = start_smtp("ssl", tls_ca)
    stop_after.append(server)
    channels = Channels(smtp_relay(server, "ssl"), None, ssl_context=client_ssl_context(tls_ca))
    channels.send(email_to(), NOTICE)
    check_received(server)


@pytest.mark.servers
def test_an_untrusted_relay_certificate_is_a_permanent_failure(
    tls_ca: trustme.CA, stop_after: list[SmtpServer]
) -> None:
    server = start_smtp("starttls", tls_ca)
    stop_after.append(server)
    # The system's CAs do not know the test CA: the relay is not who it claims to be.
    channels = Channels(
        smtp_relay(server, "starttls"), None, ssl_context=ssl.create_default_context()
    )
    with pytest.raises(DeliveryError, match="certificate is not trusted") as failure:
        channels.send(email_to(), NOTICE)
    assert failure.value.permanent
    assert server.messages == []


AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.mark.servers
@AUTH_WITHOUT_TLS
def test_email_with_login(stop_after: list[SmtpServer]) -> None:
    server = start_smtp(credentials=("ventwatch", "s3cret-relay"))
    stop_after.append(server)
    relay = smtp_relay(server, username="ventwatch", password="s3cret-relay")
    Channels(relay, None).send(email_to(), NOTICE)
    check_received(server)


@pytest.mark.servers
@AUTH_WITHOUT_TLS
def test_a_wrong_relay_password_is_permanent_and_not_shown(stop_after: list[SmtpServer]) -> None:
    server = start_smtp(credentials=("ventwatch", "s3cret-relay"))
    stop_after.append(server)
    relay = smtp_relay(server, username="ventwatch", password="wrong-password")
    with pytest.raises(DeliveryError, match="535") as failure:
        Channels(relay, None).send(email_to(), NOTICE)
    assert failure.value.permanent
    assert "wrong-password" not in str(failure.value)
    assert server.messages == []


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user", True), ("450 4.2.0 Greylisted, try again later", False)],
)
def test_a_refused_recipient_is_permanent_only_for_a_5xx_reply(
    smtp_server: SmtpServer, reply: str, permanent: bool
) -> None:
    smtp_server.refuse["gone@school.example"] = reply
    with pytest.raises(DeliveryError, match=reply.split()[0]) as failure:
        Channels(smtp_relay(smtp_server), None).send(email_to("gone@school.example"), NOTICE)
    assert failure.value.permanent is permanent
    assert "gone@school.example" in str(failure.value)


def test_a_relay_that_is_down_is_retried() -> None:
    relay = SmtpSettings("127.0.0.1", free_port(), "plain", SENDER)
    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1") as failure:
        Channels(relay, None, timeout=2).send(email_to(), NOTICE)
    assert not failure.value.permanent


def test_email_without_a_relay_says_how_to_configure_one() -> None:
    with pytest.raises(DeliveryError, match=r"VENTWATCH_SMTP_URL or alerts\.smtp") as failure:
        Channels(None, None).send(email_to(), NOTICE)
    assert failure.value.permanent


# -- webhook ---------------------------------------------------------------------------------


def webhook(receiver: HttpReceiver, secret_env: str | None = None) -> Recipient:
    return Recipient(name="Estates", webhook=f"{receiver.url}/hooks/co2", secret_env=secret_env)


def test_a_signed_webhook_verifies_with_the_secret_only(http_receiver: HttpReceiver) -> None:
    channels = Channels(None, None, env={"HOOK_SECRET": "shared-secret"})
    before = int(time.time())
    channels.send(webhook(http_receiver, "HOOK_SECRET"), NOTICE)
    (request,) = http_receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hooks/co2"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-ventwatch-event"] == "opened"
    assert json.loads(request.body) == NOTICE.data
    timestamp = request.headers["x-ventwatch-timestamp"]
    assert before <= int(timestamp) <= time.time()
    signature = request.headers["x-ventwatch-signature"]
    assert signature.startswith("sha256=")
    assert verify_signature("shared-secret", timestamp, request.body, signature)
    assert not verify_signature("another-secret", timestamp, request.body, signature)
    # Replaying the body with a fresh timestamp does not verify.
    assert not verify_signature("shared-secret", str(int(timestamp) + 60), request.body, signature)


def test_an_unsigned_webhook_has_no_signature(http_receiver: HttpReceiver) -> None:
    Channels(None, None, env={}).send(webhook(http_receiver), NOTICE)
    (request,) = http_receiver.wait_for(1)
    assert "x-ventwatch-signature" not in request.headers
    assert json.loads(request.body) == NOTICE.data


def test_a_missing_webhook_secret_is_permanent_and_nothing_is_sent(
    http_receiver: HttpReceiver,
) -> None:
    with pytest.raises(DeliveryError, match="HOOK_SECRET is not set") as failure:
        Channels(None, None, env={}).send(webhook(http_receiver, "HOOK_SECRET"), NOTICE)
    assert failure.value.permanent
    assert http_receiver.requests == []


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (404, True), (301, True), (408, False), (429, False), (500, False), (503, False)],
)
def test_webhook_answers_decide_whether_to_retry(
    http_receiver: HttpReceiver, status: int, permanent: bool
) -> None:
    http_receiver.statuses = [status]
    with pytest.raises(DeliveryError, match=f"HTTP {status}") as failure:
        Channels(None, None).send(webhook(http_receiver), NOTICE)
    assert failure.value.permanent is permanent


def test_a_webhook_that_is_down_is_retried() -> None:
    recipient = Recipient(name="Estates", webhook=f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(DeliveryError, match="ConnectError") as failure:
        Channels(None, None, timeout=2).send(recipient, NOTICE)
    assert not failure.value.permanent


@given(
    secret=st.text(min_size=1),
    timestamp=st.integers(min_value=0, max_value=2**40).map(str),
    body=st.binary(),
    other=st.binary(min_size=1),
    forged=st.text(),
)
def test_signatures_verify_for_any_body_and_secret_and_only_for_them(
    secret: str, timestamp: str, body: bytes, other: bytes, forged: str
) -> None:
    header = sign(secret, timestamp, body)
    assert verify_signature(secret, timestamp, body, header)
    assert not verify_signature(secret, timestamp, body + other, header)
    assert not verify_signature(secret + "x", timestamp, body, header)
    assert not verify_signature(secret, timestamp + "0", body, header)
    # Whatever a sender puts in the header, the answer is False, never an exception.
    assert verify_signature(secret, timestamp, body, forged) is (forged == header)


# -- MQTT ------------------------------------------------------------------------------------


def test_mqtt_publishes_the_json_document(mosquitto: MosquittoServer) -> None:
    topic = "ventwatch/test/alerts"
    received: list[bytes] = []
    arrived, subscribed = threading.Event(), threading.Event()
    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    listener.on_subscribe = lambda *_: subscribed.set()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append(message.payload)
        arrived.set()

    listener.on_message = on_message
    listener.connect("127.0.0.1", mosquitto.port)
    listener.loop_start()
    try:
        listener.subscribe(topic, qos=1)
        assert subscribed.wait(5), "no SUBACK"
        channels = Channels(None, BrokerURL("127.0.0.1", mosquitto.port), timeout=5)
        channels.send(Recipient(name="BMS", mqtt_topic=topic), NOTICE)
        assert arrived.wait(5), "nothing arrived on the topic"
    finally:
        listener.disconnect()
        listener.loop_stop()
    assert [json.loads(payload) for payload in received] == [NOTICE.data]


def test_mqtt_without_a_broker_is_permanent() -> None:
    with pytest.raises(DeliveryError, match="no MQTT broker") as failure:
        Channels(None, None).send(Recipient(name="BMS", mqtt_topic="a/b"), NOTICE)
    assert failure.value.permanent


def test_mqtt_broker_down_is_retried() -> None:
    channels = Channels(None, BrokerURL("127.0.0.1", free_port()), timeout=2)
    with pytest.raises(DeliveryError, match="MQTT broker") as failure:
        channels.send(Recipient(name="BMS", mqtt_topic="a/b"), NOTICE)
    assert not failure.value.permanent


# -- apprise ---------------------------------------------------------------------------------

CHAT = Recipient(name="Staff room chat", apprise_env="CHAT_URL")


def test_apprise_delivers_subject_and_text(http_receiver: HttpReceiver) -> None:
    env = {"CHAT_URL": f"json://127.0.0.1:{http_receiver.port}/chat/room"}
    Channels(None, None, env=env).send(CHAT, NOTICE)
    (request,) = http_receiver.wait_for(1)
    assert request.path == "/chat/room"
    document = json.loads(request.body)
    assert document["title"] == NOTICE.subject
    assert document["message"] == NOTICE.text


def test_apprise_service_failure_is_retried(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses = [500]
    env = {"CHAT_URL": f"json://127.0.0.1:{http_receiver.port}/chat/room"}
    with pytest.raises(DeliveryError, match="CHAT_URL") as failure:
        Channels(None, None, env=env).send(CHAT, NOTICE)
    assert not failure.value.permanent
    assert len(http_receiver.requests) == 1


def test_apprise_without_its_variable_is_permanent() -> None:
    with pytest.raises(DeliveryError, match="CHAT_URL is not set") as failure:
        Channels(None, None, env={}).send(CHAT, NOTICE)
    assert failure.value.permanent


def test_a_url_apprise_refuses_is_permanent_and_its_token_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {"CHAT_URL": "nosuchservice://token-abc123@chat.example"}
    with pytest.raises(DeliveryError, match="CHAT_URL") as failure:
        Channels(None, None, env=env).send(CHAT, NOTICE)
    assert failure.value.permanent
    assert "token-abc123" not in str(failure.value)
    assert "token-abc123" not in caplog.text
    assert "<the URL in CHAT_URL>" in caplog.text  # apprise did log it, redacted


def test_attachments_arrive_byte_for_byte(smtp_server: SmtpServer) -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    notice = Notice(
        "report", "Weekly report", "See attached.", "<p>See attached.</p>",
        attachments=(Attachment("week.pdf", "application/pdf", pdf),),
    )  # fmt: skip
    Channels(smtp_relay(smtp_server), None).send(email_to(), notice)
    [message] = smtp_server.wait_for(1)
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "week.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == pdf
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "See attached."


@given(
    st.text(max_size=40),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=4),
    st.lists(st.tuples(st.text(min_size=1, max_size=12), st.binary(max_size=200)), max_size=3),
)
def test_a_notice_survives_the_outbox_json(
    subject: str, data: dict[str, int], files: list[tuple[str, bytes]]
) -> None:
    notice = Notice(
        "report", subject, "text", "<p>html</p>", data,
        tuple(Attachment(name, "application/octet-stream", body) for name, body in files),
    )  # fmt: skip
    assert Notice.from_json(notice.to_json()) == notice
