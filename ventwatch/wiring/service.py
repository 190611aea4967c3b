"""Wiring the stages into one running service: store, ingest pipeline, MQTT subscriber,
alerting (monitor and outbox) and the dashboard, started in order and stopped in reverse,
shared by `ventwatch run` and `demo`.

One process holds the embedded store, because a DuckDB file has a single writer: ingest writes
and the dashboard reads through the same `Store` object.

Several sites (a trust's, a local authority's) run as one `Service` each, side by side in one
process: each keeps its own store and alerts, and their dashboards are mounted in one site list
(`dashboard.app.create_site_list`) over one state database (its accounts). Sites naming one
broker session share one ingest (one connection, spool and writer: `wiring.sites`); a site
with a session of its own keeps its own ingest.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import uvicorn
from fastapi import FastAPI

from ventwatch.accounts import Accounts
from ventwatch.alerts.alerting import Alerting
from ventwatch.analysis.profiles import load_profile
from ventwatch.clock import utc_now
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app, create_site_list
from ventwatch.dashboard.sites import mount_point
from ventwatch.ingest.worker import Ingest
from ventwatch.reports.weekly_email import WeeklyEmail
from ventwatch.settings import HTTPAddress, Settings
from ventwatch.store import Store
from ventwatch.wiring.sites import connections

log = logging.getLogger(__name__)


@dataclass
class Service:
    site: SiteConfig
    settings: Settings
    store: Store
    stop_event: threading.Event = field(default_factory=threading.Event)
    # Threads that write to the store too (the demo's simulated past): they watch
    # `stop_event`, and the store closes only after they have finished.
    companions: list[threading.Thread] = field(default_factory=list)
    # The one clock every stage reads: the wall clock, or the demo's simulated school day
    # (`clock.SimulatedClock`), which then stamps readings, alerts and pages alike.
    clock: Callable[[], datetime] = utc_now
    alert_tick_s: float = 20.0
    # The accounts file this site's dashboard checks (shared by the sites of a site list).
    shared_accounts: Accounts | None = None
    base: str = ""  # where the dashboard is mounted: "" alone, /sites/<slug> in a site list
    # The sensors the other sites of a site list name: theirs, not unknown ones of this site.
    other_sites: frozenset[tuple[str, str]] = frozenset()
    # The ingest this site shares with the sites of its broker session; None: its own.
    shared_ingest: Ingest | None = None

    def __post_init__(self) -> None:
        self.ingest = self.shared_ingest or Ingest(
            self.site,
            self.settings,
            self.store,
            threading.Event(),
            other_sites=self.other_sites,
            clock=self.clock,
        )
        name = self.site.site.name
        self.accounts = self.shared_accounts or Accounts(self.settings.state_db)
        profile = load_profile(self.site.guidance.profile)
        self.alerting = Alerting(
            self.site,
            self.settings,
            self.store,
            profile,
            clock=self.clock,
            tick_s=self.alert_tick_s,
        )
        self.weekly_email = (
            WeeklyEmail(
                self.site,
                profile,
                self.store,
                self.alerting.records,
                self.alerting.outbox,
                self.settings.state_db,
                self.settings.dashboard_url,
                clock=self.alerting.clock,
            )
            if self.site.reports.weekly_email is not None
            else None
        )
        self.app = create_app(
            self.site,
            self.store,
            accounts=self.accounts,
            ingest_stats=lambda: self.ingest.stats(name),
            sensors=self.ingest.pipeline.routes.routers[name].sensors,
            clock=self.clock,
            alerting=self.alerting,
            base=self.base,
        )

    def start(self) -> None:
        self.ingest.start()
        self.alerting.start(self.stop_event)
        if self.weekly_email is not None:
            weekly = threading.Thread(
                target=self.weekly_email.run, args=(self.stop_event,), name="weekly-email"
            )
            self.companions.append(weekly)  # joined before the store closes
            weekly.start()

    def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Run until Ctrl-C (uvicorn handles the signal), then stop everything cleanly."""
        serve(self.app, self.settings.http, [self], on_ready)

    def close(self) -> None:
        # Ingest first, while the store is open: a shared one stops with the first of its sites.
        self.ingest.stop()
        self.stop_event.set()  # the companions and alerting watch it
        for thread in self.companions:
            thread.join(timeout=30)
        self.alerting.join()
        self.store.close()
        log.info("stopped")


def site_list(sites: Sequence[tuple[SiteConfig, Settings, Store]]) -> tuple[FastAPI, list[Service]]:
    """One `Service` per site, over the first site's accounts file, and the site list that
    mounts their dashboards; sites of one broker session share one ingest, writing through
    the first one's store. `several_sites_problems` has checked that they can share."""
    accounts = Accounts(sites[0][1].state_db)
    named = [frozenset(site.room_of()) for site, _, _ in sites]
    shared: dict[int, Ingest] = {}
    other_sites: dict[int, frozenset[tuple[str, str]]] = {}
    for members in connections([settings for _, settings, _ in sites]):
        # Sites on other connections of the same broker are heard too: theirs to store.
        others = frozenset().union(*(n for j, n in enumerate(named) if j not in members))
        for i in members:
            other_sites[i] = others
        if len(members) > 1:
            _, settings, store = sites[members[0]]
            ingest = Ingest(
                [sites[i][0] for i in members],
                settings,
                store,
                threading.Event(),
                other_sites=others,
            )
            shared.update(dict.fromkeys(members, ingest))
    services = [
        Service(
            site,
            settings,
            store,
            shared_accounts=accounts,
            base=mount_point(site.site.name),
            other_sites=other_sites[i],
            shared_ingest=shared.get(i),
        )
        for i, (site, settings, store) in enumerate(sites)
    ]
    return create_site_list([s.app for s in services], accounts), services


def in_site_list(site: SiteConfig, settings: Settings) -> Settings:
    """A site's settings when it runs in a site list: the links in its alert and report
    emails go to its own part of the dashboard, unless its file names its address."""
    if site.alerts.dashboard_url:
        return settings
    return replace(settings, dashboard_url=settings.dashboard_url + mount_point(site.site.name))


def serve(
    app: FastAPI,
    http: HTTPAddress,
    services: Sequence[Service],
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Start the sites' services, serve `app` until Ctrl-C (uvicorn handles the signal), then
    stop every service cleanly."""
    for service in services:
        service.start()
    try:
        # Every site of one process reads the same environment: the first's proxies are all's.
        serve_http(app, http, services[0].settings, on_ready)
    finally:
        for service in services:
            service.close()


def serve_http(
    app: FastAPI,
    http: HTTPAddress,
    settings: Settings,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve `app` on `http` until Ctrl-C or SIGTERM (uvicorn handles both)."""
    proxies = [str(network) for network in settings.trusted_proxies]
    config = uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        log_level="warning",
        # Open live streams (server-sent events) would hold a shutdown up indefinitely.
        timeout_graceful_shutdown=3,
        # X-Forwarded-For names the client (the address failed logins count against) only
        # from the proxies VENTWATCH_TRUSTED_PROXIES names. uvicorn's own default believes
        # 127.0.0.1 (or $FORWARDED_ALLOW_IPS): anyone on this host, and every request
        # through a proxy that passes the header on, could then claim any address.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        threading.Thread(target=_when_started, args=(server, on_ready), daemon=True).start()
    # uvicorn re-raises the Ctrl-C it has already handled by shutting down.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


def _when_started(server: uvicorn.Server, callback: Callable[[], None]) -> None:
    while not server.started and not server.should_exit:
        threading.Event().wait(0.05)
    if server.started:
        callback()
