"""The app factory: everything the dashboard needs is passed in, nothing is global.

`ventwatch run` passes the live store and ingest's counters; tests pass a temporary store and
a fixed clock. Each area of the dashboard is a router of its own under `routes/`.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from anyio import to_thread
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ventwatch.accounts import Accounts, LoginThrottle
from ventwatch.alerts.alerting import Alerting
from ventwatch.analysis.profiles import Profile, load_profile
from ventwatch.assignments import Assignments
from ventwatch.clock import simulated_now, utc_now
from ventwatch.config import SiteConfig
from ventwatch.dashboard import dates, present
from ventwatch.dashboard.auth import LoginRequiredError, for_machines
from ventwatch.dashboard.bad_request import in_plain_words
from ventwatch.dashboard.deps import IngestStats
from ventwatch.dashboard.export_limit import ExportLimit
from ventwatch.dashboard.export_weeks import ExportWeeksCache
from ventwatch.dashboard.headers import NO_STORE, SECURITY_HEADERS
from ventwatch.dashboard.rooms import NowCache, TodayCache
from ventwatch.dashboard.routes import (
    alerts,
    api,
    health,
    history,
    live,
    login,
    metrics,
    overview,
    register,
    reports,
    room,
    schema,
    site_list,
    tokens,
    week,
)
from ventwatch.dashboard.routes import sensors as sensor_pages
from ventwatch.dashboard.sites import SITES_PREFIX, SiteSummaries, mount_point
from ventwatch.dashboard.tiles import TileCache
from ventwatch.dashboard.week import WeekCache
from ventwatch.ingest.sensors import SensorRegistry
from ventwatch.register import RegisterEdits
from ventwatch.reports.formats import FORMATS
from ventwatch.reports.pdf_format import PdfLimits
from ventwatch.store import Store

HERE = Path(__file__).resolve().parent
# Found, not imported: the Python side of plotly is not needed, only the file it ships.
PLOTLY_JS = Path(str(find_spec("plotly").origin)).parent / "package_data"  # type: ignore[union-attr]


class SecurityHeaders:
    """`SECURITY_HEADERS` on every response that has not set its own (a chart page sets its
    own CSP), and `NO_STORE` on every answer but a static file's (the router has put the app
    that answered in the scope by then). Plain ASGI rather than `@app.middleware("http")`,
    which streams every response through a task of its own: under load that cost more than
    the rest of a small route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not isinstance(scope.get("endpoint"), StaticFiles):
                    headers.setdefault(*NO_STORE)
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def create_app(
    site: SiteConfig,
    store: Store,
    *,
    accounts: Accounts,
    ingest_stats: IngestStats | None = None,
    sensors: SensorRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
    alerting: Alerting | None = None,
    base: str = "",
) -> FastAPI:
    """One site's dashboard. `base` is where it is mounted: "" when it is the whole app,
    `/sites/<slug>` inside a site list (`create_site_list`)."""
    app = base_app(site.site.name, (site.site.name,), accounts, clock, base, site_pages=True)
    app.state.site = site
    app.state.store = store
    app.state.profile = load_profile(site.guidance.profile)
    _status_words(app.state.templates, app.state.profile)
    app.state.ingest_stats = ingest_stats
    app.state.sensors = sensors  # what ingest in this process has heard, per sensor
    # The alert monitor and outbox of this process; None: the alerts pages say it is not here.
    app.state.alerting = alerting
    # Rooms given to sensors from the dashboard, beside the accounts (ingest reads them too).
    app.state.assignments = Assignments(accounts.path)
    # The room register as changed on the dashboard, in the same file (`ventwatch.register`).
    app.state.register = RegisterEdits(accounts.path, site.site.name)
    app.state.today = TodayCache()
    app.state.now_cache = NowCache()
    app.state.tile_cache = TileCache()
    app.state.week = WeekCache()
    app.state.export_weeks = ExportWeeksCache()  # the weeks the export form offers
    # Plotly.js as the installed `plotly` package ships it: no CDN, no build step.
    app.mount("/vendor/plotly", StaticFiles(directory=PLOTLY_JS), name="plotly")
    for area in (
        login,
        overview,
        room,
        register,
        history,
        live,
        week,
        sensor_pages,
        alerts,
        reports,
        api,
        schema,
        metrics,
        health,
        tokens,
    ):
        app.include_router(area.router)
    return app


