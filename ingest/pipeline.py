"""message → router → `Reading` → durable writer → store, with an outcome for every message.

The MQTT thread only queues raw messages; one writer thread takes them in batches, has the
`Router` decode them and file them under rooms, and the `DurableWriter` store them, so a slow
store never stalls the network loop and a bad payload never reaches the store.

Nothing is lost: a message is acknowledged to the broker only once its readings are in the
store or in the on-disk spool (or it was judged bad and kept in the quarantine). If the spool
is full too, the batch is held and retried, and the broker keeps everything after it.

One pipeline may serve several sites on one broker connection (`SitesRouter`): one writer
thread, one store and spool, and each site's own router with its counters and quarantine.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ventwatch.assignments import Assignments
from ventwatch.clock import utc_now
from ventwatch.config import SiteConfig
from ventwatch.ingest.counters import IngestCounters
from ventwatch.ingest.quarantine import Quarantine
from ventwatch.ingest.router import ASSIGNMENTS_CHECK_S, Message, Metadata, Router
from ventwatch.ingest.sensors import SensorRegistry
from ventwatch.ingest.sites_router import SitesRouter
from ventwatch.ingest.spool import Spool, SpoolFullError
from ventwatch.ingest.writer import DurableWriter
from ventwatch.readings import Reading
from ventwatch.store import Store

log = logging.getLogger(__name__)


class Pipeline:
    """The writer thread's loop: queued messages → `SitesRouter` (each site's `Router`) →
    `DurableWriter`, then the acknowledgements; and the counters and quarantine both halves
    report to, a site's own.

    `router`, `counters` and `quarantine` are the first site's: the site's, for a pipeline
    of one (`quarantine` and `sensors` may be given only then); `routes.routers` has every
    site's by name."""

    def __init__(
        self,
        site: SiteConfig | Sequence[SiteConfig],
        store: Store,
        *,
        quarantine: Quarantine | None = None,
        clock: Callable[[], datetime] = utc_now,
        batch_size: int = 1000,
        flush_interval_s: float = 0.2,
        spool: Spool | None = None,
        sensors: SensorRegistry | None = None,
        assignments: Assignments | None = None,
        assignments_check_s: float = ASSIGNMENTS_CHECK_S,
        other_sites: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        sites = [site] if isinstance(site, SiteConfig) else list(site)
        if len(sites) > 1 and (quarantine is not None or sensors is not None):
            raise ValueError("a quarantine or sensor registry is one site's: give one site")

        def router(each: SiteConfig, metadata: Metadata | None) -> Router:
            return Router(
                each,
                IngestCounters(),
                quarantine if quarantine is not None else Quarantine(),
                clock=clock,
                sensors=sensors,
                assignments=assignments,
                assignments_check_s=assignments_check_s,
                other_sites=other_sites,
                metadata=metadata,
            )

        self.routes = SitesRouter(sites, router)
        self.router = self.routes.routers[sites[0].site.name]
        self.counters = self.router.counters
        self.quarantine = self.router.quarantine
        self.writer = DurableWriter(
            store, self._counters_of, self.routes.refused, spool=spool, clock=clock
        )
        self.clock = clock
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._queue: queue.Queue[Message] = queue.Queue()

    def _counters_of(self, site: str) -> IngestCounters:
        """A site's counters; the first site's for a reading spooled by a site this process
        no longer runs (it is stored all the same)."""
        router = self.routes.routers.get(site)
        return (router or self.router).counters

    # -- called from the MQTT thread -------------------------------------------------------
    def submit(self, topic: str, payload: bytes, ack: Callable[[], None] | None = None) -> None:
        self._queue.put(Message(topic, payload, self.clock(), ack))

    def outcomes(self, site: str | None = None) -> dict[str, Any]:
        """What became of a site's messages so far (the first site's by default), JSON-ready:
        counts by outcome and the newest quarantined messages (the dashboard's ingest panel
        and `/api/ingest`)."""
        router = self.router if site is None else self.routes.routers[site]
        return {"counts": router.counters.counts(), "quarantine": router.quarantine.recent()}

    def process(self, messages: list[Message]) -> int:
        """Route a batch of messages, store (or spool) their readings in one call, then
        acknowledge the messages. Raises when the readings could be kept nowhere; the
        messages are then not acknowledged."""
        stored = self.writer.write(self.routes.route(messages))
        self.acknowledge(messages)
        return stored

    @staticmethod
    def acknowledge(messages: list[Message]) -> None:
        for msg in messages:
            if msg.ack is not None:
                msg.ack()

    # -- the writer thread -----------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Drain the queue in batches until `stop` is set and the queue is empty. Readings
        that can be kept nowhere (store down and spool full, or no spool) are held and
        retried, never dropped, and their messages stay unacknowledged: the broker holds
        everything behind them."""
        held: tuple[list[Message], list[Reading]] | None = None
        while not (stop.is_set() and self._queue.empty() and held is None):
            if held is None:
                batch = self._take_batch()
                if not batch:
                    self.routes.flush_log()
                    self.writer.replay_spool()
                    continue
                held = (batch, self.routes.route(batch))
            messages, readings = held
            try:
                self.writer.write(readings)
            except SpoolFullError as exc:
                log.error("%s: holding %d messages at the broker", exc, len(messages))
            except Exception:
                log.exception("store write failed for %d messages", len(messages))
            else:
                self.acknowledge(messages)
                held = None
                self.writer.replay_spool()
                continue
            if stop.wait(self.writer.retry_s):
                # Stopping with readings kept nowhere: unacknowledged, the broker delivers
                # them again on the next start.
                return
            self.writer.replay_spool()

    def _take_batch(self) -> list[Message]:
        try:
            first = self._queue.get(timeout=self.flush_interval_s)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch
