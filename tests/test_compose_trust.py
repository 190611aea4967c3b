"""docker-compose.yml's `trust` profile, checked by reading (no Docker engine here): its
services and nothing else, two processes of each ventwatch role, every one on the shared
PostgreSQL state database and InfluxDB store, secrets only from the environment, ports only
on the proxy and the broker, the proxy's fixed address trusted by the serve processes, the
nginx config's upstreams naming the serve services (and `nginx -t` accepting it), and the
commands' flags ones the CLI has. The single-site services must stay as they were: they
start with no profile, and compose reads every service's variables whatever the profile.

deploy/nginx-trust.conf is also run for real: nginx in front of two stand-in backends, round
robin, forwarded headers, and a dead backend left out."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import trustme
import typer.main
import yaml

from tests.conftest import (
    PASSWORD,
    InfluxServer,
    free_port,
    sign_in,
    state_env,
    wait_for_port,
)
from tests.test_trust import site_file as trust_site_file
from ventwatch.accounts import Accounts, Role
from ventwatch.cli import app
from ventwatch.config import site_slug
from ventwatch.settings import parse_http, parse_trusted_proxies
from ventwatch.state_database import PostgresURL
from ventwatch.store.influxdb import parse_influxdb_url

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx-trust.conf"
IT_DOCS = ROOT / "docs" / "it.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

DEFAULT_SERVICES = {"mosquitto", "influxdb", "ventwatch"}
TRUST_SERVICES = {
    "trust-mosquitto",
    "trust-influxdb",
    "postgres",
    "ingest-1",
    "ingest-2",
    "serve-1",
    "serve-2",
    "monitor-1",
    "monitor-2",
    "proxy",
}
ROLES = ("ingest", "serve", "monitor")
# The variables a single site's `docker compose up` has always needed (docs/it.md, Storage).
DEFAULT_REQUIRED = {"INFLUXDB_PASSWORD", "INFLUXDB_TOKEN", "VENTWATCH_MQTT_PASSWORD"}

VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} with `env` ({} by default: the
    defaults in the file), and $$ for a dollar."""
    env = env or {}

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise KeyError(f"{name}: {arg}")
        return ""

    return VARIABLE.sub(one, value).replace("$$", "$")


