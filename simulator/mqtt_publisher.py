"""Publishing the simulator's messages over MQTT with paho: the only I/O of the simulator.

MQTT 3.1.1 (the demo's amqtt broker speaks nothing newer), QoS 1, and every publish's return
code checked: paho refuses a publish past its queue limit and says so only there. A publish
while the broker is away returns "no connection" but stays queued (QoS 1), and paho sends it
on reconnecting; only a full queue loses a message, and that is logged and counted.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ventwatch.clock import utc_now
from ventwatch.settings import parse_broker_url

if TYPE_CHECKING:
    from ventwatch.simulator.classrooms import Simulator

log = logging.getLogger(__name__)

TICK_S = 0.25
MAX_INFLIGHT = 100
MAX_QUEUED = 20_000  # hours of a school's messages, even at the demo's 10×


def publish_forever(
    sim: Simulator,
    broker_url: str,
    stop: threading.Event,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Publish what `sim` says fell due by `clock` (the wall clock; the demo's simulated one,
    which every message is then stamped with) until `stop` is set."""
    broker = parse_broker_url(broker_url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"ventwatch-simulator-{os.getpid()}",
        protocol=mqtt.MQTTv311,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_QUEUED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    connected = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("simulator: broker %s refused the connection: %s", broker_url, reason_code)
            return
        connected.set()

    def on_disconnect(client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        connected.clear()
        if not stop.is_set():
            log.warning("simulator: disconnected from %s (%s)", broker_url, reason_code)

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.connect_async(broker.host, broker.port, keepalive=30)
    client.loop_start()
    lost = 0
    try:
        while not connected.wait(0.5):
            if stop.is_set():
                return
        log.info("simulator: publishing %d sensors to %s", len(sim.sensors), broker_url)
        messages = sim.hello_payloads()
        while not stop.is_set():
            due = sim.step_payloads(clock())
            messages.extend((sent.topic, sent.payload, sent.retain) for sent in due)
            for topic, payload, retain in messages:
                rc = client.publish(topic, payload, qos=1, retain=retain).rc
                if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    lost += 1
                    log.warning(
                        "simulator: %s not published: %s (%d lost so far)",
                        topic,
                        mqtt.error_string(rc),
                        lost,
                    )
            messages = []
            stop.wait(TICK_S)
    finally:
        client.disconnect()
        client.loop_stop()
