"""`/healthz` for Docker and load balancers: up only when the store answers.

It is public (no login), so it says only "store down": the store's error names its host and
port (or its file), which stay in the log for whoever runs the server.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ventwatch.dashboard.deps import NowDep, StoreDep
from ventwatch.store import Store

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

STORE_DOWN = "store down"


def store_problem(store: Store, now: datetime) -> str | None:
    """Asks for readings from `now` on: a real round trip to the store that returns nothing.
    None when it answers, else `STORE_DOWN` (the reason goes to the log)."""
    try:
        store.latest(since=now)
    except Exception as exc:  # any failure of the store means "not healthy"
        log.warning("health check: store: %s: %s", type(exc).__name__, exc)
        return STORE_DOWN
    return None


@router.get("/healthz")
def healthz(store: StoreDep, now: NowDep) -> JSONResponse:
    problem = store_problem(store, now)
    if problem is not None:
        return JSONResponse({"status": "error", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ok"})
