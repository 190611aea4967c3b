"""The sites of a site list now: the shape of `/api/sites`, which the list page renders too.

A trust or a local authority runs several sites in one dashboard (`app.create_site_list`):
each site's own dashboard is mounted at `/sites/<slug>/`, and `/` lists the sites a user may
see, with each site's rooms in each band and its open alerts, from which they drill down.

Counting 400 sites' rooms takes a store query each (bench/trust.py): far too much for one
request, and the same for every user. So each site's counts are made in the background, one
site at a time, each again once it is `refresh` old (`SiteSummaries`), and a request only
picks the lines of the sites its user may see from memory. A line says when its counts were
made; counts that have missed their refresh (a store that does not answer, a process too busy)
are shown as stale, never as the bands they last had.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI
from pydantic import BaseModel

from ventwatch.accounts import User
from ventwatch.analysis.live import STALE
from ventwatch.config import site_slug
from ventwatch.dashboard.auth import ALERT_ROLES
from ventwatch.dashboard.rooms import band_summary, statuses_now

# Where each site of a site list is mounted: /sites/<slug>/.
SITES_PREFIX = "/sites/"
# How often each site's counts are made again: as often as the list page asks (every 5 s),
# but no more than one site's counts every 25 ms on average. A site's counts are a store
# query and a few milliseconds of Python holding the interpreter (bench/trust.py): 400 sites
# are counted every 10 s, about a tenth of one core, the rest left to the requests.
REFRESH = timedelta(seconds=5)
PER_SITE = timedelta(milliseconds=25)
# The longest the background thread sleeps before looking again for counts that are due: the
# clock may be the demo's, faster than real time, so it is not slept on in one go.
NAP_S = 1.0

log = logging.getLogger(__name__)


def mount_point(site_name: str) -> str:
    """Where a site's dashboard goes in a site list: `/sites/<slug>`."""
    return SITES_PREFIX + site_slug(site_name)


class SiteSummary(BaseModel):
    """One line of the site list: what `/` shows and `/api/sites` returns."""

    site: str
    url: str  # the site's overview
    rooms: int
    summary: dict[str, int]  # band -> rooms in it, as the site's `/api/rooms` says
    attention: int  # rooms not in the profile's best band, stale and silent ones included
    best_band: str
    open_alerts: int | None  # alerts the rep has not closed; None: not for this role, or not run
    generated_at: datetime | None  # when these counts were made; None: not made yet
    age_s: float | None  # how old they are at the answer
    # Not made within two refreshes: every room counts as stale (its band is not known now).
    stale: bool


@dataclass(frozen=True, slots=True)
class SiteCounts:
    """One site's counts as the background made them, whoever asks."""

    summary: dict[str, int]
    open_alerts: int | None  # None: no alerting in this process
    generated_at: datetime


def visible(site_apps: Sequence[FastAPI], user: User) -> list[FastAPI]:
    """The sites' dashboards this user may open, in the order the sites were given."""
    return [a for a in site_apps if user.may_see(a.state.site.site.name)]


def count_site(site_app: FastAPI, now: datetime) -> SiteCounts:
    """A site's rooms in each band at `now`, by the judgement its tiles show
    (`rooms.statuses_now`), and its unclosed alerts. Blocking: the store and the state
    database are asked."""
    state = site_app.state
    statuses = statuses_now(state.site, state.store, state.profile, now)
    open_alerts = None
    if state.alerting is not None:
        open_alerts = sum(state.alerting.records.unclosed_counts().values())
    return SiteCounts(band_summary((s.band for s in statuses), state.profile), open_alerts, now)


class SiteSummaries:
    """Every site's counts, in memory: made by one background thread (`run`), oldest first,
    each site again once its counts are `refresh` old; read by every request without waiting.

    One thread, one site at a time: the counts cost the store and the interpreter the same
    whoever asks, and a request must never wait behind 400 sites. A site whose counts fail
    (its store down) is tried again at its next refresh, not at once, so it cannot keep the
    others waiting; meanwhile its old counts age into stale."""

    def __init__(self, site_apps: Sequence[FastAPI], clock: Callable[[], datetime]) -> None:
        self._site_apps = tuple(site_apps)
        self._clock = clock
        self.refresh = max(REFRESH, PER_SITE * len(self._site_apps))
        # Site name -> its newest counts; each entry replaced whole, so a reader on the event
        # loop sees one site's counts of one moment.
        self._counts: dict[str, SiteCounts] = {}
        self._tried: dict[str, datetime] = {}  # site name -> when its counts were last begun
        self._failing: set[str] = set()  # the sites whose last counts failed

    def refresh_due(self, stop: threading.Event | None = None) -> float:
        """Make the counts of every site that is due (never tried, or tried `refresh` ago),
        the longest waiting first, until `stop`; return the seconds until the next is due."""
        now = self._clock()
        never = now - 2 * self.refresh  # sorts a site never tried before every other

        def tried(site_app: FastAPI) -> datetime:
            return self._tried.get(site_app.state.site.site.name, never)

        due = sorted((a for a in self._site_apps if now - tried(a) >= self.refresh), key=tried)
        for site_app in due:
            if stop is not None and stop.is_set():
                break
            name = site_app.state.site.site.name
            started = self._clock()
            self._tried[name] = started
            try:
                self._counts[name] = count_site(site_app, started)
            except Exception:  # its line ages into stale; the other sites go on
                if name not in self._failing:  # once, not every few seconds it stays down
                    log.exception("the site list cannot count the rooms of %s", name)
                self._failing.add(name)
            else:
                if name in self._failing:
                    log.info("the site list counts the rooms of %s again", name)
                self._failing.discard(name)
        if not self._tried:
            return self.refresh.total_seconds()
        soonest = min(self._tried.values()) + self.refresh
        return max(0.0, (soonest - self._clock()).total_seconds())

    def run(self, stop: threading.Event) -> None:
        """The background thread: counts as they fall due, until `stop` is set."""
        while not stop.wait(min(self.refresh_due(stop), NAP_S)):
            pass

    def lines(self, site_apps: Sequence[FastAPI], user: User, now: datetime) -> list[SiteSummary]:
        """The lines of `site_apps` for `user` at `now`, from the counts in memory."""
        alerts_shown = user.role in ALERT_ROLES.roles
        return [self._line(a, alerts_shown, now) for a in site_apps]

    def _line(self, site_app: FastAPI, alerts_shown: bool, now: datetime) -> SiteSummary:
        state = site_app.state
        name = state.site.site.name
        rooms = len(state.site.rooms)
        best = state.profile.co2_bands[0].name
        counts = self._counts.get(name)
        if counts is None or now - counts.generated_at > 2 * self.refresh:
            summary, stale = band_summary([STALE] * rooms, state.profile), True
        else:
            summary, stale = counts.summary, False
        made = None if counts is None else counts.generated_at
        return SiteSummary(
            site=name,
            url=f"{state.base}/",
            rooms=rooms,
            summary=summary,
            attention=sum(n for band, n in summary.items() if band != best),
            best_band=best,
            open_alerts=counts.open_alerts if counts is not None and alerts_shown else None,
            generated_at=made,
            age_s=None if made is None else round(max(0.0, (now - made).total_seconds()), 1),
            stale=stale,
        )