def create_site_list(
    site_apps: Sequence[FastAPI],
    accounts: Accounts,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """Several sites' dashboards, each made by `create_app(..., base=mount_point(name))` and
    mounted there, and at `/` the list of the sites a user may see (`routes/site_list.py`).
    Only the accounts are shared: one login opens every site a user is scoped to."""
    names = [a.state.site.site.name for a in site_apps]
    bases = [a.state.base for a in site_apps]
    if bases != [mount_point(n) for n in names] or len(set(bases)) != len(bases):
        raise ValueError(f"each site needs a name of its own, also as a URL: {names}")
    app = base_app(
        "Your sites", tuple(names), accounts, clock, "", site_pages=False, lifespan=_site_list_life
    )
    # The list adds up the sites' bands by name: it says them in the first site's words.
    _status_words(app.state.templates, site_apps[0].state.profile)
    app.state.site_apps = tuple(site_apps)
    # Each site's counts, made in the background while the app runs (`_site_list_life`).
    app.state.site_summaries = SiteSummaries(site_apps, clock)
    app.state.now_cache = NowCache()  # `/api/sites` as bytes, once a second
    for site_app in site_apps:
        # One count of failed logins, whichever of the list's or the sites' forms they use.
        site_app.state.login_throttle = app.state.login_throttle
        # One allowance of exports per user, whichever site they export from.
        site_app.state.export_limit = app.state.export_limit
    for area in (login, site_list, schema, tokens):
        app.include_router(area.router)
    for site_app in site_apps:
        app.mount(site_app.state.base, site_app)
    return app


@asynccontextmanager
async def _site_list_life(app: FastAPI) -> AsyncIterator[None]:
    """While a site list serves: its sites' counts made by a thread of their own
    (`sites.SiteSummaries.run`), stopped with the app.

    And first, the objects every site's dashboard was built of (routes, models, templates:
    half a million for 400 sites), kept for the life of the process, are moved out of the
    garbage collector's sight (`gc.freeze`). Each full collection walked them all, a pause of
    a fifth of a second that every request in flight waited through: with 400 sites,
    `/api/rooms` of one site had a p95 over 250 ms under 50 clients, 85 ms once frozen."""
    gc.collect()
    gc.freeze()
    stop = threading.Event()
    counting = threading.Thread(
        target=app.state.site_summaries.run, args=(stop,), name="site-list-counts", daemon=True
    )
    counting.start()
    try:
        yield
    finally:
        stop.set()
        await to_thread.run_sync(counting.join, 10.0)


def base_app(
    title: str,  # what the login page and the API schema call it
    site_names: tuple[str, ...],
    accounts: Accounts,
    clock: Callable[[], datetime],
    base: str,
    *,
    site_pages: bool,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """What every ventwatch app has, a site's dashboard or a site list: accounts and the login
    throttle, templates, static files, security headers, and the answers to a missing login
    or an HTTP error."""
    # FastAPI's own schema and docs routes would be open to anyone: the schema is served by
    # `routes/schema.py` behind a login instead (and Swagger UI would load scripts from a CDN).
    app = FastAPI(
        title=f"ventwatch: {title}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.title = title
    app.state.site_names = site_names  # a user who may see none of these is refused
    app.state.base = base
    app.state.accounts = accounts
    app.state.login_throttle = LoginThrottle()
    app.state.export_limit = ExportLimit.from_env()  # report exports per user and minute
    PdfLimits.from_env(os.environ)  # read again at the first PDF: a wrong one fails the start
    app.state.clock = clock
    app.state.templates = _templates(base, site_pages)

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, exc: LoginRequiredError) -> Response:
        if for_machines(request):
            return JSONResponse(
                {"detail": "sign in, or send an API token (Authorization: Bearer ...)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{base}/login?{urlencode({'next': target})}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """A page says what went wrong in a page (with the account bar, so a refused user
        sees who they are signed in as); the API keeps FastAPI's JSON."""
        if for_machines(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        pages: Jinja2Templates = app.state.templates
        return pages.TemplateResponse(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        """A page asked for with a parameter it cannot take says which, the value and what
        it takes, in a page (`bad_request`); the API keeps FastAPI's 422 JSON."""
        if for_machines(request):
            return await request_validation_exception_handler(request, exc)
        pages: Jinja2Templates = app.state.templates
        return pages.TemplateResponse(
            request,
            "error.html",
            {"status": 422, "detail": in_plain_words(exc.errors())},
            status_code=422,
        )

    # Style and script only: no data in there, and the login page needs them.
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


def _templates(base: str, site_pages: bool) -> Jinja2Templates:
    """Autoescaping always on (not chosen by file suffix): room names and payloads are data.
    Every link starts with `base`; a site mounted in a site list links back to the list."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=present.ago,
        counted=present.counted,
        quantity=present.quantity,
        floor_name=present.floor_name,
        truncate_text=present.truncate,
        day=dates.day,  # every date on a page, as en-GB writes it (dashboard/dates.py)
        moment=dates.moment,
    )
    env.globals.update(
        timedelta=timedelta,
        locale=dates.LOCALE,  # the pages' <html lang>, and the language their dates are in
        base=base,
        site_pages=site_pages,  # a site's own pages (overview, week...) or a site list's
        site_list=base.startswith(SITES_PREFIX),  # a site of a site list links back to it
        export_formats=list(FORMATS.values()),  # the export form's choices, in their order
    )
    return Jinja2Templates(env=env, context_processors=[_account, _simulated_day])


def _status_words(templates: Jinja2Templates, profile: Profile) -> None:
    """Every page says a band or a status in the words of `profile` (its `statuses`)."""
    templates.env.globals.update(
        band_style=partial(present.band_style, profile),
        status_style=partial(present.status_style, profile),
    )


def _account(request: Request) -> dict[str, object]:
    """Who is signed in, for the account bar of every page, and the token its forms carry."""
    session = getattr(request.state, "session", None)
    # Names of their own: a processor's keys override a route's context of the same name.
    return {
        "signed_in": getattr(request.state, "user", None),
        "session_csrf": session.csrf if session is not None else "",
    }


def _simulated_day(request: Request) -> dict[str, object]:
    """The banner every page shows when the clock is the demo's simulated school day
    ("Simulated school day — Thursday 10:42", the site's local time at the request), so
    nobody takes its "today" for the wall clock's; nothing on a real site."""
    now = simulated_now(request.app.state.clock)
    if now is None:
        return {"simulated_day": None}
    state = request.app.state
    site = state.site if hasattr(state, "site") else state.site_apps[0].state.site
    return {"simulated_day": now.astimezone(site.tz).strftime("%A %H:%M")}
