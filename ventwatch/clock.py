"""Time, as every stage injects it: where time decides behaviour (staleness, alert sustain,
schedules), tests pass their own clock instead.

`utc_now` is the wall clock. The demo runs on one `SimulatedClock`: the simulator stamps
readings with it and every stage reads it, so what depends on the school day (occupancy,
quiet hours, how long a reading stands) is judged on the simulated day as on a real one,
with no mapping between the two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SimulatedClock:
    """The demo's one clock: a school day replayed `speed` times faster than real time from
    `start`. The demo hands it to the simulator (which stamps every message with it), to
    ingest, to alerting and to the dashboard, so the tiles' "today", the room pages, the
    sensors page and the alert texts all tell the simulated day's story, never the wall
    clock's (a Sunday night beside rooms in lessons). Being one, it is also how a page knows
    to say the day is simulated (`simulated_now`)."""

    start: datetime  # aware: the simulated instant the clock shows when it starts
    speed: float = 1.0
    real: Callable[[], datetime] = utc_now  # what it runs on: the wall clock, or a test's
    real_start: datetime = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "real_start", self.real())  # frozen: set once, here

    def __call__(self) -> datetime:
        return self.start + (self.real() - self.real_start) * self.speed


def real_time(clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """The real clock behind `clock`: for what a person meets in real time whatever the
    demo's pace, such as how often a kind of warning may reach the terminal."""
    return clock.real if isinstance(clock, SimulatedClock) else clock


def simulated_now(clock: Callable[[], datetime]) -> datetime | None:
    """The simulated time when `clock` is the demo's simulated clock; None for a real one."""
    return clock() if isinstance(clock, SimulatedClock) else None
