"""`/healthz` for Docker and load balancers: up only when the store answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ventwatch.dashboard.deps import NowDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(store: StoreDep, now: NowDep) -> JSONResponse:
    """Asks for readings from `now` on: a real round trip to the store that returns nothing."""
    try:
        store.latest(since=now)
    except Exception as exc:  # any failure of the store means "not healthy", with the reason
        reason = f"store: {type(exc).__name__}: {exc}"
        return JSONResponse({"status": "error", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ok"})
