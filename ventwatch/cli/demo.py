"""`demo` and `simulate`: simulated classrooms publishing real firmware payloads, with (`demo`)
or without (`simulate`) everything else on the same machine.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from ventwatch.cli.inputs import PortOption, fail, log_to_terminal, read_site
from ventwatch.config import SiteConfig
from ventwatch.settings import SettingsError, parse_broker_url, parse_http, resolve
from ventwatch.store import open_store

# The documented example site, used by `demo` and `simulate` when no --config is given: the
# package's own copy, so that an installed wheel has it (tests/test_packaging.py keeps it
# identical to the top-level one the README shows). pip installs a package as files, so the
# resource is a real path, as a Path option needs.
EXAMPLE_SITE = Path(str(files("ventwatch") / "sensors.example.yaml"))


def _free_port(host: str = "127.0.0.1", avoid: int | None = None) -> int:
    """A port nothing listens on now; never `avoid` (the dashboard's, not bound yet: the
    kernel readily hands out a port that was just probed and released)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port != avoid:
            return port


def demo(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Site to simulate.")
    ] = EXAMPLE_SITE,
    broker: Annotated[
        str | None,
        typer.Option(help="Use this broker (mqtt://host:port) instead of the built-in one."),
    ] = None,
    port: PortOption = None,
    speed: Annotated[
        float,
        typer.Option(
            help="Simulated seconds per real second (the school day's pace). Each sensor reports "
            "at its firmware's cadence in simulated time: a 5-minute Aranet4 every 30 s at 10."
        ),
    ] = 10.0,
    history_days: Annotated[
        int,
        typer.Option(
            min=0, max=31, help="Days of simulated past to store first, for week views (0: none)."
        ),
    ] = 7,
    smtp_debug: Annotated[
        bool,
        typer.Option(
            "--smtp-debug",
            help="Start a local SMTP server that prints alert emails to a demo rep (urgent ones).",
        ),
    ] = False,
    verbose: bool = False,
) -> None:
    """Everything on one machine: a broker, simulated classrooms, ingest, store, dashboard,
    alerts."""
    from ventwatch.clock import SimulatedClock
    from ventwatch.simulator import Simulator
    from ventwatch.simulator.classrooms import replay_start
    from ventwatch.simulator.history import backfill
    from ventwatch.wiring.demo_broker import DemoBroker
    from ventwatch.wiring.demo_mail import DemoMail
    from ventwatch.wiring.demo_users import add_demo_users, sign_in_lines
    from ventwatch.wiring.service import Service

    log_to_terminal(verbose)
    site = read_site(config)
    embedded = None
    if broker is None:
        try:
            http_port = port or parse_http(os.environ.get("VENTWATCH_HTTP", "127.0.0.1:8000")).port
        except SettingsError as exc:
            raise fail(f"error: {exc}") from None
        embedded = DemoBroker(port=_free_port(avoid=http_port))
        embedded.start()
        broker = embedded.url
    data_dir = Path(tempfile.mkdtemp(prefix="ventwatch-demo-"))
    env = {
        "VENTWATCH_BROKER_URL": broker,
        "VENTWATCH_STORE_URL": f"duckdb://{data_dir / 'demo.duckdb'}",
        "VENTWATCH_SPOOL_DIR": str(data_dir / "spool"),
        "VENTWATCH_STATE_DB": str(data_dir / "accounts.sqlite"),
    }
    mail = None
    if smtp_debug:
        mail = DemoMail(data_dir / "mail", port=_free_port(avoid=port))
        mail.start()
        env["VENTWATCH_SMTP_URL"] = mail.url
        site = _with_demo_rep(site)
    try:
        settings = resolve(site, config, env={**os.environ, **env}, port=port)
    except SettingsError as exc:
        raise fail(f"error: {exc}") from None
    # One clock for the whole demo: the simulated school day stamps the sensors' messages,
    # and ingest, alerts and every page read the same clock, so they tell one story.
    start = replay_start(site, datetime.now(UTC))
    clock = SimulatedClock(start, speed)
    simulator = Simulator(site, speed=1.0, start=start)  # at the clock's pace, on its time
    service = Service(
        site,
        settings,
        open_store(settings.store_url, site=site.site.name),
        clock=clock,
        alert_tick_s=5.0,
    )
    # A fresh user per role, with a random password: the demo is on loopback, but a
    # dashboard that anyone could open would teach the wrong habit.
    password = secrets.token_urlsafe(12)
    add_demo_users(service.accounts, password)
    sim_thread = threading.Thread(
        target=simulator.run,
        args=(broker, service.stop_event, clock),
        name="simulator",
        daemon=True,
    )
    url = f"http://{settings.http.host}:{settings.http.port}"

    def ready() -> None:
        typer.echo(f"\nventwatch demo: {len(site.rooms)} simulated rooms of {site.site.name}")
        typer.echo(f"  broker     {broker}")
        typer.echo(f"  store      {data_dir / 'demo.duckdb'}")
        if mail is not None:
            typer.echo(f"  mail       {mail.url}  (printed here; kept in {mail.folder})")
        typer.echo(f"  Dashboard: {url}   (Ctrl-C stops)")
        typer.echo(f"  Simulated school day from {start.astimezone(site.tz):%A %H:%M}, {speed:g}x")
        for line in sign_in_lines(password):
            typer.echo(f"  {line}")
        faulty = {s.role: s.room.room.name for s in simulator.sensors if s.role != "normal"}
        if faulty:
            typer.echo(
                f"  On purpose: {faulty.get('silent')}'s sensor has gone silent and "
                f"{faulty.get('garbage')}'s sends garbage now and then (quarantined, and "
                "warned about ever less often below)."
            )
        typer.echo("")

    sim_thread.start()
    if history_days:
        # In the background: the live rooms show at once, the past fills in within seconds.
        # It ends where the simulated day begins: one timeline.
        end = start.astimezone(UTC).replace(second=0, microsecond=0)
        history = threading.Thread(
            target=backfill,
            args=(site, service.store, end - timedelta(days=history_days), end),
            kwargs={"stop": service.stop_event},
            name="history",
            daemon=True,
        )
        service.companions.append(history)
        history.start()
    try:
        service.serve(on_ready=ready)
    finally:
        sim_thread.join(timeout=5)
        if embedded is not None:
            embedded.stop()
        if mail is not None:
            mail.stop()


