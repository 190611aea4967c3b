"""The JSON API: what the page script polls, and what other tools can read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ventwatch.dashboard.deps import IngestDep, RoomsNowDep
from ventwatch.dashboard.rooms import RoomsNow

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/rooms")
def rooms(now: RoomsNowDep) -> RoomsNow:
    """Every room of the site with its band, newest values and their age."""
    return now


@router.get("/ingest")
def ingest(stats: IngestDep) -> dict[str, Any]:
    """Ingest's counters by outcome and recent quarantined messages ({} without ingest)."""
    return stats or {}
