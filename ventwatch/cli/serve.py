"""`run` and `ingest`: the long-running processes of a real site, against its broker and store
(`run` the whole service with its dashboard, `ingest` the ingest stage alone).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ventwatch.cli.inputs import (
    ConfigOption,
    PortOption,
    SitesOption,
    fail,
    log_to_terminal,
    read_settings,
    read_site,
    redacted,
    site_files,
)
from ventwatch.store import StoreURLError, open_store


def run(
    config: Annotated[
        list[Path] | None,
        typer.Option(
            "--config",
            "-c",
            help="The site file (see sensors.example.yaml). Give it once per site to run "
            "several sites in one dashboard: a site list at /, each site under /sites/<name>/.",
        ),
    ] = None,
    sites_dir: SitesOption = None,
    port: PortOption = None,
    verbose: bool = False,
) -> None:
    """Run ingest and the dashboard against the broker and store the site file names (or
    the files of a --sites folder: one dashboard for all, each site its own part)."""
    from ventwatch.wiring.service import (
        Service,
        in_site_list,
        serve,
        several_sites_problems,
        site_list,
    )

    log_to_terminal(verbose)
    sites = [(path, read_site(path)) for path in site_files(config, sites_dir)]
    settings = [read_settings(site, path, port) for path, site in sites]
    if len(sites) > 1:
        settings = [in_site_list(site, s) for (_, site), s in zip(sites, settings, strict=True)]
        problems = several_sites_problems(
            [(path, s, site) for (path, site), s in zip(sites, settings, strict=True)]
        )
        if problems:
            raise fail("error: these sites cannot run together:\n  " + "\n  ".join(problems))
    stores = []
    for (_, site), s in zip(sites, settings, strict=True):
        try:
            stores.append(open_store(s.store_url, s.store_base, site=site.site.name))
        except StoreURLError as exc:
            for store in stores:
                store.close()
            raise fail(f"error: store: {exc}") from None
    http = settings[0].http
    url = f"http://{http.host}:{http.port}"
    if len(sites) == 1:
        service = Service(sites[0][1], settings[0], stores[0])
        app, services = service.app, [service]
    else:
        app, services = site_list(
            [(site, s, store) for (_, site), s, store in zip(sites, settings, stores, strict=True)]
        )
    if not services[0].accounts.users():
        typer.echo(
            f"No users yet: add one with `ventwatch users add --config {sites[0][0]} NAME "
            "--role admin`, or nobody can sign in.",
            err=True,
        )
    serve(app, http, services, on_ready=lambda: typer.echo(f"Dashboard: {url}"))


def ingest(
    config: ConfigOption,
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
    """Ingest only, no dashboard: MQTT → decoders → store (or spool) until Ctrl-C or SIGTERM."""
    import signal

    from ventwatch.ingest.worker import Ingest

    log_to_terminal(verbose)
    site = read_site(config)
    settings = read_settings(site, config, None)
    if share is not None:
        # Each process of a group keeps a spool of its own.
        name = instance or socket.gethostname()
        client_id = f"{settings.client_id}-{name}"
        settings = replace(settings, spool_dir=settings.spool_dir / name)
    else:
        client_id = settings.client_id
    try:
        store = open_store(settings.store_url, settings.store_base, site=site.site.name)
    except StoreURLError as exc:
        raise fail(f"error: store: {exc}") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Ingest(site, settings, store, threading.Event(), share, client_id)
    worker.start()
    typer.echo(f"ingest: {settings.broker} → {redacted(settings.store_url)}", err=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        store.close()
        counts = worker.pipeline.counters.counts()
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        typer.echo(f"ingest: stopped; {summary or 'no messages'}", err=True)
