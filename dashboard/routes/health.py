"""`/healthz` for Docker and load balancers: up only when the store answers."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ventwatch.dashboard.deps import NowDep, StoreDep
from ventwatch.store import Store

router = APIRouter(tags=["health"])


def store_problem(store: Store, now: datetime) -> str | None:
    """Asks for readings from `now` on: a real round trip to the store that returns nothing.
    None when it answers, else what went wrong."""
    try:
        store.latest(since=now)
    except Exception as exc:  # any failure of the store means "not healthy", with the reason
        return f"store: {type(exc).__name__}: {exc}"
    return None


@router.get("/healthz")
def healthz(store: StoreDep, now: NowDep) -> JSONResponse:
    problem = store_problem(store, now)
    if problem is not None:
        return JSONResponse({"status": "error", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ok"})
