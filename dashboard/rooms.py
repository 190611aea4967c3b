"""What every room shows now: the shape of `/api/rooms`, which the overview page renders too.

The page and the JSON come from one `RoomsNow`, so a tile rendered by the server and the same
tile updated by the page script can never disagree. Bands and labels come from analysis; this
module only joins them with the site file's rooms.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar, cast

import anyio
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ventwatch.analysis.co2 import CO2Metrics
from ventwatch.analysis.engine import analyse_site
from ventwatch.analysis.live import NO_CO2, NO_DATA, STALE, RoomStatus, site_status
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.series import holds, read_minutes
from ventwatch.config import SiteConfig
from ventwatch.dashboard.compression import gzip_of, segment
from ventwatch.store import Store

# How far back the store is asked for a room's newest values. Older than the stale limit is
# shown as stale anyway; a day keeps the last values of a room that went quiet overnight.
LOOKBACK = timedelta(hours=24)

T = TypeVar("T")
log = logging.getLogger(__name__)


class ProfileRef(BaseModel):
    id: str
    version: str


class TodayCache:
    """Each room's judgement for today so far, recomputed at most once a minute: it only
    changes when a minute completes, and it costs a scan of today's readings."""

    def __init__(self) -> None:
        self._minute: datetime | None = None
        self._metrics: dict[str, CO2Metrics] = {}

    def get(
        self, site: SiteConfig, store: Store, profile: Profile, now: datetime
    ) -> dict[str, CO2Metrics]:
        minute = now.replace(second=0, microsecond=0)
        if minute != self._minute:
            today = now.astimezone(site.tz).date()
            start, _ = local_day_bounds(today, today, site.tz)
            means = read_minutes(store, site, profile, None, start, minute)
            result = analyse_site(means, site, profile, today, today, until=minute)
            self._metrics = {r.room: r.co2 for r in result.rooms}
            self._minute = minute
        return self._metrics


def today_text(metrics: CO2Metrics | None, profile: Profile) -> str:
    """One line for a tile: how the room has done in today's occupied minutes so far, in the
    profile's status words."""
    if metrics is None or metrics.occupied_minutes == 0:
        return "Today: no occupied time yet"
    word = profile.statuses.of(metrics.status).word
    if metrics.status == "grey":
        return f"Today: {word} ({metrics.coverage_pct:.0f}% of occupied minutes)"
    return f"Today: {word} - {metrics.status_reason}"


class RoomNow(BaseModel):
    room: str
    building: str
    floor: int | str
    band: str
    label: str
    co2_ppm: float | None
    temperature_c: float | None
    humidity_pct: float | None
    time: datetime | None
    age_s: float | None
    sensor: str | None
    today_status: str  # the analysis engine's status over today's occupied minutes so far
    today: str


class RoomsNow(BaseModel):
    site: str
    profile: ProfileRef
    generated_at: datetime
    rooms: list[RoomNow]
    summary: dict[str, int]  # band -> rooms in it; every band listed, in display order


def statuses_now(
    site: SiteConfig, store: Store, profile: Profile, now: datetime
) -> list[RoomStatus]:
    """Each room's band now, in the site file's order: its newest reading held by the room's
    rule (`analysis.live`). The overview's tiles and the site list's counts both come from
    here, so a site's line in the list counts the bands its tiles show."""
    latest = store.latest(since=now - LOOKBACK)
    return site_status(holds(site, profile), latest, profile, now)


def band_summary(bands: Iterable[str], profile: Profile) -> dict[str, int]:
    """Band -> rooms in it: every band listed, the profile's in order, then the silent ones."""
    counts = Counter(bands)
    order = [b.name for b in profile.co2_bands] + [STALE, NO_DATA, NO_CO2]
    return {band: counts.get(band, 0) for band in order} | dict(counts)


def rooms_now(
    site: SiteConfig, store: Store, profile: Profile, now: datetime, today: TodayCache
) -> RoomsNow:
    statuses = statuses_now(site, store, profile, now)
    judged = today.get(site, store, profile, now)
    rooms = [
        RoomNow(
            room=room.name,
            building=room.building,
            floor=room.floor,
            band=status.band,
            label=status.label,
            co2_ppm=status.latest.co2_ppm if status.latest else None,
            temperature_c=status.latest.temperature_c if status.latest else None,
            humidity_pct=status.latest.humidity_pct if status.latest else None,
            time=status.latest.time if status.latest else None,
            age_s=None if status.age_s is None else round(status.age_s, 1),
            sensor=status.latest.sensor if status.latest else None,
            today_status=judged[room.name].status if room.name in judged else "grey",
            today=today_text(judged.get(room.name), profile),
        )
        for room, status in zip(site.rooms, statuses, strict=True)
    ]
    return RoomsNow(
        site=site.site.name,
        profile=ProfileRef(id=profile.id, version=profile.version),
        generated_at=now,
        rooms=rooms,
        summary=band_summary((r.band for r in rooms), profile),
    )


