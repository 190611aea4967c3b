"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading:
the services, their healthchecks, the ports the docs promise, the InfluxDB wiring (token
from the environment, DBRP mapping script, a store URL ventwatch accepts) and the broker's
accounts (the conf and ACL parsed, mounted where the conf looks; the password file kept out of
the repository). tests/test_broker_security.py runs the same conf and ACL in a real Mosquitto."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import yaml
from paho.mqtt.client import topic_matches_sub

from ventwatch.store.influxdb import parse_influxdb_url

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "mosquitto.conf"
ACL = ROOT / "deploy" / "mosquitto.acl"
PASSWORD_FILE = "./deploy/mosquitto.passwd"  # made on the host, never in the repository
# Made on the host too: the single site's file, the trust's folder of site files, TLS files.
HOST_MADE = {"./site.yaml", PASSWORD_FILE, "./sites", "./deploy/certs"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def mounts(service: dict) -> dict[str, str]:
    """A service's bind mounts, target -> source, in either of compose's syntaxes."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found[volume["target"]] = volume["source"]
        else:
            source, target = volume.split(":")[:2]
            found[target] = source
    return found


def directives(text: str) -> list[tuple[str, str]]:
    """A Mosquitto conf or ACL file's lines in force, as (keyword, the rest)."""
    found = []
    for line in (line.strip() for line in text.splitlines()):
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword, rest.strip()))
    return found


def acl_rules(text: str) -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """(patterns for every user, each user's topic lines) as (access, topic filter)."""
    patterns: list[tuple[str, str]] = []
    users: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for keyword, rest in directives(text):
        if keyword == "user":
            current = users.setdefault(rest, [])
            continue
        access, _, topic = rest.partition(" ")
        assert access in ("read", "write", "readwrite", "deny"), f"{keyword} {rest}"
        assert topic, f"{keyword} {rest}"
        assert " " not in topic, f"{keyword} {rest}"
        if keyword == "pattern":
            assert current is None, "pattern lines come before the first user"
            patterns.append((access, topic))
        else:
            assert keyword == "topic", f"{keyword} {rest}"
            assert current is not None, f"a topic line before any user: {rest}"
            current.append((access, topic))
    return patterns, users


def test_services_and_healthchecks() -> None:
    services = compose()["services"]
    assert set(services) >= {"mosquitto", "influxdb", "ventwatch"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
    for dependency in ("mosquitto", "influxdb"):
        assert services["ventwatch"]["depends_on"][dependency]["condition"] == "service_healthy"
    assert services["influxdb"]["healthcheck"]["test"] == ["CMD", "influx", "ping"]


def test_ports_match_docs_and_settings() -> None:
    services = compose()["services"]
    readme = (ROOT / "docs" / "it.md").read_text()  # the deployment docs
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
        for source in mounts(service).values():
            if source.startswith("./") and source not in HOST_MADE:
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


def test_broker_refuses_anonymous_clients_and_reads_the_mounted_accounts() -> None:
    text = CONF.read_text()
    conf = dict(directives(text))
    assert conf["allow_anonymous"] == "false"
    assert conf.get("per_listener_settings", "false") == "false"  # accounts on every listener
    assert "use_username_as_clientid" not in conf
    # The one listener in force; the TLS one is documented, commented out.
    assert [rest for key, rest in directives(text) if key == "listener"] == ["1883 0.0.0.0"]
    for line in ("#listener 8883", "#certfile /mosquitto/certs/", "#keyfile /mosquitto/certs/"):
        assert line in text, line
    mosquitto = compose()["services"]["mosquitto"]
    mounted = mounts(mosquitto)
    assert mounted[conf["password_file"]] == PASSWORD_FILE
    assert mounted[conf["acl_file"]] == "./deploy/mosquitto.acl"
    assert mounted["/mosquitto/config/mosquitto.conf"] == "./deploy/mosquitto.conf"
    password = next(v for v in mosquitto["volumes"] if isinstance(v, dict))
    assert password["read_only"] is True
    assert password["bind"]["create_host_path"] is False  # no empty folder in its place
    # The no-loss settings stay.
    assert conf["persistence"] == "true"
    assert int(conf["max_inflight_messages"]) >= 1000
    # The password file is never committed.
    ignored = subprocess.run(["git", "check-ignore", "-q", PASSWORD_FILE], cwd=ROOT)
    assert ignored.returncode == 0, f"{PASSWORD_FILE} is not git-ignored"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", PASSWORD_FILE], cwd=ROOT, capture_output=True
    )
    assert tracked.returncode != 0, f"{PASSWORD_FILE} is in the repository"


def test_broker_healthcheck_needs_no_password() -> None:
    """Healthy = answering MQTT and refusing an anonymous client (mosquitto_sub's exit 5);
    tests/test_broker_security.py runs the command against the shipped conf."""
    test = compose()["services"]["mosquitto"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert re.fullmatch(r"mosquitto_sub -h 127\.0\.0\.1 .*; \[ \$\$\? -eq 5 \]", test[1])
    assert " -u " not in test[1]
    assert " -P " not in test[1]


def test_ventwatch_signs_in_as_the_acl_reader_through_the_site_files_variables() -> None:
    env = compose()["services"]["ventwatch"]["environment"]
    example = yaml.safe_load((ROOT / "sensors.example.yaml").read_text())["broker"]
    assert env[example["username_env"]] == "ventwatch"
    assert env[example["password_env"]].startswith("${VENTWATCH_MQTT_PASSWORD:?")
    _, users = acl_rules(ACL.read_text())
    assert ("read", "#") in users["ventwatch"]


def test_acl_lets_sensors_write_only_as_themselves_and_only_ventwatch_read() -> None:
    patterns, users = acl_rules(ACL.read_text())
    # Every user's own topics, by its proven name (%u), never the client id it claims (%c).
    assert patterns, "no sensor patterns"
    for access, topic in patterns:
        assert access == "write", topic
        assert "%u" in topic, topic
        assert "%c" not in topic, topic
        assert not topic.startswith(("#", "+")), topic
    # Gateways read only what they may write (their own prefix: their command topics).
    for user, rules in users.items():
        if user == "ventwatch":
            continue
        for access, topic in rules:
            assert access in ("write", "readwrite"), (user, topic)
            assert not topic_matches_sub(topic, "tele/t1-co2/SENSOR"), (user, topic)


def test_everything_ventwatch_writes_lands_in_its_data_volume(tmp_path: Path) -> None:
    """The site file is mounted read-only under /etc/ventwatch, where its relative paths
    would point: the spool and the state file must come from the environment, into the
    volume the image's user owns. Checked with the real settings loader on the example
    site, as the container would read it."""
    from ventwatch.config import load_site
    from ventwatch.settings import resolve

    service = compose()["services"]["ventwatch"]
    env = {k: str(v) for k, v in service["environment"].items() if "${" not in str(v)}
    data = next(t for t, s in mounts(service).items() if not s.startswith("."))
    site_file = mounts(service).get("/etc/ventwatch/site.yaml")
    assert site_file == "./site.yaml"
    # The container's path, read here from a copy: resolve() needs only its folder's name.
    copy = tmp_path / "site.yaml"
    copy.write_text((ROOT / "sensors.example.yaml").read_text())
    settings = resolve(load_site(copy), Path("/etc/ventwatch/site.yaml"), env)
    for path in (settings.spool_dir, settings.state_db):
        assert path.is_relative_to(data), path
