"""`/` of a site list: the sites a user may see, with their rooms in each band and open
alerts, each a link to its own dashboard; `/api/sites` says the same in JSON; `/healthz` is
up when every site's store answers.

Both answer from the counts kept in memory (`sites.SiteSummaries`), never from the stores. A
user who may see one site only is taken straight to it: the list would be one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from ventwatch.dashboard import present
from ventwatch.dashboard.auth import ALERT_ROLES, UserDep
from ventwatch.dashboard.compression import VARY, accepts_gzip, gzip_of, segment
from ventwatch.dashboard.deps import NowCacheDep, NowDep, TemplatesDep
from ventwatch.dashboard.routes.health import store_problem
from ventwatch.dashboard.sites import SiteSummaries, SiteSummary, visible

router = APIRouter()
LINES = TypeAdapter(list[SiteSummary])


@dataclass(frozen=True, slots=True)
class SitesAnswer:
    """`/api/sites` as JSON, plain and gzipped: 400 lines are most of a request's time, and
    every user who sees the same sites with the same role gets the same bytes."""

    json: bytes
    gzip: bytes


async def get_site_summaries(request: Request) -> SiteSummaries:
    summaries: SiteSummaries = request.app.state.site_summaries
    return summaries


SummariesDep = Annotated[SiteSummaries, Depends(get_site_summaries)]


@router.get("/", response_class=HTMLResponse, tags=["pages"])
async def site_list(
    request: Request,
    user: UserDep,
    templates: TemplatesDep,
    now: NowDep,
    summaries: SummariesDep,
) -> Response:
    seen = visible(request.app.state.site_apps, user)
    if len(seen) == 1:
        return RedirectResponse(f"{seen[0].state.base}/", status_code=303)
    sites = summaries.lines(seen, user, now)
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
            "refresh_s": round(summaries.refresh.total_seconds()),
            # the page script's symbols and words of bands, the first site's (as the page's)
            "bands": present.band_styles(request.app.state.site_apps[0].state.profile),
        },
    )


@router.get("/api/sites", response_model=list[SiteSummary], tags=["api"])
async def api_sites(
    request: Request, user: UserDep, now: NowDep, cache: NowCacheDep, summaries: SummariesDep
) -> Response:
    """Every site this user may see: rooms in each band, rooms needing attention, open
    alerts, and when the counts were made."""
    seen = visible(request.app.state.site_apps, user)

    def answer() -> SitesAnswer:
        json = LINES.dump_json(summaries.lines(seen, user, now))
        return SitesAnswer(json, gzip_of(segment(json)))

    # Made once a second for everyone who sees these sites with alerts shown or not.
    key = ("sites", user.role in ALERT_ROLES.roles, tuple(a.state.base for a in seen))
    made = await cache.aget(now, key, answer)
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        headers = {"content-encoding": "gzip", **VARY}
        return Response(made.gzip, media_type="application/json", headers=headers)
    return Response(made.json, media_type="application/json", headers=VARY)


@router.get("/healthz", tags=["health"])
def healthz(request: Request, now: NowDep) -> JSONResponse:
    """Up when every site's store answers; otherwise 503 naming the first that does not."""
    for site_app in request.app.state.site_apps:
        problem = store_problem(site_app.state.store, now)
        if problem is not None:
            reason = f"{site_app.state.site.site.name}: {problem}"
            return JSONResponse({"status": "error", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ok"})
