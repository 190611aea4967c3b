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
from starlette.datastructures import State

from ventwatch.analysis.profiles import Profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard.rooms import NowCache, RoomsAnswer, RoomsNow, rooms_now_json
from ventwatch.dashboard.tiles import TileCache
from ventwatch.store import Store

IngestStats = Callable[[], dict[str, Any]]
ROOMS = "rooms"  # the `NowCache` key of the rooms now and their JSON


async def get_site(request: Request) -> SiteConfig:
    site: SiteConfig = request.app.state.site
    return site


async def get_base(request: Request) -> str:
    """Where this site's dashboard is mounted: "" when it is the whole app, `/sites/<slug>`
    beside other sites. Every link and redirect a page makes starts with it."""
    base: str = request.app.state.base
    return base


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_profile(request: Request) -> Profile:
    profile: Profile = request.app.state.profile
    return profile


async def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


async def get_clock(request: Request) -> Callable[[], datetime]:
    """The injected clock itself, for code that reads the time more than once (a stream)."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


async def get_now(clock: Annotated[Callable[[], datetime], Depends(get_clock)]) -> datetime:
    """The clock's time, read once per request so one page uses one `now`."""
    return clock()


async def get_now_cache(request: Request) -> NowCache:
    now_cache: NowCache = request.app.state.now_cache
    return now_cache


async def get_tile_cache(request: Request) -> TileCache:
    tile_cache: TileCache = request.app.state.tile_cache
    return tile_cache


def get_ingest_stats(request: Request) -> dict[str, Any] | None:
    """Ingest's counters, or None when the dashboard runs without ingest (tests, read-only)."""
    stats: IngestStats | None = request.app.state.ingest_stats
    return None if stats is None else stats()


SiteDep = Annotated[SiteConfig, Depends(get_site)]
BaseDep = Annotated[str, Depends(get_base)]
StoreDep = Annotated[Store, Depends(get_store)]
ProfileDep = Annotated[Profile, Depends(get_profile)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]
NowCacheDep = Annotated[NowCache, Depends(get_now_cache)]
TileCacheDep = Annotated[TileCache, Depends(get_tile_cache)]
# Ingest's counters take its locks and look at the spool on disk: a worker thread's job.
IngestDep = Annotated[dict[str, Any] | None, Depends(get_ingest_stats)]


async def rooms_now_of(state: State, now: datetime) -> RoomsAnswer:
    """The rooms at `now` and their JSON for the site dashboard whose `app.state` this is, from
    its per-second cache (computed off the loop). Routes get it through `RoomsNowJSONDep`; the
    live stream calls it once a tick, and a site list once per site."""
    compute = partial(rooms_now_json, state.site, state.store, state.profile, now, state.today)
    cache: NowCache = state.now_cache
    return await cache.aget(now, ROOMS, compute)


async def get_rooms_now_json(request: Request, now: NowDep) -> RoomsAnswer:
    return await rooms_now_of(request.app.state, now)


RoomsNowJSONDep = Annotated[RoomsAnswer, Depends(get_rooms_now_json)]


async def get_rooms_now(rooms: RoomsNowJSONDep) -> RoomsNow:
    return rooms.rooms


RoomsNowDep = Annotated[RoomsNow, Depends(get_rooms_now)]
