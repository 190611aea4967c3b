"""Time, as every stage injects it: where time decides behaviour (staleness, alert sustain,
schedules), tests pass their own clock instead.

`utc_now` is the wall clock. `SiteClock` maps it to the site's clock: the same in
production; the demo replays a school day `scale` times faster from `site_origin`, so what
depends on the school day (occupancy, quiet hours, how long a reading stands) is judged on
the simulated clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: an ingest process needs the wall clock only
    import numpy as np
    import pandas as pd


def utc_now() -> datetime:
    return datetime.now(UTC)


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
