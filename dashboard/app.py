"""The app factory: everything the dashboard needs is passed in, nothing is global.

`ventwatch run` passes the live store and ingest's counters; tests pass a temporary store and
a fixed clock. Each area of the dashboard is a router of its own under `routes/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ventwatch.accounts import Accounts, LoginThrottle
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard import present
from ventwatch.dashboard.auth import LoginRequiredError
from ventwatch.dashboard.deps import IngestStats
from ventwatch.dashboard.rooms import TodayCache
from ventwatch.dashboard.routes import api, health, login, overview
from ventwatch.store import Store

HERE = Path(__file__).resolve().parent

# Only our own files may run or style the page: a payload that slipped past escaping still
# could not load or execute anything.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    site: SiteConfig,
    store: Store,
    *,
    accounts: Accounts,
    ingest_stats: IngestStats | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    # FastAPI's own schema and docs routes would be open to anyone: the schema is served by
    # `routes/api.py` behind a login instead (and Swagger UI would load scripts from a CDN).
    app = FastAPI(
        title=f"ventwatch: {site.site.name}", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.site = site
    app.state.accounts = accounts
    app.state.login_throttle = LoginThrottle()
    app.state.store = store
    app.state.profile = load_profile(site.guidance.profile)
    app.state.ingest_stats = ingest_stats
    app.state.clock = clock
    app.state.today = TodayCache()
    app.state.templates = _templates()

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, exc: LoginRequiredError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": "sign in, or send an API token (Authorization: Bearer ...)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)

    # Style and script only: no data in there, and the login page needs them.
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for area in (login, overview, api, health):
        app.include_router(area.router)
    return app


def _templates() -> Jinja2Templates:
    """Autoescaping always on (not chosen by file suffix): room names and payloads are data."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=present.ago,
        quantity=present.quantity,
        floor_name=present.floor_name,
        truncate_text=present.truncate,
    )
    env.globals.update(band_style=present.band_style)
    return Jinja2Templates(env=env, context_processors=[_account])


def _account(request: Request) -> dict[str, object]:
    """Who is signed in, for the account bar of every page, and the token its forms carry."""
    session = getattr(request.state, "session", None)
    # Names of their own: a processor's keys override a route's context of the same name.
    return {
        "signed_in": getattr(request.state, "user", None),
        "session_csrf": session.csrf if session is not None else "",
    }
