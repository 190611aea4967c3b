"""`/login` and `/logout`: the only pages anyone may open without an account.

The login form is protected against cross-site posting by a random token that is both in a
cookie and in the form (another site can make a browser post, but cannot read the cookie to
copy it into the form). Failed logins are throttled per (name, client address), per address
and per name (`accounts.LoginThrottle`); the client address is the one `auth.client_address`
gives, which a forwarded header changes only from a trusted proxy.
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ventwatch.accounts import SESSION_LIFETIME, User
from ventwatch.dashboard.auth import (
    EVERYONE,
    SESSION_COOKIE,
    AccountsDep,
    CsrfChecked,
    client_address,
)
from ventwatch.dashboard.deps import BaseDep, NowDep, TemplatesDep

router = APIRouter(tags=["login"])

LOGIN_CSRF_COOKIE = "ventwatch_login_csrf"


def _safe_next(target: str, base: str) -> str:
    """Only a path on this server: a login link must not send people elsewhere afterwards."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return f"{base}/"
    return target


def may_enter(request: Request, user: User) -> bool:
    """A user may sign in here who may see one of the sites this app serves (one site's
    dashboard serves one; the site list of several serves them all)."""
    return any(user.may_see(name) for name in request.app.state.site_names)


def _duration(seconds: float) -> str:
    """A wait in words, rounded up: the name back-off starts at a second, the limits at
    minutes."""
    if seconds < 60:
        n = max(1, math.ceil(seconds))
        return f"{n} second{'' if n == 1 else 's'}"
    n = math.ceil(seconds / 60)
    return f"{n} minute{'' if n == 1 else 's'}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _form(
    request: Request,
    templates: TemplatesDep,
    next_path: str,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"site_name": request.app.state.title, "next": next_path, "csrf": token, "error": error},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, templates: TemplatesDep, base: BaseDep, next: str = "/"
) -> HTMLResponse:
    return _form(request, templates, _safe_next(next, base))


@router.post("/login", response_model=None)
def login(
    request: Request,
    templates: TemplatesDep,
    base: BaseDep,
    accounts: AccountsDep,
    now: NowDep,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = _safe_next(next, base)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf):
        return _form(request, templates, target, "The form expired: please try again.", 400)
    throttle = request.app.state.login_throttle
    address = client_address(request)
    # Counted as a failure from here until the password proves right, so guesses sent
    # together cannot all be checked before the first of them is counted.
    wait = throttle.begin(name, address, now)
    if wait > 0:
        response = _form(
            request,
            templates,
            target,
            f"Too many failed logins: try again in {_duration(wait)}.",
            429,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = accounts.check_password(name, password)
    if user is None or not may_enter(request, user):
        return _form(request, templates, target, "Wrong name or password.", 401)
    throttle.succeeded(name, address, now)
    token, _ = accounts.start_session(user, now)
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE)
    return redirect


@router.post("/logout", dependencies=[Depends(EVERYONE), CsrfChecked])
def logout(request: Request, accounts: AccountsDep, base: BaseDep) -> RedirectResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(token)
    response = RedirectResponse(f"{base}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
