"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading:
the services, their healthchecks, and the ports the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_healthchecks() -> None:
    services = compose()["services"]
    assert set(services) >= {"mosquitto", "ventwatch"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
    assert services["ventwatch"]["depends_on"]["mosquitto"]["condition"] == "service_healthy"


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


def test_mounted_files_exist() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source != "./site.yaml":
                assert (ROOT / source).exists(), source
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("ventwatch", "ingest", "analysis", "dashboard", "simulator"):
        assert f"COPY {folder} {folder}" in dockerfile


def test_broker_config_does_not_drop_queued_messages() -> None:
    conf = (ROOT / "deploy" / "mosquitto.conf").read_text()
    assert "persistence true" in conf
    limit = next(
        line.split()[1] for line in conf.splitlines() if line.startswith("max_queued_messages")
    )
    assert int(limit) == 0 or int(limit) > 1000
