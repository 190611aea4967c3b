"""`/room?name=...`: one room over today, a school week or a chosen range.

Charts of CO2 and temperature carry the profile's bands and the occupied hours; beside them,
the analysis engine's judgement of the same range (status, coverage, each lesson's peak and
end value, episodes, BB101 days, temperature, ventilation estimates, sensor health), so what
the chart shows and what the figures say come from the same minutes; and the room's entry
in the register of the guide's step 2 (`routes/register.py` changes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from ventwatch.accounts import Role
from ventwatch.alerts.actions import ACTIONS, STEPS
from ventwatch.analysis.engine import RoomAnalysis, analyse_site
from ventwatch.analysis.lessons import by_day
from ventwatch.analysis.occupancy import Schedule, local_day_bounds
from ventwatch.analysis.series import read_minutes
from ventwatch.config import Room, SiteConfig
from ventwatch.dashboard import charts
from ventwatch.dashboard.auth import UserDep
from ventwatch.dashboard.deps import NowDep, ProfileDep, SiteDep, StoreDep, TemplatesDep
from ventwatch.dashboard.export_weeks import preselected
from ventwatch.dashboard.headers import CHART_CSP
from ventwatch.dashboard.periods import BadRangeError, DateSpan, RangeKind, resolve
from ventwatch.register import AIR_CLEANER_CAVEAT
from ventwatch.reports.period import EARLIEST, LATEST

router = APIRouter(tags=["pages"])

EPISODES_SHOWN = 20  # the rest are counted; the JSON API has them all
REGISTER_CHANGES_SHOWN = 5  # the newest; the register's own page lists more


def find_room(site: SiteConfig, name: str) -> Room:
    room = next((r for r in site.rooms if r.name == name), None)
    if room is None:
        raise HTTPException(status_code=404, detail="no room of that name on this site")
    return room


def span_of(
    site: SiteConfig,
    room: Room,
    now: datetime,
    kind: RangeKind,
    day: date | None,
    first: date | None,
    last: date | None,
) -> DateSpan:
    try:
        return resolve(
            kind,
            now.astimezone(site.tz).date(),
            room.occupied_hours or site.occupied_hours,
            day,
            first,
            last,
        )
    except BadRangeError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.get("/room", response_class=HTMLResponse)
def room_page(
    user: UserDep,  # first: nothing is computed for a refused request
    request: Request,
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    templates: TemplatesDep,
    name: Annotated[str, Query(max_length=200)],
    range: RangeKind = "today",
    day: Annotated[date | None, Query(ge=EARLIEST, le=LATEST)] = None,
    first: Annotated[date | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
    last: Annotated[date | None, Query(alias="to", ge=EARLIEST, le=LATEST)] = None,
) -> HTMLResponse:
    room = find_room(site, name)
    span = span_of(site, room, now, range, day, first, last)
    start, end = local_day_bounds(span.first, span.last, site.tz)
    # A range wholly in the future has no readings yet: ask the store for none.
    means = read_minutes(store, site, profile, [room.name], start, min(end, now))
    result = analyse_site(
        means, site, profile, span.first, span.last, rooms=[room.name], until=now
    ).rooms[0]
    schedule = Schedule(room.occupied_hours or site.occupied_hours, site.calendar, site.tz)
    step = charts.step_for(end - start)
    data = charts.series(means, site, profile, room.name, (start, end), now, step)
    periods = charts.occupied_periods(start, end, schedule)
    actions = _actions(request, room.name, span.first, span.last, site.tz)
    edits = request.app.state.register
    today = now.astimezone(site.tz).date()
    export_weeks = request.app.state.export_weeks.get(store, site.tz, now)
    return templates.TemplateResponse(
        request,
        "room.html",
        {
            "room": room,
            "span": span,
            "today": today,
            "profile": profile,
            "site": site,
            "a": result,
            # In time order (the engine lists them per threshold), 800 and 1500 interleaved.
            "episodes": sorted(result.co2.episodes, key=lambda e: (e.start, e.threshold_ppm))[
                :EPISODES_SHOWN
            ],
            "facts": _facts(result),
            "actions": actions,
            "evidence": user.role in (Role.ADMIN, Role.SITE_MANAGER, Role.REP),
            "export_weeks": export_weeks,
            "export_week": preselected(export_weeks),
            "register": edits.effective(site)[room.name],
            "register_events": edits.log([room.name])[-REGISTER_CHANGES_SHOWN:],
            "may_edit_register": user.role in (Role.ADMIN, Role.SITE_MANAGER),
            "air_cleaner_caveat": AIR_CLEANER_CAVEAT,
            "lessons": by_day(result.lessons),
            "co2_figure": charts.co2_figure(
                data,
                profile,
                schedule,
                periods,
                result.co2.episodes,
                [
                    (at, f"{record.action_label}: {record.note}".rstrip(": "))
                    for at, record in actions
                ],
            ),
            "temperature_figure": charts.temperature_figure(
                data, profile, schedule, periods, room.physical_effort == "severe"
            ),
            "step_min": int(data.step.total_seconds() // 60),
            "tz": site.tz,
        },
        headers={"Content-Security-Policy": CHART_CSP},
    )


@dataclass(frozen=True)
class ShownAction:
    taken_on: date
    action_label: str
    step_label: str
    note: str
    recorded_by: str
    alert_id: int | None


def _actions(
    request: Request, room: str, first: date, last: date, tz: ZoneInfo
) -> list[tuple[datetime, ShownAction]]:
    """Actions recorded on the room's alerts in the range, each at the start of its day (the
    rep records the day, not the hour). None when alerting is not running here."""
    alerting = request.app.state.alerting
    if alerting is None:
        return []
    shown = []
    for record in alerting.records.actions(room=room):
        if first <= record.taken_on <= last:
            label = ACTIONS.get(record.action, (record.action, None))[0]
            shown.append(
                (
                    datetime.combine(record.taken_on, time(0), tz),
                    ShownAction(
                        record.taken_on, label, STEPS.get(record.step, record.step), record.note,
                        record.recorded_by, record.alert_id,
                    ),
                )
            )  # fmt: skip
    return shown


def _facts(a: RoomAnalysis) -> list[tuple[str, Any, str]]:
    """The range's figures as (what, value, unit) rows: one table, read top to bottom."""
    c, t = a.co2, a.temperature
    return [
        ("Occupied minutes with data", f"{c.minutes_with_data} of {c.occupied_minutes}", ""),
        ("Coverage", c.coverage_pct, "%"),
        ("Mean CO2 in occupied hours", c.co2_mean_ppm, "ppm"),
        ("Time above 800 ppm", c.pct_time_above_800, "%"),
        ("Time above 1500 ppm", c.pct_time_above_1500, "%"),
        ("Longest run above 1500 ppm", c.longest_above_1500_min, "min"),
        ("Highest 20-minute mean", c.max_20min_mean_ppm, "ppm"),
        ("Lowest temperature", t.min_c, "°C"),
        ("Highest temperature", t.max_c, "°C"),
        *((f"Minutes {label.label}", label.minutes, "min") for label in t.labels),
    ]
