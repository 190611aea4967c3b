"""A local authority on one deployment: 400 schools x 40 rooms (16,000 rooms) in one InfluxDB
database, measured role by role, each against a baseline or a goal in the same run.

Real servers on this machine: a Mosquitto and Debian's influxd (own configs, temp folders,
free loopback ports) and PostgreSQL for the state database (the machine's on 127.0.0.1:5432,
a database of each part's own, dropped after; a private cluster where none runs), as a trust
deploys them; ventwatch's own processes (`ingest`, `serve`, monitor workers) as
subprocesses.

- **ingest** with 1, 2 and 4 `ventwatch ingest --share` processes draining one backlog of real
  Tasmota payloads (the sensors' readings at their real cadence, sped up: all of them queued
  at once) into InfluxDB: messages a second each, and the ratio 2/1 (goal 1.6 where the cores
  allow: the run says how many it had). Each process reads the 400 site files
  (`ingest --sites DIR`), which name one broker session: one connection per process, each
  message filed by the school whose file lists its sensor.
- **monitor**: one steady alert tick over every site (16,000 rooms, their last hour of
  readings in InfluxDB) in one process, then in two processes each judging half the sites
  (as two monitors holding half the leases each), started together: the tick's seconds
  (goal < 20) and the ratio one / two (goal 1.8).
- **dashboard**: `ventwatch serve --sites DIR` over the 400 site files under 50 clients (wrk):
  p95 of the site list (`/api/sites`, goal 200 ms; answered from the counts the process makes
  in the background, whose age and staleness it prints after the load) and of one 40-room
  site's `/api/rooms` (goal 100 ms).
- **analysis**: the weekly analysis (`ventwatch analyse`'s path: the store's minute means,
  then every metric of every room) of 2,000 rooms x a week of 1-minute readings on InfluxDB,
  against InfluxDB's own `GROUP BY time(1m)` fetch of the same week (goal: at most 3x), with
  the per-room cost and the 16,000 rooms projected from it.
- the peak memory of every process.

The last line is the contract:
`RESULT trust ratio=<ingest msg/s with 2 processes / with 1> goal=1.6 ingest1_msg_s=...
ingest2_msg_s=... ingest4_msg_s=... monitor_tick_s=... monitor_ratio=... site_list_p95_ms=...
rooms_p95_ms=... analysis_rooms=... analysis_s=... analysis_ratio=... max_rss_mb=... cores=...`

    .venv/bin/python -m bench.trust [--sites 400] [--rooms 40] [--messages 40000]
                                    [--analysis-rooms 2000] [--seconds 10] [--clients 50]
                                    [--parts ingest,monitor,dashboard,analysis]

A run of some parts (`--parts dashboard`) prints a `PARTIAL trust` line instead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import WRK_SCRIPT, wrk  # noqa: E402
from bench.ingest import influx_count, prepare_session, publish_backlog  # noqa: E402

if TYPE_CHECKING:
    from tests.conftest import PostgresServer

# A school Wednesday, mid-morning in lessons: every streaming alert rule has minutes to judge.
WEDNESDAY_1030 = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)
ANALYSIS_MONDAY = date(2026, 11, 16)
ANALYSIS_SUNDAY = date(2026, 11, 22)
PARTS = ("ingest", "monitor", "dashboard", "analysis")
GOALS = {
    "ingest_ratio": 1.6,
    "tick_s": 20.0,
    "monitor_ratio": 1.8,
    "sites_p95_ms": 200.0,
    "rooms_p95_ms": 100.0,
    "analysis_ratio": 3.0,
}


def school(i: int) -> str:
    return f"school-{i:03d}"


def site_document(name: str, rooms: list[str], sensors: list[str], store_url: str) -> str:
    """A site file as a trust writes one per school from one template (JSON is YAML): one
    broker session, store and spool for every school."""
    return json.dumps(
        {
            "site": {"name": name, "timezone": "UTC"},
            "broker": {"client_id": "ventwatch-trust"},
            "store": {"url": store_url, "spool": "spool"},
            "rooms": [{"name": room, "capacity": 30} for room in rooms],
            "sensors": [
                {"family": "tasmota", "device": sensor, "room": room}
                for sensor, room in zip(sensors, rooms, strict=True)
            ],
        }
    )


def write_sites(folder: Path, sites: int, rooms: int, store_url: str) -> Path:
    """One file per school, rooms r00..r39, a Tasmota sensor each (s003r07)."""
    where = folder / "sites"
    where.mkdir()
    for i in range(sites):
        names = [f"r{j:02d}" for j in range(rooms)]
        sensors = [f"s{i:03d}r{j:02d}" for j in range(rooms)]
        (where / f"{school(i)}.yaml").write_text(
            site_document(school(i), names, sensors, store_url)
        )
    return where


def lines_for(site: str, room: str, sensor: str, times_ms: range, co2: Sequence[float]) -> str:
    """Line protocol as `InfluxDBStore` writes it (names here need no escaping)."""
    tags = f"reading,family=tasmota,room={room},sensor={sensor},site={site}"
    return "\n".join(
        f"{tags} co2_ppm={value},temperature_c=21.0,humidity_pct=45.0 {t}"
        for t, value in zip(times_ms, co2, strict=False)
    )


def post_lines(http: str, database: str, chunks: Iterable[str]) -> None:
    with httpx.Client(base_url=http, timeout=300) as client:
        client.post("/query", data={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()
        for chunk in chunks:
            answer = client.post(
                "/write", params={"db": database, "precision": "ms"}, content=chunk.encode()
            )
            answer.raise_for_status()


class StateServer:
    """PostgreSQL for the parts' state databases, started on first use: the machine's, or
    a private cluster (the test suite's fixtures) where none runs."""

    def __init__(self) -> None:
        self._server: PostgresServer | None = None
        self._private = False
        self._made: list[str] = []

    def database(self, part: str) -> str:
        """A fresh database for one part: its URL."""
        if self._server is None:
            from tests.conftest import _machine_postgres, start_postgres

            machine = _machine_postgres()
            self._private = machine is None
            self._server = machine or start_postgres()
        name = f"ventwatch_bench_{part}_{os.getpid()}"
        self._server.admin(f"CREATE DATABASE {name}")
        self._made.append(name)
        return self._server.url(name)

    def close(self) -> None:
        if self._server is None:
            return
        from ventwatch.postgres_state import close_pools

        close_pools()
        if self._private:
            self._server.stop("immediate")
            return
        for name in self._made:
            self._server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


STATE = StateServer()


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def own_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- ingest ----------------------------------------------------------------------------------


def ingest_backlog(sites: int, rooms: int, n: int) -> list[tuple[str, bytes]]:
    """n readings over every sensor of every school, each sensor's k-th a minute after its
    (k-1)-th (Tasmota with `Time 2`: "Epoch"), all distinct."""
    sensors = [f"s{i:03d}r{j:02d}" for i in range(sites) for j in range(rooms)]
    start = int((datetime.now(UTC) - timedelta(days=6)).timestamp())
    out = []
    for m in range(n):
        sensor, k = sensors[m % len(sensors)], m // len(sensors)
        payload = {"Epoch": start + 60 * k, "SCD40": {"CarbonDioxide": 400 + m % 1200}}
        out.append((f"tele/{sensor}/SENSOR", json.dumps(payload).encode()))
    return out


def ingest_run(
    processes: int,
    sites_dir: Path,
    broker_port: int,
    http_port: int,
    folder: Path,
    backlog: list[tuple[str, bytes]],
) -> tuple[float, float]:
    """`processes` ingest processes on one shared subscription draining the backlog into a
    database of their own: (messages a second, peak RSS of the largest, MB)."""
    database = f"ingest{processes}"
    group = f"bench{processes}"
    env = {
        **os.environ,
        "VENTWATCH_BROKER_URL": f"mqtt://127.0.0.1:{broker_port}",
        "VENTWATCH_STORE_URL": f"influxdb://127.0.0.1:{http_port}/{database}",
        "VENTWATCH_SPOOL_DIR": str(folder / f"spool-{database}"),
        "VENTWATCH_STATE_URL": STATE.database(f"ingest{processes}"),
    }
    names = [f"p{k}" for k in range(processes)]
    for name in names:
        prepare_session(broker_port, f"ventwatch-trust-{name}", share=group)
    publish_backlog(broker_port, backlog)
    started = time.perf_counter()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ventwatch",
                "ingest",
                "--sites",
                str(sites_dir),
                "--share",
                group,
                "--instance",
                name,
            ],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for name in names
    ]
    count, moved = 0, time.monotonic()
    while count < len(backlog) and time.monotonic() - moved < 60:  # stalled a minute: give up
        time.sleep(0.2)
        now = influx_count(http_port, database)
        if now > count:
            count, moved = now, time.monotonic()
    elapsed = time.perf_counter() - started
    rss = max(peak_rss_mb(w.pid) for w in workers)
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(60)
    if count < len(backlog):
        raise SystemExit(f"ingest x{processes}: {count} of {len(backlog)} stored in time")
    return count / elapsed, rss