def strings(node: object) -> Iterator[tuple[str, str]]:
    """Every string of a parsed YAML node, with the key it sits under ("" in a list)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                yield str(key), value
            else:
                yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from (("", item),) if isinstance(item, str) else strings(item)


def trust() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if "trust" in service.get("profiles", [])
    }


def ventwatch_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in trust().items()
        if service.get("command", [None])[0] == "ventwatch"
    }


def role(service: dict[str, Any]) -> str:
    return str(service["command"][1])


def flag_value(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_the_trust_profile_has_exactly_its_services() -> None:
    services = compose()["services"]
    assert set(trust()) == TRUST_SERVICES
    # Nothing else has a profile: the single site is what starts with none.
    assert {n for n, s in services.items() if "profiles" not in s} == DEFAULT_SERVICES
    assert {p for s in services.values() for p in s.get("profiles", [])} <= {"trust"}
    images = {name: s.get("image", "") for name, s in trust().items()}
    assert images["trust-mosquitto"].startswith("eclipse-mosquitto:2")
    assert images["trust-influxdb"].startswith("influxdb:2.")
    assert images["postgres"] == "postgres:16"
    assert images["proxy"].startswith("nginx:")


def test_two_processes_of_each_role() -> None:
    services = ventwatch_services()
    for each in ROLES:
        assert sorted(n for n, s in services.items() if role(s) == each) == [
            f"{each}-1",
            f"{each}-2",
        ]
    for name, service in services.items():
        assert service.get("build") == ".", name  # this repository's image
        assert flag_value(service["command"], "--sites") == "/etc/ventwatch/sites", name
        mounted = {v["target"]: v for v in service["volumes"] if isinstance(v, dict)}
        sites = mounted["/etc/ventwatch/sites"]
        assert sites["source"] == "./sites"
        assert sites["read_only"] is True
        assert sites["bind"]["create_host_path"] is False
    ingest = [s for s in services.values() if role(s) == "ingest"]
    # One shared-subscription group, each process its own name (its broker session) and its
    # own spool volume, kept across restarts.
    assert {flag_value(s["command"], "--share") for s in ingest} == {"ventwatch"}
    instances = [flag_value(s["command"], "--instance") for s in ingest]
    assert len(set(instances)) == 2
    spools = [v for s in ingest for v in s["volumes"] if isinstance(v, str)]
    assert len({v.split(":")[0] for v in spools}) == 2
    assert all(v.endswith(":/var/lib/ventwatch") for v in spools)
    ports = [flag_value(s["command"], "--port") for s in services.values() if role(s) == "serve"]
    assert sorted(ports) == ["8001", "8002"]


def test_every_ventwatch_process_shares_the_state_database_and_the_store() -> None:
    services = trust()
    postgres = services["postgres"]["environment"]
    for name, service in ventwatch_services().items():
        env = service["environment"]
        state = urlsplit(interpolate(env["VENTWATCH_STATE_URL"], {"POSTGRES_PASSWORD": "pw"}))
        assert state.scheme == "postgresql", name
        assert (state.hostname, state.port) == ("postgres", 5432), name
        assert state.username == postgres["POSTGRES_USER"], name
        assert state.password == "pw", name
        assert state.path == f"/{postgres['POSTGRES_DB']}", name
        assert "${POSTGRES_PASSWORD" in env["VENTWATCH_STATE_URL"], name
        store = parse_influxdb_url(env["VENTWATCH_STORE_URL"], environ={"INFLUXDB_TOKEN": "t"})
        assert store.base_url == "http://influxdb:8086", name
        assert store.token_env in env, name
        assert (
            env["VENTWATCH_STORE_URL"]
            == (compose()["services"]["ventwatch"]["environment"]["VENTWATCH_STORE_URL"])
        )
        assert env["VENTWATCH_BROKER_URL"] == "mqtt://mosquitto:1883", name
        # The SQLite file is replaced, and one spool folder for every site is refused
        # (several_sites_problems): each site file sets store.spool.
        assert "VENTWATCH_STATE_DB" not in env, name
        assert "VENTWATCH_SPOOL_DIR" not in env, name
        for needed in ("postgres", "trust-influxdb"):
            assert service["depends_on"][needed]["condition"] == "service_healthy", name
        if role(service) in ("ingest", "monitor"):
            assert service["depends_on"]["trust-mosquitto"]["condition"] == "service_healthy"
    # The names in those URLs are the trust's own broker and store, on the trust's network.
    assert services["trust-influxdb"]["networks"]["trust"]["aliases"] == ["influxdb"]
    assert services["trust-mosquitto"]["networks"]["trust"]["aliases"] == ["mosquitto"]
    # The store is set up as the single site's: the DBRP mapping its v1 API needs.
    influx = services["trust-influxdb"]
    assert (
        "./deploy/influxdb-dbrp.sh:/docker-entrypoint-initdb.d/ventwatch-dbrp.sh:ro"
        in (influx["volumes"])
    )
    assert influx["environment"]["DOCKER_INFLUXDB_INIT_MODE"] == "setup"


def test_no_secret_in_the_file() -> None:
    """Every password and token comes from the environment; and no variable is required
    (`:?`) that a single site's `docker compose up` did not already need: compose reads every
    service's variables, in an active profile or not."""
    secret = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$")
    for name, service in compose()["services"].items():
        for key, value in strings(service.get("environment", {})):
            if secret.search(key):
                assert re.fullmatch(r"\$\{\w+:[?-][^}]*\}", value), (name, key, value)
            if "://" in value and "@" in value:  # a URL with credentials
                password = urlsplit(value).password or ""
                assert re.fullmatch(r"\$\{\w+:[?-][^}]*\}", password), (name, key)
    text = (ROOT / "docker-compose.yml").read_text()
    required = {m.group(1) for m in VARIABLE.finditer(text) if m.group(2) in (":?", "?")}
    assert required == DEFAULT_REQUIRED
    # The one the trust adds is still never defaulted to a value: PostgreSQL refuses to set up
    # without it.
    assert trust()["postgres"]["environment"]["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-}"


def test_only_the_proxy_and_the_broker_publish_ports() -> None:
    published = {name: s["ports"] for name, s in trust().items() if s.get("ports")}
    assert set(published) == {"proxy", "trust-mosquitto"}
    assert sorted(published["proxy"]) == ["443:443", "80:80"]
    assert published["trust-mosquitto"] == ["1883:1883"]
    for name, service in trust().items():
        assert "expose" not in service, name
        # The trust's own network alone: nothing of the single site's reaches it.
        assert set(service["networks"]) == {"trust"}, name
    for name in DEFAULT_SERVICES:
        assert "networks" not in compose()["services"][name], name


@pytest.mark.parametrize("prefix", [None, "10.99.7"])
def test_serve_trusts_the_proxys_fixed_address_alone(prefix: str | None) -> None:
    env = {"VENTWATCH_TRUST_NET": prefix} if prefix else {}
    network = compose()["networks"]["trust"]["ipam"]["config"][0]
    subnet = ip_network(interpolate(network["subnet"], env))
    dynamic = ip_network(interpolate(network["ip_range"], env))
    assert dynamic.subnet_of(subnet)  # type: ignore[arg-type]
    services = trust()
    proxy = ip_address(interpolate(services["proxy"]["networks"]["trust"]["ipv4_address"], env))
    assert proxy in subnet
    assert proxy not in dynamic  # never handed to another container first
    fixed = {proxy}
    for name, service in ventwatch_services().items():
        if role(service) != "serve":
            assert "VENTWATCH_TRUSTED_PROXIES" not in service["environment"], name
            continue
        trusted = parse_trusted_proxies(
            interpolate(service["environment"]["VENTWATCH_TRUSTED_PROXIES"], env)
        )
        assert trusted == (ip_network(proxy),), name
        address = ip_address(interpolate(service["networks"]["trust"]["ipv4_address"], env))
        assert address in subnet, name
        assert address not in dynamic, name
        fixed.add(address)
    assert len(fixed) == 3


def nginx_upstreams(text: str) -> list[tuple[str, int]]:
    block = re.search(r"upstream\s+ventwatch_serve\s*\{(.*?)\}", text, re.DOTALL)
    assert block, "no upstream ventwatch_serve"
    lines = [line.split("#")[0] for line in block.group(1).splitlines()]
    return [
        (host, int(port))
        for host, port in re.findall(r"^\s*server\s+([\w.-]+):(\d+)", "\n".join(lines), re.M)
    ]


def test_the_proxy_config_names_the_serve_services() -> None:
    text = NGINX_CONF.read_text()
    serve = {n: s for n, s in ventwatch_services().items() if role(s) == "serve"}
    expected = set()
    for name, service in serve.items():
        port = int(flag_value(service["command"], "--port"))
        http = parse_http(service["environment"]["VENTWATCH_HTTP"])
        assert (http.host, http.port) == ("0.0.0.0", port), name
        assert f"http://127.0.0.1:{port}/healthz" in service["healthcheck"]["test"][-1], name
        expected.add((name, port))
    assert set(nginx_upstreams(text)) == expected
    assert len(nginx_upstreams(text)) == len(expected)
    for line in (
        "proxy_pass http://ventwatch_serve;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header Host $host;",
    ):
        assert line in text, line
    assert not re.search(r"^\s*(least_conn|ip_hash|hash)\b", text, re.M)  # round robin
    proxy = trust()["proxy"]
    conf = "./deploy/nginx-trust.conf:/etc/nginx/conf.d/default.conf:ro"
    assert conf in proxy["volumes"]
    certs = next(v for v in proxy["volumes"] if isinstance(v, dict))
    assert (certs["source"], certs["target"]) == ("./deploy/certs", "/etc/nginx/certs")
    assert certs["bind"]["create_host_path"] is False
    for path in re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", text):
        assert path.startswith("/etc/nginx/certs/"), path
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/certs/x.key"], cwd=ROOT)
    assert ignored.returncode == 0, "deploy/certs/ is not git-ignored"


def test_healthchecks_and_what_starts_the_trust() -> None:
    services = trust()
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        assert service.get("restart") == "unless-stopped", name
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["proxy"]["healthcheck"]["test"][-1] == "https://127.0.0.1/healthz"
    for name in ("serve-1", "serve-2"):
        assert services["proxy"]["depends_on"][name]["condition"] == "service_healthy"
    # `docker compose --profile trust up -d proxy` starts the proxy and what it depends on:
    # the whole trust, and none of the single site's services.
    started, todo = set(), ["proxy"]
    while todo:
        name = todo.pop()
        if name not in started:
            started.add(name)
            todo.extend(services[name].get("depends_on", {}))
    assert started == TRUST_SERVICES
    for service in ventwatch_services().values():
        # The monitors' health reads their membership: each names itself by host name.
        assert service["hostname"] in services


def test_monitor_health_allows_for_its_lease() -> None:
    for name, service in ventwatch_services().items():
        if role(service) != "monitor":
            continue
        lease = float(flag_value(service["command"], "--lease-seconds"))
        check = service["healthcheck"]["test"][-1]
        window = float(re.search(r"time\.time\(\) - seen < (\d+)", check).group(1))  # type: ignore[union-attr]
        assert window >= 2 * lease, name  # renewed every third of a lease
        assert "monitor_members" in check
        assert "VENTWATCH_STATE_URL" in check


def test_ingest_health_sees_its_broker_connection() -> None:
    """The ingest healthcheck, run here with the port swapped for one of ours: exit 1 with no
    connection to it, 0 with one established."""
    services = ventwatch_services()
    check = services["ingest-1"]["healthcheck"]["test"]
    assert services["ingest-2"]["healthcheck"]["test"] == check
    assert check[:2] == ["CMD", "python"]
    broker = urlsplit(services["ingest-1"]["environment"]["VENTWATCH_BROKER_URL"])
    assert f":{broker.port:04X}'" in check[-1]
    port = free_port()
    code = check[-1].replace(f":{broker.port:04X}'", f":{port:04X}'")

    def healthy() -> int:
        return subprocess.run([sys.executable, "-c", code], timeout=10).returncode

    assert healthy() == 1
    with socket.create_server(("127.0.0.1", port)) as server:
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        try:
            assert healthy() == 0
        finally:
            client.close()
            accepted.close()


def cli_command(name: str) -> Any:
    """The click command of `ventwatch NAME` (typer carries its own click: duck-typed)."""
    command: Any = typer.main.get_command(app)
    for part in name.split():
        command = command.commands[part]
    return command


def options(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}


def test_commands_use_flags_the_cli_has() -> None:
    """Each service's command, parsed by the real `ventwatch` command line (click, through
    typer): a renamed or removed flag fails here, not in a container at 3 a.m."""
    missing = set()
    parsed = []
    for name, service in ventwatch_services().items():
        command = service["command"]
        assert command[0] == "ventwatch", name
        cli = cli_command(role(service))
        for flag in (arg for arg in command[2:] if arg.startswith("-")):
            if flag not in options(cli):
                missing.add((role(service), flag))
        parsed.append((name, cli, command[2:]))
    assert not missing, f"flags the CLI does not have: {sorted(missing)}"
    for name, cli, args in parsed:
        with cli.make_context(f"ventwatch {cli.name}", list(args)) as ctx:
            assert ctx.params["sites_dir"] == Path("/etc/ventwatch/sites"), name


def test_cli_checks_can_fail() -> None:
    """The flag check above sees a renamed flag: `--lease-seconds` as it stands, and
    `--lease` (no such flag) refused."""
    monitor = cli_command("monitor")
    assert "--lease-seconds" in options(monitor)
    assert "--lease" not in options(monitor)
    with pytest.raises(Exception, match="No such option") as refused:
        monitor.make_context("ventwatch monitor", ["--sites", "/tmp", "--lease", "30"])
    assert type(refused.value).__name__ == "NoSuchOption"


def docs_commands(prefix: str) -> list[list[str]]:
    """The docs' shell lines starting with `prefix`, as argument lists (comments dropped,
    continuation lines joined)."""
    text = IT_DOCS.read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(prefix):
            found.append(shlex.split(line, comments=True))
    return found


def test_docs_show_the_trust_commands_the_cli_has() -> None:
    text = IT_DOCS.read_text()
    assert "## A trust on several machines" in text
    assert "docker compose --profile trust up -d proxy" in text
    # The first admin, a one-off container of the trust's image with its environment.
    runs = docs_commands("docker compose --profile trust run --rm")
    assert runs, "no `docker compose --profile trust run --rm ...` in docs/it.md"
    assert any("users" in args and "add" in args for args in runs)
    for args in runs:
        after = [a for a in args[5:] if not a.startswith("-")][:2]  # past run's own options
        service, ventwatch = after
        assert service in ventwatch_services(), service
        # A one-off container of a service with a fixed address would ask for the address
        # its running container holds.
        assert "ipv4_address" not in str(ventwatch_services()[service]["networks"]), service
        assert ventwatch == "ventwatch"
        rest = args[args.index("ventwatch", 5) + 1 :]
        command = cli_command("")
        while hasattr(command, "commands") and rest[0] in command.commands:
            command = command.commands[rest.pop(0)]
        command.make_context(command.name, rest)  # refuses an unknown flag or a bad value
    # Every variable the trust's ventwatch processes read, and every one the file takes from
    # the environment, is named in the docs.
    names = {m.group(1) for m in VARIABLE.finditer((ROOT / "docker-compose.yml").read_text())}
    for service in ventwatch_services().values():
        names |= set(service["environment"])
    for name in sorted(names):
        assert name in text, name
    assert "VENTWATCH_TRUST_NET" in text
    # By hand: each role's command as the docs give it, parsed by the CLI.
    for each in ROLES:
        lines = docs_commands(f"ventwatch {each} ")
        assert lines, f"no `ventwatch {each} ...` line in docs/it.md"
        for args in lines:
            cli = cli_command(each)
            flags = {a.split("=")[0] for a in args[2:] if a.startswith("-")}
            assert flags <= options(cli), args


# -- nginx, for real -----------------------------------------------------------------------


def need_nginx() -> None:
    if not Path(NGINX).exists():
        pytest.fail(
            "nginx is not installed: the test command installs it (apt-get install -y "
            "nginx); deploy/nginx-trust.conf is checked by nginx itself."
        )


def render(folder: Path, ports: dict[str, int] | None = None) -> Path:
    """deploy/nginx-trust.conf as docs/it.md has it run by hand (the serve processes on this
    machine), the certificate a test CA's, inside a main config that keeps every file in
    `folder`. `ports` moves the listeners (80, 443) and the upstreams (8001, 8002)."""
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_pem.write_to_path(str(folder / "dashboard.key"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "dashboard.crt"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    text = NGINX_CONF.read_text()
    # The sed line the config's header and docs/it.md give.
    text = re.sub(r"serve-[12]:", "127.0.0.1:", text)
    text = text.replace("/etc/nginx/certs/", f"{folder}/")
    for old, new in (ports or {}).items():
        text = re.sub(rf"\b{old}\b", str(new), text)
    (folder / "ventwatch.conf").write_text(text)
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\n"
        "error_log stderr;\n"
        "daemon off;\n" + ("user root;\n" if os.geteuid() == 0 else "") + "events {}\n"
        "http {\n"
        "    access_log off;\n"
        + "".join(f"    {kind}_temp_path {folder}/{kind};\n" for kind in TEMP_PATHS)
        + f"    include {folder}/ventwatch.conf;\n"
        "}\n"
    )
    return main


TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_test(main: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NGINX, "-t", "-e", "stderr", "-p", str(main.parent), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    need_nginx()
    result = nginx_test(render(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_check_can_fail(tmp_path: Path) -> None:
    """Unrendered, the upstream names are compose's, unknown here: nginx refuses them."""
    need_nginx()
    main = render(tmp_path)
    conf = tmp_path / "ventwatch.conf"
    conf.write_text(conf.read_text().replace("127.0.0.1:8001", "serve-1.invalid:8001"))
    result = nginx_test(main)
    assert result.returncode != 0
    assert "host not found in upstream" in result.stderr


def stop_nginx(nginx: subprocess.Popen[Any]) -> None:
    """SIGQUIT by PID: nginx's graceful stop; killed if it has not gone within 10 s."""
    nginx.send_signal(signal.SIGQUIT)
    try:
        nginx.wait(timeout=10)
    except subprocess.TimeoutExpired:
        nginx.kill()


class _Echo(BaseHTTPRequestHandler):
    """A stand-in serve process: says who it is and the headers nginx sent."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "server": self.server.name,  # type: ignore[attr-defined]
                "path": self.path,
                "host": self.headers.get("Host"),
                "forwarded_for": self.headers.get("X-Forwarded-For"),
                "forwarded_proto": self.headers.get("X-Forwarded-Proto"),
                "peer": self.client_address[0],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.servers
def test_nginx_round_robins_and_forwards(tmp_path: Path) -> None:
    need_nginx()
    backends = {}
    for name in ("serve-1", "serve-2"):
        server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Echo)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        backends[name] = server
    http, https = free_port(), free_port()
    main = render(
        tmp_path,
        {
            "80": http,
            "443": https,
            "8001": backends["serve-1"].server_port,
            "8002": backends["serve-2"].server_port,
        },
    )
    nginx = subprocess.Popen(
        [NGINX, "-e", "stderr", "-p", str(tmp_path), "-c", str(main)],
        stderr=subprocess.PIPE,
        text=True,
    )
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))

    def get(path: str, forged: str | None = None) -> dict[str, Any]:
        headers = {"X-Forwarded-For": forged} if forged else {}
        response = httpx.get(
            f"https://localhost:{https}{path}", headers=headers, verify=context, timeout=10
        )
        response.raise_for_status()
        return dict(response.json())

    try:
        wait_for_port(https)
        answers = [get("/healthz", forged="203.0.113.9") for _ in range(6)]
        # Round robin: both answer, in turn.
        assert {a["server"] for a in answers} == {"serve-1", "serve-2"}
        assert answers[0]["server"] != answers[1]["server"]
        for answer in answers:
            assert answer["path"] == "/healthz"
            assert answer["forwarded_proto"] == "https"
            # The client's own address, whatever it claimed.
            assert answer["forwarded_for"] == "127.0.0.1"
            assert answer["host"] == "localhost"
        # Plain http is sent to https.
        redirect = httpx.get(f"http://127.0.0.1:{http}/rooms?x=1", timeout=10)
        assert redirect.status_code == 301
        assert redirect.headers["Location"] == "https://127.0.0.1/rooms?x=1"
        # One serve process gone: every request is still answered, by the other.
        backends["serve-2"].shutdown()
        backends["serve-2"].server_close()
        assert {get("/").get("server") for _ in range(6)} == {"serve-1"}
    finally:
        stop_nginx(nginx)
        for server in backends.values():
            server.server_close()
        if nginx.stderr:
            log = nginx.stderr.read()
            assert "[emerg]" not in log, log


def test_the_trust_environment_runs_several_sites_together(tmp_path: Path) -> None:
    """Two schools' site files, as docs/it.md has them (the trust's one client id and spool),
    read with a trust service's environment by the real settings loader: the state is the
    shared PostgreSQL database, the store the shared InfluxDB, and nothing clashes between
    the sites (what `ingest`, `serve` and `monitor` check before they start)."""
    from ventwatch.config import load_site
    from ventwatch.settings import resolve
    from ventwatch.state_database import PostgresURL
    from ventwatch.wiring.sites import several_sites_problems

    example = (ROOT / "sensors.example.yaml").read_text()
    sites = []
    for school in ("north", "south"):
        text = (
            example.replace("name: Hillside Academy", f"name: {school.title()} Academy")
            .replace(
                "client_id: ventwatch-hillside-3f9c2a71",
                # Each school's sensors bridged in under its own prefix: both files list
                # the example's sensor ids, told apart by topic.
                f"client_id: ventwatch-trust-1a2b\n  topic_prefix: {school}",
            )
            .replace("spool: ./data/spool", "spool: /var/lib/ventwatch/spool")
        )
        path = tmp_path / f"{school}.yaml"
        path.write_text(text)
        sites.append((path, load_site(path)))
    for name, service in ventwatch_services().items():
        env = {
            k: interpolate(str(v), {"POSTGRES_PASSWORD": "pw"})
            for k, v in service["environment"].items()
            if "${" not in str(v) or "POSTGRES_PASSWORD" in str(v)
        }
        resolved = [
            (path, resolve(site, Path(f"/etc/ventwatch/sites/{path.name}"), env), site)
            for path, site in sites
        ]
        for _, settings, _ in resolved:
            assert isinstance(settings.state_db, PostgresURL), name
            assert settings.store_url.startswith("influxdb://influxdb:8086/"), name
            assert settings.spool_dir.is_relative_to("/var/lib/ventwatch"), name
            assert (settings.broker.host, settings.broker.port) == ("mosquitto", 1883), name
        assert several_sites_problems(resolved) == [], name
        # One session feeds one writer: a school with a spool of its own under it is refused.
        north, south = resolved
        apart = replace(south[1], spool_dir=Path("/var/lib/ventwatch/spool/south"))
        problems = several_sites_problems([north, (south[0], apart, south[2])])
        assert any("share a broker session" in problem for problem in problems)


def test_monitor_health_reads_a_real_renewal(postgres_url: str) -> None:
    """The monitor healthcheck, run here against a real PostgreSQL state database: healthy
    once this process (named by host name, as a monitor container is) has renewed its leases,
    unhealthy when its last renewal is older than the check allows."""
    import psycopg

    from ventwatch.alerts.leases import SiteLeases
    from ventwatch.state_database import PostgresURL

    check = ventwatch_services()["monitor-1"]["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    env = {**os.environ, "VENTWATCH_STATE_URL": postgres_url}

    def healthy() -> int:
        return subprocess.run([sys.executable, "-c", check[-1]], env=env, timeout=30).returncode

    leases = SiteLeases(PostgresURL(postgres_url))
    leases.claim(["North Academy", "South Academy"])
    assert healthy() == 0
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("UPDATE monitor_members SET seen_at = seen_at - 120")
    assert healthy() == 1


@pytest.mark.servers
def test_a_serve_process_killed_behind_nginx_loses_no_session(
    tmp_path: Path, influxdb: InfluxServer, postgres_url: str
) -> None:
    """Two real `ventwatch serve` processes behind nginx with the shipped config, the state in
    PostgreSQL: sign in through nginx (the form and its answer may reach different
    processes), kill one process (SIGKILL), and the same browser session goes on through
    nginx, answered by the other."""
    need_nginx()
    folder = tmp_path / "sites"
    folder.mkdir()
    for n, name in enumerate(["North School", "South School"]):
        (folder / f"{site_slug(name)}.yaml").write_text(
            trust_site_file(name, f"s{n}", influxdb.url_for("trust"), tmp_path)
        )
    state = PostgresURL(postgres_url)
    Accounts(state).add_user("manager", Role.SITE_MANAGER, PASSWORD, ["North School"])
    ports = [free_port(), free_port()]
    env = {**os.environ, **state_env(state), "VENTWATCH_TRUSTED_PROXIES": "127.0.0.1"}
    serves = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ventwatch",
                "serve",
                "--sites",
                str(folder),
                "--port",
                str(port),
            ],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    https = free_port()
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    main = render(nginx_dir, {"80": free_port(), "443": https, "8001": ports[0], "8002": ports[1]})
    nginx = subprocess.Popen(
        [NGINX, "-e", "stderr", "-p", str(nginx_dir), "-c", str(main)], stderr=subprocess.PIPE
    )
    context = ssl.create_default_context(cafile=str(nginx_dir / "ca.pem"))
    try:
        for port in (*ports, https):
            wait_for_port(port, timeout=30)
        browser = httpx.Client(base_url=f"https://localhost:{https}", verify=context, timeout=10)
        sign_in(browser, "manager")
        rooms = f"/sites/{site_slug('North School')}/api/rooms"
        assert all(browser.get(rooms).status_code == 200 for _ in range(4))  # both answer
        serves[0].kill()
        serves[0].wait()
        for _ in range(6):
            answer = browser.get(rooms)
            assert answer.status_code == 200, answer.text
            assert {r["room"] for r in answer.json()["rooms"]} == {"Room 1", "Room 2"}
        assert browser.get(f"/sites/{site_slug('South School')}/api/rooms").status_code == 403
    finally:
        stop_nginx(nginx)
        for process in serves:
            if process.poll() is None:
                process.kill()
                process.wait()
