"""How fast ventwatch ingest drains a QoS 1 backlog, against a bare paho subscriber.

A real Mosquitto (own config, temp folder, free loopback port) gets a backlog of N Tasmota
messages queued for a persistent session; then one contestant at a time connects and drains it:

- bare:    a paho subscriber that only counts messages (the ceiling for a Python client),
- duckdb:  ventwatch ingest (decoders, pipeline, manual acks) into the embedded store,
- influx:  the same into a real InfluxDB 1.6 (Debian's influxd, own config and port),
- shared2: two `ventwatch ingest` processes on a shared subscription, into that InfluxDB.

Each contestant runs in a process of its own, so its peak RSS is its own. The last line is
`RESULT ingest ratio=<duckdb rate / bare rate> goal=0.9 ...`.

    .venv/bin/python bench/ingest.py [--messages 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


SENSORS = 100
TOPIC = "tele/bench-{:03d}/SENSOR"


def site_file(folder: Path, broker_url: str) -> Path:
    rooms = "\n".join(f"  - {{name: Room {i}, capacity: 30}}" for i in range(SENSORS))
    sensors = "\n".join(
        f"  - {{family: tasmota, device: bench-{i:03d}, room: Room {i}}}" for i in range(SENSORS)
    )
    path = folder / "bench-site.yaml"
    path.write_text(
        "site: {name: Bench, timezone: UTC}\n"
        f"broker: {{url: '{broker_url}', client_id: ventwatch-bench}}\n"
        f"rooms:\n{rooms}\nsensors:\n{sensors}\n"
    )
    return path


def messages(n: int) -> list[tuple[str, bytes]]:
    """n distinct readings: each sensor's k-th message is k seconds after a start an hour
    or so ago (Tasmota's Time: UTC here, as the bench site's time zone is UTC)."""
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(
        seconds=n // SENSORS + 600
    )
    out = []
    for i in range(n):
        sensor, k = i % SENSORS, i // SENSORS
        payload = {
            "Time": (start + timedelta(seconds=k)).isoformat(),
            "SCD40": {"CarbonDioxide": 400 + i % 1200, "Temperature": 21.0, "Humidity": 45.0},
            "TempUnit": "C",
        }
        out.append((TOPIC.format(sensor), json.dumps(payload).encode()))
    return out


def prepare_session(port: int, client_id: str, share: str | None = None) -> None:
    """Create the persistent session the contestant will resume, so the backlog queues."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.connect("127.0.0.1", port)
    done = threading.Event()
    client.on_subscribe = lambda *a: done.set()
    client.loop_start()
    topic = "tele/+/SENSOR" if share is None else f"$share/{share}/tele/+/SENSOR"
    client.subscribe(topic, 1)
    assert done.wait(10)
    client.disconnect()
    client.loop_stop()


