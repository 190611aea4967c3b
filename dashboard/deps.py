"""Dependencies: how a route gets what `create_app` was given, via `app.state`.

Routes never reach into `app.state` themselves, so a test (or a later login layer) can swap
any of these with `app.dependency_overrides` without touching the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from ventwatch.analysis.profiles import Profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard.rooms import RoomsNow
from ventwatch.store import Store

IngestStats = Callable[[], dict[str, Any]]


def get_site(request: Request) -> SiteConfig:
    return request.app.state.site


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_profile(request: Request) -> Profile:
    return request.app.state.profile


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


def get_now(request: Request) -> datetime:
    """The injected clock's time, read once per request so one page uses one `now`."""
    return request.app.state.clock()


def get_ingest_stats(request: Request) -> dict[str, Any] | None:
    """Ingest's counters, or None when the dashboard runs without ingest (tests, read-only)."""
    stats: IngestStats | None = request.app.state.ingest_stats
    return None if stats is None else stats()


SiteDep = Annotated[SiteConfig, Depends(get_site)]
StoreDep = Annotated[Store, Depends(get_store)]
ProfileDep = Annotated[Profile, Depends(get_profile)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
NowDep = Annotated[datetime, Depends(get_now)]
IngestDep = Annotated[dict[str, Any] | None, Depends(get_ingest_stats)]


def get_rooms_now_json(
    request: Request, site: SiteDep, store: StoreDep, profile: ProfileDep, now: NowDep
) -> tuple[RoomsNow, bytes]:
    return request.app.state.now_cache.get(site, store, profile, now, request.app.state.today)


def get_rooms_now(
    request: Request, site: SiteDep, store: StoreDep, profile: ProfileDep, now: NowDep
) -> RoomsNow:
    return get_rooms_now_json(request, site, store, profile, now)[0]


RoomsNowDep = Annotated[RoomsNow, Depends(get_rooms_now)]
RoomsNowJSONDep = Annotated[tuple[RoomsNow, bytes], Depends(get_rooms_now_json)]
