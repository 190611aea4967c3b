"""Dependencies: how a route gets what `create_app` was given, via `app.state`.

Routes never reach into `app.state` themselves, so a test (or a later login layer) can swap
any of these with `app.dependency_overrides` without touching the routes.

The getters are plain functions, which code outside a request's dependencies (the live
stream's worker thread) calls too. The `...Dep` aliases that routes name are `async def`:
FastAPI runs a plain `def` dependency in a worker thread and back, and under load
(bench/dashboard.py) each of those round trips cost the event loop about as much as a small
route's whole answer. Nothing here blocks: the one value that takes a store query is computed
off the loop (see `rooms.NowCache`).
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
from ventwatch.dashboard.rooms import NowCache, RoomsNow, rooms_now_json
from ventwatch.store import Store

IngestStats = Callable[[], dict[str, Any]]
ROOMS = "rooms"  # the `NowCache` key of the rooms now and their JSON


def get_site(request: Request) -> SiteConfig:
    return request.app.state.site


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_profile(request: Request) -> Profile:
    return request.app.state.profile


def get_now_cache(request: Request) -> NowCache:
    return request.app.state.now_cache


def get_ingest_stats(request: Request) -> dict[str, Any] | None:
    """Ingest's counters, or None when the dashboard runs without ingest (tests, read-only)."""
    stats: IngestStats | None = request.app.state.ingest_stats
    return None if stats is None else stats()


def get_rooms_now(
    request: Request, site: SiteConfig, store: Store, profile: Profile, now: datetime
) -> RoomsNow:
    """The rooms now, for a caller in a worker thread (it may wait for the store)."""
    compute = partial(rooms_now_json, site, store, profile, now, request.app.state.today)
    return get_now_cache(request).get(now, ROOMS, compute)[0]


async def site_dependency(request: Request) -> SiteConfig:
    return get_site(request)


async def store_dependency(request: Request) -> Store:
    return get_store(request)


async def profile_dependency(request: Request) -> Profile:
    return get_profile(request)


async def templates_dependency(request: Request) -> Jinja2Templates:
    return request.app.state.templates


async def now_dependency(request: Request) -> datetime:
    """The injected clock's time, read once per request so one page uses one `now`."""
    return request.app.state.clock()


async def now_cache_dependency(request: Request) -> NowCache:
    return get_now_cache(request)


SiteDep = Annotated[SiteConfig, Depends(site_dependency)]
StoreDep = Annotated[Store, Depends(store_dependency)]
ProfileDep = Annotated[Profile, Depends(profile_dependency)]
TemplatesDep = Annotated[Jinja2Templates, Depends(templates_dependency)]
NowDep = Annotated[datetime, Depends(now_dependency)]
NowCacheDep = Annotated[NowCache, Depends(now_cache_dependency)]
# Ingest's counters take its locks and look at the spool on disk: a worker thread's job.
IngestDep = Annotated[dict[str, Any] | None, Depends(get_ingest_stats)]


async def rooms_now_json_dependency(
    request: Request,
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    cache: NowCacheDep,
) -> tuple[RoomsNow, bytes]:
    compute = partial(rooms_now_json, site, store, profile, now, request.app.state.today)
    return await cache.aget(now, ROOMS, compute)


RoomsNowJSONDep = Annotated[tuple[RoomsNow, bytes], Depends(rooms_now_json_dependency)]


async def rooms_now_dependency(rooms: RoomsNowJSONDep) -> RoomsNow:
    return rooms[0]


RoomsNowDep = Annotated[RoomsNow, Depends(rooms_now_dependency)]
