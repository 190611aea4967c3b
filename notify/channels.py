"""Sending one notice to one recipient over the recipient's channel: email through the site's
SMTP relay, a signed JSON POST to a webhook, a QoS 1 message on the site's MQTT broker, or a
chat service through apprise.

Every failure is a `DeliveryError` that says whether trying again later can help, so the
outbox knows whether to back off and retry or give up at once and show the reason.

Webhook requests (a contract: receivers rely on it)
---------------------------------------------------
    POST <webhook URL>
    Content-Type: application/json
    X-Ventwatch-Event: <kind: opened, reopened, recovered, escalated, digest, test or review>
    X-Ventwatch-Timestamp: <Unix time in whole seconds when the request was made>
    X-Ventwatch-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

    <the notice's JSON document: {"event": kind, "alert": {...}, ...}>

The signature is sent only when the recipient names a secret (`secret_env`). It covers the
timestamp and the body bytes exactly as received, so a receiver checks it before parsing the
JSON: recompute the HMAC over `timestamp + "." + raw body` with the shared secret and compare
in constant time (`verify_signature` does both), then reject timestamps more than a few
minutes from its own clock. Because the timestamp is signed, a recorded request cannot be
replayed later with a fresh timestamp.

A 2xx answer means delivered. 408, 429 and 5xx answers and network errors are retried with
back-off; any other answer (redirects included: they are not followed) means the request
itself is wrong, and it is not retried.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import apprise
import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from ventwatch.config import Recipient
from ventwatch.notify.notices import Notice
from ventwatch.settings import BrokerURL, SmtpSettings

SIGNATURE_PREFIX = "sha256="


class DeliveryError(Exception):
    """A notice could not be delivered. `permanent` means trying again cannot help (no relay
    configured, address refused, secret missing): only a person changing something can."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Ventwatch-Signature header for this timestamp and body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether `header` (X-Ventwatch-Signature) signs this timestamp and body with `secret`.
    The comparison takes the same time wherever the strings differ, so a receiver using it
    does not leak the right signature byte by byte. Checking that the timestamp is recent
    is the receiver's part."""
    # As bytes: compare_digest refuses non-ASCII str, and the header comes from anyone.
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), header.encode())


def notice_to_email(notice: Notice, sender: str, to: str) -> EmailMessage:
    """The notice as a multipart/alternative message: mail clients show the HTML part and
    fall back to the text part (and so do people who read mail as text)."""
    # Lines up to RFC 5322's 998 characters: Python folds a subject just over 78 characters
    # onto a line of its own, which its parser (and some clients) then read back with a
    # leading space.
    message = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    message["Subject"] = notice.subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(UTC))
    # The sender's domain, not the local host name: a Message-ID under the sender's domain
    # is what spam filters expect, and it costs no DNS lookup.
    domain = sender.rpartition("@")[2]
    # A thread's first message is the root and every later one refers to it: a room's
    # episode (alerts) reads as one conversation, urgent and advisory alike.
    root = f"<ventwatch.{notice.thread}@{domain}>" if notice.thread else None
    opens = root is not None and notice.opens_thread
    message["Message-ID"] = root if opens else make_msgid(domain=domain)
    if root is not None and not opens:
        message["In-Reply-To"] = root
        message["References"] = root
    message.set_content(notice.text)
    # An empty HTML part would win over the text in most clients and show a blank message.
    if notice.html:
        message.add_alternative(notice.html, subtype="html")
    for attachment in notice.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


