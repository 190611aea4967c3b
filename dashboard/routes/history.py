"""`/api/readings` and `/api/analysis`: a room's readings and the guidance's judgement over a
range, for integrations (the same figures the room page shows and `ventwatch analyse` prints).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from ventwatch.analysis.engine import analyse_site, to_json
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.series import read_minutes
from ventwatch.dashboard import charts
from ventwatch.dashboard.auth import EVERYONE
from ventwatch.dashboard.deps import NowDep, ProfileDep, SiteDep, StoreDep
from ventwatch.dashboard.periods import MAX_DAYS
from ventwatch.dashboard.routes.room import find_room
from ventwatch.reports.period import EARLIEST, LATEST

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(EVERYONE)])


class ReadingSeries(BaseModel):
    """Means over `step_s` seconds of the minute series; null where it has a gap (the sensor
    was silent for longer than the room's hold) or the time is still to come."""

    room: str
    start: datetime
    end: datetime
    step_s: int
    time: list[datetime]
    co2_ppm: list[float | None]
    temperature_c: list[float | None]


def _aware(value: datetime, site_tz: Any) -> datetime:
    """A time without an offset is the site's wall-clock time; whole minutes, as stored means."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=site_tz)
    return aware.replace(second=0, microsecond=0)


@router.get("/readings")
def readings(
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    room: Annotated[str, Query(max_length=200)],
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
    step_min: Annotated[int | None, Query(ge=1, le=1440)] = None,
) -> ReadingSeries:
    """One room's CO2 and temperature from `from` to `to`: its minute series (each reading
    standing until the next, for at most the room's hold), downsampled (by default to the
    room chart's step: 1 minute for a day, 5 for a week, coarser beyond)."""
    found = find_room(site, room)
    first, last = _aware(start, site.tz), _aware(end, site.tz)
    if not (EARLIEST.year <= first.year and last.year <= LATEST.year):
        raise HTTPException(status_code=400, detail=f"dates from {EARLIEST} to {LATEST} only")
    if last <= first:
        raise HTTPException(status_code=400, detail="'to' must be after 'from'")
    if last - first > timedelta(days=MAX_DAYS):
        raise HTTPException(status_code=400, detail=f"at most {MAX_DAYS} days at a time")
    step = timedelta(minutes=step_min) if step_min else charts.step_for(last - first)
    means = read_minutes(store, site, profile, [found.name], first, min(last, now))
    data = charts.series(means, site, profile, found.name, (first, last), now, step)
    return ReadingSeries(
        room=found.name,
        start=first,
        end=last,
        step_s=int(step.total_seconds()),
        time=list(data.times.to_pydatetime()),
        co2_ppm=charts.values(data.co2_ppm, 0),
        temperature_c=charts.values(data.temperature_c, 1),
    )


@router.get("/analysis")
def analysis(
    site: SiteDep,
    store: StoreDep,
    profile: ProfileDep,
    now: NowDep,
    first: Annotated[date, Query(alias="from", ge=EARLIEST, le=LATEST)],
    last: Annotated[date, Query(alias="to", ge=EARLIEST, le=LATEST)],
    room: Annotated[list[str] | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    """Every room (or the `room`s named; a room named twice is judged once) over the local
    dates `from`..`to`: the document `ventwatch analyse --format json` prints."""
    if last < first:
        raise HTTPException(status_code=400, detail="'to' is before 'from'")
    if (last - first).days + 1 > MAX_DAYS:
        raise HTTPException(status_code=400, detail=f"at most {MAX_DAYS} days at a time")
    names = None if room is None else list(dict.fromkeys(find_room(site, n).name for n in room))
    start, end = local_day_bounds(first, last, site.tz)
    means = read_minutes(store, site, profile, names, start, min(end, now))
    return to_json(analyse_site(means, site, profile, first, last, rooms=names, until=now))
