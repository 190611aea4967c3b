"""Time, as every stage injects it: where time decides behaviour (staleness, alert sustain,
schedules), tests pass their own clock instead.

`utc_now` is the wall clock. `SiteClock` maps it to the site's clock: the same in
production; the demo replays a school day `scale` times faster from `site_origin`, so what
depends on the school day (occupancy, quiet hours, how long a reading stands) is judged on
the simulated clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: an ingest process needs the wall clock only
    import numpy as np
    import pandas as pd


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


@dataclass(frozen=True)
class SiteClock:
    """Real time -> the site's time. Production: the same. The demo replays a school day
    `scale` times faster from `site_origin`, so occupancy and quiet hours are judged on the
    simulated clock and every rule's minutes are divided by `scale`."""

    real_origin: datetime | None = None
    site_origin: datetime | None = None
    scale: float = 1.0

    def site(self, when: pd.DatetimeIndex) -> pd.DatetimeIndex:
        import pandas as pd

        if self.real_origin is None or self.site_origin is None:
            return when
        return pd.Timestamp(self.site_origin) + (when - pd.Timestamp(self.real_origin)) * self.scale

    def began(self, when: pd.DatetimeIndex) -> np.ndarray:
        """Which instants the site's clock covers: a replayed day has no past before its
        start, so nothing before it can count as occupied."""
        import numpy as np
        import pandas as pd

        if self.real_origin is None:
            return np.ones(len(when), dtype=bool)
        return np.asarray(when >= pd.Timestamp(self.real_origin))

    def site_now(self, now: datetime) -> datetime:
        import pandas as pd

        return self.site(pd.DatetimeIndex([now]))[0].to_pydatetime()