# -- monitor ---------------------------------------------------------------------------------


def seed_monitor_window(http: str, sites: int, rooms: int, start: datetime, end: datetime) -> int:
    """One reading a minute per room from `start` to `end`: rooms with k % 3 == 0 stuffy
    (1,700 ppm: alerts open), the rest fresh."""
    times = range(ms(start), ms(end), 60_000)
    chunks, lines, total = [], [], 0
    for i in range(sites):
        for j in range(rooms):
            value = 1700.0 if (i + j) % 3 == 0 else 650.0
            lines.append(
                lines_for(school(i), f"r{j:02d}", f"s{i:03d}r{j:02d}", times, [value] * len(times))
            )
            total += len(times)
        if len(lines) >= 400:
            chunks.append("\n".join(lines))
            lines = []
    if lines:
        chunks.append("\n".join(lines))
    post_lines(http, "trust", chunks)
    return total


def monitor_worker(sites_dir: str, state: str, part: int, parts: int, folder: str) -> None:
    """A monitor judging every `parts`-th site from `part`: one first tick (opens the alerts),
    then, once every worker is ready, the timed steady tick."""
    from ventwatch.alerts.alerting import Alerting
    from ventwatch.analysis.profiles import load_profile
    from ventwatch.config import load_site
    from ventwatch.settings import resolve
    from ventwatch.store import open_store

    files = sorted(Path(sites_dir).glob("*.yaml"))[part::parts]
    monitors = []
    for path in files:
        site = load_site(path)
        settings = resolve(site, path, env={"VENTWATCH_STATE_URL": state})
        store = open_store(settings.store_url, settings.store_base, site=site.site.name)
        profile = load_profile(site.guidance.profile)
        monitors.append(Alerting(site, settings, store, profile).monitor)
    began = time.perf_counter()
    for monitor in monitors:
        monitor.tick(WEDNESDAY_1030)
    first_s = time.perf_counter() - began
    Path(folder, f"ready-{parts}-{part}").touch()
    while not Path(folder, f"go-{parts}").exists():
        time.sleep(0.01)
    began = time.perf_counter()
    for monitor in monitors:
        monitor.tick(WEDNESDAY_1030 + timedelta(seconds=20))
    tick_s = time.perf_counter() - began
    print(
        json.dumps(
            {"tick_s": tick_s, "first_s": first_s, "rss_mb": own_rss_mb(), "sites": len(files)}
        )
    )


