"""message → router → `Reading` → durable writer → store, with an outcome for every message.

The MQTT thread only queues raw messages; one writer thread takes them in batches, has the
`Router` decode them and file them under rooms, and the `DurableWriter` store them, so a slow
store never stalls the network loop and a bad payload never reaches the store.

Nothing is lost: a message is acknowledged to the broker only once its readings are in the
store or in the on-disk spool (or it was judged bad and kept in the quarantine). If the spool
is full too, the batch is held and retried, and the broker keeps everything after it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ventwatch.assignments import Assignments
from ventwatch.clock import utc_now
from ventwatch.config import SiteConfig
from ventwatch.ingest.counters import IngestCounters
from ventwatch.ingest.quarantine import Quarantine
from ventwatch.ingest.router import ASSIGNMENTS_CHECK_S, Message, Router
from ventwatch.ingest.sensors import SensorRegistry
from ventwatch.ingest.spool import Spool, SpoolFullError
from ventwatch.ingest.writer import DurableWriter
from ventwatch.readings import Reading
from ventwatch.store import Store

log = logging.getLogger(__name__)


class Pipeline:
    """The writer thread's loop: queued messages → `Router` → `DurableWriter`, then the
    acknowledgements; and the counters and quarantine both halves report to."""

    def __init__(
        self,
        site: SiteConfig,
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
        self.counters = IngestCounters()
        self.quarantine = quarantine or Quarantine()
        self.router = Router(
            site,
            self.counters,
            self.quarantine,
            clock=clock,
            sensors=sensors,
            assignments=assignments,
            assignments_check_s=assignments_check_s,
            other_sites=other_sites,
        )
        self.writer = DurableWriter(
            store, self.counters, self.router.refused, spool=spool, clock=clock
        )
        self.clock = clock
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._queue: queue.Queue[Message] = queue.Queue()

    # -- called from the MQTT thread -------------------------------------------------------
    def submit(self, topic: str, payload: bytes, ack: Callable[[], None] | None = None) -> None:
        self._queue.put(Message(topic, payload, self.clock(), ack))

    def outcomes(self) -> dict[str, Any]:
        """What became of the messages so far, JSON-ready: counts by outcome and the newest
        quarantined messages (the dashboard's ingest panel and `/api/ingest`)."""
        return {"counts": self.counters.counts(), "quarantine": self.quarantine.recent()}

    def process(self, messages: list[Message]) -> int:
        """Route a batch of messages, store (or spool) their readings in one call, then
        acknowledge the messages. Raises when the readings could be kept nowhere; the
        messages are then not acknowledged."""
        stored = self.writer.write(self.router.route(messages))
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
                    self.router.flush_log()
                    self.writer.replay_spool()
                    continue
                held = (batch, self.router.route(batch))
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
