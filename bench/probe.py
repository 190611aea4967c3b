"""Hostile probes, as an attacker and a hostile network would try them, against the real parts:
a real Mosquitto (own config, temp folder, free loopback port) and the real `ventwatch run`.

1. Publishes hostile payloads (malformed and deeply nested JSON, binary noise, payloads over the
   size cap, made-up topics by the thousand, ids with lone surrogates, control characters and
   markup, impossible values, times far off) interleaved with numbered good readings of the
   site's own sensors, then counts the good readings the store kept and the peak RSS of the
   `run` process.
2. Walks every route of the dashboard as every role (anonymous, staff, rep, site manager,
   admin): the role table must hold (anonymous is sent to sign in, a role the route does not
   admit gets 403), no route answers 5xx, and no page carries a hostile name unescaped.

Not a test (no timing asserts): it prints what held. The last line is
`RESULT probe ratio=<good readings kept / sent> goal=1 ...`.

    .venv/bin/python -m bench.probe [--hostile 11000] [--good 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SITE = "Probe <School>"
SCRIPT = "<script>alert(1)</script>"
# Names a site manager may well type, which must reach every page as text.
ROOMS = ["Lab 1", f"Art {SCRIPT}", 'Music "><img src=x onerror=alert(1)>', "=1+1"]
SENSORS = [f"probe-{i}" for i in range(len(ROOMS))]
PASSWORD = secrets.token_urlsafe(16)  # one per run: the users live for one run only
ROLES = ("staff", "rep", "site_manager", "admin")


def site_file(folder: Path) -> Path:
    rooms = "\n".join(f"  - {{name: {json.dumps(r)}}}" for r in ROOMS)
    sensors = "\n".join(
        f"  - {{family: tasmota, device: {s}, room: {json.dumps(r)}}}"
        for s, r in zip(SENSORS, ROOMS, strict=True)
    )
    path = folder / "site.yaml"
    path.write_text(
        f"site: {{name: {json.dumps(SITE)}, timezone: Europe/London}}\n"
        f"rooms:\n{rooms}\nsensors:\n{sensors}\n"
    )
    return path


def good_readings(n: int) -> list[tuple[str, bytes, datetime]]:
    """n numbered readings of the site's sensors, a second apart, within the last hours."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=n + 600)
    out = []
    for i in range(n):
        at = start + timedelta(seconds=i)
        payload = {
            "Time": at.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "SCD40": {"CarbonDioxide": 600 + i % 700, "Temperature": 20.5, "Humidity": 40},
        }
        sensor = SENSORS[i % len(SENSORS)]
        out.append((f"tele/{sensor}/SENSOR", json.dumps(payload).encode(), at))
    return out