def publish_backlog(port: int, backlog: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = []
    for topic, payload in backlog:
        info = client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:  # paho says "refused" only here
            raise RuntimeError(f"publish refused: {mqtt.error_string(info.rc)}")
        infos.append(info)
    for info in infos:
        info.wait_for_publish(timeout=60)
    client.disconnect()
    client.loop_stop()


# -- contestants, each in its own process ----------------------------------------------------
def worker_bare(port: int, n: int) -> dict[str, float]:
    got = 0
    done = threading.Event()

    def on_message(client, userdata, message) -> None:  # type: ignore[no-untyped-def]
        nonlocal got
        got += 1
        if got >= n:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", clean_session=False)
    client.on_message = on_message
    started = time.perf_counter()
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return {"count": got, "seconds": elapsed}


def worker_ventwatch(site: Path, store_url: str, spool: Path, n: int) -> dict[str, float]:
    from ventwatch.config import load_site
    from ventwatch.ingest.decoders import FAMILIES
    from ventwatch.ingest.worker import Ingest
    from ventwatch.settings import resolve
    from ventwatch.store import open_store

    cfg = load_site(site, FAMILIES)
    settings = resolve(
        cfg, site, env={"VENTWATCH_STORE_URL": store_url, "VENTWATCH_SPOOL_DIR": str(spool)}
    )
    store = open_store(settings.store_url, site=None)
    stop = threading.Event()
    ingest = Ingest(cfg, settings, store, stop)
    started = time.perf_counter()
    ingest.start()
    counts = ingest.pipeline.counters.counts()
    deadline = time.monotonic() + 600
    while counts["stored"] + counts["duplicate"] < n and time.monotonic() < deadline:
        time.sleep(0.02)
        counts = ingest.pipeline.counters.counts()
    elapsed = time.perf_counter() - started
    ingest.stop()
    store.close()
    return {"count": counts["stored"], "seconds": elapsed}


def rss_mb() -> float:
    """Peak RSS of this process since its exec (VmHWM). Not getrusage's ru_maxrss: on Linux
    that keeps the high-water mark of the forked parent, here the bench with its backlog."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_worker(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def influx_count(http_port: int, db: str) -> int:
    r = httpx.get(
        f"http://127.0.0.1:{http_port}/query",
        params={"db": db, "q": "SELECT count(co2_ppm) FROM reading"},
    )
    series = r.json()["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "bare":
            result = worker_bare(int(rest[0]), int(rest[1]))
        else:
            result = worker_ventwatch(Path(rest[0]), rest[1], Path(rest[2]), int(rest[3]))
        print(json.dumps({**result, "rss_mb": rss_mb()}))
        return

    # The servers' fixtures, here only: the contestants' processes must not carry pytest.
    from tests.conftest import start_influxd, start_mosquitto

    n = args.messages
    backlog = messages(n)
    with tempfile.TemporaryDirectory(prefix="ventwatch-bench-") as tmp:
        folder = Path(tmp)
        broker = start_mosquitto(folder / "mosquitto")
        influx = start_influxd(folder / "influxdb")
        try:
            site = site_file(folder, broker.url)
            results: dict[str, dict[str, float]] = {}

            prepare_session(broker.port, "bench-bare")
            publish_backlog(broker.port, backlog)
            results["bare"] = run_worker(["bare", str(broker.port), str(n)])

            prepare_session(broker.port, "ventwatch-bench")
            publish_backlog(broker.port, backlog)
            results["duckdb"] = run_worker(
                [
                    "ventwatch",
                    str(site),
                    f"duckdb://{folder / 'bench.duckdb'}",
                    str(folder / "spool-duckdb"),
                    str(n),
                ]
            )

            prepare_session(broker.port, "ventwatch-bench")
            publish_backlog(broker.port, backlog)
            url = f"influxdb://127.0.0.1:{influx.port}/bench"
            results["influx"] = run_worker(
                ["ventwatch", str(site), url, str(folder / "spool-influx"), str(n)]
            )

            results["shared2"] = shared(broker.port, site, influx.port, folder, backlog)
        finally:
            broker.stop()
            influx.stop()

    rates = {k: v["count"] / v["seconds"] for k, v in results.items()}
    for name, r in results.items():
        print(
            f"{name:8s} {int(r['count']):7d} msgs in {r['seconds']:6.2f} s = "
            f"{rates[name]:8.0f} msg/s, peak RSS {r.get('rss_mb', 0):6.1f} MB"
        )
    ratio = rates["duckdb"] / rates["bare"]
    rss = max(r.get("rss_mb", 0) for k, r in results.items() if k != "bare")
    print(
        f"RESULT ingest ratio={ratio:.2f} goal=0.9 bare_msg_s={rates['bare']:.0f} "
        f"duckdb_msg_s={rates['duckdb']:.0f} influx_msg_s={rates['influx']:.0f} "
        f"influx_ratio={rates['influx'] / rates['bare']:.2f} "
        f"shared2_msg_s={rates['shared2']:.0f} max_rss_mb={rss:.0f} messages={n}"
    )


def shared(
    port: int, site: Path, http_port: int, folder: Path, backlog: list[tuple[str, bytes]]
) -> dict[str, float]:
    """Two `ventwatch ingest --share` processes draining one backlog into InfluxDB."""
    n = len(backlog)
    env = {
        **os.environ,
        "VENTWATCH_STORE_URL": f"influxdb://127.0.0.1:{http_port}/shared",
        "VENTWATCH_SPOOL_DIR": str(folder / "spool-shared"),
    }
    for name in ("a", "b"):
        prepare_session(port, f"ventwatch-bench-{name}", share="bench")
    publish_backlog(port, backlog)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ventwatch",
                "ingest",
                "--config",
                str(site),
                "--share",
                "bench",
                "--instance",
                name,
            ],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for name in ("a", "b")
    ]
    count = 0
    deadline = time.monotonic() + 600
    while count < n and time.monotonic() < deadline:
        time.sleep(0.2)
        count = influx_count(http_port, "shared")
    elapsed = time.perf_counter() - started
    for p in processes:
        p.terminate()
        p.wait(30)
    return {"count": count, "seconds": elapsed}


if __name__ == "__main__":
    main()
