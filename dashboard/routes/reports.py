"""Report exports from the dashboard: `/export` writes the week's report (or one room's) in
any format for staff and up; `/export/evidence` writes a rep's evidence pack (reps, site
managers and admins: it holds the action log and the alerts' history).

Both build the same report `ventwatch report` builds (`reports.inputs.load_report`), so a
page, the command line and the weekly email never disagree. A week's PDF takes seconds:
the handlers are plain functions, which FastAPI runs in its thread pool, so the event loop
keeps serving other pages meanwhile.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from ventwatch.dashboard.auth import AlertUserDep, UserDep
from ventwatch.dashboard.deps import NowDep, ProfileDep, SiteDep, StoreDep
from ventwatch.reports.evidence import evidence_pack, load_evidence
from ventwatch.reports.formats import FORMATS
from ventwatch.reports.inputs import load_report, logged_actions
from ventwatch.reports.period import BadPeriodError, Period, parse_week

router = APIRouter()

FormatName = Literal["pdf", "html", "xlsx", "csv", "daily-csv"]
# Empty: last week (a week field left blank in the export form sends "").
WeekText = Annotated[str | None, Query(pattern=r"^([0-9]{4}-W[0-9]{2})?$")]


def last_week(site_now: datetime) -> str:
    """The ISO week before the current one: the week a report is usually asked for."""
    year, week, _ = (site_now.date() - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def _period(week: str | None, site_now: datetime) -> Period:
    try:
        return parse_week(week or last_week(site_now))
    except BadPeriodError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def _rooms(site_rooms: list[str], room: str | None) -> list[str] | None:
    if room is None:
        return None
    if room not in site_rooms:
        raise HTTPException(status_code=404, detail=f"no room {room!r}")
    return [room]


def _filename(stem: str, suffix: str) -> str:
    """A file name safe in a Content-Disposition header and on any disk."""
    safe = re.sub(r"[^A-Za-z0-9._]+", "-", stem).strip("-") or "report"
    return f"{safe}.{suffix}"


@router.get("/export", tags=["pages"])
def export(
    user: UserDep,
    request: Request,
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    format: FormatName = "pdf",  # the query parameter's name
    week: WeekText = None,
    room: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The report of a week (default: last week), for the whole site or one room."""
    period = _period(week, now.astimezone(site.tz))
    rooms = _rooms([r.name for r in site.rooms], room)
    accounts_db = request.app.state.accounts.path
    actions = [
        a for a in logged_actions(accounts_db, site.site.name) if rooms is None or a.room in rooms
    ]
    report = load_report(store, site, profile, period, now, actions, rooms)
    chosen = FORMATS[format]
    stem = f"ventilation-{site.site.name}-{period.label}" + (f"-{room}" if room else "")
    return Response(
        chosen.render(report),
        media_type=chosen.media_type,
        headers={"Content-Disposition": f'attachment; filename="{_filename(stem, chosen.suffix)}"'},
    )


@router.get("/export/evidence", tags=["pages"])
def export_evidence(
    user: AlertUserDep,
    request: Request,
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    week: WeekText = None,
    room: Annotated[list[str] | None, Query(max_length=200)] = None,
) -> Response:
    """A rep's evidence pack (ZIP with SHA-256 manifest) for a week and some rooms."""
    period = _period(week, now.astimezone(site.tz))
    names = [r.name for r in site.rooms]
    for name in room or []:
        _rooms(names, name)
    alerting = request.app.state.alerting
    records = alerting.records if alerting is not None else None
    inputs = load_evidence(store, site, profile, period, now, records, room or None)
    stem = f"evidence-{site.site.name}-{period.label}"
    return Response(
        evidence_pack(inputs),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{_filename(stem, "zip")}"'},
    )