def monitor_run(sites_dir: Path, folder: Path, parts: int) -> list[dict[str, float]]:
    state = STATE.database(f"monitor{parts}")
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.trust",
                "--worker",
                "monitor",
                str(sites_dir),
                state,
                str(part),
                str(parts),
                str(folder),
            ],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for part in range(parts)
    ]
    deadline = time.monotonic() + 900
    while not all((folder / f"ready-{parts}-{p}").exists() for p in range(parts)):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise SystemExit("a monitor worker failed before its timed tick")
        time.sleep(0.05)
    (folder / f"go-{parts}").touch()
    results = []
    for w in workers:
        out, _ = w.communicate(timeout=900)
        if w.returncode:
            raise SystemExit(f"a monitor worker failed: {w.returncode}")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


# -- dashboard -------------------------------------------------------------------------------


def dashboard_load(
    sites_dir: Path, folder: Path, clients: int, seconds: float
) -> tuple[float, float, float]:
    """`ventwatch serve` over every site file under load: (site list p95, one site's
    /api/rooms p95, peak RSS MB)."""
    from tests.conftest import free_port
    from ventwatch.accounts import ALL_SITES, Accounts, Role
    from ventwatch.state_database import PostgresURL

    state = STATE.database("serve")
    accounts = Accounts(PostgresURL(state))
    accounts.add_user("trust-admin", Role.ADMIN, "bench-password-123", [ALL_SITES])
    token = accounts.new_token("trust-admin", "bench")
    script = folder / "load.lua"
    script.write_text(WRK_SCRIPT.replace("TOKENS", f'"{token}"'))
    port = free_port()
    env = {**os.environ, "VENTWATCH_STATE_URL": state}
    log = folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ventwatch",
                "serve",
                "--sites",
                str(sites_dir),
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                answer = httpx.get(f"{base}/api/sites", headers=auth, timeout=600)
                if answer.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        rooms_path = f"/sites/{school(0)}/api/rooms"
        listed = httpx.get(base + rooms_path, headers=auth, timeout=60).json()["rooms"]
        print(f"serve: {len(answer.json())} sites, {len(listed)} rooms at {rooms_path}")
        p95 = {}
        # One site's rooms first: the site list, when it is slow, leaves requests queued.
        for name in (rooms_path, "/api/sites"):
            single = time.perf_counter()
            httpx.get(base + name, headers=auth, timeout=600).raise_for_status()
            alone_ms = (time.perf_counter() - single) * 1000
            load = wrk(base + name, clients, seconds, script)
            if load.failures:
                raise SystemExit(f"{name}: {load.failures} requests failed: figures void")
            if load.rps == 0:
                # Nothing answered within the run: p95 is at least the run's length.
                p95[name] = seconds * 1000
                print(
                    f"{name:28} one client {alone_ms:8.1f} ms; under load no answer within "
                    f"{seconds:g} s: p95 > {seconds * 1000:.0f} ms"
                )
            else:
                p95[name] = load.p95_ms
                print(
                    f"{name:28} one client {alone_ms:8.1f} ms; under load {load.rps:7.1f} "
                    f"req/s, p50 {load.p50_ms:7.1f} ms, p95 {load.p95_ms:7.1f} ms"
                )
        # The list answers from counts made in the background: say how fresh they were.
        lines = httpx.get(base + "/api/sites", headers=auth, timeout=60).json()
        ages = [line["age_s"] for line in lines if line["age_s"] is not None]
        print(
            f"site list after the load: {len(ages)} of {len(lines)} sites counted, "
            f"{sum(line['stale'] for line in lines)} stale, oldest {max(ages, default=0):.1f} s"
        )
        sites_p95, rooms_p95 = p95["/api/sites"], p95[rooms_path]
        rss = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    return sites_p95, rooms_p95, rss


