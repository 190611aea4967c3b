"""Logins that hold (issue 17): the client address comes from X-Forwarded-For only through a
trusted proxy, the login throttle holds under concurrent guesses and keys failures by (name,
address) with a slower back-off per name, pages and API answers are never cached, the tokens
page, and a live stream that ends with its login. Over real HTTP where it matters: the real
`ventwatch run` process, or uvicorn on a free loopback port."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, MosquittoServer, free_port, sign_in, ventwatch_run
from ventwatch.accounts import REMEMBER_S, Accounts, LoginThrottle, Role, throttle_address
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app, create_site_list
from ventwatch.dashboard.sites import mount_point
from ventwatch.settings import SettingsError, parse_trusted_proxies
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
SITE = SiteConfig.model_validate(
    {"site": {"name": "Hillside Academy"}, "rooms": [{"name": "Room 1"}]}
)
WRONG = "not the password at all"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def try_login(
    client: httpx.Client, name: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """One attempt through the form, as a browser makes it (a fresh form each time)."""
    form = client.get("/login", headers=headers)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf": csrf_of(form.text)},
        headers=headers,
        follow_redirects=False,
    )


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in this process (so a test can count
    what happens inside it); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    store = DuckDBStore(tmp_path / "s.duckdb")
    yield store
    store.close()


# -- trusted proxies -------------------------------------------------------------------------


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert parse_trusted_proxies("") == ()
    assert [str(n) for n in parse_trusted_proxies(" 127.0.0.1, 10.0.0.0/8,::1 ,")] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    for bad, says in (
        ("proxy.internal", "'proxy.internal' is not an IP address or network"),
        ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
        ("*", "would let every client name its own address"),
    ):
        with pytest.raises(SettingsError, match=re.escape(says)):
            parse_trusted_proxies(bad)


def test_run_refuses_to_start_with_a_wrong_proxy(
    tmp_path: Path, example_site_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    monkeypatch.setenv("VENTWATCH_TRUSTED_PROXIES", "127.0.0.1,gateway")
    monkeypatch.setenv("VENTWATCH_STATE_DB", str(tmp_path / "a.sqlite"))
    out = subprocess.run(
        [sys.executable, "-m", "ventwatch", "run", "--config", str(example_site_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "VENTWATCH_TRUSTED_PROXIES: 'gateway' is not an IP address or network" in out.stderr
    assert "Traceback" not in out.stderr


@contextmanager
def run_with_users(
    tmp_path: Path, example_site_path: Path, mosquitto: MosquittoServer
) -> Iterator[str]:
    """The real `ventwatch run`, with alice and bob in its accounts file."""
    accounts = Accounts(tmp_path / "accounts.sqlite")
    for name in ("alice", "bob"):
        accounts.add_user(name, Role.ADMIN, PASSWORD, ["*"])
    with ventwatch_run(example_site_path, tmp_path, mosquitto.url) as base:
        yield base


def test_a_forwarded_address_from_an_untrusted_client_is_ignored(
    tmp_path: Path,
    example_site_path: Path,
    mosquitto: MosquittoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No proxy trusted (not even 127.0.0.1, uvicorn's default): a guesser naming a new
    address at every attempt is still one client, stopped after five."""
    monkeypatch.delenv("VENTWATCH_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    with (
        run_with_users(tmp_path, example_site_path, mosquitto) as base,
        httpx.Client(base_url=base) as client,
    ):
        statuses = [
            try_login(client, "alice", WRONG, {"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(1, 7)
        ]
        assert statuses == [401] * 5 + [429]
        # X-Forwarded-Proto is not believed either: no Secure cookie over plain http.
        form = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in form.headers["set-cookie"].lower()


def test_a_trusted_proxy_names_the_client_that_is_throttled(
    tmp_path: Path,
    example_site_path: Path,
    mosquitto: MosquittoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VENTWATCH_TRUSTED_PROXIES", "127.0.0.1")
    with (
        run_with_users(tmp_path, example_site_path, mosquitto) as base,
        httpx.Client(base_url=base) as client,
    ):
        guesser = {"X-Forwarded-For": "203.0.113.7"}
        statuses = [try_login(client, "alice", WRONG, guesser).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        # alice, at her own address behind the same proxy, is not the guesser.
        alice = {"X-Forwarded-For": "198.51.100.20"}
        assert try_login(client, "alice", PASSWORD, alice).status_code == 303
        # The proxy's word on the scheme is believed too: cookies are Secure behind https.
        form = client.get("/login", headers={**alice, "X-Forwarded-Proto": "https"})
        assert "secure" in form.headers["set-cookie"].lower()


# -- the throttle ----------------------------------------------------------------------------


@pytest.mark.servers
def test_concurrent_wrong_passwords_are_checked_at_most_the_limit(
    accounts: Accounts, store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 wrong passwords at once over HTTP from one client: each takes its place in the
    count before its password is checked, so only the limit's five reach argon2."""
    app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
    verify = PasswordHasher.verify
    checks: list[int] = []

    def counted(hasher: PasswordHasher, stored: str, password: str) -> bool:
        checks.append(1)
        return verify(hasher, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    with served(app) as base:
        forms = []
        for _ in range(40):
            client = httpx.Client(base_url=base, timeout=60)
            forms.append((client, csrf_of(client.get("/login").text)))
        start = threading.Barrier(40)
        statuses: list[int] = []

        def guess(client: httpx.Client, csrf: str) -> None:
            start.wait()
            data = {"name": "admin", "password": WRONG, "csrf": csrf}
            statuses.append(client.post("/login", data=data).status_code)

        threads = [threading.Thread(target=guess, args=form) for form in forms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        for client, _ in forms:
            client.close()
    assert sorted(statuses) == [401] * 5 + [429] * 35
    assert len(checks) == 5


def test_concurrent_attempts_on_the_throttle_itself_take_at_most_the_limit() -> None:
    throttle = LoginThrottle()
    admitted: list[float] = []
    start = threading.Barrier(40)

    def attempt() -> None:
        start.wait()
        if throttle.begin("alice", "192.0.2.1", NOW) == 0:
            admitted.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 5


def fail(throttle: LoginThrottle, name: str, address: str, now: datetime) -> None:
    """One wrong password: admitted, and left counted."""
    assert throttle.begin(name, address, now) == 0, (name, address, now)


def test_a_guesser_elsewhere_does_not_lock_the_owner_out() -> None:
    throttle = LoginThrottle()
    for _ in range(5):
        fail(throttle, "alice", "203.0.113.7", NOW)
    wait = throttle.begin("alice", "203.0.113.7", NOW)
    assert wait == 15 * 60  # locked for that name at that address
    assert throttle.begin("Alice", "198.51.100.20", NOW) == 0  # her own address: free
    throttle.succeeded("alice", "198.51.100.20", NOW)
    assert throttle.begin("bob", "203.0.113.7", NOW) == 0  # other names from there: free
    # Fifteen minutes after the oldest failure, the guesser may try again.
    assert throttle.begin("alice", "203.0.113.7", NOW + timedelta(minutes=15)) == 0


def test_one_address_trying_every_name_is_stopped() -> None:
    throttle = LoginThrottle()
    for i in range(30):
        fail(throttle, f"user{i}", "203.0.113.7", NOW)
    assert throttle.begin("user99", "203.0.113.7", NOW) > 0
    assert throttle.begin("user99", "203.0.113.8", NOW) == 0


def test_many_addresses_at_one_name_meet_a_doubling_back_off_but_not_the_owner() -> None:
    throttle = LoginThrottle()
    # alice signed in from her usual address last week.
    assert throttle.begin("alice", "198.51.100.20", NOW - timedelta(days=7)) == 0
    throttle.succeeded("alice", "198.51.100.20", NOW - timedelta(days=7))
    for i in range(20):  # one failure from each of 20 addresses: no pair limit reached
        fail(throttle, "alice", f"203.0.113.{i}", NOW)
    now = NOW
    waits = []
    for i in range(20, 32):
        wait = throttle.begin("alice", f"203.0.113.{i}", now)
        assert wait > 0  # a new address waits...
        waits.append(wait)
        now += timedelta(seconds=wait)
        fail(throttle, "alice", f"203.0.113.{i}", now)  # ...then may try once
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert max(waits) == 15 * 60  # doubling up to 15 minutes, no further
    # The owner's usual address is exempt from the back-off (not from its own pair limit).
    assert throttle.begin("alice", "198.51.100.20", now) == 0
    throttle.succeeded("alice", "198.51.100.20", now)
    # Succeeding does not reset the guessers' count at other addresses.
    assert throttle.begin("alice", "203.0.113.250", now) > 0
    # A day after the failures, they are forgotten.
    assert throttle.begin("alice", "203.0.113.250", now + timedelta(hours=24)) == 0


def test_a_right_password_forgives_its_own_attempt() -> None:
    throttle = LoginThrottle()
    for _ in range(4):
        fail(throttle, "alice", "192.0.2.1", NOW)
    fail(throttle, "alice", "192.0.2.1", NOW)  # the fifth attempt is alice's, and right
    throttle.succeeded("alice", "192.0.2.1", NOW)
    for _ in range(5):
        fail(throttle, "alice", "192.0.2.1", NOW)


def test_ipv6_clients_count_per_64() -> None:
    assert throttle_address("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert throttle_address("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttle_address("192.0.2.1") == "192.0.2.1"
    throttle = LoginThrottle()
    for i in range(5):
        fail(throttle, "alice", f"2001:db8:1:2::{i + 1}", NOW)
    assert throttle.begin("alice", "2001:db8:1:2::ffff", NOW) > 0


# -- no-store --------------------------------------------------------------------------------


def test_pages_and_api_answers_are_not_stored_but_static_files_are_cacheable(
    accounts: Accounts, store: DuckDBStore
) -> None:
    site_app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
    client = TestClient(site_app)
    sign_in(client, "admin")
    for path in ("/", "/api/rooms", "/tokens", "/login"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path
    for path in ("/static/style.css", "/vendor/plotly/plotly.min.js"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "no-store" not in answer.headers.get("cache-control", ""), path
        assert answer.headers["x-content-type-options"] == "nosniff"  # still secured

    # The same inside a site list, where each site is mounted under /sites/<slug>.
    mounted = create_app(
        SITE, store, accounts=accounts, clock=lambda: NOW, base=mount_point(SITE.site.name)
    )
    listing = TestClient(create_site_list([mounted], accounts, clock=lambda: NOW))
    sign_in(listing, "admin")
    inside = mount_point(SITE.site.name)
    assert listing.get(f"{inside}/api/rooms").headers["cache-control"] == "no-store"
    assert listing.get("/api/sites").headers["cache-control"] == "no-store"
    tokens = listing.get("/tokens")  # the site list has the tokens page too
    assert (tokens.status_code, tokens.headers["cache-control"]) == (200, "no-store")
    static = listing.get(f"{inside}/static/style.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")


# -- the tokens page -------------------------------------------------------------------------


def test_a_user_makes_lists_and_revokes_their_own_tokens(
    accounts: Accounts, store: DuckDBStore
) -> None:
    app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
    rep = TestClient(app)
    sign_in(rep, "rep")
    page = rep.get("/tokens")
    made = rep.post(
        "/tokens", data={"label": "scraper", "expires_days": "30", "csrf": csrf_of(page.text)}
    )
    assert made.status_code == 200
    secret = re.search(r'data-field="new-token">(vw_[^<]+)<', made.text)
    assert secret, made.text
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert TestClient(app).get("/api/rooms", headers=bearer).status_code == 200
    (token,) = accounts.tokens("rep")
    assert token.expires == NOW + timedelta(days=30)
    assert token.last_used == NOW

    # Another user's token: not listed for the rep, not theirs to revoke.
    admins = accounts.new_token("admin", "heating controller")
    admin_id = accounts.tokens("admin")[0].id
    listed = rep.get("/tokens").text
    assert "scraper" in listed
    assert secret.group(1) not in listed  # shown once, never again
    assert "heating controller" not in listed
    assert f'data-token="{admin_id}"' not in listed
    csrf = csrf_of(listed)
    assert rep.post(f"/tokens/{admin_id}/revoke", data={"csrf": csrf}).status_code == 404
    assert accounts.token_user(admins) is not None

    revoked = rep.post(f"/tokens/{token.id}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/tokens")
    assert TestClient(app).get("/api/rooms", headers=bearer).status_code == 401

    # An admin sees everyone's tokens and may revoke any.
    admin = TestClient(app)
    sign_in(admin, "admin")
    rep_token = accounts.new_token("rep", "dashboard screen")
    everyone = admin.get("/tokens").text
    assert "heating controller" in everyone
    assert "dashboard screen" in everyone
    rep_id = accounts.tokens("rep")[0].id
    csrf = csrf_of(everyone)
    assert admin.post(f"/tokens/{rep_id}/revoke", data={"csrf": csrf}).status_code == 200
    assert accounts.token_user(rep_token) is None

    # A bearer token cannot make more tokens: the form needs a session's CSRF token.
    other = {"Authorization": f"Bearer {admins}"}
    forged = TestClient(app).post("/tokens", data={"label": "x", "csrf": "x"}, headers=other)
    assert forged.status_code == 403


def test_an_expired_token_is_refused(accounts: Accounts, store: DuckDBStore) -> None:
    app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
    old = accounts.new_token("admin", "last term", expires=NOW, now=NOW - timedelta(days=90))
    fresh = accounts.new_token(
        "admin", "this term", expires=NOW + timedelta(seconds=1), now=NOW - timedelta(days=1)
    )
    client = TestClient(app)
    assert client.get("/api/rooms", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/api/rooms", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    sign_in(client, "admin")
    assert "(expired)" in client.get("/tokens").text


# -- the live stream ends with its login -----------------------------------------------------


def _stream_lifetime(base: str, cookies: httpx.Cookies, ended: list[float]) -> None:
    with (
        httpx.Client(base_url=base, cookies=cookies, timeout=30) as client,
        client.stream("GET", "/api/rooms/stream") as stream,
    ):
        assert stream.status_code == 200
        for _ in stream.iter_lines():
            pass
    ended.append(time.monotonic())


def _open_stream(base: str, cookies: httpx.Cookies) -> tuple[threading.Thread, list[float]]:
    ended: list[float] = []
    thread = threading.Thread(target=_stream_lifetime, args=(base, cookies, ended), daemon=True)
    thread.start()
    time.sleep(1.5)  # it is open and sending
    assert thread.is_alive()
    assert not ended
    return thread, ended


@pytest.mark.servers
def test_a_live_stream_ends_when_its_session_signs_out(
    accounts: Accounts, store: DuckDBStore
) -> None:
    app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
    with served(app) as base, httpx.Client(base_url=base) as browser:
        sign_in(browser, "staff")
        thread, ended = _open_stream(base, browser.cookies)
        csrf = csrf_of(browser.get("/").text)
        signed_out = time.monotonic()
        assert browser.post("/logout", data={"csrf": csrf}).status_code in (200, 303)
        thread.join(timeout=10)
        assert ended, "the stream went on after its session signed out"
        assert ended[0] - signed_out < 3


@pytest.mark.servers
def test_a_live_stream_ends_when_another_process_removes_its_user(
    accounts: Accounts, store: DuckDBStore
) -> None:
    app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
    with served(app) as base, httpx.Client(base_url=base) as browser:
        sign_in(browser, "rep")
        thread, ended = _open_stream(base, browser.cookies)
        removed = time.monotonic()
        Accounts(accounts.path).remove_user("rep")  # as `ventwatch users remove` does
        thread.join(timeout=REMEMBER_S + 10)
        assert ended, "the stream went on after its user was removed"
        assert ended[0] - removed < REMEMBER_S + 3
