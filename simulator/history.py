"""A simulated past for the demo: the week before it starts, stored as if ingest had run.

The week view, a room's week chart and the analysis all need days of data; a demo that has
only the minutes since it started shows empty grids. The past goes through the same firmware
payloads and the same decoders as live messages (a `Pipeline` writing to the store), so it
is the data ingest would have stored (the silent sensor's silence included).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from ventwatch.config import SiteConfig
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.simulator.classrooms import Simulator
from ventwatch.store import Store

log = logging.getLogger(__name__)

TICK = timedelta(minutes=1)  # how far the simulator moves per step; messages keep their instants
BATCH = 2000  # messages per store write


def backfill(
    site: SiteConfig,
    store: Store,
    start: datetime,
    end: datetime,
    *,
    stop: threading.Event | None = None,
) -> int:
    """Simulate start..end at real pace (simulated time = message time) and store what the
    sensors would have sent; returns how many readings were stored. Each sensor reports on its
    own cadence, as live (a 5-minute Aranet4, a 15-minute LoRaWAN room that declares it):
    the minute series holds each reading until the next, for up to the room's hold, so these
    cover every minute. Each message arrives when its sensor sent it, so readings without a
    timestamp of their own (AirGradient, Aranet4) are stored at that instant too."""
    sim = Simulator(site, speed=1.0, start=start)
    for sensor in sim.sensors:
        # A week of the garbage sensor's rejects would bury the live log under thousands of
        # warnings; the live demo shows that sensor's garbage already. The silent one stays.
        if sensor.role == "garbage":
            sensor.role = "normal"
    pipeline = Pipeline(site, store)
    pending: list[Message] = []
    stored = 0
    wall = start
    while wall < end and not (stop and stop.is_set()):
        for sent in sim.step_payloads(wall):
            pending.append(Message(sent.topic, sent.payload, sent.at.astimezone(UTC)))
        if len(pending) >= BATCH:
            stored += pipeline.process(pending)
            pending = []
        wall += TICK
    stored += pipeline.process(pending)
    log.info("simulated history %s to %s: %d readings stored", start, end, stored)
    return stored
