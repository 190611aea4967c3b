"""The dashboard under load: 1,000 rooms with a week of 1-minute readings, 50 concurrent clients.

Goal (dashboard issue): `/api/rooms` and the overview page answer with p95 under 100 ms and at
least half the throughput of a trivial static JSON route of the same app (`/api/version`:
the same login check, no data; `/healthz` asks the store, so it is no baseline),
measured in the same run. ratio = the worse of the two routes' throughput / the static route's.

The app runs as it does in production (uvicorn, one process, the real DuckDB store and
accounts, a bearer token on every request) in a subprocess, its clock running from inside
the seeded week so "now" has fresh readings. The load comes from another process: 50 asyncio
tasks on one httpx client, each sending its next request as soon as the last one answered.

    .venv/bin/python bench/dashboard.py [--rooms 1000] [--seconds 20] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.analyse import fill, site
from ventwatch.accounts import ALL_SITES, Accounts, Role

# Friday of the seeded week, mid-lesson: every room has a reading from the last minute.
NOW = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
SERVER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    import uvicorn
    from bench.analyse import site
    from ventwatch.accounts import Accounts
    from ventwatch.dashboard.app import create_app
    from ventwatch.store.duckdb import DuckDBStore
    folder, rooms, port, now = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    # The clock runs from inside the seeded week, so per-second and per-minute caches
    # expire as they would in production.
    offset = datetime.fromisoformat(now) - datetime.now(UTC)
    app = create_app(
        site(rooms), DuckDBStore(folder / "store.duckdb"),
        accounts=Accounts(folder / "accounts.sqlite"), clock=lambda: datetime.now(UTC) + offset,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    """
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def load(url: str, token: str, clients: int, seconds: float) -> tuple[float, float, int]:
    """Requests per second, p95 latency (ms) and failures for one route."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30
    ) as client:
        await client.get(url)  # warm: the first request fills the per-minute caches
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    return len(latencies) / elapsed, p95, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ventwatch-bench-dashboard-"))
    started = time.perf_counter()
    rows = fill(folder / "store.duckdb", args.rooms)
    print(f"seeded {rows} readings for {args.rooms} rooms in {time.perf_counter() - started:.1f} s")
    accounts = Accounts(folder / "accounts.sqlite")
    accounts.add_user("bench", Role.ADMIN, "bench-password-123", [ALL_SITES])
    token = accounts.new_token("bench", "bench")
    assert site(args.rooms).site.name  # the server builds the same site
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(folder), str(args.rooms), str(port), NOW.isoformat()],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the dashboard did not start")
            time.sleep(0.2)
        size = len(httpx.get(base + "/", headers={"Authorization": f"Bearer {token}"}).content)
        print(f"overview page: {size / 1024:.0f} KiB for {args.rooms} rooms")
        results = {}
        routes = (("static", "/api/version"), ("rooms", "/api/rooms"), ("overview", "/"))
        for name, path in routes:
            rps, p95, failures = asyncio.run(load(base + path, token, args.clients, args.seconds))
            results[name] = (rps, p95)
            print(f"{path:12} {rps:8.1f} req/s  p95 {p95:7.1f} ms  failures {failures}")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    static_rps = results["static"][0]
    ratio = min(results["rooms"][0], results["overview"][0]) / static_rps
    print(
        f"RESULT dashboard ratio={ratio:.2f} goal=0.5 static_rps={static_rps:.0f} "
        f"rooms_rps={results['rooms'][0]:.0f} rooms_p95_ms={results['rooms'][1]:.1f} "
        f"overview_rps={results['overview'][0]:.0f} "
        f"overview_p95_ms={results['overview'][1]:.1f} p95_goal_ms=100"
    )


if __name__ == "__main__":
    main()
