"""The MQTT side of ingest: a paho client that subscribes to every family's topics and hands
each message to the pipeline. One client for every site of the pipeline: their subscriptions
are one set (`SitesRouter.subscriptions`), each filter once.

QoS 1 with a fixed client id and a persistent session, so the broker keeps what arrives while
ventwatch is away, and manual acknowledgements: a message is acknowledged only once the
pipeline has stored or spooled its readings, so a crash between arrival and storage makes the
broker deliver it again. MQTT 3.1.1, because the zero-install demo broker (amqtt) speaks
nothing newer. paho reconnects by itself with back-off (1 s doubling to 30 s).

With `share_group`, the client speaks MQTT 5 and subscribes to every filter as
`$share/<group>/<filter>`: several ingest processes then split the messages between them, each
message going to one (Mosquitto 2, EMQX, HiveMQ; not amqtt). MQTT 5 also lets the client say
how many unacknowledged messages it takes (Receive Maximum); under 3.1.1 that window is the
broker's setting (Mosquitto's `max_inflight_messages`, 20 by default).

The persistent session belongs to whoever connects with its client id: the broker closes the
older connection at once and hands the newcomer the session, with what is queued in it (which
Mosquitto drops if its ACL does not let the newcomer read it), and paho here reconnects a
second later and takes it back. `SessionWatch` tells that fight from a broker restart, for the
ingest panel and `/metrics`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ventwatch.ingest.pipeline import Pipeline
from ventwatch.settings import BrokerURL

log = logging.getLogger(__name__)

# MQTT 5: how long the broker keeps our session (and queues for it) while we are away, and
# how many unacknowledged messages it may send us at once (each waits for its batch's write).
SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 1000

# Signs of another client using our client id (see `SessionWatch`). A connection the broker
# ends this soon after accepting it is "early": two clients sharing an id knock each other off
# every second or two, where a normal connection lasts hours.
EARLY_DISCONNECT_S = 60.0
# One early disconnect can be a broker restart just after we connected; this many within the
# window is a fight over the id (or a broker that keeps restarting, which needs a look too).
TAKEOVER_EARLY_DISCONNECTS = 3
# How long evidence keeps the flag up, so the panel and a scrape see it after the fight stops.
TAKEOVER_WINDOW_S = 600.0
# MQTT 5 DISCONNECT reasons: the broker gave our session to another connection; our keep-alive
# ran out (a network or broker stall, not a takeover, whoever noticed it).
SESSION_TAKEN_OVER = 0x8E
KEEP_ALIVE_TIMEOUT = 0x8D


class SessionWatch:
    """Counts the signs that another client is using our client id, from what paho reports:

    - **session lost**: the broker answers a reconnect with "session present" = 0 although it
      accepted us before, so our subscriptions and everything queued for us are gone: a client
      took the id with a clean session, or the broker lost its sessions (no persistence). The
      first connect of the process cannot tell: the broker may never have seen us.
    - **taken over**: an MQTT 5 DISCONNECT with reason 0x8E "Session taken over". Mosquitto
      2.0.11 closes the socket without sending it, so it is not relied on.
    - **early disconnects**: the broker (or the network) ends a connection within
      `EARLY_DISCONNECT_S` of accepting it. Under MQTT 3.1.1 this is the only sign: Mosquitto
      just closes the older connection when a client connects with the same id.

    A lost session or a "taken over" raises the flag at once; early disconnects from
    `TAKEOVER_EARLY_DISCONNECTS` on. The flag stays up while the evidence is younger than
    `TAKEOVER_WINDOW_S`; the counters only grow. A broker restart with persistence gives
    neither a lost session nor repeated early disconnects, so it raises nothing.

    paho calls in from its network thread and the dashboard reads `snapshot` from others.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.connections = 0
        self.session_lost = 0
        self.taken_over = 0
        self.early_disconnects = 0
        self._connected_at: float | None = None
        self._recent: dict[str, deque[float]] = {
            "session_lost": deque(),
            "taken_over": deque(),
            "early_disconnects": deque(),
        }

    def connected(self, session_present: bool) -> None:
        """The broker accepted a connection (CONNACK 0)."""
        with self._lock:
            now = self._clock()
            if self.connections and not session_present:
                self.session_lost += 1
                self._recent["session_lost"].append(now)
                log.warning(
                    "the broker had no session for us on reconnecting: what was queued for "
                    "ingest is gone (another client with our client id, or a broker that lost "
                    "its sessions)"
                )
            self.connections += 1
            self._connected_at = now

    def disconnected(self, reason: ReasonCode, by_us: bool) -> None:
        """A connection ended; `by_us` when ingest itself disconnected (stopping)."""
        with self._lock:
            since, self._connected_at = self._connected_at, None
            if since is None or by_us or reason.value == KEEP_ALIVE_TIMEOUT:
                return
            now = self._clock()
            if reason.value == SESSION_TAKEN_OVER:
                self.taken_over += 1
                self._recent["taken_over"].append(now)
            elif now - since < EARLY_DISCONNECT_S:
                self.early_disconnects += 1
                self._recent["early_disconnects"].append(now)
            else:
                return
            log.warning(
                "the broker closed our connection %.1f s after accepting it (%s)",
                now - since,
                reason,
            )

    def snapshot(self) -> dict[str, object]:
        """The counters since ingest started and the flag, with the evidence in words."""
        with self._lock:
            cutoff = self._clock() - TAKEOVER_WINDOW_S
            recent = {}
            for kind, times in self._recent.items():
                while times and times[0] < cutoff:
                    times.popleft()
                recent[kind] = len(times)
            counts = {
                "connections": self.connections,
                "session_lost": self.session_lost,
                "taken_over": self.taken_over,
                "early_disconnects": self.early_disconnects,
            }
        evidence = []
        if recent["taken_over"]:
            evidence.append(
                f"the broker said our session was taken over {_times(recent['taken_over'])}"
            )
        if recent["session_lost"]:
            evidence.append(
                f"the broker had no session for us on reconnecting {_times(recent['session_lost'])}"
                " (what was queued for us is gone)"
            )
        if recent["early_disconnects"] >= TAKEOVER_EARLY_DISCONNECTS:
            evidence.append(
                f"the broker closed our connection within {EARLY_DISCONNECT_S:.0f} s of "
                f"accepting it {_times(recent['early_disconnects'])}"
            )
        warning = (
            "possible takeover: another client is using our client id ("
            + "; ".join(evidence)
            + f" in the last {TAKEOVER_WINDOW_S / 60:.0f} minutes)"
            if evidence
            else None
        )
        return {**counts, "takeover_suspected": warning is not None, "warning": warning}


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


