"""The roles of a deployment as processes of their own, for a trust or a local authority:
`ventwatch ingest` (`ingest.worker`), `ventwatch serve` (the dashboard alone) and
`ventwatch monitor` (alerts, the outbox and the weekly emails of the sites it holds the
lease of). `ventwatch run` is all three in one process (`wiring.service`).

The roles share only the store and the state database, so each can run as many processes as
its load needs: the dashboard keeps nothing a request needs in memory (sessions are in the
state database), and monitors partition the sites between them by leases (`alerts.leases`),
their outboxes claiming each message before sending it (`notify.outbox`). With the embedded
DuckDB store, one process holds the file: separate roles need a store server (InfluxDB).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI

from ventwatch.accounts import Accounts
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.leases import SiteLeases
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app, create_site_list
from ventwatch.dashboard.sites import mount_point
from ventwatch.reports.weekly_email import WeeklyEmail
from ventwatch.settings import Settings
from ventwatch.store import Store

log = logging.getLogger(__name__)

SiteParts = tuple[SiteConfig, Settings, Store]


def dashboard_only(sites: Sequence[SiteParts]) -> tuple[FastAPI, Accounts]:
    """The dashboard of one site, or the site list of several, with no ingest or alerting
    threads: pages read the store and the state database (alerts, outbox, sessions), and a
    message a page queues (a test alert) is sent by the monitor that holds the site."""
    accounts = Accounts(sites[0][1].state_db)
    apps = [
        create_app(
            site,
            store,
            accounts=accounts,
            alerting=Alerting(site, settings, store, load_profile(site.guidance.profile)),
            base=mount_point(site.site.name) if len(sites) > 1 else "",
        )
        for site, settings, store in sites
    ]
    if len(apps) == 1:
        return apps[0], accounts
    return create_site_list(apps, accounts), accounts


@dataclass
class _Judging:
    """One site being judged by this process: its alerting threads and weekly email."""

    stop: threading.Event
    alerting: Alerting
    weekly: threading.Thread | None

    def end(self) -> None:
        self.stop.set()
        self.alerting.join(timeout=30)
        if self.weekly is not None:
            self.weekly.join(timeout=30)


class MonitorRole:
    """Judges the sites whose lease this process holds, renewing the leases as it goes;
    starts judging a site when it takes its lease and stops before handing it back."""

    def __init__(
        self, sites: Sequence[SiteParts], leases: SiteLeases, *, tick_s: float = 20.0
    ) -> None:
        self.sites = {site.site.name: (site, settings, store) for site, settings, store in sites}
        self.leases = leases
        self.tick_s = tick_s
        self.judging: dict[str, _Judging] = {}

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: claim, start and stop sites every `leases.renew_s`. On the
        way out, every site is stopped and its lease handed back at once, so another monitor
        takes it without waiting for the lease to run out."""
        try:
            while not stop.is_set():
                try:
                    self._balance()
                except Exception:  # the state database locked too long, say: next round
                    log.exception("monitor: leases not renewed; trying again")
                stop.wait(self.leases.renew_s)
        finally:
            for name in list(self.judging):
                self.judging.pop(name).end()
            self.leases.leave()

    def _balance(self) -> None:
        held, extra = self.leases.claim(self.sites)
        for name in sorted(extra | (set(self.judging) - held)):
            if name in self.judging:
                self.judging.pop(name).end()
                log.info("monitor: stopped judging %s (another monitor takes it)", name)
        self.leases.release(extra)
        for name in sorted(held - extra - set(self.judging)):
            self.judging[name] = self._start(name)
            log.info("monitor: judging %s", name)

    def _start(self, name: str) -> _Judging:
        site, settings, store = self.sites[name]
        profile = load_profile(site.guidance.profile)
        stop = threading.Event()
        alerting = Alerting(site, settings, store, profile, tick_s=self.tick_s)
        alerting.start(stop)
        weekly = None
        if site.reports.weekly_email is not None:
            email = WeeklyEmail(
                site,
                profile,
                store,
                alerting.records,
                alerting.outbox,
                settings.state_db,
                settings.dashboard_url,
                clock=alerting.clock,
            )
            weekly = threading.Thread(target=email.run, args=(stop,), name=f"weekly-{name}")
            weekly.start()
        return _Judging(stop, alerting, weekly)
