"""`/`: every room of the site at a glance, grouped by building and floor.

Rendered complete on the server (it works without JavaScript); `static/app.js` then keeps the
tiles current by polling `/api/rooms`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ventwatch.accounts import Role
from ventwatch.dashboard import present
from ventwatch.dashboard.auth import UserDep
from ventwatch.dashboard.deps import IngestDep, ProfileDep, RoomsNowDep, SiteDep, TemplatesDep

router = APIRouter(tags=["pages"])

RECENT_QUARANTINE = 5  # the panel is a hint that something is wrong; /api/ingest has the rest


@router.get("/", response_class=HTMLResponse)
def overview(
    user: UserDep,  # first: nothing else is computed for a request that is refused
    request: Request,
    rooms: RoomsNowDep,
    site: SiteDep,
    profile: ProfileDep,
    ingest: IngestDep,
    templates: TemplatesDep,
) -> HTMLResponse:
    # Quarantined payloads and ingest health are for the people who look after sensors.
    if user.role not in (Role.ADMIN, Role.SITE_MANAGER):
        ingest = None
    profile_bands = {b.name for b in profile.co2_bands}
    return templates.TemplateResponse(
        request,
        "overview.html",
        {
            "live": rooms,
            "profile": profile,
            "tz": site.site.timezone,
            "updated": present.clock_time(rooms.generated_at, site.tz),
            "groups": present.by_building_and_floor(rooms.rooms),
            # Profile bands always show (a "0 poor" is news too); the rest only when present.
            "summary": [(band, n, band not in profile_bands) for band, n in rooms.summary.items()],
            "bands": present.BAND_STYLE,
            "ingest": ingest,
            "store_text": (
                present.store_text(ingest["store"], site.tz)
                if ingest and "store" in ingest
                else None
            ),
            "quarantine": [
                {**q, "clock": present.clock_time(q.get("time"), site.tz)}
                for q in (ingest or {}).get("quarantine", [])[:RECENT_QUARANTINE]
            ],
        },
    )
