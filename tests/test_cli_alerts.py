"""`ventwatch alerts test` and `alerts list` as a site's admin runs them: real processes, a
real SMTP server, HTTP receiver and Mosquitto. Exit codes are the contract: 0 sent, 1 a
channel refused, 2 the command is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml

from tests.conftest import HttpReceiver, MosquittoServer, SmtpServer, free_port
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.records import AlertRecords
from ventwatch.notify.channels import verify_signature


def site_file(tmp_path: Path, broker: str | None = None, **alerts: object) -> Path:
    path = tmp_path / "site.yaml"
    doc: dict[str, object] = {
        "site": {"name": "CLI School"},
        "rooms": [{"name": "Room 1"}],
        "state": {"database": str(tmp_path / "accounts.sqlite")},
        "alerts": alerts,
    }
    if broker is not None:
        doc["broker"] = {"url": broker}
    path.write_text(yaml.safe_dump(doc))
    return path


def ventwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ventwatch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_a_test_email_reaches_the_relay(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = site_file(tmp_path)
    smtp = {"VENTWATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}?from=vw@school.example"}
    done = ventwatch(
        "alerts", "test", "--config", str(config), "--to", "rep@school.example", env=smtp
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sent   email rep@school.example" in done.stdout
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "[ventwatch] Test message from CLI School"
    assert message["From"] == "vw@school.example"


def test_every_configured_channel_is_tried_and_a_refusal_exits_1(
    tmp_path: Path,
    smtp_server: SmtpServer,
    http_receiver: HttpReceiver,
    mosquitto: MosquittoServer,
) -> None:
    http_receiver.statuses = [200]
    config = site_file(
        tmp_path,
        subscriptions=[
            {"name": "Rep", "email": "rep@school.example"},
            {"name": "Hook", "webhook": f"{http_receiver.url}/h", "secret_env": "VW_SECRET"},
            {"name": "BMS", "mqtt_topic": "school/alerts"},
        ],
        ladder=[{"name": "Head", "email": "head@school.example"}],
        broker=f"mqtt://127.0.0.1:{mosquitto.port}",
    )
    got: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t{free_port()}")
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_message = lambda c, u, m: got.append(m.payload)
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe("school/alerts", qos=1)
    client.loop_start()
    try:
        assert subscribed.wait(5)
        env = {
            "VENTWATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}?from=vw@school.example",
            "VW_SECRET": "hook-secret",
        }
        done = ventwatch("alerts", "test", "--config", str(config), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(smtp_server.wait_for(2)) == 2
        [request] = http_receiver.wait_for(1)
        assert verify_signature(
            "hook-secret",
            request.headers["x-ventwatch-timestamp"],
            request.body,
            request.headers["x-ventwatch-signature"],
        )
        deadline = datetime.now(UTC).timestamp() + 5
        while not got and datetime.now(UTC).timestamp() < deadline:
            threading.Event().wait(0.05)
        assert json.loads(got[0])["event"] == "test"
        # The webhook now refuses: exit 1, and the line says which channel and why.
        http_receiver.statuses = [500]
        done = ventwatch("alerts", "test", "--config", str(config), env=env)
        assert done.returncode == 1
        assert "FAILED webhook Hook: " in done.stdout
        assert "500" in done.stdout
        assert "hook-secret" not in done.stdout + done.stderr
    finally:
        client.loop_stop()
        client.disconnect()


def test_usage_mistakes_exit_2(tmp_path: Path) -> None:
    config = site_file(tmp_path)
    assert ventwatch("alerts", "test", "--config", str(config)).returncode == 2  # no recipients
    bad = ventwatch("alerts", "test", "--config", str(config), "--to", "not-an-address")
    assert bad.returncode == 2
    assert "--to" in bad.stderr
    assert ventwatch("alerts", "list", "--config", str(config), "--format", "xml").returncode == 2


def test_list_prints_open_alerts(tmp_path: Path) -> None:
    config = site_file(tmp_path)
    assert ventwatch("alerts", "list", "--config", str(config)).stdout.strip() == "no open alerts"
    records = AlertRecords(tmp_path / "accounts.sqlite", "CLI School")
    opened = datetime(2026, 11, 23, 9, 20, tzinfo=UTC)
    records.save(
        Alert(room="Room 1", rule="co2-urgent", severity="urgent", opened_at=opened, worst=1720.0),
        opened,
        "opened",
    )
    table = ventwatch("alerts", "list", "--config", str(config))
    assert table.returncode == 0
    assert "Room 1" in table.stdout
    assert "co2-urgent" in table.stdout
    assert "2026-11-23 09:20" in table.stdout
    listed = json.loads(
        ventwatch("alerts", "list", "--config", str(config), "--format", "json").stdout
    )
    assert listed["site"] == "CLI School"
    assert [(a["room"], a["rule"], a["worst"]) for a in listed["alerts"]] == [
        ("Room 1", "co2-urgent", 1720.0)
    ]
