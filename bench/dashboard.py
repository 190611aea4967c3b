"""The dashboard under load: 1,000 rooms with a week of 1-minute readings ending now, 50
concurrent clients, against a trivial JSON route of the same server in the same run.

Goal (dashboard issue): `/api/rooms` and the overview page `/` answer with p95 under 100 ms and
at least half the throughput of the trivial route. ratio = the worse of the two routes'
requests per second / the trivial route's.

The trivial route is `/api/version`: the same bearer-token check as every other route, then a
constant. Not `/healthz`, which asks the store for readings (a DuckDB query per request), and
not a route without a login, which no data route of the dashboard can be.

The server is the real one, `ventwatch run` in a subprocess with a site file of its own, the
seeded DuckDB store, an accounts file and a Mosquitto on a free loopback port: the dashboard
shares its process (and GIL) with ingest as it does in production, and the overview carries
the ingest panel an admin sees. The readings end at the minute the bench starts, so the
dashboard's own clock sees them fresh (the profile calls a room stale after 10 min; the
bench takes about two).

The load is wrk (Debian's `wrk`: one thread, 50 keep-alive connections, each sending its next
request when the last one answered). An asyncio client in Python is no judge of this: on the
two cores here it measured itself, not the server. A Lua hook prints wrk's own latency
histogram's p95, as JSON. Every response counts; any error or non-2xx voids the figure. Each
request says it takes gzip, as every browser does (the big answers are sent compressed then).

    .venv/bin/python bench/dashboard.py [--rooms 1000] [--seconds 20] [--clients 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ventwatch.accounts import ALL_SITES, Accounts, Role  # noqa: E402
from ventwatch.store.duckdb import DuckDBStore  # noqa: E402

SITE = "Bench Trust"
BUILDINGS = 10
FLOORS = 4  # per building; rooms are spread evenly over buildings, then floors
DAYS = 7
ROUTES = (("static", "/api/version"), ("rooms", "/api/rooms"), ("overview", "/"))
P95_GOAL_MS = 100.0
RATIO_GOAL = 0.5

# Each request signs in as the next of these users: every role, so both versions of the
# overview (with and without the ingest panel) are asked for, by several people each.
USERS = [(f"{role.value}-{n}", role) for role in Role for n in range(3)]

# wrk calls `request` for every request and `done` once, after the run, with its summary and
# latency histogram (microseconds). TOKENS becomes a Lua list of the users' tokens.
WRK_SCRIPT = """
local tokens = {TOKENS}
local next_user = 0
request = function()
  next_user = next_user % #tokens + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[next_user]
  wrk.headers["Accept-Encoding"] = "gzip, deflate, br, zstd"  -- as Chromium asks
  return wrk.format()
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, '
    .. '"p95_us": %d, "p99_us": %d, "max_us": %d, "errors": %d, "non_2xx": %d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    kib_per_request: float
    failures: int


def room_name(i: int) -> str:
    return f"Room {i:04d}"


