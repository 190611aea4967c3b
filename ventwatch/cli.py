"""The `ventwatch` command: one typer app, a command per job.

Every command validates its site file and settings before it starts anything, and reports a
problem as one readable message (file, line, what is wrong) with a non-zero exit status,
never a traceback.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import tempfile
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from typer.core import TyperGroup

from ventwatch import __version__
from ventwatch.cli_alerts import alerts
from ventwatch.cli_report import report
from ventwatch.cli_users import users
from ventwatch.config import SiteConfig, SiteConfigError, load_site
from ventwatch.ingest.importer import (
    DateOrder,
    ImportFormatError,
    ImportUsageError,
    RowError,
    Tally,
    read_import,
)
from ventwatch.readings import Reading
from ventwatch.settings import (
    Settings,
    SettingsError,
    parse_broker_url,
    parse_http,
    resolve,
)
from ventwatch.store import Store, StoreURLError, open_store

# `ventwatch --help` lists commands in the order a user meets them: try the demo, run a site
# (its file checked, its first admin added), bring in old readings, judge and report, alert;
# then the tools for integrators. A command missing here is listed last.
COMMAND_ORDER = (
    "demo",
    "run",
    "check-config",
    "users",
    "import",
    "analyse",
    "report",
    "alerts",
    "profiles",
    "ingest",
    "simulate",
    "decode",
)


class _InOrderUsersMeetThem(TyperGroup):
    """Typer lists commands in the order the code defines them; people need another order."""

    def list_commands(self, ctx: Any) -> list[str]:  # typer's vendored click Context
        def place(name: str) -> int:
            return COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER)

        return sorted(super().list_commands(ctx), key=place)


app = typer.Typer(
    cls=_InOrderUsersMeetThem,
    help="ventwatch: ventilation monitoring for schools and colleges.",
    no_args_is_help=True,
    add_completion=False,
)

app.add_typer(users, name="users")
app.add_typer(alerts, name="alerts")
app.command("report")(report)

# The documented example site, used by `demo` when no --config is given.
EXAMPLE_SITE = Path(__file__).resolve().parent.parent / "sensors.example.yaml"

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The site file (see sensors.example.yaml).")
]
PortOption = Annotated[
    int | None, typer.Option("--port", help="Dashboard port (overrides VENTWATCH_HTTP's).")
]


def _redacted(url: str) -> str:
    """A store URL fit for a terminal or log: no password, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=1)


def _site(path: Path) -> SiteConfig:
    from ventwatch.ingest.decoders import FAMILIES

    try:
        return load_site(path, families=FAMILIES)
    except SiteConfigError as exc:
        raise _fail(str(exc)) from None


