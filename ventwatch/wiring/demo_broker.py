"""The zero-install broker for `ventwatch demo`: amqtt, in a thread of its own.

amqtt speaks MQTT 3.1.1 only and binds 0.0.0.0 unless told otherwise, so the listener is
always given an explicit loopback address. Production sites run a real broker (Mosquitto,
EMQX, HiveMQ); `ventwatch demo --broker URL` uses one instead of this.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future

from amqtt.broker import Broker


class DemoBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1884) -> None:
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="demo-broker", daemon=True
        )
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        # amqtt logs every packet at INFO; the demo's own log should stay readable.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        self._thread.start()
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }

        async def start() -> Broker:
            broker = Broker(config)
            await broker.start()
            return broker

        self._broker = self._run(start())

    def _run(self, coro) -> Broker:  # type: ignore[no-untyped-def]
        future: Future[Broker] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=15)

    def stop(self) -> None:
        if self._broker is not None:
            broker = self._broker

            async def shutdown() -> Broker:
                await broker.shutdown()
                return broker

            self._run(shutdown())
            self._broker = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
