"""Fixtures that start real servers on free loopback ports from temporary folders.

No mock broker: a real Mosquitto is started per test session with its own config and
persistence in a temp folder, and stopped by its PID.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from ventwatch.accounts import ALL_SITES, Accounts, Role
from ventwatch.state_database import PostgresURL, StateLocation

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

# -- the `servers` marker ------------------------------------------------------------------
# `pytest -m "not servers"` runs in seconds: it leaves out every test that starts a real
# server or browser. A test that uses one of these fixtures (`browser` is test_browser's
# Chromium) is marked here, so nobody has to remember; a test that starts one itself
# (uvicorn, Chromium, `ventwatch run` or `demo`, one of the `start_*` helpers below) carries
# the mark in its own module.
SERVER_FIXTURES = frozenset(
    {"mosquitto", "influxdb", "smtp_server", "http_receiver", "browser", "postgres", "postgres_url"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        on_postgres = (
            getattr(item, "callspec", None)
            and item.callspec.params.get("state_where") == "postgresql"
        )
        if on_postgres or SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


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
        # ventwatch acknowledges a message only once it is stored: with the default window
        # of 20 unacknowledged messages per client, every batch would be 20 messages.
        "max_inflight_messages 1000\n"
        f"log_dest file {folder}/mosquitto.log\n" + ("user root\n" if os.geteuid() == 0 else "")
        # Run as root, Mosquitto drops to its own user and could not write its persistence
        # file or log in our temp folder; keep the user that started it.
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


# -- InfluxDB ------------------------------------------------------------------------------
# A real InfluxDB 1.x (Debian's `influxdb` package) per test session, configured from a temp
# folder and stopped by its PID. `stop()` and `start()` take it down and bring it back on the
# same port with the same data, for tests of a store that goes away.

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"


@dataclass
class InfluxServer:
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None
    auth: bool = False
    rpc_port: int = 0

    @property
    def url(self) -> str:
        """The store URL of the shared test database."""
        return self.url_for("ventwatch_test")

    def url_for(self, database: str | None = None, **params: str) -> str:
        """A store URL; without a database name, a fresh one (so tests do not share data)."""
        database = database or f"t_{uuid.uuid4().hex[:12]}"
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"influxdb://127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, q: str, auth: tuple[str, str] | None = None, **params: str) -> dict:
        """Run InfluxQL directly (admin work in tests); returns the JSON answer."""
        response = httpx.post(f"{self.http}/query", data={"q": q, **params}, auth=auth)
        return dict(response.json())

    def start(self) -> None:
        """Start influxd (again: same port, same data) and wait until /ping answers."""
        if self.process is not None and self.process.poll() is None:
            return
        log = (self.folder / "influxd.log").open("ab")
        self.process = subprocess.Popen(
            [INFLUXD, "run", "-config", str(self.folder / "influxdb.conf")],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.http}/ping", timeout=1).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        tail = (self.folder / "influxd.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"influxd did not answer /ping on port {self.port} within 30 s:\n{tail}")

    def stop(self) -> None:
        """SIGTERM by PID and wait (data stays in the folder for `start()`)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_influxd(folder: Path, port: int | None = None, auth: bool = False) -> InfluxServer:
    if not Path(INFLUXD).exists():
        pytest.fail(
            "InfluxDB is not installed: the test command installs it (apt-get install -y "
            "influxdb); the store tests need a real InfluxDB server, not a mock."
        )
    folder.mkdir(parents=True, exist_ok=True)
    server = InfluxServer(port or free_port(), folder, None, auth, free_port())
    (folder / "influxdb.conf").write_text(
        "reporting-disabled = true\n"
        f'bind-address = "127.0.0.1:{server.rpc_port}"\n'
        "[meta]\n"
        f'  dir = "{folder}/meta"\n'
        "  logging-enabled = false\n"
        "[data]\n"
        f'  dir = "{folder}/data"\n'
        f'  wal-dir = "{folder}/wal"\n'
        "  query-log-enabled = false\n"
        "[monitor]\n"
        "  store-enabled = false\n"
        "[http]\n"
        f'  bind-address = "127.0.0.1:{server.port}"\n'
        f"  auth-enabled = {'true' if auth else 'false'}\n"
        "  log-enabled = false\n"
        "  pprof-enabled = false\n"
        "[logging]\n"
        '  level = "warn"\n'
        "  suppress-logo = true\n"
        "[continuous_queries]\n"
        "  log-enabled = false\n"
    )
    server.start()
    return server


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = start_influxd(tmp_path_factory.mktemp("influxdb"))
    yield server
    server.stop()