def site_file(folder: Path, rooms: int, broker_url: str) -> Path:
    """Rooms spread over buildings and floors as on a large trust's site, one sensor each."""
    per_building = -(-rooms // BUILDINGS)
    per_floor = -(-per_building // FLOORS)
    lines = [
        f"site: {{name: {SITE}, timezone: UTC}}",
        f"broker: {{url: '{broker_url}', client_id: ventwatch-bench-dashboard}}",
        "rooms:",
    ]
    for i in range(rooms):
        building, floor = i // per_building, (i % per_building) // per_floor
        lines.append(
            f"  - {{name: {room_name(i)}, building: Block {chr(65 + building)}, "
            f"floor: {floor}, capacity: 30, volume_m3: 180}}"
        )
    lines.append("sensors:")
    for i in range(rooms):
        lines.append(f"  - {{family: tasmota, device: bench-{i:04d}, room: {room_name(i)}}}")
    path = folder / "site.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fill(path: Path, rooms: int, end: datetime) -> int:
    """One reading a minute per room for the `DAYS` before `end`, shaped as bench/analyse.py's
    week (lessons build CO2 up on weekdays, nights decay), with each reading's hour and weekday
    taken from its own time, so the week can end at any minute."""
    DuckDBStore(path).close()  # creates the table as ventwatch does
    con = duckdb.connect(str(path))
    minutes = DAYS * 1440
    start = end - timedelta(minutes=minutes - 1)
    con.execute(
        """
        INSERT INTO readings
        SELECT t, ?, 'Room ' || lpad(r::VARCHAR, 4, '0'), 'bench-' || lpad(r::VARCHAR, 4, '0'),
               'tasmota',
               round(420 + CASE WHEN dow < 5 AND hod BETWEEN 8.75 AND 15.25
                     THEN (200 + (r % 9) * 150) * (1 - exp(-(hod - 8.75) % 1 * 4))
                     ELSE 0 END + (hash(r, m) % 15)::DOUBLE, 0),
               20.5 - 0.5 * (r % 3), 45.0, NULL, NULL
        FROM (
            SELECT r, m, t,
                   -- 1970-01-01 was a Thursday: Monday is 0, as in the site's occupied days
                   (epoch(t)::BIGINT // 86400 + 3) % 7 AS dow,
                   (epoch(t)::BIGINT // 60 % 1440) / 60.0 AS hod
            FROM (SELECT r, m, ?::TIMESTAMPTZ + m * INTERVAL 1 minute AS t
                  FROM range(?) AS rooms(r), range(?) AS minutes(m))
        )
        """,
        [SITE, start, rooms, minutes],
    )
    count = con.execute("SELECT count(*) FROM readings").fetchall()[0][0]
    con.close()
    return int(count)


def wrk(url: str, clients: int, seconds: float, script: Path) -> Load:
    out = subprocess.run(
        [
            "wrk",
            "--threads",
            "1",  # one core for the load, the other for the server (2 cores here)
            "--connections",
            str(clients),
            "--duration",
            f"{seconds:g}s",
            "--timeout",
            "30s",  # wrk's 2 s default would drop slow answers from the latency figures
            "--script",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT-JSON "))
    r = json.loads(line.removeprefix("RESULT-JSON "))
    return Load(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p95_ms=r["p95_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        kib_per_request=r["bytes"] / max(r["requests"], 1) / 1024,
        failures=r["errors"] + r["non_2xx"],
    )


def wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit(f"the dashboard did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def check_answers(base: str, tokens: dict[Role, str], rooms: int) -> None:
    """What the load will fetch is the real thing: every room with fresh readings, and the
    ingest panel on the overview for those who look after sensors only."""

    def get(path: str, role: Role) -> httpx.Response:
        auth = {"Authorization": f"Bearer {tokens[role]}"}
        response = httpx.get(base + path, headers=auth, timeout=60)
        response.raise_for_status()
        return response

    body = get("/api/rooms", Role.STAFF).json()
    bands: dict[str, int] = {}
    for room in body["rooms"]:
        bands[room["band"]] = bands.get(room["band"], 0) + 1
    print(f"/api/rooms: {len(body['rooms'])} rooms, bands {bands}")
    panels = {role: 'id="ingest"' in get("/", role).text for role in Role}
    page = get("/", Role.ADMIN)
    tiles = page.text.count("data-room=")
    print(f"overview page: {len(page.content) / 1024:.0f} KiB, {tiles} tiles")
    if len(body["rooms"]) != rooms or bands.get("stale", 0) or bands.get("no-data", 0):
        raise SystemExit("the dashboard does not show every room with fresh readings")
    if tiles != rooms or panels != {r: r in (Role.ADMIN, Role.SITE_MANAGER) for r in Role}:
        raise SystemExit(f"the overview is not what each role should see: {panels}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    # The servers' fixtures, here only: the server's process must not carry pytest.
    from tests.conftest import free_port, start_mosquitto

    with tempfile.TemporaryDirectory(prefix="ventwatch-bench-dashboard-") as tmp:
        folder = Path(tmp)
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        began = time.perf_counter()
        rows = fill(folder / "store.duckdb", args.rooms, end)
        seeded_s = time.perf_counter() - began
        print(f"seeded {rows:,} readings for {args.rooms} rooms in {seeded_s:.1f} s")
        accounts = Accounts(folder / "accounts.sqlite")
        tokens = {}
        for name, role in USERS:
            accounts.add_user(name, role, "bench-password-123", [ALL_SITES])
            tokens[name] = accounts.new_token(name, "bench")
        script = folder / "load.lua"
        script.write_text(
            WRK_SCRIPT.replace("TOKENS", ", ".join(f'"{t}"' for t in tokens.values()))
        )

        broker = start_mosquitto(folder / "mosquitto")
        port = free_port()
        log = folder / "server.log"
        env = {
            **os.environ,
            "VENTWATCH_HTTP": f"127.0.0.1:{port}",
            "VENTWATCH_STORE_URL": f"duckdb://{folder / 'store.duckdb'}",
            "VENTWATCH_STATE_DB": str(folder / "accounts.sqlite"),
            "VENTWATCH_SPOOL_DIR": str(folder / "spool"),
        }
        config = site_file(folder, args.rooms, broker.url)
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                [sys.executable, "-m", "ventwatch", "run", "--config", str(config)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        results: dict[str, Load] = {}
        try:
            wait_until_up(base, server, log)
            by_role = {role: tokens[name] for name, role in USERS}
            check_answers(base, by_role, args.rooms)
            for name, path in ROUTES:
                results[name] = load = wrk(base + path, args.clients, args.seconds, script)
                print(
                    f"{path:12} {load.rps:8.1f} req/s  p50 {load.p50_ms:7.1f} ms  "
                    f"p95 {load.p95_ms:7.1f} ms  p99 {load.p99_ms:7.1f} ms  "
                    f"{load.kib_per_request:6.1f} KiB/answer  failures {load.failures}"
                )
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            broker.stop()

    if any(load.failures for load in results.values()):
        raise SystemExit("some requests failed: the figures above are void")
    static = results["static"].rps
    ratio = min(results["rooms"].rps, results["overview"].rps) / static
    p95 = max(results["rooms"].p95_ms, results["overview"].p95_ms)
    met = ratio >= RATIO_GOAL and p95 < P95_GOAL_MS
    print(
        f"goal {'met' if met else 'NOT met'}: p95 < {P95_GOAL_MS:.0f} ms and "
        f">= {RATIO_GOAL:.0%} of the trivial route's throughput (ratio {ratio:.2f})"
    )
    print(
        f"RESULT dashboard ratio={ratio:.2f} goal={RATIO_GOAL} "
        f"rooms_p95_ms={results['rooms'].p95_ms:.1f} "
        f"overview_p95_ms={results['overview'].p95_ms:.1f} p95_goal_ms={P95_GOAL_MS:.0f} "
        f"static_rps={static:.0f} rooms_rps={results['rooms'].rps:.0f} "
        f"overview_rps={results['overview'].rps:.0f} rooms={args.rooms} "
        f"clients={args.clients} seconds={args.seconds:g}"
    )


if __name__ == "__main__":
    main()