def hostile(n: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """n messages of the kinds an attacker or a broken device sends, in turn."""
    big = b'{"SCD40": {"CarbonDioxide": 700}, "pad": "' + b"x" * 200_000 + b'"}'
    deep = b"[" * 30_000 + b"]" * 30_000  # under the size cap, deeper than json recurses
    kinds: list[Callable[[int], tuple[str, bytes]]] = [
        lambda i: (f"tele/{SENSORS[i % 4]}/SENSOR", b'{"SCD40": {"CarbonDioxide": '),
        lambda i: (f"junk/{i}/{rng.random()}", rng.randbytes(64)),
        lambda i: (f"tele/{SENSORS[i % 4]}/SENSOR", big),
        lambda i: (f"tele/{SENSORS[i % 4]}/SENSOR", deep),
        lambda i: (
            f"home/TheengsGateway/BTtoMQTT/AA{i:010d}",
            b'{"id": "\\ud800", "co2": 700, "model_id": "ARANET4"}',
        ),
        lambda i: (
            f"v3/probe@ttn/devices/d{i}/up",
            json.dumps(
                {
                    "end_device_ids": {"device_id": f"bad\u0007{SCRIPT}{i}"},
                    "received_at": "2026-12-01T10:00:00Z",
                    "uplink_message": {"decoded_payload": {"co2": 700}},
                }
            ).encode(),
        ),
        lambda i: (f"zigbee2mqtt/{SCRIPT} {i}", json.dumps({"co2": 900}).encode()),
        lambda i: (
            f"tele/{SENSORS[i % 4]}/SENSOR",
            json.dumps({"SCD40": {"CarbonDioxide": 65000, "Temperature": 500}}).encode(),
        ),
        lambda i: (
            f"tele/{SENSORS[i % 4]}/SENSOR",
            json.dumps({"Time": "1999-01-01T00:00:00", "SCD40": {"CarbonDioxide": 700}}).encode(),
        ),
        lambda i: (f"homeassistant/sensor/x{i}/state", rng.randbytes(16)),
        lambda i: (f"airgradient/readings/{i:012x}", b"\xff\xfe\x00garbage"),
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe-publisher")
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            info = client.publish(topic, payload, qos=1)
            info.wait_for_publish(timeout=30)
    finally:
        client.loop_stop()
        client.disconnect()


def signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    answer = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf": csrf.group(1), "next": "/"}
    )
    assert answer.status_code == 303, answer.text
    return client


def status_of(client: httpx.Client, method: str, url: str) -> int:
    """The status a route answers with; a stream (server-sent events) is left at its head."""
    data: dict[str, str] | None = {} if method == "POST" else None
    with client.stream(method, url, data=data) as answer:
        if not url.endswith("/stream"):
            answer.read()
        return answer.status_code


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def processed(client: httpx.Client) -> int:
    counts = client.get("/api/ingest").json().get("counts", {})
    return int(sum(counts.values()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hostile", type=int, default=11_000)
    parser.add_argument("--good", type=int, default=1_000)
    args = parser.parse_args()

    # The servers' fixtures and the route table's walk, here only.
    from tests.conftest import free_port, start_mosquitto, wait_for_port
    from tests.test_accounts import PUBLIC, api_routes, required_roles
    from ventwatch.accounts import ALL_SITES, Accounts, Role
    from ventwatch.config import load_site
    from ventwatch.dashboard.app import create_app
    from ventwatch.store.duckdb import DuckDBStore

    rng = random.Random(17)
    good = good_readings(args.good)
    bad = hostile(args.hostile, rng)
    mixed: list[tuple[str, bytes]] = []
    every = max(1, len(bad) // max(1, len(good)))
    for i, (topic, payload) in enumerate(bad):
        mixed.append((topic, payload))
        if i % every == 0 and i // every < len(good):
            mixed.append(good[i // every][:2])
    mixed += [g[:2] for g in good[len(bad) // every + 1 :]]

    with tempfile.TemporaryDirectory(prefix="ventwatch-probe-") as tmp:
        folder = Path(tmp)
        site_path = site_file(folder)
        site = load_site(site_path)
        accounts = Accounts(folder / "accounts.sqlite")
        for role in Role:
            accounts.add_user(role.value, role, PASSWORD, [ALL_SITES])
        broker = start_mosquitto(folder / "mosquitto")
        port = free_port()
        env = {
            **os.environ,
            "VENTWATCH_BROKER_URL": broker.url,
            "VENTWATCH_STATE_DB": str(folder / "accounts.sqlite"),
            "VENTWATCH_STORE_URL": f"duckdb://{folder / 'store.duckdb'}",
            "VENTWATCH_SPOOL_DIR": str(folder / "spool"),
        }
        log = (folder / "run.log").open("wb")
        run = subprocess.Popen(
            [sys.executable, "-m", "ventwatch", "run", "--config", str(site_path)],
            env={**env, "VENTWATCH_HTTP": f"127.0.0.1:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_port(port, timeout=60)
            admin = signed_in(base, "admin")
            began = time.perf_counter()
            publish_all(broker.port, mixed)
            deadline = time.monotonic() + 300
            while processed(admin) < len(mixed) and time.monotonic() < deadline:
                time.sleep(0.5)
            ingest_s = time.perf_counter() - began
            counts = admin.get("/api/ingest").json()["counts"]
            rss = peak_rss_mb(run.pid)

            # Every route as every role, from the route table of the same app.
            with tempfile.TemporaryDirectory() as scratch:
                table = create_app(site, DuckDBStore(Path(scratch) / "s.duckdb"), accounts=accounts)
                routes = [
                    (method, route.path, required_roles(route))
                    for route in api_routes(table.routes)
                    for method in sorted(route.methods or ())
                    if method in ("GET", "POST") and (method, route.path) not in PUBLIC
                ]
            clients: dict[str, httpx.Client] = {
                "anonymous": httpx.Client(base_url=base, follow_redirects=False, timeout=60),
                **{name: signed_in(base, name) for name in ROLES},
            }
            outcome: Counter[str] = Counter()
            problems: list[str] = []
            hostile_pages = [
                "/",
                "/week",
                "/sensors",
                "/alerts",
                *(f"/room?{httpx.QueryParams({'name': room})}" for room in ROOMS),
            ]
            for method, path, admitted in routes:
                url = re.sub(r"\{[^}]+\}", "1", path)
                if url == "/logout":
                    continue  # would end the session the walk goes on with
                for who, client in clients.items():
                    code = status_of(client, method, url)
                    outcome["checks"] += 1
                    if code >= 500:
                        problems.append(f"{who} {method} {url}: {code}")
                    elif who == "anonymous":
                        ok = code in (401, 303) or (code == 403 and method == "POST")
                        if not ok:
                            problems.append(f"anonymous {method} {url}: {code}")
                    elif Role(who) not in admitted and code != 403:
                        problems.append(f"{who} {method} {url}: {code}, not 403")
            for path in hostile_pages:
                for who in ROLES:
                    page = clients[who].get(path)
                    outcome["pages"] += 1
                    if page.status_code >= 500:
                        problems.append(f"{who} GET {path}: {page.status_code}")
                    if SCRIPT in page.text or "<img src=x" in page.text:
                        problems.append(f"{who} GET {path}: a hostile name unescaped")
        finally:
            run.send_signal(signal.SIGINT)
            try:
                run.wait(timeout=30)
            except subprocess.TimeoutExpired:
                run.kill()
            log.close()
            broker.stop()

        con = duckdb.connect(str(folder / "store.duckdb"), read_only=True)
        stored = {
            (sensor, when.astimezone(UTC).replace(microsecond=0))
            for sensor, when in con.execute("SELECT sensor, time FROM readings").fetchall()
        }
        con.close()
        kept = sum(1 for topic, _, at in good if (topic.split("/")[1], at) in stored)
        tracebacks = (folder / "run.log").read_text(errors="replace").count("Traceback")

    print(f"published {len(mixed):,} messages ({len(bad):,} hostile, {len(good):,} good)")
    print(f"ingested in {ingest_s:.1f} s; outcomes {dict(sorted(counts.items()))}")
    print(f"good readings kept {kept}/{len(good)}; peak RSS of `run` {rss:.0f} MB")
    print(
        f"routes {len(routes)} x roles {len(clients)} = {outcome['checks']} checks; "
        f"{outcome['pages']} pages with hostile names; tracebacks in the log {tracebacks}"
    )
    for problem in problems[:40]:
        print(f"PROBLEM {problem}")
    print(
        f"RESULT probe ratio={kept / len(good):.3f} goal=1 good={len(good)} kept={kept} "
        f"hostile={len(bad)} routes={len(routes)} roles={len(clients)} "
        f"checks={outcome['checks']} problems={len(problems)} rss_mb={rss:.0f} "
        f"tracebacks={tracebacks}"
    )


if __name__ == "__main__":
    main()
