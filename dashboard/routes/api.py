"""The JSON API: what the page script polls, and what other tools can read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ventwatch.dashboard.auth import EVERYONE, MANAGERS
from ventwatch.dashboard.deps import IngestDep, RoomsNowDep
from ventwatch.dashboard.rooms import RoomsNow

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/openapi.json", dependencies=[Depends(EVERYONE)], include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    """The API's OpenAPI schema, for signed-in users and token holders."""
    return request.app.openapi()


@router.get("/rooms", dependencies=[Depends(EVERYONE)])
def rooms(now: RoomsNowDep) -> RoomsNow:
    """Every room of the site with its band, newest values and their age."""
    return now


@router.get("/ingest", dependencies=[Depends(MANAGERS)])
def ingest(stats: IngestDep) -> dict[str, Any]:
    """Ingest's counters by outcome and recent quarantined messages ({} without ingest)."""
    return stats or {}
