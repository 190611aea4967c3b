"""The sites of a site list now: the shape of `/api/sites`, which the list page renders too.

A trust or a local authority runs several sites in one dashboard (`app.create_site_list`):
each site's own dashboard is mounted at `/sites/<slug>/`, and `/` lists the sites a user may
see, with each site's rooms in each band and its open alerts, from which they drill down.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ventwatch.accounts import User
from ventwatch.config import site_slug
from ventwatch.dashboard.auth import ALERT_ROLES
from ventwatch.dashboard.deps import rooms_now_of

# Where each site of a site list is mounted: /sites/<slug>/.
SITES_PREFIX = "/sites/"


def mount_point(site_name: str) -> str:
    """Where a site's dashboard goes in a site list: `/sites/<slug>`."""
    return SITES_PREFIX + site_slug(site_name)


class SiteSummary(BaseModel):
    """One line of the site list: what `/` shows and `/api/sites` returns."""

    site: str
    url: str  # the site's overview
    rooms: int
    summary: dict[str, int]  # band -> rooms in it, as the site's `/api/rooms` says
    attention: int  # rooms not in the profile's best band, stale and silent ones included
    best_band: str
    open_alerts: int | None  # alerts the rep has not closed; None: not for this role, or not run
    generated_at: datetime


def visible(site_apps: Sequence[FastAPI], user: User) -> list[FastAPI]:
    """The sites' dashboards this user may open, in the order the sites were given."""
    return [a for a in site_apps if user.may_see(a.state.site.site.name)]


async def summary_of(site_app: FastAPI, user: User, now: datetime) -> SiteSummary:
    """A site's counts now, from its own per-second cache: the list costs no more than each
    site's overview already does."""
    state = site_app.state
    rooms = (await rooms_now_of(state, now)).rooms
    best = state.profile.co2_bands[0].name
    open_alerts = None
    if state.alerting is not None and user.role in ALERT_ROLES.roles:
        counts = await run_in_threadpool(state.alerting.records.unclosed_counts)
        open_alerts = sum(counts.values())
    return SiteSummary(
        site=state.site.site.name,
        url=f"{state.base}/",
        rooms=len(rooms.rooms),
        summary=dict(rooms.summary),
        attention=sum(n for band, n in rooms.summary.items() if band != best),
        best_band=best,
        open_alerts=open_alerts,
        generated_at=rooms.generated_at,
    )
