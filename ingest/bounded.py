"""A map filled from what arrives on the broker, bounded in entries and in age.

Ingest learns per topic and per device: discovery configs, which sensor publishes where, the
last state of each Zigbee device, who is online. Anyone who may publish to the broker can make
up topics and device ids without end, so every such map must forget: the least recently used
entry goes first once the map is full, and an entry nobody used for `max_age_s` goes at the
next insertion. What was forgotten is counted (`evicted`), for the ingest counters.

A flood must not push out what the site itself relies on (its sensors' units, their presence,
their place on the sensors page): entries that `keep` says are the site's are passed over while
others remain, and never age out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Final, TypeVar

# How long an entry may go unused before it is forgotten: a week, so a sensor silent over a
# half-term is relearned when it is back (ESPHome and statestream republish what they are on
# reconnecting), and made-up topics do not linger when the map is far from full.
FORGET_AFTER_S = 7 * 24 * 3600.0

K = TypeVar("K")
V = TypeVar("V")
_ABSENT: Final = object()


class BoundedMap(Mapping[K, V]):
    """Least recently used first out, at most `limit` entries, none unused for `max_age_s`.

    A lookup (`get`, `[]`) counts as a use; `peek`, `in` and iteration do not. Not locked: one
    thread writes (ingest's writer, or code under its own lock); `items` gives a copy that a
    reader on another thread may take meanwhile.
    """

    def __init__(
        self,
        limit: int,
        max_age_s: float = FORGET_AFTER_S,
        keep: Callable[[K, V], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._max_age_s = max_age_s
        self._keep = keep
        self._clock = clock
        self._items: OrderedDict[K, V] = OrderedDict()  # least recently used first
        self._used: dict[K, float] = {}
        self.evicted = 0  # entries forgotten so far, for being full or unused too long

    def __getitem__(self, key: K) -> V:
        value = self._items[key]
        self._use(key)
        return value

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        value = self._items.get(key, _ABSENT)
        if value is _ABSENT:
            return default
        self._items.move_to_end(key)  # as `_use`, inline: this is on every message's path
        self._used[key] = self._clock()
        return value  # type: ignore[return-value]

    def peek(self, key: K) -> V | None:
        """The entry without counting a use: for deciding what to keep."""
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[K, V]]:  # type: ignore[override]
        """A copy (copying the ordered dict is one C call, so a reader on another thread
        never sees it half-changed)."""
        return list(self._items.items())

    def put(self, key: K, value: V) -> None:
        """Set an entry (a use); a new one first makes room."""
        now = self._clock()
        if key not in self._items:
            self._expire(now)
            while len(self._items) >= self._limit:
                self._evict_one(now)
        self._items[key] = value
        self._items.move_to_end(key)
        self._used[key] = now

    def _use(self, key: K) -> None:
        self._items.move_to_end(key)
        self._used[key] = self._clock()

    def _expire(self, now: float) -> None:
        """Forget entries unused for too long (the oldest are at the front)."""
        for _ in range(len(self._items)):
            key, value = next(iter(self._items.items()))
            if now - self._used[key] <= self._max_age_s:
                return
            if self._keep is not None and self._keep(key, value):
                self._items.move_to_end(key)  # the site's: never too old
                self._used[key] = now
            else:
                self._drop(key)

    def _evict_one(self, now: float) -> None:
        """Forget the least recently used entry that is not the site's, or else the least
        recently used one. Kept entries passed over move to the back, so a long flood
        walks past each of them once, not once per message."""
        for _ in range(len(self._items)):
            key, value = next(iter(self._items.items()))
            if self._keep is None or not self._keep(key, value):
                self._drop(key)
                return
            self._items.move_to_end(key)
            self._used[key] = now
        self._drop(next(iter(self._items)))

    def _drop(self, key: K) -> None:
        del self._items[key]
        del self._used[key]
        self.evicted += 1
