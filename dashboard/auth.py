"""Login and roles for every page and API route.

Each route names the roles it admits with one of the `Require` dependencies below; a test walks
the app's route table and fails for any route without one, so a new route cannot be left
open by accident. A browser signs in with a session cookie (HttpOnly, SameSite=Lax, Secure
over https); an integration sends `Authorization: Bearer <token>` (`ventwatch users token`,
or the `/tokens` page), refused once the token is revoked or has expired.

Anonymous requests get 401 on `/api/...` and `/metrics`, and a redirect to the login page
elsewhere; a signed-in user without the role, or without the site, gets 403.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request

from ventwatch.accounts import Accounts, Role, Session, User

SESSION_COOKIE = "ventwatch_session"


def for_machines(request: Request) -> bool:
    """Machines' routes (the API, Prometheus' `/metrics`) answer in JSON, and an anonymous
    request with 401; a page redirects a person to the login form instead."""
    path = request.url.path.removeprefix(request.app.state.base)
    return path.startswith("/api/") or path == "/metrics"


def client_address(request: Request) -> str:
    """The address of the client, for counting failed logins. uvicorn has already replaced
    the connecting address with X-Forwarded-For's when, and only when, the connection came
    from a proxy VENTWATCH_TRUSTED_PROXIES names (`service.serve`): a header that anyone else
    sends changes nothing here."""
    return request.client.host if request.client else "unknown"


class LoginRequiredError(Exception):
    """Nobody is signed in: the app's handler answers 401 (API) or redirects (pages)."""


def get_accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


AccountsDep = Annotated[Accounts, Depends(get_accounts)]


def authenticate(request: Request, accounts: Accounts) -> tuple[User, Session | None] | None:
    """The user behind the request's bearer token or session cookie, if any."""
    now = request.app.state.clock()
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = accounts.token_user(header[7:].strip(), now)
        return None if user is None else (user, None)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        session = accounts.session(token, now)
        if session is not None:
            return session.user, session
    return None


class Require:
    """A dependency admitting signed-in users of `roles` who may see this site."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, request: Request, accounts: AccountsDep) -> User:
        found = authenticate(request, accounts)
        if found is None:
            raise LoginRequiredError
        user, session = found
        sites = request.app.state.site_names  # this site's, or every site of a site list
        if user.role not in self.roles or not any(user.may_see(name) for name in sites):
            raise HTTPException(status_code=403, detail="your account may not see this")
        request.state.user = user
        request.state.session = session
        return user


EVERYONE = Require(*Role)
MANAGERS = Require(Role.ADMIN, Role.SITE_MANAGER)
# Alerts are the rep's workflow (acknowledge, act, close, show the employer the log); the
# people who run the premises see and act on them too. Staff see the rooms, not the workflow.
ALERT_ROLES = Require(Role.ADMIN, Role.SITE_MANAGER, Role.REP)
ADMINS = Require(Role.ADMIN)

UserDep = Annotated[User, Depends(EVERYONE)]
ManagerDep = Annotated[User, Depends(MANAGERS)]
AlertUserDep = Annotated[User, Depends(ALERT_ROLES)]
AdminDep = Annotated[User, Depends(ADMINS)]


def check_csrf(request: Request, csrf: Annotated[str, Form()]) -> None:
    """Forms of a signed-in session carry its CSRF token: another site cannot post them."""
    session: Session | None = getattr(request.state, "session", None)
    if session is None or not secrets.compare_digest(csrf, session.csrf):
        raise HTTPException(status_code=403, detail="the form's security token is wrong")


CsrfChecked = Depends(check_csrf)
