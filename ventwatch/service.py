"""Wiring the stages into one running service: store, ingest pipeline, MQTT subscriber and the
dashboard, started in order and stopped in reverse, shared by `ventwatch run` and `demo`.

One process holds the embedded store, because a DuckDB file has a single writer: ingest writes
and the dashboard reads through the same `Store` object.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn

from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.ingest.pipeline import Pipeline, StoreHealth
from ventwatch.ingest.spool import Spool
from ventwatch.ingest.subscriber import Subscriber
from ventwatch.settings import Settings
from ventwatch.store import Store

log = logging.getLogger(__name__)


class Ingest:
    """MQTT subscriber → pipeline → store (or spool), without a dashboard: `ventwatch ingest`,
    and the ingest half of `run` and `demo`."""

    def __init__(
        self,
        site: SiteConfig,
        settings: Settings,
        store: Store,
        stop_event: threading.Event,
        share_group: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        spool = Spool(settings.spool_dir, settings.spool_max_bytes)
        self.pipeline = Pipeline(site, store, spool=spool)
        self.subscriber = Subscriber(
            settings.broker, client_id or settings.client_id, self.pipeline, share_group
        )
        self.stop_event = stop_event
        self._writer = threading.Thread(
            target=self.pipeline.run, args=(stop_event,), name="ingest-writer"
        )

    def start(self) -> None:
        self._writer.start()
        self.subscriber.start()

    def stop(self) -> None:
        """Stop taking messages, then let the writer finish what it holds (unacknowledged
        messages it cannot keep stay with the broker)."""
        self.subscriber.stop()
        self.stop_event.set()
        if self._writer.is_alive():
            self._writer.join(timeout=10)

    def stats(self) -> dict[str, object]:
        return {
            **self.pipeline.quarantine.snapshot(),
            "broker": str(self.settings.broker),
            "connected": self.subscriber.connected,
            "presence": dict(self.pipeline.presence),
            "store": _health_json(self.pipeline.health()),
        }


@dataclass
class Service:
    site: SiteConfig
    settings: Settings
    store: Store
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.ingest = Ingest(self.site, self.settings, self.store, self.stop_event)
        self.app = create_app(self.site, self.store, ingest_stats=self.ingest.stats)

    def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Run until Ctrl-C (uvicorn handles the signal), then stop everything cleanly."""
        self.ingest.start()
        config = uvicorn.Config(
            self.app,
            host=self.settings.http.host,
            port=self.settings.http.port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        if on_ready is not None:
            threading.Thread(target=_when_started, args=(server, on_ready), daemon=True).start()
        try:
            server.run()
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl-C it has already handled by shutting down
        finally:
            self.close()

    def close(self) -> None:
        self.ingest.stop()
        self.store.close()
        log.info("stopped")


def _health_json(health: StoreHealth) -> dict[str, object]:
    return {
        "ok": health.ok,
        "last_write": health.last_write.isoformat() if health.last_write else None,
        "error": health.error,
        "spool_pending": health.spool_pending,
        "spool_bytes": health.spool_bytes,
        "spool_full": health.spool_full,
    }


def _when_started(server: uvicorn.Server, callback: Callable[[], None]) -> None:
    while not server.started and not server.should_exit:
        threading.Event().wait(0.05)
    if server.started:
        callback()