# -- PostgreSQL ------------------------------------------------------------------------------
# The state database's second back end. The machine's own server on 127.0.0.1:5432 (trust
# auth) when one runs, each test in a database of its own, dropped after; where none runs, a
# private cluster started with Debian's initdb/pg_ctl in a temp folder on a free port. A test
# that restarts PostgreSQL always starts a private cluster of its own (`start_postgres`).


def _postgres_bin(name: str) -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[4]))
    if not found:
        pytest.fail(
            "PostgreSQL is not installed: the test command installs it (apt-get install -y "
            "postgresql); the state tests need a real PostgreSQL server, not a mock."
        )
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PostgresServer:
    port: int
    folder: Path | None  # None: the machine's server, which the tests never stop

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as con:
            con.execute(sql)  # type: ignore[arg-type]

    def _pg_ctl(self, *args: str) -> None:
        assert self.folder is not None, "the machine's PostgreSQL is not the tests' to stop"
        subprocess.run(
            _as_postgres([str(_postgres_bin("pg_ctl")), "-D", str(self.folder / "data"), *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        assert self.folder is not None
        self._pg_ctl("-l", str(self.folder / "postgres.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")


def start_postgres() -> PostgresServer:
    """A private cluster: its own folder (the postgres user's, when run as root), a free
    port, loopback only, trust auth; stopped by `stop()` (pg_ctl, which signals its PID)."""
    folder = Path(tempfile.mkdtemp(prefix="ventwatch-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        _as_postgres([str(_postgres_bin("initdb")), "-D", str(folder / "data"), "-U", "postgres",
                      "-A", "trust", "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    server = PostgresServer(free_port(), folder)
    with (folder / "data" / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {server.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{folder}'\nfsync = off\n"
        )
    server.start()
    return server


def _machine_postgres() -> PostgresServer | None:
    import psycopg

    server = PostgresServer(5432, None)
    try:
        psycopg.connect(server.url(), connect_timeout=2).close()
    except psycopg.Error:
        return None
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    machine = _machine_postgres()
    if machine is not None:
        yield machine
        return
    server = start_postgres()
    yield server
    server.stop("immediate")
    shutil.rmtree(server.folder or "", ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh database for this test, dropped after (its connections closed first)."""
    from ventwatch.postgres_state import close_pools

    database = f"ventwatch_t_{uuid.uuid4().hex[:12]}"
    postgres.admin(f"CREATE DATABASE {database}")
    yield postgres.url(database)
    close_pools()
    postgres.admin(f"DROP DATABASE {database} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def state_where(request: pytest.FixtureRequest, tmp_path: Path) -> StateLocation:
    """The state database of a test run on both back ends: a SQLite file, or a fresh
    PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "state.sqlite"
    return PostgresURL(request.getfixturevalue("postgres_url"))


# -- accounts --------------------------------------------------------------------------------
# One user per role, all with PASSWORD, in a fresh accounts file per test.

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    accounts = Accounts(tmp_path / "accounts.sqlite")
    for role in Role:
        accounts.add_user(role.value, role, PASSWORD, [ALL_SITES])
    return accounts


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a browser does (its CSRF token included); the
    client keeps the session cookie."""
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    answer = client.post(
        "/login",
        data={"name": name, "password": password, "csrf": found.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def publish(server: MosquittoServer, topic: str, payload: bytes) -> None:
    """One QoS 1 message to the test broker, as a sensor sends it; fails if paho refuses it
    (its return code is the only sign) or the broker never acknowledges it."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", server.port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish refused: {info.rc}"
        info.wait_for_publish(timeout=5)
        assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def interrupt(process: subprocess.Popen[bytes], what: str) -> None:
    """Ctrl-C, as a person stops ventwatch; fails the test if it does not stop within 15 s."""
    os.kill(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"{what} did not stop on Ctrl-C")


@contextmanager
def ventwatch_run(site_path: Path | list[Path], folder: Path, broker_url: str) -> Iterator[str]:
    """The real `ventwatch run` process on a free port, its accounts in `folder`; yields the
    dashboard's base URL once it listens, and checks it stops cleanly on Ctrl-C. One site
    keeps its store and spool in `folder` too; several (a site list, or a folder of site
    files given as `--sites`) keep theirs where each site file says."""
    import sys

    port = free_port()
    sites_dir = site_path if isinstance(site_path, Path) and site_path.is_dir() else None
    paths = site_path if isinstance(site_path, list) else [site_path]
    env = {
        **os.environ,
        "VENTWATCH_BROKER_URL": broker_url,
        "VENTWATCH_STATE_DB": str(folder / "accounts.sqlite"),
    }
    if len(paths) == 1 and sites_dir is None:
        env["VENTWATCH_STORE_URL"] = f"duckdb://{folder / 'store.duckdb'}"
        env["VENTWATCH_SPOOL_DIR"] = str(folder / "spool")
    command = [sys.executable, "-m", "ventwatch", "run"]
    if sites_dir is not None:
        command += ["--sites", str(sites_dir)]
    else:
        for path in paths:
            command += ["--config", str(path)]
    log_path = folder / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, timeout=30)
        yield base
    finally:
        interrupt(process, "ventwatch run")
    assert process.returncode == 0, log_path.read_text()


# -- SMTP ------------------------------------------------------------------------------------
# A real aiosmtpd server on a free loopback port, in plain, STARTTLS or SSL form, with or
# without AUTH, collecting what it receives. Certificates come from a trustme test CA; a
# client trusts them through `tls_ca.configure_trust(context)`.


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


def server_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 and localhost signed by `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def client_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts `ca` (and verifies host names, as in production)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


class SmtpServer:
    """Messages received, in order, parsed with the modern email policy. `refuse` maps a
    recipient address to the reply its RCPT TO gets (say "550 5.1.1 no such user")."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs)
        self.refuse: dict[str, str] = {}
        self._received = threading.Condition()
        self.controller: Controller | None = None

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: object, session: object, envelope: Envelope, address: str, options: list
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: object, session: object, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._received:
            self.messages.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self._received.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """The first `count` messages, once they have arrived; fails after `timeout` s."""
        with self._received:
            if not self._received.wait_for(lambda: len(self.messages) >= count, timeout):
                pytest.fail(f"{len(self.messages)} of {count} messages after {timeout} s")
            return self.messages[:count]


def start_smtp(
    security: str = "plain",
    ca: trustme.CA | None = None,
    credentials: tuple[str, str] | None = None,
) -> SmtpServer:
    """An aiosmtpd server: `security` "plain", "starttls" (STARTTLS required before MAIL) or
    "ssl" (TLS from the first byte), with certificates from `ca`; with `credentials`, AUTH
    (PLAIN or LOGIN) is required, also over plain connections. Stop it with
    `server.controller.stop()`."""
    server = SmtpServer()
    options: dict[str, Any] = {}
    if security == "starttls":
        assert ca is not None, "STARTTLS needs a CA for its certificate"
        options.update(tls_context=server_ssl_context(ca), require_starttls=True)
    elif security == "ssl":
        assert ca is not None, "SSL needs a CA for its certificate"
        options.update(ssl_context=server_ssl_context(ca))
    if credentials is not None:

        def authenticator(
            server: object, session: object, envelope: object, mechanism: str, auth: object
        ) -> AuthResult:
            given = (
                (auth.login.decode(), auth.password.decode())
                if isinstance(auth, LoginPassword)
                else None
            )
            # handled=False: aiosmtpd then answers 535 itself (handled=True means we did).
            return AuthResult(success=given == credentials, handled=False)

        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    server.controller = Controller(
        server, hostname="127.0.0.1", port=server.port, server_hostname="localhost", **options
    )
    server.controller.start()
    return server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server without AUTH; `start_smtp` makes the other kinds."""
    server = start_smtp()
    yield server
    assert server.controller is not None
    server.controller.stop()


# -- HTTP receiver ---------------------------------------------------------------------------
# A real HTTP server on a free loopback port recording every request (webhooks, apprise's
# json:// service) and answering with the next status code of a script (then 200).


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class HttpReceiver:
    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.statuses: list[int] = []  # answers to the next requests, in order; then 200
        self._received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = ReceivedRequest(
                    self.command,
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                )
                with receiver._received:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append(request)
                    receiver._received.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `requests`, not the console."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll so that stopping (`shutdown()` waits for one poll) costs no half second.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """The first `count` requests, once they have arrived; fails after `timeout` s."""
        with self._received:
            if not self._received.wait_for(lambda: len(self.requests) >= count, timeout):
                pytest.fail(f"{len(self.requests)} of {count} requests after {timeout} s")
            return self.requests[:count]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


def state_env(where: StateLocation) -> dict[str, str]:
    """The variable that hands a `ventwatch` process this state database."""
    if isinstance(where, PostgresURL):
        return {"VENTWATCH_STATE_URL": where.url}
    return {"VENTWATCH_STATE_DB": str(where)}
