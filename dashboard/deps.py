"""Dependencies: how a route gets what `create_app` was given, via `app.state`.

Routes never reach into `app.state` themselves, so a test (or a later login layer) can swap
any of these with `app.dependency_overrides` without touching the routes.

The getters are `async def`: FastAPI runs a plain `def` dependency in a worker thread and
back, and under load (bench/dashboard.py) each of those round trips cost the event loop about
as much as a small route's whole answer. Nothing here blocks (the one value that takes a store
query is computed off the loop, see `rooms.NowCache`), except ingest's counters, which take
its locks: that getter stays a plain `def`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from ventwatch.analysis.profiles import Profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard.rooms import NowCache, RoomsAnswer, RoomsNow, rooms_now_json
from ventwatch.store import Store

IngestStats = Callable[[], dict[str, Any]]
ROOMS = "rooms"  # the `NowCache` key of the rooms now and their JSON


async def get_site(request: Request) -> SiteConfig:
    return request.app.state.site


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_profile(request: Request) -> Profile:
    return request.app.state.profile


async def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


async def get_clock(request: Request) -> Callable[[], datetime]:
    """The injected clock itself, for code that reads the time more than once (a stream)."""
    return request.app.state.clock


async def get_now(clock: Annotated[Callable[[], datetime], Depends(get_clock)]) -> datetime:
    """The clock's time, read once per request so one page uses one `now`."""
    return clock()


async def get_now_cache(request: Request) -> NowCache:
    return request.app.state.now_cache


def get_ingest_stats(request: Request) -> dict[str, Any] | None:
    """Ingest's counters, or None when the dashboard runs without ingest (tests, read-only)."""
    stats: IngestStats | None = request.app.state.ingest_stats
    return None if stats is None else stats()


SiteDep = Annotated[SiteConfig, Depends(get_site)]
StoreDep = Annotated[Store, Depends(get_store)]
ProfileDep = Annotated[Profile, Depends(get_profile)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]
NowCacheDep = Annotated[NowCache, Depends(get_now_cache)]
# Ingest's counters take its locks and look at the spool on disk: a worker thread's job.
IngestDep = Annotated[dict[str, Any] | None, Depends(get_ingest_stats)]


async def rooms_now_at(
    request: Request,
    site: SiteConfig,
    store: Store,
    profile: Profile,
    cache: NowCache,
    now: datetime,
) -> RoomsAnswer:
    """The rooms at `now` and their JSON, from the per-second cache (computed off the loop).
    The live stream calls this once a tick; routes get it through `RoomsNowJSONDep`."""
    compute = partial(rooms_now_json, site, store, profile, now, request.app.state.today)
    return await cache.aget(now, ROOMS, compute)


async def get_rooms_now_json(
    request: Request,
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    cache: NowCacheDep,
) -> RoomsAnswer:
    return await rooms_now_at(request, site, store, profile, cache, now)


RoomsNowJSONDep = Annotated[RoomsAnswer, Depends(get_rooms_now_json)]


async def get_rooms_now(rooms: RoomsNowJSONDep) -> RoomsNow:
    return rooms.rooms


RoomsNowDep = Annotated[RoomsNow, Depends(get_rooms_now)]
