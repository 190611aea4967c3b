"""How many report exports one user may ask for in a minute.

Why: every export reads and judges a week of minutes, and a PDF also takes one of the few
pages of the shared browser (`reports.pdf_format`). A user clicking Export again and again,
or a script looping over it, would keep everyone else's exports waiting. Past the limit the
dashboard answers 429 with the seconds to wait; the line for the printer (503) is a separate
bound, for many users at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

WINDOW_S = 60.0
DEFAULT_PER_MINUTE = 10


class ExportLimit:
    """At most `per_minute` exports per user name in any 60 seconds. In memory, per process
    (a site list shares one between its sites: one user, one allowance)."""

    def __init__(
        self, per_minute: int = DEFAULT_PER_MINUTE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ExportLimit:
        """`VENTWATCH_EXPORTS_PER_MINUTE` (1 or more), else `DEFAULT_PER_MINUTE`."""
        text = (os.environ if env is None else env).get("VENTWATCH_EXPORTS_PER_MINUTE")
        if text is None:
            return cls()
        if not text.strip().isdigit() or int(text) < 1:
            raise ValueError(f"VENTWATCH_EXPORTS_PER_MINUTE={text!r}: a whole number, 1 or more")
        return cls(int(text))

    def take(self, user: str) -> float:
        """Count one export for `user` and return 0, or, when `user` has had `per_minute`
        in the last minute, count nothing and return the seconds until the next may start."""
        now = self._clock()
        with self._lock:
            recent = self._recent.setdefault(user, deque())
            while recent and now - recent[0] >= WINDOW_S:
                recent.popleft()
            if len(recent) >= self.per_minute:
                return recent[0] + WINDOW_S - now
            recent.append(now)
            if len(self._recent) > 10_000:  # bounded: forget the users who are done
                for name in [n for n, times in self._recent.items() if now - times[-1] >= WINDOW_S]:
                    del self._recent[name]
            return 0.0
