"""`/`: every room of the site at a glance, grouped by building and floor.

Rendered complete on the server (it works without JavaScript); `static/overview.js` then keeps
the tiles current from `/api/rooms`.

A thousand tiles take tens of milliseconds to render, so the page is made in three layers:
the tiles, the same for everyone, rendered once a second; the rest of the `body` block (the
export form, and the ingest panel for those who look after sensors), the same for every user
of a role group, rendered once a second per group around the tiles (see `rooms.NowCache`);
and the frame (base.html: who is signed in, their session's form token), each request's own,
rendered per request after the login check. The layers are joined as bytes, or as gzip
segments (`compression`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from ventwatch.accounts import Role
from ventwatch.analysis.profiles import Profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard import present
from ventwatch.dashboard.auth import UserDep
from ventwatch.dashboard.compression import VARY, Segment, accepts_gzip, gzip_of, segment
from ventwatch.dashboard.deps import (
    NowCacheDep,
    NowDep,
    ProfileDep,
    RoomsNowDep,
    SiteDep,
    TemplatesDep,
    TileCacheDep,
    get_ingest_stats,
)
from ventwatch.dashboard.export_weeks import ExportWeek, preselected
from ventwatch.dashboard.rooms import RoomsNow

router = APIRouter(tags=["pages"])

RECENT_QUARANTINE = 5  # the panel is a hint that something is wrong; /api/ingest has the rest
# overview.html with its body block left out, marked where it goes. Autoescaped data cannot
# contain "<": only this template's own text can be the mark.
BODY_MARK = "<!-- the body block -->"
FRAME = '{% extends "overview.html" %}{% block body %}' + BODY_MARK + "{% endblock %}"
# Where the tiles (`_tiles.html`, the same for every role) go in each role's body block.
TILES_MARK = "<!-- the tiles -->"


@dataclass(frozen=True)
class Body:
    context: dict[str, Any]  # the page's other blocks use it too (title, time zone)
    # The body block as its part before the tiles, the tiles and the part after, each encoded
    # and compressed once: a page of a thousand tiles is most of a request's time.
    parts: tuple[Segment, Segment, Segment]
    frame: jinja2.Template


def render_body(
    templates: Jinja2Templates,
    rooms: RoomsNow,
    site: SiteConfig,
    profile: Profile,
    ingest: dict[str, Any] | None,
    evidence: bool,
    tiles: Segment,
    weeks: list[ExportWeek],
) -> Body:
    """The body block for everyone who sees `ingest` (None: the panel is not shown) and, with
    `evidence`, the evidence-pack export (reps and managers), around `tiles`; the export
    form offers `weeks`."""
    profile_bands = {b.name for b in profile.co2_bands}
    context = {
        "live": rooms,
        "profile": profile,
        "tz": site.site.timezone,
        "updated": present.clock_time(rooms.generated_at, site.tz),
        "groups": present.by_building_and_floor(rooms.rooms),
        # Profile bands always show (a "0 poor" is news too); the rest only when present.
        "summary": [(band, n, band not in profile_bands) for band, n in rooms.summary.items()],
        "bands": present.band_styles(profile),
        # A constant of this module, never data: autoescaped data cannot contain "<".
        "tiles_here": Markup(TILES_MARK),  # noqa: S704
        "ingest": ingest,
        "evidence": evidence,
        "export_weeks": weeks,
        "export_week": preselected(weeks),
        "store_text": (
            present.store_text(ingest["store"], site.tz) if ingest and "store" in ingest else None
        ),
        "quarantine": [
            {**q, "clock": present.clock_time(q.get("time"), site.tz)}
            for q in (ingest or {}).get("quarantine", [])[:RECENT_QUARANTINE]
        ],
    }
    template = templates.get_template("overview.html")
    # No request, user or form token in this context: the templates' StrictUndefined makes a
    # body block that ever uses them fail here, rather than show one user's page to another.
    html = "".join(template.blocks["body"](template.new_context(context)))
    before, _, after = html.partition(TILES_MARK)
    parts = (segment(before.encode()), tiles, segment(after.encode()))
    return Body(context, parts, templates.env.from_string(FRAME))


@router.get("/", response_class=HTMLResponse)
async def overview(
    user: UserDep,  # first: nothing else is computed for a request that is refused
    request: Request,
    rooms: RoomsNowDep,
    now: NowDep,
    cache: NowCacheDep,
    site: SiteDep,
    profile: ProfileDep,
    templates: TemplatesDep,
    tile_cache: TileCacheDep,
) -> HTMLResponse:
    # Quarantined payloads and ingest health are for the people who look after sensors.
    managers = user.role in (Role.ADMIN, Role.SITE_MANAGER)
    evidence = managers or user.role is Role.REP

    # Every room's tile, made once a second for all roles (see `tiles.TileCache`), where each
    # role's own parts of the page are small.
    tiles = await cache.aget(now, "tiles", lambda: tile_cache.render(templates, rooms))

    def body_of_this_second() -> Body:
        ingest = get_ingest_stats(request) if managers else None
        weeks = request.app.state.export_weeks.get(request.app.state.store, site.tz, now)
        return render_body(templates, rooms, site, profile, ingest, evidence, tiles, weeks)

    body = await cache.aget(now, ("overview", managers, evidence), body_of_this_second)
    context = {**body.context, "request": request}
    for processor in templates.context_processors:  # who is signed in, as for every page
        context.update(processor(request))
    head, _, tail = body.frame.render(context).partition(BODY_MARK)
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        page = gzip_of(segment(head.encode()), *body.parts, segment(tail.encode()))
        return HTMLResponse(page, headers={"content-encoding": "gzip", **VARY})
    html = b"".join((head.encode(), *(part.raw for part in body.parts), tail.encode()))
    return HTMLResponse(html, headers=VARY)
