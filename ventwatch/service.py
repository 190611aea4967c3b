"""Wiring the stages into one running service: store, ingest pipeline, MQTT subscriber,
alerting (monitor and outbox) and the dashboard, started in order and stopped in reverse,
shared by `ventwatch run` and `demo`.

One process holds the embedded store, because a DuckDB file has a single writer: ingest writes
and the dashboard reads through the same `Store` object.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn

from ventwatch.accounts import Accounts
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.monitor import SiteClock
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.ingest.worker import Ingest
from ventwatch.reports.weekly_email import WeeklyEmail
from ventwatch.settings import Settings
from ventwatch.store import Store

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
    # The site's clock for alerts: the real one, or the demo's accelerated school day.
    site_clock: Callable[[], SiteClock] = SiteClock
    alert_tick_s: float = 20.0

    def __post_init__(self) -> None:
        self.ingest = Ingest(self.site, self.settings, self.store, self.stop_event)
        self.accounts = Accounts(self.settings.accounts_db)
        profile = load_profile(self.site.guidance.profile)
        self.alerting = Alerting(
            self.site,
            self.settings,
            self.store,
            profile,
            site_clock=self.site_clock,
            tick_s=self.alert_tick_s,
        )
        self.weekly_email = (
            WeeklyEmail(
                self.site,
                profile,
                self.store,
                self.alerting.records,
                self.alerting.outbox,
                self.settings.accounts_db,
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
            ingest_stats=self.ingest.stats,
            sensors=self.ingest.pipeline.sensors,
            alerting=self.alerting,
        )

    def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Run until Ctrl-C (uvicorn handles the signal), then stop everything cleanly."""
        self.ingest.start()
        self.alerting.start(self.stop_event)
        if self.weekly_email is not None:
            weekly = threading.Thread(
                target=self.weekly_email.run, args=(self.stop_event,), name="weekly-email"
            )
            self.companions.append(weekly)  # joined before the store closes
            weekly.start()
        config = uvicorn.Config(
            self.app,
            host=self.settings.http.host,
            port=self.settings.http.port,
            log_level="warning",
            # Open live streams (server-sent events) would hold a shutdown up indefinitely.
            timeout_graceful_shutdown=3,
        )
        server = uvicorn.Server(config)
        if on_ready is not None:
            threading.Thread(target=_when_started, args=(server, on_ready), daemon=True).start()
        try:
            server.run()
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl-C it has already handled by shutting down
        finally:
            self.close()

    def close(self) -> None:
        self.ingest.stop()  # sets stop_event, which the companions and alerting watch too
        for thread in self.companions:
            thread.join(timeout=30)
        self.alerting.join()
        self.store.close()
        log.info("stopped")


def _when_started(server: uvicorn.Server, callback: Callable[[], None]) -> None:
    while not server.started and not server.should_exit:
        threading.Event().wait(0.05)
    if server.started:
        callback()