class Channels:
    """The ways out of ventwatch, configured once; `send` picks the recipient's channel.

    `env` is where secrets are read from (webhook signing secrets, apprise URLs): the
    process environment by default, a dictionary in tests. `ssl_context` verifies the SMTP
    relay and HTTPS webhooks (the system's trusted CAs by default)."""

    def __init__(
        self,
        smtp: SmtpSettings | None,
        broker: BrokerURL | None,
        env: Mapping[str, str] = os.environ,
        timeout: float = 10,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.smtp = smtp
        self.broker = broker
        self.env = env
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, recipient: Recipient, notice: Notice) -> None:
        """Deliver now, or raise DeliveryError. Blocks for at most about `timeout` seconds
        per network step, so call it from the outbox's thread, never from a request."""
        if recipient.email:
            self._email(recipient.email, notice)
        elif recipient.webhook:
            self._webhook(recipient.webhook, recipient.secret_env, notice)
        elif recipient.mqtt_topic:
            self._mqtt(recipient.mqtt_topic, notice)
        elif recipient.apprise_env:
            self._apprise(recipient.apprise_env, notice)

    # -- email ------------------------------------------------------------------------------

    def _email(self, to: str, notice: Notice) -> None:
        relay = self.smtp
        if relay is None:
            raise DeliveryError(
                "no SMTP relay: set VENTWATCH_SMTP_URL or alerts.smtp", permanent=True
            )
        message = notice_to_email(notice, relay.sender, to)
        where = f"SMTP relay {relay.host}:{relay.port}"
        try:
            client: smtplib.SMTP
            if relay.security == "ssl":
                client = smtplib.SMTP_SSL(
                    relay.host, relay.port, timeout=self.timeout, context=self.ssl_context
                )
            else:
                client = smtplib.SMTP(relay.host, relay.port, timeout=self.timeout)
            with client:
                if relay.security == "starttls":
                    client.starttls(context=self.ssl_context)
                if relay.username:
                    client.login(relay.username, relay.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            # 4xx here is usually greylisting: the relay wants us to come back later.
            code, reply = next(iter(exc.recipients.values()))
            raise DeliveryError(
                f"{where} refused {to}: {code} {_text(reply)}", permanent=code >= 500
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{where}: {exc}", permanent=True) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{where}: its certificate is not trusted ({exc.verify_message})", permanent=True
            ) from exc
        except OSError as exc:  # connection refused or reset, timeouts, other SMTP errors
            raise DeliveryError(
                f"{where}: {str(exc) or type(exc).__name__}", permanent=False
            ) from exc

    # -- webhook ----------------------------------------------------------------------------

    def _webhook(self, url: str, secret_env: str | None, notice: Notice) -> None:
        body = json.dumps(notice.data).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Ventwatch-Event": notice.kind,
            "X-Ventwatch-Timestamp": timestamp,
        }
        if secret_env:
            secret = self.env.get(secret_env)
            if not secret:
                raise DeliveryError(
                    f"the webhook's signing secret variable {secret_env} is not set",
                    permanent=True,
                )
            headers["X-Ventwatch-Signature"] = sign(secret, timestamp, body)
        try:
            response = httpx.post(
                url, content=body, headers=headers, timeout=self.timeout, verify=self.ssl_context
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"webhook: {type(exc).__name__}: {str(exc) or 'no answer'}", permanent=False
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        raise DeliveryError(
            f"webhook answered HTTP {status} {response.reason_phrase}",
            permanent=not (status in (408, 429) or status >= 500),
        )

    # -- MQTT -------------------------------------------------------------------------------

    def _mqtt(self, topic: str, notice: Notice) -> None:
        broker = self.broker
        if broker is None:
            raise DeliveryError("no MQTT broker configured", permanent=True)
        where = f"MQTT broker {broker}"
        connected = threading.Event()
        refusal: list[str] = []

        def on_connect(
            client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
        ) -> None:
            if reason.is_failure:
                refusal.append(str(reason))
            connected.set()

        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.on_connect = on_connect
        client.connect_timeout = self.timeout
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        try:
            client.connect(broker.host, broker.port)
        except OSError as exc:
            raise DeliveryError(f"{where}: {exc}", permanent=False) from exc
        client.loop_start()
        try:
            if not connected.wait(self.timeout):
                raise DeliveryError(f"{where}: no CONNACK in {self.timeout} s", permanent=False)
            if refusal:
                raise DeliveryError(
                    f"{where} refused the connection: {refusal[0]}", permanent=False
                )
            info = client.publish(topic, json.dumps(notice.data).encode(), qos=1)
            # paho refuses a publish past its in-flight limit, and only the return code says so.
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise DeliveryError(
                    f"{where}: publish refused: {mqtt.error_string(info.rc)}", permanent=False
                )
            try:
                info.wait_for_publish(self.timeout)
                published = info.is_published()
            except (ValueError, RuntimeError) as exc:
                raise DeliveryError(f"{where}: {exc}", permanent=False) from exc
            if not published:
                raise DeliveryError(
                    f"{where}: no acknowledgement within {self.timeout} s", permanent=False
                )
        finally:
            client.disconnect()
            client.loop_stop()

    # -- apprise ----------------------------------------------------------------------------

    def _apprise(self, variable: str, notice: Notice) -> None:
        url = self.env.get(variable)
        if not url:
            raise DeliveryError(f"the apprise URL variable {variable} is not set", permanent=True)
        # The URL holds the service's tokens: messages name the variable, never the value.
        # apprise masks what looks secret in the URLs it logs, but logs a URL it cannot parse
        # as given, so its log records lose the URL too while we use it.
        redact = _Redact(url, f"<the URL in {variable}>")
        apprise_log = logging.getLogger("apprise")
        apprise_log.addFilter(redact)
        try:
            notifier = apprise.Apprise()
            if not notifier.add(url):
                raise DeliveryError(
                    f"apprise does not accept the URL in {variable} (check its scheme and form)",
                    permanent=True,
                )
            if not notifier.notify(title=notice.subject, body=notice.text):
                raise DeliveryError(
                    f"apprise could not deliver to the service in {variable} (see its log)",
                    permanent=False,
                )
        finally:
            apprise_log.removeFilter(redact)


class _Redact(logging.Filter):
    """Replaces one secret string in log records with a placeholder."""

    def __init__(self, secret: str, placeholder: str) -> None:
        super().__init__()
        self.secret = secret
        self.placeholder = placeholder

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, self.placeholder), ()
        return True


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
