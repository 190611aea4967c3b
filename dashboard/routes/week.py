"""`/week`: rooms x school days of an ISO week, for union reps; `/api/week`: the same as JSON.

Both render one `WeekView` (see `dashboard/week.py`), kept by the app's `WeekCache` for the
minute. Every cell links to the room page for that day, where the readings behind it are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from ventwatch.analysis.profiles import Profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard import present
from ventwatch.dashboard.auth import EVERYONE, UserDep
from ventwatch.dashboard.deps import NowDep, ProfileDep, SiteDep, StoreDep, TemplatesDep
from ventwatch.dashboard.week import (
    WEEK_PATTERN,
    BadWeekError,
    IsoWeek,
    WeekCache,
    WeekView,
    threshold_key,
)
from ventwatch.reports.period import EARLIEST, LATEST

router = APIRouter()

WEEK_HELP = "An ISO week, e.g. 2026-W47; without it, this week in the site's time zone."
# What a day cell shows for a span with no judgement: a symbol and a word, as for a status.
STATE_STYLE = {"to_come": ("…", "To come"), "not_in_use": ("–", "Not in use")}


def get_week_cache(request: Request) -> WeekCache:
    week: WeekCache = request.app.state.week
    return week


WeekCacheDep = Annotated[WeekCache, Depends(get_week_cache)]


def _week(text: str | None, site: SiteConfig, now: datetime) -> IsoWeek:
    """The week asked for, or this week at the site; one that cannot be shown is a 400."""
    if text is None:
        return IsoWeek.of(now.astimezone(site.tz).date())
    try:
        return IsoWeek.parse(text)
    except BadWeekError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def show_options(profile: Profile) -> dict[str, str]:
    """`show` value -> its label: the status, or the share above each of the profile's
    figures (`above800`, `above1500` for the shipped profiles)."""
    figures = [threshold_key(t) for t in sorted(profile.status.episode_thresholds_ppm)]
    return {"status": "Status"} | {f"above{t}": f"Time above {t} ppm" for t in figures}


@router.get("/week", response_class=HTMLResponse, tags=["pages"])
def week_page(
    user: UserDep,  # first: nothing is computed for a refused request
    request: Request,
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    templates: TemplatesDep,
    cache: WeekCacheDep,
    week: Annotated[str | None, Query(description=WEEK_HELP)] = None,
    show: Annotated[str, Query(description="status, or aboveNNN for a profile figure")] = "status",
) -> HTMLResponse:
    options = show_options(profile)
    if show not in options:
        raise HTTPException(status_code=400, detail=f"show must be one of {', '.join(options)}")
    wanted = _week(week, site, now)
    view = cache.get(site, store, profile, wanted, now)
    shifts = {"previous": wanted.shifted(-1), "next": wanted.shifted(1)}
    return templates.TemplateResponse(
        request,
        "week.html",
        {
            "view": view,
            "profile": profile,
            "show": show,
            "key": show.removeprefix("above"),
            "options": options,
            "nav": {name: str(w) if w else None for name, w in shifts.items()},
            "this_week": str(IsoWeek.of(now.astimezone(site.tz).date())),
            "groups": present.by_building_and_floor(view.rooms),
            "states": STATE_STYLE,
        },
    )


@router.get(
    "/api/week",
    dependencies=[Depends(EVERYONE)],
    tags=["api"],
    responses={400: {"description": f"A week the year lacks, or not in {EARLIEST}-{LATEST}"}},
)
def week_api(
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    cache: WeekCacheDep,
    week: Annotated[str | None, Query(pattern=WEEK_PATTERN, description=WEEK_HELP)] = None,
) -> WeekView:
    """Every room's status and share of time above the profile's figures for each school day
    of the week, and for the week as far as it has gone."""
    return cache.get(site, store, profile, _week(week, site, now), now)
