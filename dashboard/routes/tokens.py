"""`/tokens`: a user's own API tokens, to make and revoke without asking whoever runs the
server (`ventwatch users token` is for them); an admin sees and may revoke everyone's.

A new token is shown once, in the answer to the form that made it (sent `no-store`, as every
page); afterwards only its id, label and dates are. Tokens act as the user who made them, so
a page reached with a bearer token cannot make more: the forms need a signed-in session's
CSRF token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ventwatch.accounts import AccountError, Accounts, Role, User
from ventwatch.dashboard.auth import AccountsDep, CsrfChecked, UserDep
from ventwatch.dashboard.deps import BaseDep, NowDep, TemplatesDep

router = APIRouter(tags=["pages"])

# What the form offers; "" is a token that lasts until it is revoked.
EXPIRY_CHOICES = {"30": "30 days", "90": "90 days", "365": "a year", "": "never (until revoked)"}
DEFAULT_EXPIRY = "90"
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _page(
    request: Request,
    templates: TemplatesDep,
    accounts: Accounts,
    user: User,
    now: datetime,
    *,
    new: tuple[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    everyone = user.role is Role.ADMIN
    return templates.TemplateResponse(
        request,
        "tokens.html",
        {
            "tokens": accounts.tokens(None if everyone else user.name),
            "everyone": everyone,
            "now": now,
            "new": new,  # (label, token) just made: shown this once
            "error": error,
            "choices": EXPIRY_CHOICES,
            "default_expiry": DEFAULT_EXPIRY,
        },
        status_code=status,
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(
    user: UserDep,
    request: Request,
    templates: TemplatesDep,
    accounts: AccountsDep,
    now: NowDep,
) -> HTMLResponse:
    """The signed-in user's API tokens (an admin's page lists everyone's)."""
    return _page(request, templates, accounts, user, now)


@router.post("/tokens", response_class=HTMLResponse)
def make_token(
    user: UserDep,  # first: the CSRF check below needs the session this signs in
    _csrf: Annotated[None, CsrfChecked],
    request: Request,
    templates: TemplatesDep,
    accounts: AccountsDep,
    now: NowDep,
    label: Annotated[str, Form(max_length=100)],
    expires_days: Annotated[str, Form(max_length=4)] = DEFAULT_EXPIRY,
) -> HTMLResponse:
    """A new token acting as the signed-in user, shown once in the page this answers with."""
    if expires_days not in EXPIRY_CHOICES:
        return _page(request, templates, accounts, user, now, error="Choose an expiry.", status=400)
    expires = None if not expires_days else now + timedelta(days=int(expires_days))
    try:
        secret, made = accounts.issue_token(user.name, label, expires, now)
    except AccountError as exc:
        return _page(request, templates, accounts, user, now, error=str(exc), status=400)
    return _page(request, templates, accounts, user, now, new=(made.label, secret))


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    user: UserDep,
    _csrf: Annotated[None, CsrfChecked],
    accounts: AccountsDep,
    base: BaseDep,
    token_id: TokenId,
) -> RedirectResponse:
    """Revoke one token: one's own, or anyone's for an admin. It stops working at once."""
    try:
        accounts.revoke_token(token_id, by=user)
    except AccountError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return RedirectResponse(f"{base}/tokens", status_code=303)