@dataclass(frozen=True, slots=True)
class RoomsAnswer:
    """The rooms now, and the same as JSON, plain and gzipped: `/api/rooms` sends these bytes
    as they are, and the live stream the plain ones."""

    rooms: RoomsNow
    json: bytes
    gzip: bytes


def rooms_now_json(
    site: SiteConfig, store: Store, profile: Profile, now: datetime, today: TodayCache
) -> RoomsAnswer:
    rooms = rooms_now(site, store, profile, now, today)
    json = rooms.model_dump_json().encode()
    return RoomsAnswer(rooms, json, gzip_of(segment(json)))


class NowCache:
    """What the site looks like now and what is made of it (the rooms and their JSON, the
    overview's tiles), each computed at most once per clock second and shared by every request
    of that second: fifty open overviews must not each scan the store and render a thousand
    tiles. A second is below what a tile shows (ages are in seconds and readings arrive every
    few): a value is served in the second it was made in, and in the next one while its
    successor is being made, never later. (A value made from another, as the tiles are made
    from the rooms, may so be two seconds old; the stale limit is ten minutes.)

    A route awaits `aget`. A value of this second is returned without leaving the event loop.
    A missing one is computed once, in a worker thread; meanwhile the requests of the second
    get the previous second's value at once if there is one (rather than queueing behind the
    computation: that wait was most of the overview's p95 in bench/dashboard.py), and wait
    otherwise, without holding a thread each (with forty of them blocked on a lock, the thread
    pool had none left for anything else)."""

    def __init__(self) -> None:
        self._compute = threading.Lock()  # one computation at a time, from any thread
        self._waiting = anyio.Lock(fast_acquire=True)  # one request of the loop in the pool
        # (second, values): replaced whole when the second changes, so that a reader on the
        # loop sees a second and its values together, never the next second's half-filled.
        self._current: tuple[datetime, dict[Hashable, object]] | None = None
        # The values of the second before `_current`'s, kept while `_current` fills up.
        self._previous: tuple[datetime, dict[Hashable, object]] | None = None
        self._refreshing: set[Hashable] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # referenced until done (asyncio's rule)

    def _find(self, second: datetime, key: Hashable) -> object | None:
        current = self._current
        # A request that read the clock just before the second turned still takes the new
        # value (made after its `now`), rather than replacing it with an older one.
        if current is None or not timedelta(0) <= current[0] - second <= timedelta(seconds=1):
            return None
        return current[1].get(key)

    def _recent(self, second: datetime, key: Hashable) -> object | None:
        """The value of the second before `second`, if there is one."""
        for stored in (self._current, self._previous):
            if stored is not None and stored[0] == second - timedelta(seconds=1):
                found = stored[1].get(key)
                if found is not None:
                    return found
        return None

    def get(self, now: datetime, key: Hashable, compute: Callable[[], T]) -> T:
        """This second's value for `key`, from `compute()` if there is none yet (blocking: `aget`
        runs it in a worker thread)."""
        second = now.replace(microsecond=0)
        with self._compute:
            found = self._find(second, key)
            if found is None:
                found = compute()
                current = self._current
                if current is None or current[0] < second:
                    self._previous = current
                    self._current = (second, {key: found})
                elif current[0] == second:
                    current[1][key] = found
                # else the cache is on the next second already: this value is not kept
            return cast(T, found)

    async def aget(self, now: datetime, key: Hashable, compute: Callable[[], T]) -> T:
        """`get` for a request on the event loop (see the class)."""
        second = now.replace(microsecond=0)
        found = self._find(second, key)
        if found is None:
            recent = self._recent(second, key)
            if recent is not None:
                self._refresh(now, key, compute)
                return cast(T, recent)
            found = await self._made(now, key, compute)
        return cast(T, found)

    async def _made(self, now: datetime, key: Hashable, compute: Callable[[], T]) -> T:
        async with self._waiting:
            found = self._find(now.replace(microsecond=0), key)  # the request before made it
            if found is None:
                found = await run_in_threadpool(self.get, now, key, compute)
        return cast(T, found)

    def _refresh(self, now: datetime, key: Hashable, compute: Callable[[], T]) -> None:
        """Make this second's value in the background, once however many ask."""
        if key in self._refreshing:
            return
        self._refreshing.add(key)

        async def refresh() -> None:
            try:
                await self._made(now, key, compute)
            except Exception:  # the requests that wait for the next value will see it too
                log.exception("computing %r for the dashboard failed", key)
            finally:
                self._refreshing.discard(key)

        task = asyncio.get_running_loop().create_task(refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
