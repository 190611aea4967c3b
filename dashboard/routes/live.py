"""`/api/rooms/stream`: the overview's live feed, as server-sent events.

A new reading reaches an open overview within about a second, without the page polling: the
server looks at the newest readings every `TICK_S` and sends the whole `/api/rooms` document
when anything a tile shows has changed (and at least every `REFRESH_S`, so ages keep
counting). A stream ends after `LIFETIME_S`; the browser's EventSource reconnects by itself,
and the reconnection passes the login check again.

The stream also asks every tick whether its login still holds, and ends when it does not: a
session that signs out here stops receiving within a tick, one ended by another process
(`ventwatch users remove`, `set-password`) or a revoked or expired token within the time the
accounts are remembered (5 s). Waiting for `LIFETIME_S` would leave a signed-out browser, or
a shared screen someone signed out of, showing live readings for minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ventwatch.dashboard.auth import EVERYONE, authenticate
from ventwatch.dashboard.deps import (
    ClockDep,
    rooms_now_of,
)
from ventwatch.dashboard.rooms import RoomsAnswer, RoomsNow

router = APIRouter(prefix="/api", tags=["api"])

TICK_S = 1.0
REFRESH_S = 10.0
LIFETIME_S = 300.0
RETRY_MS = 2000  # how soon the browser reconnects after a stream ends or breaks


def _signature(now: RoomsNow) -> tuple[object, ...]:
    """What a tile shows, except ages: a change here is worth an event at once."""
    return tuple((r.room, r.band, r.time, r.co2_ppm, r.today) for r in now.rooms)


async def _events(
    request: Request,
    fetch: Callable[[], Awaitable[RoomsAnswer]],
    signed_in: Callable[[], bool],
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    started = time.monotonic()
    last_sent = 0.0
    last_signature: tuple[object, ...] | None = None
    while time.monotonic() - started < LIFETIME_S:
        if await request.is_disconnected():
            return
        # Off the loop: a login not remembered any more is read from the accounts file.
        if not await run_in_threadpool(signed_in):
            return
        # The per-second cache the overview and /api/rooms share: every open stream of a
        # second costs one computation, and the JSON is serialised once.
        answer = await fetch()
        signature = _signature(answer.rooms)
        if signature != last_signature or time.monotonic() - last_sent >= REFRESH_S:
            yield f"event: rooms\ndata: {answer.json.decode()}\n\n"
            last_signature, last_sent = signature, time.monotonic()
        await asyncio.sleep(TICK_S)


@router.get(
    "/rooms/stream",
    dependencies=[Depends(EVERYONE)],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def rooms_stream(request: Request, clock: ClockDep) -> StreamingResponse:
    """`/api/rooms` as server-sent events (`event: rooms`), whenever a room changes."""

    def fetch() -> Awaitable[RoomsAnswer]:
        return rooms_now_of(request.app.state, clock())

    def signed_in() -> bool:
        return authenticate(request, request.app.state.accounts) is not None

    return StreamingResponse(
        _events(request, fetch, signed_in),
        media_type="text/event-stream",
        # No proxy may hold the events back to fill a buffer.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
