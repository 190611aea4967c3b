"""Alerting for one site as a unit: the records, the outbox and the two threads (the monitor
judging rooms, the outbox sending) that `ventwatch run` and `demo` start beside ingest and the
dashboard, and that pages and commands reach through one object."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from ventwatch.alerts.monitor import AlertMonitor
from ventwatch.alerts.records import AlertRecords
from ventwatch.analysis.profiles import Profile
from ventwatch.clock import utc_now
from ventwatch.config import SiteConfig
from ventwatch.notify.channels import Channels
from ventwatch.notify.outbox import Outbox
from ventwatch.register import RegisterEdits
from ventwatch.settings import Settings
from ventwatch.store import Store


class Alerting:
    def __init__(
        self,
        site: SiteConfig,
        settings: Settings,
        store: Store,
        profile: Profile,
        *,
        clock: Callable[[], datetime] = utc_now,
        tick_s: float = 20.0,
    ) -> None:
        self.site = site
        self.clock = clock
        self.tick_s = tick_s
        self.records = AlertRecords(settings.state_db, site.site.name)
        # The site's own relay and broker, and only the site's rows of the shared file's
        # outbox: in a site list each site's messages leave through its own channels.
        self.channels = Channels(settings.smtp, settings.broker)
        self.outbox = Outbox(settings.state_db, site.site.name, self.channels)
        # The room register's dashboard edits, beside the alerts (its review dates remind).
        self.register = RegisterEdits(settings.state_db, site.site.name)
        self.monitor = AlertMonitor(
            site,
            profile,
            store,
            self.records,
            self.outbox,
            settings.dashboard_url,
            clock=clock,
            register=self.register,
        )
        self._threads: list[threading.Thread] = []

    def start(self, stop: threading.Event) -> None:
        self._threads = [
            threading.Thread(
                target=self.monitor.run, args=(stop, self.tick_s), name="alert-monitor"
            ),
            threading.Thread(target=self.outbox.run, args=(stop, self.clock), name="alert-outbox"),
        ]
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float = 10.0) -> None:
        for thread in self._threads:
            thread.join(timeout=timeout)
