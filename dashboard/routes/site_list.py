"""`/` of a site list: the sites a user may see, with their rooms in each band and open
alerts, each a link to its own dashboard; `/api/sites` says the same in JSON; `/healthz` is
up when every site's store answers.

A user who may see one site only is taken straight to it: the list would be one line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ventwatch.accounts import User
from ventwatch.dashboard import present
from ventwatch.dashboard.auth import UserDep
from ventwatch.dashboard.deps import NowDep, TemplatesDep
from ventwatch.dashboard.routes.health import store_problem
from ventwatch.dashboard.sites import SiteSummary, summary_of, visible

router = APIRouter()


async def _summaries(seen: list[FastAPI], user: User, now: datetime) -> list[SiteSummary]:
    return list(await asyncio.gather(*(summary_of(a, user, now) for a in seen)))


@router.get("/", response_class=HTMLResponse, tags=["pages"])
async def site_list(
    request: Request, user: UserDep, templates: TemplatesDep, now: NowDep
) -> Response:
    seen = visible(request.app.state.site_apps, user)
    if len(seen) == 1:
        return RedirectResponse(f"{seen[0].state.base}/", status_code=303)
    sites = await _summaries(seen, user, now)
    totals: dict[str, int] = {}
    for site in sites:
        for band, n in site.summary.items():
            totals[band] = totals.get(band, 0) + n
    return templates.TemplateResponse(
        request,
        "sites.html",
        {
            "sites": sites,
            "totals": totals,
            "attention": sum(s.attention for s in sites),
            "rooms": sum(s.rooms for s in sites),
            # the page script's symbols and words of bands, the first site's (as the page's)
            "bands": present.band_styles(request.app.state.site_apps[0].state.profile),
        },
    )


@router.get("/api/sites", response_model=list[SiteSummary], tags=["api"])
async def api_sites(request: Request, user: UserDep, now: NowDep) -> list[SiteSummary]:
    """Every site this user may see: rooms in each band, rooms needing attention, open alerts."""
    return await _summaries(visible(request.app.state.site_apps, user), user, now)


@router.get("/healthz", tags=["health"])
def healthz(request: Request, now: NowDep) -> JSONResponse:
    """Up when every site's store answers; otherwise 503 naming the first that does not."""
    for site_app in request.app.state.site_apps:
        problem = store_problem(site_app.state.store, now)
        if problem is not None:
            reason = f"{site_app.state.site.site.name}: {problem}"
            return JSONResponse({"status": "error", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ok"})
