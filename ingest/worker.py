"""Ingest as one unit: MQTT subscriber → pipeline (router, then store or spool) on a writer
thread. `ventwatch ingest` runs it alone; `run` and `demo` run it beside the dashboard.

Several sites may share one unit: one broker connection (one client id, one subscription set,
one spool) and one store, each message filed by its own site (`SitesRouter`); `stats` is a
site's.

Kept apart from the dashboard's imports on purpose: an ingest process never reads frames, so
it does not load pandas or the web stack, and stays small (several may run side by side).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from ventwatch.assignments import Assignments
from ventwatch.clock import utc_now
from ventwatch.config import SiteConfig
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.spool import Spool
from ventwatch.ingest.subscriber import Subscriber
from ventwatch.ingest.writer import StoreHealth
from ventwatch.settings import Settings
from ventwatch.state_database import StateError, StateLocation
from ventwatch.store import Store

log = logging.getLogger(__name__)


class Ingest:
    """MQTT subscriber → pipeline → store (or spool), without a dashboard: `ventwatch ingest`,
    and the ingest half of `run` and `demo`. `settings` are those of the connection, the
    spool and the store (the sites of one share them: `wiring.sites.connections`)."""

    def __init__(
        self,
        site: SiteConfig | Sequence[SiteConfig],
        settings: Settings,
        store: Store,
        stop_event: threading.Event,
        share_group: str | None = None,
        client_id: str | None = None,
        other_sites: frozenset[tuple[str, str]] = frozenset(),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """`clock` stamps arrivals (the demo's simulated one there)."""
        self.settings = settings
        spool = Spool(settings.spool_dir, settings.spool_max_bytes)
        self.pipeline = Pipeline(
            site,
            store,
            spool=spool,
            assignments=_assignments(settings.state_db),
            other_sites=other_sites,
            clock=clock,
        )
        self.subscriber = Subscriber(
            settings.broker, client_id or settings.client_id, self.pipeline, share_group
        )
        self.stop_event = stop_event
        self._writer = threading.Thread(
            target=self.pipeline.run, args=(stop_event,), name="ingest-writer"
        )

    def start(self) -> None:
        """Start taking messages; once, however many of its sites start it."""
        if self._writer.is_alive() or self.stop_event.is_set():
            return
        self._writer.start()
        self.subscriber.start()

    def stop(self) -> None:
        """Stop taking messages, then let the writer finish what it holds (unacknowledged
        messages it cannot keep stay with the broker); once, however many sites stop it."""
        if self.stop_event.is_set():
            return
        self.subscriber.stop()
        self.stop_event.set()
        if self._writer.is_alive():
            self._writer.join(timeout=10)

    def stats(self, site: str | None = None) -> dict[str, object]:
        """What the ingest panel and `/api/ingest` show of a site (the first by default): its
        messages, its sensors' presence and its maps; and the connection and store it shares."""
        router = self.pipeline.router if site is None else self.pipeline.routes.routers[site]
        return {
            **self.pipeline.outcomes(site),
            "broker": str(self.settings.broker),
            "connected": self.subscriber.connected,
            # Signs that another client is using our client id (`SessionWatch`).
            "mqtt_session": self.subscriber.session.snapshot(),
            "presence": {f"{f}:{d}": state for (f, d), state in router.presence.items()},
            # What the bounded maps of ingest forgot, by map (a flood of made-up topics).
            "evicted": router.evictions(),
            "store": _health_json(self.pipeline.writer.health()),
        }


def _assignments(path: StateLocation) -> Assignments | None:
    """Rooms assigned from the dashboard live beside the accounts; ingest only reads them.
    A file ingest cannot open (read-only, on another host) costs those rooms, not the start."""
    try:
        return Assignments(path)
    except (OSError, StateError) as exc:
        log.warning("sensor rooms assigned from the dashboard are not read (%s): %s", path, exc)
        return None


def _health_json(health: StoreHealth) -> dict[str, object]:
    return {
        "ok": health.ok,
        "last_write": health.last_write.isoformat() if health.last_write else None,
        "error": health.error,
        "spool_pending": health.spool_pending,
        "spool_bytes": health.spool_bytes,
        "spool_full": health.spool_full,
    }
