"""The MQTT side of ingest: a paho client that subscribes to every family's topics and hands
each message to the pipeline.

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
"""

from __future__ import annotations

import logging
from functools import partial

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ventwatch.ingest.decoders import subscriptions
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.settings import BrokerURL

log = logging.getLogger(__name__)

# MQTT 5: how long the broker keeps our session (and queues for it) while we are away, and
# how many unacknowledged messages it may send us at once (each waits for its batch's write).
SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 1000


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
        filters = subscriptions(self.pipeline.decoders)
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
        log.warning("disconnected from %s (%s); reconnecting", self.broker, reason_code)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:  # type: ignore[no-untyped-def]
        ack = partial(client.ack, message.mid, message.qos) if message.qos else None
        self.pipeline.submit(message.topic, message.payload, ack)

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
        self.client.disconnect()
        self.client.loop_stop()
