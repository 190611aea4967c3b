"""The app factory: everything the dashboard needs is passed in, nothing is global.

`ventwatch run` passes the live store and ingest's counters; tests pass a temporary store and
a fixed clock. Each area of the dashboard is a router of its own under `routes/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard import present
from ventwatch.dashboard.deps import IngestStats
from ventwatch.dashboard.rooms import TodayCache
from ventwatch.dashboard.routes import api, health, overview
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
    ingest_stats: IngestStats | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    app = FastAPI(title=f"ventwatch: {site.site.name}", docs_url="/api/docs", redoc_url=None)
    app.state.site = site
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

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for area in (overview, api, health):
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
    return Jinja2Templates(env=env)
