"""Report exports from the dashboard: `/export` writes the week's report (or one room's) in
any format for staff and up; `/export/evidence` writes a rep's evidence pack (reps, site
managers and admins: it holds the action log and the alerts' history).

Both build the same report `ventwatch report` builds (`reports.inputs.load_report`), so a
page, the command line and the weekly email never disagree. A week's PDF takes seconds:
the handlers are plain functions, which FastAPI runs in its thread pool, so the event loop
keeps serving other pages meanwhile.

Exports are bounded so that many at once cannot exhaust the server: each user may ask for
`ExportLimit.per_minute` a minute (then 429), and a PDF (the evidence pack holds one) needs a
place in line for the process's one browser before its report is built (none free: 503, with
`Retry-After`, before any work is done). Both answer with a page that says what to do.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from ventwatch.accounts import User
from ventwatch.config import SiteConfig
from ventwatch.dashboard.auth import AlertUserDep, UserDep
from ventwatch.dashboard.default_week import latest_week_with_data
from ventwatch.dashboard.deps import NowDep, ProfileDep, SiteDep, StoreDep
from ventwatch.reports.evidence import evidence_pack, load_evidence
from ventwatch.reports.formats import FORMATS
from ventwatch.reports.inputs import load_report, logged_actions
from ventwatch.reports.pdf_format import PrinterBusyError, shared_printer
from ventwatch.reports.period import BadPeriodError, Period, parse_week
from ventwatch.store import Store

router = APIRouter()

FormatName = Literal["pdf", "html", "xlsx", "csv", "daily-csv"]
# Empty: the latest week with readings (a week field left blank in the form sends "").
WeekText = Annotated[str | None, Query(pattern=r"^([0-9]{4}-W[0-9]{2})?$")]


def _period(week: str | None, store: Store, site: SiteConfig, now: datetime) -> Period:
    """The week asked for; none: the latest with readings (`default_week`)."""
    try:
        return parse_week(week or latest_week_with_data(store, site.tz, now))
    except BadPeriodError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def _within_rate(request: Request, user: User) -> None:
    """Count this export against the user's allowance, or answer 429."""
    wait = request.app.state.export_limit.take(user.name)
    if wait > 0:
        raise HTTPException(
            status_code=429,
            detail=(
                f"You have asked for {request.app.state.export_limit.per_minute} reports in "
                f"the last minute: wait {int(wait) + 1} s and try again"
            ),
            headers={"Retry-After": str(int(wait) + 1)},
        )


def _place_for_printing(pdf: bool) -> AbstractContextManager[None]:
    """A place in line for the shared PDF printer, held while the report is built and
    printed (nothing to hold for the other formats), or 503 at once when the line is full."""
    if not pdf:
        return nullcontext()
    try:
        return shared_printer().admit()
    except PrinterBusyError as exc:
        raise HTTPException(
            status_code=503,
            detail=(
                "Reports are being printed for other people right now and the line is full: "
                "try again in a minute"
            ),
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc


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
    """The report of a week (default: the latest with readings), for the site or one room."""
    period = _period(week, store, site, now)
    rooms = _rooms([r.name for r in site.rooms], room)
    _within_rate(request, user)
    state_db = request.app.state.accounts.path
    actions = [
        a for a in logged_actions(state_db, site.site.name) if rooms is None or a.room in rooms
    ]
    chosen = FORMATS[format]
    with _place_for_printing(format == "pdf"):
        registers = request.app.state.register.effective(site)
        report = load_report(store, site, profile, period, now, actions, rooms, registers=registers)
        body = chosen.render(report)
    stem = f"ventilation-{site.site.name}-{period.label}" + (f"-{room}" if room else "")
    return Response(
        body,
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
    """A rep's evidence pack (ZIP with SHA-256 manifest) for a week and some rooms (a room
    named twice is in the pack once)."""
    period = _period(week, store, site, now)
    names = [r.name for r in site.rooms]
    chosen = list(dict.fromkeys(room or []))
    for name in chosen:
        _rooms(names, name)
    _within_rate(request, user)
    alerting = request.app.state.alerting
    records = alerting.records if alerting is not None else None
    with _place_for_printing(pdf=True):  # the pack holds the report as a PDF
        inputs = load_evidence(
            store, site, profile, period, now, records, chosen or None, request.app.state.register
        )
        body = evidence_pack(inputs)
    stem = f"evidence-{site.site.name}-{period.label}"
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{_filename(stem, "zip")}"'},
    )
