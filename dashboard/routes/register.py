"""`/room/register`: a room's entry in the register of the joint union guide's step 2
(windows, plant, air cleaner, risk assessment and its review), changed by site managers and
admins. Everyone who may see the room reads the register on its page (`routes/room.py`).

Edits go through `ventwatch.register.RegisterEdits`: each changed key overrides the site
file's value and is logged with who and when; the same rules as `check-config` apply, so
the dashboard cannot record what the site file could not. "Back to the site file" drops the
room's overrides.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ventwatch.config import Room, SiteConfig
from ventwatch.dashboard.auth import CsrfChecked, ManagerDep
from ventwatch.dashboard.deps import BaseDep, NowDep, SiteDep, TemplatesDep
from ventwatch.dashboard.routes.room import find_room
from ventwatch.register import WINDOW_STATES, WINDOW_WORDS, RegisterEdits, RegisterError

log = logging.getLogger(__name__)
router = APIRouter(tags=["pages"])

YES_NO = {"": None, "yes": True, "no": False}
# Each form field as it arrives: bounded, so a post cannot make the server hold much.
Count = Annotated[str, Form(max_length=10)]
Choice = Annotated[str, Form(max_length=3)]
Day = Annotated[str, Form(max_length=10)]
Text = Annotated[str, Form(max_length=400)]


def _edits(request: Request) -> RegisterEdits:
    edits: RegisterEdits = request.app.state.register
    return edits


def _page(
    request: Request,
    templates: TemplatesDep,
    site: SiteConfig,
    room: Room,
    values: dict[str, str],
    problems: list[str],
    status_code: int = 200,
) -> HTMLResponse:
    register = _edits(request).effective(site)[room.name]
    return templates.TemplateResponse(
        request,
        "room_register.html",
        {
            "site": site,
            "room": room,
            "register": register,
            "values": values,
            "problems": problems,
            "window_words": {state: WINDOW_WORDS[state] for state in WINDOW_STATES},
            "events": _edits(request).log([room.name])[-20:],
        },
        status_code=status_code,
    )


@router.get("/room/register", response_class=HTMLResponse)
def register_form(
    user: ManagerDep,  # first: nothing is computed for a refused request
    request: Request,
    site: SiteDep,
    templates: TemplatesDep,
    name: Annotated[str, Query(max_length=200)],
) -> HTMLResponse:
    """The room's register as a form, filled with what it says now."""
    room = find_room(site, name)
    values = _edits(request).effective(site)[room.name].values()
    return _page(request, templates, site, room, {k: _text(v) for k, v in values.items()}, [])


def _text(value: Any) -> str:
    """A register value as its form field shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value.isoformat() if isinstance(value, date) else str(value)


def _parse(form: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The form's text as register values (an empty field: not recorded), and what could
    not be read."""
    values: dict[str, Any] = {}
    problems = []
    for key, text in form.items():
        text = text.strip()
        if key.startswith("windows_"):
            if text and not text.isdigit():
                problems.append(f"{key}: {text!r} is not a whole number")
                continue
            values[key] = int(text) if text else None
        elif key in ("mechanical_working", "air_cleaner", "shared_with_staff"):
            if text not in YES_NO:
                problems.append(f"{key}: choose yes, no or not recorded")
                continue
            values[key] = YES_NO[text]
        elif key in ("assessed_on", "review_due"):
            try:
                values[key] = date.fromisoformat(text) if text else None
            except ValueError:
                problems.append(f"{key}: {text!r} is not a date (YYYY-MM-DD)")
        else:
            values[key] = text or None
    return values, problems


@router.post("/room/register", response_class=HTMLResponse)
def change_register(
    user: ManagerDep,  # first: the CSRF check below needs the session this signs in
    _csrf: Annotated[None, CsrfChecked],
    request: Request,
    site: SiteDep,
    templates: TemplatesDep,
    base: BaseDep,
    now: NowDep,
    room: Annotated[str, Form(max_length=200)],
    windows_working: Count = "",
    windows_restricted: Count = "",
    windows_painted_shut: Count = "",
    windows_broken: Count = "",
    mechanical: Text = "",
    mechanical_working: Choice = "",
    air_cleaner: Choice = "",
    assessed_on: Day = "",
    review_due: Day = "",
    shared_with_staff: Choice = "",
    shared_where: Text = "",
    notes: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record the form's values; a value the register's rules refuse changes nothing and
    the form comes back saying why (400)."""
    found = find_room(site, room)
    form = {
        "windows_working": windows_working,
        "windows_restricted": windows_restricted,
        "windows_painted_shut": windows_painted_shut,
        "windows_broken": windows_broken,
        "mechanical": mechanical,
        "mechanical_working": mechanical_working,
        "air_cleaner": air_cleaner,
        "assessed_on": assessed_on,
        "review_due": review_due,
        "shared_with_staff": shared_with_staff,
        "shared_where": shared_where,
        "notes": notes,
    }
    values, problems = _parse(form)
    if not problems:
        try:
            changed = _edits(request).change(found, site, values, user.name, now)
        except RegisterError as exc:
            problems = exc.problems
        else:
            log.info("%s changed the register of %r: %s", user.name, found.name, changed)
            return RedirectResponse(_room_page(base, found), status_code=303)
    return _page(request, templates, site, found, form, problems, status_code=400)


@router.post("/room/register/reset")
def reset_register(
    user: ManagerDep,
    _csrf: Annotated[None, CsrfChecked],
    request: Request,
    site: SiteDep,
    base: BaseDep,
    now: NowDep,
    room: Annotated[str, Form(max_length=200)],
) -> RedirectResponse:
    """Drop the room's dashboard values: the site file's stand again (logged)."""
    found = find_room(site, room)
    dropped = _edits(request).reset(found, user.name, now)
    if dropped:
        log.info("%s put the register of %r back to the site file", user.name, found.name)
    return RedirectResponse(_room_page(base, found), status_code=303)


def _room_page(base: str, room: Room) -> str:
    return f"{base}/room?{urlencode({'name': room.name})}#register-heading"