# -- analysis --------------------------------------------------------------------------------


def seed_analysis_week(http: str, rooms: int) -> int:
    """A week of 1-minute readings for `rooms` rooms of one site: lessons build CO2 up on
    school days (each room its own level), evenings and weekends fall back to outdoors."""
    start = datetime.combine(ANALYSIS_MONDAY, datetime.min.time(), UTC)
    minutes = 7 * 1440
    times = range(ms(start), ms(start) + minutes * 60_000, 60_000)
    shapes = {}
    for level in range(9):
        shape = []
        for m in range(minutes):
            day, minute = divmod(m, 1440)
            hour = minute / 60
            lesson = day < 5 and 8.75 <= hour <= 15.25
            rise = (200 + level * 150) * (1 - 2.718 ** (-((hour - 8.75) % 1) * 4))
            shape.append(round(420 + (rise if lesson else 0)))
        shapes[level] = shape
    chunks = (
        "\n".join(
            lines_for("analysis", f"r{r:04d}", f"a{r:04d}", times, shapes[r % 9])
            for r in range(first, min(first + 5, rooms))
        )
        for first in range(0, rooms, 5)
    )
    post_lines(http, "analysis", chunks)
    return rooms * minutes


def analysis_run(http_port: int, rooms: int, folder: Path) -> tuple[float, float]:
    """(InfluxDB's own fetch of the week's minute means, the analysis), in seconds."""
    from ventwatch.analysis.engine import analyse_site, to_json
    from ventwatch.analysis.occupancy import local_day_bounds
    from ventwatch.analysis.profiles import load_profile
    from ventwatch.analysis.series import read_minutes
    from ventwatch.config import load_site
    from ventwatch.store import open_store

    path = folder / "analysis.yaml"
    names = [f"r{r:04d}" for r in range(rooms)]
    url = f"influxdb://127.0.0.1:{http_port}/analysis"
    path.write_text(site_document("analysis", names, [f"a{r:04d}" for r in range(rooms)], url))
    site = load_site(path)
    start, end = local_day_bounds(ANALYSIS_MONDAY, ANALYSIS_SUNDAY, site.tz)

    began = time.perf_counter()
    fetched = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=600) as client:
        day = start
        while day < end:
            stop = min(day + timedelta(days=1), end)
            span = f"time >= {ms(day)}ms AND time < {ms(stop)}ms"
            q = (
                "SELECT mean(co2_ppm), mean(temperature_c), mean(humidity_pct) FROM reading "  # noqa: S608
                f"WHERE site = 'analysis' AND {span} "  # numbers only: nothing to inject
                'GROUP BY time(1m), "room" fill(none)'
            )
            answer = client.post("/query", data={"q": q, "db": "analysis", "epoch": "ns"})
            for series in answer.json()["results"][0].get("series", []):
                fetched += len(series["values"])
            day = stop
    fetch_s = time.perf_counter() - began

    store = open_store(url, site=site.site.name)
    profile = load_profile(site.guidance.profile)
    began = time.perf_counter()
    minutes = read_minutes(store, site, profile, None, start, end)
    document = to_json(analyse_site(minutes, site, profile, ANALYSIS_MONDAY, ANALYSIS_SUNDAY))
    analysis_s = time.perf_counter() - began
    store.close()
    statuses: dict[str, int] = {}
    for room in document["rooms"]:
        statuses[room["status"]] = statuses.get(room["status"], 0) + 1
    print(f"analysis: {rooms} rooms, {fetched:,} minute rows fetched, statuses {statuses}")
    return fetch_s, analysis_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=400)
    parser.add_argument("--rooms", type=int, default=40)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--analysis-rooms", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="Some of " + ",".join(PARTS) + " (no RESULT line)"
    )
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    if args.worker:
        _, *rest = args.worker  # "monitor", then its arguments
        monitor_worker(rest[0], rest[1], int(rest[2]), int(rest[3]), rest[4])
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    # The servers' fixtures, here only: the workers' processes must not carry pytest.
    from tests.conftest import start_influxd, start_mosquitto
    from ventwatch.alerts.monitor import streaming_span
    from ventwatch.alerts.rules import room_rules
    from ventwatch.analysis.profiles import load_profile
    from ventwatch.config import load_site

    parts = set(args.parts.split(","))
    cores = os.cpu_count() or 1
    rss: dict[str, float] = {}
    figures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="ventwatch-bench-trust-") as tmp:
        folder = Path(tmp)
        broker = start_mosquitto(folder / "mosquitto")
        influx = start_influxd(folder / "influxdb")
        http = f"http://127.0.0.1:{influx.port}"
        try:
            trust_url = f"influxdb://127.0.0.1:{influx.port}/trust"
            sites_dir = write_sites(folder, args.sites, args.rooms, trust_url)
            rooms_total = args.sites * args.rooms
            print(f"{args.sites} sites x {args.rooms} rooms = {rooms_total:,} rooms; {cores} cores")

            if "ingest" in parts:
                backlog = ingest_backlog(args.sites, args.rooms, args.messages)
                rates = {}
                for k in (1, 2, 4):
                    rates[k], rss[f"ingest x{k}"] = ingest_run(
                        k, sites_dir, broker.port, influx.port, folder, backlog
                    )
                    peak = rss[f"ingest x{k}"]
                    print(f"ingest x{k}: {rates[k]:8.0f} msg/s  (peak RSS {peak:.0f} MB)")
                figures["ratio"] = f"{rates[2] / rates[1]:.2f}"
                figures["goal"] = f"{GOALS['ingest_ratio']}"
                for k in (1, 2, 4):
                    figures[f"ingest{k}_msg_s"] = f"{rates[k]:.0f}"

            if "monitor" in parts:
                first = load_site(next(sites_dir.glob("*.yaml")))
                rules = room_rules(first, load_profile(first.guidance.profile))
                start, end = streaming_span(rules, WEDNESDAY_1030 + timedelta(seconds=20))
                points = seed_monitor_window(http, args.sites, args.rooms, start, end)
                print(f"monitor window {start:%H:%M}-{end:%H:%M}: {points:,} readings seeded")
                one = monitor_run(sites_dir, folder, 1)
                two = monitor_run(sites_dir, folder, 2)
                tick_s = one[0]["tick_s"]
                tick2_s = max(r["tick_s"] for r in two)
                rss["monitor x1"] = one[0]["rss_mb"]
                rss["monitor x2"] = max(r["rss_mb"] for r in two)
                print(
                    f"monitor: first tick {one[0]['first_s']:.2f} s; steady tick {tick_s:.2f} s "
                    f"in one process, {tick2_s:.2f} s in two (each half the sites)"
                )
                figures["monitor_tick_s"] = f"{tick_s:.2f}"
                figures["monitor_ratio"] = f"{tick_s / tick2_s:.2f}"

            if "dashboard" in parts:
                # Every room's last quarter of an hour, so that pages show live rooms.
                now = datetime.now(UTC).replace(second=0, microsecond=0)
                seed_monitor_window(http, args.sites, args.rooms, now - timedelta(minutes=15), now)
                sites_p95, rooms_p95, rss["serve"] = dashboard_load(
                    sites_dir, folder, args.clients, args.seconds
                )
                figures["site_list_p95_ms"] = f"{sites_p95:.1f}"
                figures["rooms_p95_ms"] = f"{rooms_p95:.1f}"

            if "analysis" in parts:
                seeded = seed_analysis_week(http, args.analysis_rooms)
                print(f"analysis week: {seeded:,} readings seeded")
                fetch_s, analysis_s = analysis_run(influx.port, args.analysis_rooms, folder)
                rss["analysis"] = own_rss_mb()
                per_room_ms = analysis_s / args.analysis_rooms * 1000
                print(
                    f"analysis of {args.analysis_rooms} rooms: InfluxDB's fetch {fetch_s:.2f} s, "
                    f"the analysis {analysis_s:.2f} s ({per_room_ms:.1f} ms a room; "
                    f"{rooms_total:,} rooms projected: {per_room_ms * rooms_total / 1000:.0f} s)"
                )
                figures["analysis_rooms"] = str(args.analysis_rooms)
                figures["analysis_s"] = f"{analysis_s:.2f}"
                figures["analysis_ratio"] = f"{analysis_s / fetch_s:.2f}"
        finally:
            broker.stop()
            influx.stop()
            STATE.close()

    for name, mb in rss.items():
        print(f"peak RSS {name:11} {mb:7.0f} MB")
    for name, goal in GOALS.items():
        print(f"goal {name}: {goal}")
    figures["max_rss_mb"] = f"{max(rss.values()):.0f}"
    figures["cores"] = str(cores)
    order = [
        "ratio",
        "goal",
        "ingest1_msg_s",
        "ingest2_msg_s",
        "ingest4_msg_s",
        "monitor_tick_s",
        "monitor_ratio",
        "site_list_p95_ms",
        "rooms_p95_ms",
        "analysis_rooms",
        "analysis_s",
        "analysis_ratio",
        "max_rss_mb",
        "cores",
    ]
    # The contract line only for a whole run; a run of some parts says which figures it has.
    head = "RESULT trust" if parts >= set(PARTS) else f"PARTIAL trust parts={args.parts}"
    print(head + "".join(f" {k}={figures[k]}" for k in order if k in figures))


if __name__ == "__main__":
    main()
