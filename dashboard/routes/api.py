"""The JSON API: what the page script polls, and what other tools can read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from ventwatch import __version__
from ventwatch.dashboard.auth import EVERYONE, MANAGERS
from ventwatch.dashboard.compression import VARY, accepts_gzip
from ventwatch.dashboard.deps import IngestDep, RoomsNowJSONDep
from ventwatch.dashboard.rooms import RoomsNow

router = APIRouter(prefix="/api", tags=["api"])


# The two routes below do no I/O of their own: `async def` keeps them on the event loop, where
# a plain `def` would be a round trip through a worker thread per request.
@router.get("/rooms", dependencies=[Depends(EVERYONE)], response_model=RoomsNow)
async def rooms(request: Request, now: RoomsNowJSONDep) -> Response:
    """Every room of the site with its band, newest values and their age."""
    # Serialised and compressed once a second for every caller (see rooms.NowCache).
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        headers = {"content-encoding": "gzip", **VARY}
        return Response(now.gzip, media_type="application/json", headers=headers)
    return Response(now.json, media_type="application/json", headers=VARY)


@router.get("/version", dependencies=[Depends(EVERYONE)])
async def version() -> dict[str, str]:
    """The ventwatch version answering. Also the trivial route `bench/dashboard.py` compares
    the data routes with (same login check, no data)."""
    return {"version": __version__}


@router.get("/ingest", dependencies=[Depends(MANAGERS)])
def ingest(stats: IngestDep) -> dict[str, Any]:
    """Ingest's counters by outcome and recent quarantined messages ({} without ingest)."""
    return stats or {}