class Subscriber:
    def __init__(
        self,
        broker: BrokerURL,
        client_id: str,
        pipeline: Pipeline,
        share_group: str | None = None,
    ) -> None:
        self.broker = broker
        self.pipeline = pipeline
        self.share_group = share_group
        # True once the broker has acknowledged our subscriptions: from then on nothing
        # published is missed (before it, the persistent session keeps it for us).
        self.connected = False
        self.session = SessionWatch()
        self._stopping = False
        if share_group:
            self.client = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=client_id,
                protocol=mqtt.MQTTv5,
            )
        else:
            self.client = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=client_id,
                clean_session=False,
                protocol=mqtt.MQTTv311,
            )
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.manual_ack_set(True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("broker %s refused the connection: %s", self.broker, reason_code)
            return
        self.session.connected(flags.session_present)
        filters = self.pipeline.routes.subscriptions()
        if self.share_group:
            filters = [f"$share/{self.share_group}/{f}" for f in filters]
        client.subscribe([(f, 1) for f in filters])
        log.info("connected to %s; subscribed to %s", self.broker, ", ".join(filters))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]
        refused = [rc for rc in reason_codes if rc.is_failure]
        if refused:
            log.error("broker refused subscriptions: %s", refused)
        self.connected = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        self.connected = False
        self.session.disconnected(reason_code, by_us=self._stopping)
        if not self._stopping:
            log.warning("disconnected from %s (%s); reconnecting", self.broker, reason_code)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:  # type: ignore[no-untyped-def]
        ack = partial(client.ack, message.mid, message.qos) if message.qos else None
        # paho types the payload `bytes | bytearray` but hands over bytes, which `bytes()`
        # returns as they are (no copy).
        self.pipeline.submit(message.topic, bytes(message.payload), ack)

    def start(self) -> None:
        """Connect in the background; paho keeps retrying if the broker is not up yet."""
        if self.share_group:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
            properties.ReceiveMaximum = RECEIVE_MAXIMUM
            self.client.connect_async(
                self.broker.host,
                self.broker.port,
                keepalive=30,
                clean_start=False,
                properties=properties,
            )
        else:
            self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
