"""The long-running processes of a real site, against its broker and store: `run` the whole
service in one process; for a trust's several machines, each role alone (`ingest`, `serve`
the dashboard, `monitor` the alerts), as many processes of each as its load needs.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ventwatch.cli.inputs import (
    PortOption,
    SitesOption,
    fail,
    log_to_terminal,
    read_settings,
    read_site,
    redacted,
    site_files,
)
from ventwatch.config import SiteConfig
from ventwatch.settings import Settings
from ventwatch.store import Store, StoreURLError, open_store

ConfigsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--config",
        "-c",
        help="The site file (see sensors.example.yaml). Give it once per site to run "
        "several sites in one dashboard: a site list at /, each site under /sites/<name>/.",
    ),
]


def _open_sites(
    config: list[Path] | None, sites_dir: Path | None, port: int | None
) -> list[tuple[Path, SiteConfig, Settings, Store]]:
    """Every site file named, read and checked, with its settings and its store (each site
    reading its own readings): what `run`, `serve` and `monitor` start from. Sites that could
    not run together (two on one spool folder, say) are refused here, naming the files."""
    from ventwatch.wiring.service import in_site_list
    from ventwatch.wiring.sites import several_sites_problems

    sites = [(path, read_site(path)) for path in site_files(config, sites_dir)]
    settings = [read_settings(site, path, port) for path, site in sites]
    if len(sites) > 1:
        settings = [in_site_list(site, s) for (_, site), s in zip(sites, settings, strict=True)]
        problems = several_sites_problems(
            [(path, s, site) for (path, site), s in zip(sites, settings, strict=True)]
        )
        if problems:
            raise fail("error: these sites cannot run together:\n  " + "\n  ".join(problems))
    opened: list[tuple[Path, SiteConfig, Settings, Store]] = []
    for (path, site), s in zip(sites, settings, strict=True):
        try:
            store = open_store(s.store_url, s.store_base, site=site.site.name)
        except StoreURLError as exc:
            for *_, other in opened:
                other.close()
            raise fail(f"error: store: {exc}") from None
        opened.append((path, site, s, store))
    return opened


def run(
    config: ConfigsOption = None,
    sites_dir: SitesOption = None,
    port: PortOption = None,
    verbose: bool = False,
) -> None:
    """Run ingest and the dashboard against the broker and store the site file names (or
    the files of a --sites folder: one dashboard for all, each site its own part)."""
    from ventwatch.wiring.service import Service, serve, site_list

    log_to_terminal(verbose)
    sites = _open_sites(config, sites_dir, port)
    http = sites[0][2].http
    url = f"http://{http.host}:{http.port}"
    if len(sites) == 1:
        _, site, settings, store = sites[0]
        service = Service(site, settings, store)
        app, services = service.app, [service]
    else:
        app, services = site_list([(site, s, store) for _, site, s, store in sites])
    if not services[0].accounts.users():
        _no_users(sites[0][0])
    serve(app, http, services, on_ready=lambda: typer.echo(f"Dashboard: {url}"))


def _no_users(config: Path) -> None:
    typer.echo(
        f"No users yet: add one with `ventwatch users add --config {config} NAME "
        "--role admin`, or nobody can sign in.",
        err=True,
    )


def serve(
    config: ConfigsOption = None,
    sites_dir: SitesOption = None,
    port: PortOption = None,
    verbose: bool = False,
) -> None:
    """The dashboard and API alone (no ingest, no alerting): run as many as the load needs
    behind a reverse proxy, beside `ingest` and `monitor` processes. Needs a store server."""
    from ventwatch.wiring.roles import dashboard_only
    from ventwatch.wiring.service import serve_http

    log_to_terminal(verbose)
    sites = _open_sites(config, sites_dir, port)
    app, accounts = dashboard_only([(site, s, store) for _, site, s, store in sites])
    if not accounts.users():
        _no_users(sites[0][0])
    http = sites[0][2].http
    url = f"http://{http.host}:{http.port}"
    try:
        serve_http(app, http, sites[0][2], on_ready=lambda: typer.echo(f"Dashboard: {url}"))
    finally:
        for *_, store in sites:
            store.close()


def monitor(
    config: ConfigsOption = None,
    sites_dir: SitesOption = None,
    lease_seconds: Annotated[
        float,
        typer.Option(
            help="How long a site stays this process's without a renewal: a killed monitor's "
            "sites are taken over by the others within about this and a third more.",
            min=3,
        ),
    ] = 30.0,
    verbose: bool = False,
) -> None:
    """Alerts, the outbox and the weekly emails, for the sites this process holds the lease
    of: run two or more over the same sites, and they share them (never judging one twice)
    and take over a stopped one's. Until Ctrl-C or SIGTERM."""
    import signal

    from ventwatch.alerts.leases import SiteLeases
    from ventwatch.wiring.roles import MonitorRole

    log_to_terminal(verbose)
    sites = _open_sites(config, sites_dir, None)
    leases = SiteLeases(sites[0][2].state_db, lease_s=lease_seconds)
    role = MonitorRole([(site, s, store) for _, site, s, store in sites], leases)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(f"monitor {leases.holder}: {len(sites)} sites to share", err=True)
    worker = threading.Thread(target=role.run, args=(stop,), name="monitor")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.5)
    except KeyboardInterrupt:
        stop.set()
        worker.join()
    finally:
        for *_, store in sites:
            store.close()
    typer.echo(f"monitor {leases.holder}: stopped", err=True)