def _settings(site: SiteConfig, path: Path | None, port: int | None) -> Settings:
    try:
        return resolve(site, path, port=port)
    except SettingsError as exc:
        raise _fail(f"error: {exc}") from None


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def _free_port(host: str = "127.0.0.1", avoid: int | None = None) -> int:
    """A port nothing listens on now; never `avoid` (the dashboard's, not bound yet: the
    kernel readily hands out a port that was just probed and released)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port != avoid:
            return port


@app.command("check-config")
def check_config(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The site file to check (see sensors.example.yaml)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Argument(help="The site file, as --config gives it.", show_default=False)
    ] = None,
) -> None:
    """Validate a site file; print every problem with its file and line, in words."""
    if config is not None and file is not None:
        raise _fail("error: give the site file once: ventwatch check-config --config FILE")
    path = config or file
    if path is None:
        raise _fail("error: which site file? ventwatch check-config --config FILE")
    site = _site(path)
    typer.echo(
        f"{path}: ok: site {site.site.name!r}, {len(site.rooms)} rooms, "
        f"{len(site.sensors)} sensors, profile {site.guidance.profile}"
    )


@app.command()
def decode(
    topic: Annotated[str, typer.Option("--topic", "-t", help="The MQTT topic it arrived on.")],
    file: Annotated[
        str, typer.Argument(help="File holding one raw payload; - or nothing: standard input.")
    ] = "-",
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Site file: its generic decoders and time zone."),
    ] = None,
) -> None:
    """Decode one raw payload and print its readings as JSON lines (a contract, for scripts).

    Each line: {"sensor": ..., "time": ISO 8601 or null, "values": {"co2_ppm": ...}}.
    Exit 1 with one line on stderr when no decoder claims the topic, the payload is
    malformed, or nothing usable remains.
    """
    import json
    import sys
    from zoneinfo import ZoneInfo

    from ventwatch.ingest.decoders import DecodeContext, DecodeError, decoder_for, decoders_for_site
    from ventwatch.readings import QUANTITIES

    site = _site(config) if config else None
    decoders = decoders_for_site(site)
    try:
        payload = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise _fail(f"error: cannot read {file}: {exc.strerror}") from None
    decoder = decoder_for(topic, decoders)
    if decoder is None:
        raise _fail(f"error: no decoder claims the topic {topic!r}")
    ctx = DecodeContext(timezone=site.tz if site else ZoneInfo("Europe/London"))
    try:
        decoded = decoder.decode(topic, payload, ctx)
    except DecodeError as exc:
        raise _fail(f"error: {decoder.family}: {exc}") from None
    if not decoded.readings:
        what = (
            f"presence: {decoded.presence[0]} is {decoded.presence[1]}"
            if decoded.presence
            else "metadata for another topic"
        )
        raise _fail(f"error: {decoder.family}: no reading in this message ({what})")
    for reading in decoded.readings:
        line = {
            "sensor": reading.sensor,
            "time": reading.time.isoformat() if reading.time else None,
            "values": {k: reading.values[k] for k in QUANTITIES if k in reading.values},
        }
        typer.echo(json.dumps(line, ensure_ascii=False))


def _open_store(site: SiteConfig, config: Path) -> Store:
    settings = _settings(site, config, None)
    try:
        return open_store(settings.store_url, settings.store_base)
    except StoreURLError as exc:
        raise _fail(f"error: store: {exc}") from None


def _import_store(site: SiteConfig, config: Path, file: Path) -> Store:
    """The site's store for `import`: any failure to open it (a DuckDB file that the
    running service holds, say) is one line, not a traceback."""
    settings = _settings(site, config, None)
    try:
        return open_store(settings.store_url, settings.store_base)
    except StoreURLError as exc:
        raise _fail(f"{file}: error: store: {exc}") from None
    except Exception as exc:
        raise _fail(f"{file}: error: store {_redacted(settings.store_url)}: {exc}") from None


@app.command("import")
def import_(
    config: ConfigOption,
    file: Annotated[
        Path,
        typer.Argument(
            help="ventwatch CSV (time,room,co2_ppm,temperature_c[,...]) or an Aranet4 app export."
        ),
    ],
    room: Annotated[
        str | None, typer.Option(help="The room an Aranet4 export's monitor was in.")
    ] = None,
    date_order: Annotated[
        DateOrder | None,
        typer.Option(
            "--date-order",
            help="dmy or mdy: how an Aranet4 export's dates read, when neither its header "
            "nor its dates say.",
        ),
    ] = None,
) -> None:
    """Load readings from a CSV file into the site's store; bad rows are listed and skipped.

    Exit 0 when readings were stored; 1 when nothing was (the file unreadable, every row
    skipped or already stored) or the store failed; 2 when the command must change (--room,
    --date-order)."""
    import sys

    site = _site(config)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"{file}: error: cannot read it: {exc.strerror}") from None
    try:
        imported = read_import(data, site, filename=file.name, room=room, date_order=date_order)
    except ImportUsageError as exc:
        typer.echo(f"{file}:{exc.line}: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except ImportFormatError as exc:
        raise _fail(f"{file}:{exc.line}: error: {exc}") from None
    typer.echo(f"{file}: {imported.form}")
    for note in imported.notes:
        typer.echo(f"{file}: note: {note}")
    store = _import_store(site, config, file)
    tally = Tally(imported.rows_read)
    batch: list[Reading] = []
    line = 0
    try:
        with typer.progressbar(
            imported.rows,
            length=imported.rows_read,
            label="importing",
            hidden=not sys.stderr.isatty(),  # a bar only for a person watching
            update_min_steps=1000,
            file=sys.stderr,
        ) as rows:
            for line, row in rows:
                if isinstance(row, RowError):
                    if tally.add(row):
                        what = "skipped" if row.skipped else "kept the rest"
                        typer.echo(f"{file}:{line}: {what}: {row.reason}: {row.message}", err=True)
                    continue
                batch.append(row)
                if len(batch) >= 50_000:
                    _store_batch(store, batch, tally, f"{file}:{line}")
        _store_batch(store, batch, tally, f"{file}:{line}")
    except typer.Exit:
        raise
    except Exception as exc:  # a bug in reading rows: still one line, not a traceback
        raise _fail(
            f"{file}:{line}: error: reading the row after this one failed "
            f"({type(exc).__name__}: {exc}): please report it"
        ) from None
    finally:
        store.close()
    for summary in tally.summary():
        typer.echo(f"{file}: {summary}")
    if tally.stored == 0:
        why = (
            f"all {tally.readings} readings were already stored"
            if tally.readings
            else "no row could be read"
        )
        raise _fail(f"{file}: nothing stored: {why}")


def _store_batch(store: Store, batch: list[Reading], tally: Tally, where: str) -> None:
    """Write `batch` and count it; a store that fails (down, refusing, DuckDB's own
    errors) ends the import with one line saying how far it got."""
    try:
        tally.stored += store.write(batch)
    except Exception as exc:
        raise _fail(
            f"{where}: error: store: {type(exc).__name__}: {exc} "
            f"({tally.stored} readings stored before it)"
        ) from None
    tally.readings += len(batch)
    batch.clear()


@app.command()
def analyse(
    config: ConfigOption,
    from_: Annotated[str, typer.Option("--from", help="First local date, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last local date (inclusive), YYYY-MM-DD.")],
    room: Annotated[list[str] | None, typer.Option(help="Only this room (repeatable).")] = None,
    profile: Annotated[
        str | None, typer.Option(help="Guidance profile id (default: the site's).")
    ] = None,
    format_: Annotated[str, typer.Option("--format", help="json or table.")] = "table",
) -> None:
    """Judge each room against the guidance profile over occupied hours (a contract)."""
    import json
    from datetime import date

    from ventwatch.analysis.engine import analyse_site, to_json
    from ventwatch.analysis.occupancy import local_day_bounds
    from ventwatch.analysis.profiles import UnknownProfileError, load_profile
    from ventwatch.analysis.series import read_minutes

    site = _site(config)
    if format_ not in ("json", "table"):
        raise _fail(f"error: --format {format_!r}: use json or table")
    try:
        first, last = date.fromisoformat(from_), date.fromisoformat(to)
    except ValueError as exc:
        raise _fail(f"error: dates are YYYY-MM-DD: {exc}") from None
    if last < first:
        raise _fail(f"error: --to {to} is before --from {from_}")
    known = {r.name for r in site.rooms}
    unknown = [r for r in room or [] if r not in known]
    if unknown:
        raise _fail(f"error: unknown room {unknown[0]!r} (rooms: {', '.join(sorted(known))})")
    try:
        guidance = load_profile(profile or site.guidance.profile)
    except UnknownProfileError as exc:
        raise _fail(f"error: {exc}") from None
    store = _open_store(site, config)
    try:
        start, end = local_day_bounds(first, last, site.tz)
        minutes = read_minutes(store, site, guidance, room or None, start, end)
    finally:
        store.close()
    result = analyse_site(minutes, site, guidance, first, last, room or None)
    if format_ == "json":
        typer.echo(json.dumps(to_json(result), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"{result.site}: {first} to {last}, profile {guidance.id} {guidance.version} "
        f"({guidance.title})"
    )
    header = (
        "room",
        "status",
        "consistently",
        "coverage%",
        "mean",
        ">800%",
        ">1500%",
        "max20",
        "run>1500",
        "temp min/mean",
    )
    rows = [header]
    for r in result.rooms:
        m, t = r.co2, r.temperature

        def num(v: float | None, digits: int = 0) -> str:
            return "-" if v is None else f"{v:.{digits}f}"

        rows.append(
            (
                r.room,
                m.status,
                r.consistently.status,
                num(m.coverage_pct),
                num(m.co2_mean_ppm),
                num(m.pct_time_above_800, 1),
                num(m.pct_time_above_1500, 1),
                num(m.max_20min_mean_ppm),
                f"{m.longest_above_1500_min} min",
                f"{num(t.min_c, 1)}/{num(t.mean_c, 1)} °C",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@app.command()
def profiles(
    markdown: Annotated[
        bool, typer.Option(help="The table of docs/guidance.md, in Markdown.")
    ] = False,
) -> None:
    """List the shipped guidance profiles with their figures and sources."""
    from ventwatch.analysis.profiles import available_profiles, load_profile, profiles_table

    if markdown:
        typer.echo(profiles_table(), nl=False)
        return
    for pid in available_profiles():
        p = load_profile(pid)
        typer.echo(f"{p.id} {p.version}: {p.title}")


@app.command()
def run(
    config: Annotated[
        list[Path],
        typer.Option(
            "--config",
            "-c",
            help="The site file (see sensors.example.yaml). Give it once per site to run "
            "several sites in one dashboard: a site list at /, each site under /sites/<name>/.",
        ),
    ],
    port: PortOption = None,
    verbose: bool = False,
) -> None:
    """Run ingest and the dashboard against the broker and store the site file names."""
    from ventwatch.service import (
        Service,
        in_site_list,
        serve,
        several_sites_problems,
        site_list,
    )

    _logging(verbose)
    sites = [(path, _site(path)) for path in config]
    settings = [_settings(site, path, port) for path, site in sites]
    if len(sites) > 1:
        settings = [in_site_list(site, s) for (_, site), s in zip(sites, settings, strict=True)]
        problems = several_sites_problems(
            [(path, s, site) for (path, site), s in zip(sites, settings, strict=True)]
        )
        if problems:
            raise _fail("error: these sites cannot run together:\n  " + "\n  ".join(problems))
    stores = []
    for s in settings:
        try:
            stores.append(open_store(s.store_url, s.store_base))
        except StoreURLError as exc:
            for store in stores:
                store.close()
            raise _fail(f"error: store: {exc}") from None
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
            f"No users yet: add one with `ventwatch users add --config {config[0]} NAME "
            "--role admin`, or nobody can sign in.",
            err=True,
        )
    serve(app, http, services, on_ready=lambda: typer.echo(f"Dashboard: {url}"))


@app.command()
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

    _logging(verbose)
    site = _site(config)
    settings = _settings(site, config, None)
    if share is not None:
        # Each process of a group keeps a spool of its own.
        name = instance or socket.gethostname()
        client_id = f"{settings.client_id}-{name}"
        settings = replace(settings, spool_dir=settings.spool_dir / name)
    else:
        client_id = settings.client_id
    try:
        store = open_store(settings.store_url, settings.store_base)
    except StoreURLError as exc:
        raise _fail(f"error: store: {exc}") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Ingest(site, settings, store, threading.Event(), share, client_id)
    worker.start()
    typer.echo(f"ingest: {settings.broker} → {_redacted(settings.store_url)}", err=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        store.close()
        counts = worker.pipeline.quarantine.snapshot()["counts"]
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        typer.echo(f"ingest: stopped; {summary or 'no messages'}", err=True)


@app.command()
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
    from ventwatch.demo_broker import DemoBroker
    from ventwatch.demo_mail import DemoMail
    from ventwatch.demo_users import add_demo_users, sign_in_lines
    from ventwatch.service import Service
    from ventwatch.simulator import Simulator
    from ventwatch.simulator.classrooms import replay_start
    from ventwatch.simulator.history import backfill

    _logging(verbose)
    site = _site(config)
    embedded = None
    if broker is None:
        try:
            http_port = port or parse_http(os.environ.get("VENTWATCH_HTTP", "127.0.0.1:8000")).port
        except SettingsError as exc:
            raise _fail(f"error: {exc}") from None
        embedded = DemoBroker(port=_free_port(avoid=http_port))
        embedded.start()
        broker = embedded.url
    data_dir = Path(tempfile.mkdtemp(prefix="ventwatch-demo-"))
    env = {
        "VENTWATCH_BROKER_URL": broker,
        "VENTWATCH_STORE_URL": f"duckdb://{data_dir / 'demo.duckdb'}",
        "VENTWATCH_SPOOL_DIR": str(data_dir / "spool"),
        "VENTWATCH_ACCOUNTS_DB": str(data_dir / "accounts.sqlite"),
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
        raise _fail(f"error: {exc}") from None
    # One clock for the whole demo: the simulated school day stamps the sensors' messages,
    # and ingest, alerts and every page read the same clock, so they tell one story.
    start = replay_start(site, datetime.now(UTC))
    clock = SimulatedClock(start, speed)
    simulator = Simulator(site, speed=1.0, start=start)  # at the clock's pace, on its time
    service = Service(site, settings, open_store(settings.store_url), clock=clock, alert_tick_s=5.0)
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


@app.command()
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

    _logging(verbose)
    site = _site(config)
    try:
        parse_broker_url(broker, "--broker")
    except SettingsError as exc:
        raise _fail(f"error: {exc}") from None
    stop = threading.Event()
    typer.echo(f"simulating {len(site.sensors)} sensors of {site.site.name} → {broker}")
    try:
        Simulator(site, speed=speed).run(broker, stop)
    except KeyboardInterrupt:
        stop.set()


@app.callback(invoke_without_command=True)
def _version(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(f"ventwatch {__version__}")
        raise typer.Exit()
