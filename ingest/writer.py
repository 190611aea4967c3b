"""Readings → the store, or the on-disk spool while the store is down: nothing is lost.

The second half of ingest's writer thread (`ingest.pipeline`), apart from decoding, as
Telegraf keeps its metric buffer apart from its inputs. While the store fails, batches go to
the spool and are replayed in order when it returns, retried with a back-off; a reading the
store refuses itself (retrying cannot help) is handed back to the router to quarantine, so one
bad reading never holds up a batch or the spool.

One writer may store several sites' readings (sites sharing a broker connection and a store):
each reading counts for its own site (`counters(site)`), so every site's ingest panel says what
became of its own messages.
"""

from __future__ import annotations

import logging
import time as clock_time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ventwatch.clock import utc_now
from ventwatch.ingest.counters import IngestCounters, Outcome
from ventwatch.ingest.spool import Spool
from ventwatch.readings import Reading
from ventwatch.store import Store, StoreRejectedError

log = logging.getLogger(__name__)

# Retrying a failed store: back off from 1 s to 30 s, as paho does for the broker.
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """What the dashboard shows of the path to the store."""

    ok: bool
    last_write: datetime | None
    error: str | None
    spool_pending: int
    spool_bytes: int
    spool_full: bool


class DurableWriter:
    """Writes readings to the store or the spool, counting them; used from one thread.

    `counters(site)` are the counters of a site's readings; `on_refused(reading, reason)` is
    told of each reading the store refuses."""

    def __init__(
        self,
        store: Store,
        counters: Callable[[str], IngestCounters],
        on_refused: Callable[[Reading, str], None],
        *,
        spool: Spool | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.spool = spool
        self.counters = counters
        self._on_refused = on_refused
        self.clock = clock
        self._store_ok = True
        self._store_error: str | None = None
        self._last_write: datetime | None = None
        self._retry_at = 0.0
        self.retry_s = RETRY_MIN_S
        self._replayed: Counter[str] = Counter()  # by site, counted once the spool is drained

    def write(self, readings: Sequence[Reading]) -> int:
        """Into the store, or the spool when the store fails or older readings still wait
        there (so the store receives readings in order). Returns how many were stored new.
        Raises when the readings could be kept nowhere (store down and spool full, or no
        spool)."""
        if not readings:
            return 0
        if self.spool is not None and self.spool.pending:
            self.spool.append(readings)
            self._count(Outcome.SPOOLED, readings)
            return 0
        try:
            stored = self.store.write(readings)
        except StoreRejectedError as exc:
            # One bad reading must not hold up the batch: find it, keep it, store the rest.
            if len(readings) > 1:
                return sum(self.write([r]) for r in readings)
            self._on_refused(readings[0], str(exc))
            return 0
        except Exception as exc:
            if self.spool is None:
                raise
            self._store_failed(exc)
            self.spool.append(readings)
            self._count(Outcome.SPOOLED, readings)
            return 0
        self._store_succeeded()
        self._count_stored(readings, stored)
        return stored

    def _count(self, outcome: Outcome, readings: Sequence[Reading]) -> None:
        for site, n in Counter(r.site for r in readings).items():
            self.counters(site).count(outcome, n)

    def _count_stored(self, readings: Sequence[Reading], new: int) -> None:
        """Count the new readings as stored, the rest as duplicates. Only the embedded file
        tells new from old, and it holds one site's readings; a store that several sites
        share is a server, which counts every point it is sent (`Store.write`): a shortfall
        is one site's."""
        old = len(readings) - new
        for site, n in Counter(r.site for r in readings).items():
            duplicates = min(n, old)
            old -= duplicates
            counters = self.counters(site)
            counters.count(Outcome.STORED, n - duplicates)
            counters.count(Outcome.DUPLICATE, duplicates)

    def _write_spooled(self, batch: Sequence[Reading]) -> int:
        """Replaying the spool: as `store.write`, but a reading the store refuses goes to the
        quarantine instead of blocking the spool for ever."""
        try:
            stored = self.store.write(batch)
        except StoreRejectedError as exc:
            if len(batch) == 1:
                self._on_refused(batch[0], str(exc))
                return 0
            return sum(self._write_spooled([r]) for r in batch)
        self._replayed.update(r.site for r in batch)
        return stored

    def _store_failed(self, exc: Exception) -> None:
        if self._store_ok:
            log.error("store write failed, spooling to disk until it is back: %s", exc)
        self._store_ok = False
        self._store_error = str(exc) or type(exc).__name__
        self._retry_at = clock_time.monotonic() + self.retry_s
        self.retry_s = min(RETRY_MAX_S, self.retry_s * 2)

    def _store_succeeded(self) -> None:
        if not self._store_ok:
            log.info("store is back")
        self._store_ok = True
        self._store_error = None
        self._last_write = self.clock()
        self.retry_s = RETRY_MIN_S

    def replay_spool(self) -> int:
        """Write the spool to the store when it is due for a try; errors mean "later"."""
        if self.spool is None or not self.spool.pending:
            return 0
        if clock_time.monotonic() < self._retry_at:
            return 0
        self._replayed.clear()
        try:
            replayed = self.spool.drain(self._write_spooled)
        except Exception as exc:
            self._store_failed(exc)
            return 0
        self._store_succeeded()
        for site, n in self._replayed.items():
            self.counters(site).count(Outcome.STORED, n)
        return replayed

    def health(self) -> StoreHealth:
        spool = self.spool
        return StoreHealth(
            ok=self._store_ok,
            last_write=self._last_write,
            error=self._store_error,
            spool_pending=spool.pending if spool else 0,
            spool_bytes=spool.size_bytes if spool else 0,
            spool_full=spool.full if spool else False,
        )
