"""`/sensors`: every sensor with its last message, battery, signal, health and quarantine
counts, for the people who look after them; `/api/sensors` says the same in JSON; admins
give unassigned sensors a room (`POST /sensors/assign`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ventwatch.accounts import Role
from ventwatch.analysis.series import hold_for, holds
from ventwatch.assignments import Assignments
from ventwatch.dashboard.auth import MANAGERS, AdminDep, CsrfChecked, ManagerDep
from ventwatch.dashboard.dates import moment
from ventwatch.dashboard.deps import BaseDep, NowDep, ProfileDep, SiteDep, TemplatesDep
from ventwatch.dashboard.sensors import HEALTH_STYLE, QUARANTINE_REASONS, SensorsNow, sensors_now
from ventwatch.ingest.decoders import FAMILIES

log = logging.getLogger(__name__)
router = APIRouter()

# Quantity key -> (label, unit, decimals), for an unassigned sensor's last values: what a
# person compares with the rooms to tell where the sensor hangs.
QUANTITY_LABELS = {
    "co2_ppm": ("CO2", "ppm", 0),
    "temperature_c": ("Temperature", "°C", 1),
    "humidity_pct": ("Humidity", "%", 0),
    "pressure_hpa": ("Pressure", "hPa", 0),
    "battery_pct": ("Battery", "%", 0),
}


def get_assignments(request: Request) -> Assignments:
    assignments: Assignments = request.app.state.assignments
    return assignments


AssignmentsDep = Annotated[Assignments, Depends(get_assignments)]


def get_sensors_now(
    request: Request,
    site: SiteDep,
    profile: ProfileDep,
    assignments: AssignmentsDep,
    now: NowDep,
) -> SensorsNow:
    # A sensor is silent when its room would show as stale: one rule for both pages.
    return sensors_now(
        site, request.app.state.sensors, assignments, holds(site, profile), hold_for(profile), now
    )


SensorsNowDep = Annotated[SensorsNow, Depends(get_sensors_now)]


@router.get("/sensors", response_class=HTMLResponse, tags=["pages"])
def sensors_page(
    user: ManagerDep,  # first: nothing else is computed for a request that is refused
    request: Request,
    sensors: SensorsNowDep,
    site: SiteDep,
    templates: TemplatesDep,
) -> HTMLResponse:
    tz = site.tz

    def when(time: datetime | None) -> str:
        """Site time with the day: a sensor may have been quiet since last week."""
        return moment(time, tz)

    return templates.TemplateResponse(
        request,
        "sensors.html",
        {
            "listing": sensors,
            "unassigned": [s for s in sensors.sensors if s.room is None],
            "is_admin": user.role == Role.ADMIN,
            "rooms": site.rooms,
            "health_style": HEALTH_STYLE.__getitem__,
            "quarantine_reasons": QUARANTINE_REASONS,
            "quantity_labels": QUANTITY_LABELS,
            "when": when,
        },
    )


@router.get("/api/sensors", dependencies=[Depends(MANAGERS)], tags=["api"])
def sensors_api(sensors: SensorsNowDep) -> SensorsNow:
    """Every sensor of the site file or heard by ingest: room (null: unassigned), last
    message, battery, signal (`dBm` RSSI or Zigbee `lqi` 0-255), health and counts."""
    return sensors


@router.post("/sensors/assign", tags=["pages"])
def assign(
    user: AdminDep,  # first: the CSRF check below needs the session this signs in
    _csrf: Annotated[None, CsrfChecked],
    site: SiteDep,
    assignments: AssignmentsDep,
    base: BaseDep,
    now: NowDep,
    family: Annotated[str, Form(max_length=120)],
    device: Annotated[str, Form(min_length=1, max_length=500)],
    room: Annotated[str, Form(max_length=120)],
) -> RedirectResponse:
    """Give an unassigned sensor a room; ingest files its next readings there."""
    if family not in FAMILIES | {g.name for g in site.decoders.generic}:
        raise HTTPException(status_code=400, detail=f"no sensor family {family!r}")
    if room not in {r.name for r in site.rooms}:
        raise HTTPException(status_code=400, detail=f"no room {room!r} on this site")
    in_file = site.room_of().get((family, device))
    if in_file is not None:
        raise HTTPException(
            status_code=409,
            detail=f"the site file puts this sensor in {in_file!r}: change it there",
        )
    assignments.assign(site.site.name, family, device, room, user.name, now)
    log.info("%s assigned %s sensor %r to room %r", user.name, family, device, room)
    return RedirectResponse(f"{base}/sensors", status_code=303)
