"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading:
the services, their healthchecks, the ports the README promises, and the InfluxDB wiring
(token from the environment, DBRP mapping script, a store URL ventwatch accepts)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import yaml

from ventwatch.store.influxdb import parse_influxdb_url

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_healthchecks() -> None:
    services = compose()["services"]
    assert set(services) >= {"mosquitto", "influxdb", "ventwatch"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
    for dependency in ("mosquitto", "influxdb"):
        assert services["ventwatch"]["depends_on"][dependency]["condition"] == "service_healthy"
    assert services["influxdb"]["healthcheck"]["test"] == ["CMD", "influx", "ping"]


def test_ports_match_readme_and_settings() -> None:
    services = compose()["services"]
    readme = (ROOT / "README.md").read_text()
    assert "127.0.0.1:8000:8000" in services["ventwatch"]["ports"]
    assert "1883:1883" in services["mosquitto"]["ports"]
    env = services["ventwatch"]["environment"]
    assert env["VENTWATCH_BROKER_URL"] == "mqtt://mosquitto:1883"
    assert env["VENTWATCH_HTTP"].endswith(":8000")
    assert "http://127.0.0.1:8000" in readme
    assert "1883" in readme
    assert "127.0.0.1:8086:8086" in services["influxdb"]["ports"]
    assert "127.0.0.1:8086" in readme


def test_mounted_files_exist() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source != "./site.yaml":
                assert (ROOT / source).exists(), source
    dockerfile = (ROOT / "Dockerfile").read_text()
    # Every folder the package is installed from (pyproject's package-dir) is in the image.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = set(project["tool"]["setuptools"]["package-dir"].values())
    assert {"ventwatch", "ingest", "analysis", "alerts", "reports", "dashboard"} <= folders
    for folder in folders:
        assert f"COPY {folder} {folder}" in dockerfile, folder


def test_broker_config_does_not_drop_queued_messages() -> None:
    conf = (ROOT / "deploy" / "mosquitto.conf").read_text()
    assert "persistence true" in conf
    limit = next(
        line.split()[1] for line in conf.splitlines() if line.startswith("max_queued_messages")
    )
    assert int(limit) == 0 or int(limit) > 1000


def test_influxdb_is_set_up_with_a_token_from_the_environment() -> None:
    services = compose()["services"]
    influx = services["influxdb"]
    assert influx["image"].startswith("influxdb:2.")
    env = influx["environment"]
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    assert env["DOCKER_INFLUXDB_INIT_BUCKET"] == "ventwatch"
    # Secrets come from the environment (compose refuses to start without them).
    assert env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"] == "${INFLUXDB_TOKEN:?set INFLUXDB_TOKEN}"
    assert env["DOCKER_INFLUXDB_INIT_PASSWORD"].startswith("${INFLUXDB_PASSWORD:?")
    assert (
        services["ventwatch"]["environment"]["INFLUXDB_TOKEN"]
        == (env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"])
    )


def test_ventwatch_store_url_reaches_the_mapped_database() -> None:
    services = compose()["services"]
    env = services["ventwatch"]["environment"]
    config = parse_influxdb_url(env["VENTWATCH_STORE_URL"], environ={"INFLUXDB_TOKEN": "t"})
    assert config.base_url == "http://influxdb:8086"
    assert config.token_env == "INFLUXDB_TOKEN"
    assert config.token == "t"
    assert config.token_env in env  # the variable it names is passed to the container
    # The init script maps that database (default retention policy) to the bucket.
    mounts = [v for v in services["influxdb"]["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    assert len(mounts) == 1
    source, target = mounts[0].split(":")[:2]
    assert target.endswith(".sh")
    script = ROOT / source
    assert os.access(script, os.X_OK), f"{source} must be executable"
    text = script.read_text()
    assert "influx v1 dbrp create" in text
    assert '--bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}"' in text
    assert f"--db {config.database}" in text
    assert "--rp autogen" in text
    assert "--default" in text
    assert config.rp is None  # ventwatch uses the mapping's default retention policy