def ingest(
    config: ConfigsOption = None,
    sites_dir: SitesOption = None,
    share: Annotated[
        str | None,
        typer.Option(
            help="Share the load with other `ventwatch ingest` processes: subscribe as "
            "$share/GROUP/... (Mosquitto 2, EMQX, HiveMQ)."
        ),
    ] = None,
    instance: Annotated[
        str | None,
        typer.Option(
            help="This process's name within the group, kept across restarts so the broker "
            "keeps its session (default: the host name)."
        ),
    ] = None,
    verbose: bool = False,
) -> None:
    """Ingest only, no dashboard: MQTT → decoders → store (or spool) until Ctrl-C or SIGTERM.
    Sites naming one broker session (broker.client_id) share one connection: one client id,
    one subscription set, each message filed by its own site."""
    import signal

    from ventwatch.ingest.worker import Ingest
    from ventwatch.wiring.sites import connections, several_sites_problems

    log_to_terminal(verbose)
    sites = [(path, read_site(path)) for path in site_files(config, sites_dir)]
    settings = [read_settings(site, path, None) for path, site in sites]
    if len(sites) > 1:
        problems = several_sites_problems(
            [(path, s, site) for (path, site), s in zip(sites, settings, strict=True)]
        )
        if problems:
            raise fail("error: these sites cannot run together:\n  " + "\n  ".join(problems))
    named = [frozenset(site.room_of()) for _, site in sites]
    workers: list[Ingest] = []
    stores: list[Store] = []
    for members in connections(settings):
        first = settings[members[0]]
        if share is not None:
            # Each process of a group keeps a session and a spool of its own.
            name = instance or socket.gethostname()
            client_id = f"{first.client_id}-{name}"
            first = replace(first, spool_dir=first.spool_dir / name)
        else:
            client_id = first.client_id
        names = [sites[i][1].site.name for i in members]
        try:
            # The writer's only: it writes every site's readings and reads nothing.
            store = open_store(first.store_url, first.store_base, site=names[0])
        except StoreURLError as exc:
            for opened in stores:
                opened.close()
            raise fail(f"error: store: {exc}") from None
        stores.append(store)
        others = frozenset().union(*(n for j, n in enumerate(named) if j not in members))
        workers.append(
            Ingest(
                [sites[i][1] for i in members],
                first,
                store,
                threading.Event(),
                share,
                client_id,
                other_sites=others,
            )
        )
        typer.echo(
            f"ingest: {first.broker} as {len(names)} site(s) ({', '.join(names)}) "
            f"→ {redacted(first.store_url)}",
            err=True,
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for worker in workers:
        worker.start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers:
            worker.stop()
        for store in stores:
            store.close()
        for worker in workers:
            for name, router in worker.pipeline.routes.routers.items():
                counts = router.counters.counts()
                summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
                label = f" {name}:" if len(sites) > 1 else ""
                typer.echo(f"ingest: stopped;{label} {summary or 'no messages'}", err=True)