def _with_demo_rep(site: SiteConfig) -> SiteConfig:
    """The demo's site with a rep who is emailed urgent alerts as they happen."""
    from ventwatch.config import Subscription

    rep = Subscription(name="Demo rep", email="rep@demo.invalid", severities=["urgent"])
    alerts = site.alerts.model_copy(update={"subscriptions": [*site.alerts.subscriptions, rep]})
    return site.model_copy(update={"alerts": alerts})


def simulate(
    broker: Annotated[str, typer.Option(help="Broker to publish to: mqtt://[user:pass@]host:port")],
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Site whose sensors to simulate.")
    ] = EXAMPLE_SITE,
    speed: Annotated[
        float,
        typer.Option(
            help="Simulated seconds per real second. Each sensor reports at its firmware's "
            "cadence in simulated time (a 5-minute Aranet4 every 5 minutes at 1)."
        ),
    ] = 1.0,
    verbose: bool = False,
) -> None:
    """Publish simulated classroom sensors' real payloads to a broker until Ctrl-C, each
    sensor at its firmware's own cadence."""
    from ventwatch.simulator import Simulator

    log_to_terminal(verbose)
    site = read_site(config)
    try:
        parse_broker_url(broker, "--broker")
    except SettingsError as exc:
        raise fail(f"error: {exc}") from None
    stop = threading.Event()
    typer.echo(f"simulating {len(site.sensors)} sensors of {site.site.name} → {broker}")
    try:
        Simulator(site, speed=speed).run(broker, stop)
    except KeyboardInterrupt:
        stop.set()
