"""Fixtures that start real servers on free loopback ports from temporary folders.

No mock broker: a real Mosquitto is started per test session with its own config and
persistence in a temp folder, and stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@dataclass
class MosquittoServer:
    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


def start_mosquitto(folder: Path, port: int | None = None) -> MosquittoServer:
    if not Path(MOSQUITTO).exists():
        pytest.fail(
            "Mosquitto is not installed: the test command installs it (apt-get install -y "
            "mosquitto); the MQTT tests need a real broker, not a mock."
        )
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {folder}/\n"
        # The default (1000) drops messages for a slow QoS 1 subscriber.
        "max_queued_messages 0\n"
        f"log_dest file {folder}/mosquitto.log\n"
    )
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], cwd=folder)
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        log = (folder / "mosquitto.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"mosquitto did not start on port {port}:\n{log}")
    return MosquittoServer(port, folder, process)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    server = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield server
    server.stop()


@pytest.fixture
def example_site_path() -> Path:
    return Path(__file__).resolve().parent.parent / "sensors.example.yaml"
