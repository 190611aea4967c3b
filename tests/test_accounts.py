"""Accounts, sessions and roles: nobody without a login sees anything, and every route of the
app (found from its route table, so a new one cannot be forgotten) admits only its roles."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from tests.conftest import PASSWORD, sign_in
from ventwatch import accounts as accounts_module
from ventwatch.accounts import REMEMBER_S, SESSION_LIFETIME, AccountError, Accounts, Role
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.auth import SESSION_COOKIE, Require
from ventwatch.dashboard.routes import live
from ventwatch.state_database import StateLocation
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
SITE = SiteConfig.model_validate(
    {"site": {"name": "Hillside Academy"}, "rooms": [{"name": "Room 1"}]}
)
# Routes anyone may call: signing in itself, and the health check load balancers poll.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz")}


@pytest.fixture
def app(tmp_path: Path, accounts: Accounts, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    # A live stream ends at once here: these tests look at who may open it, not at its events.
    monkeypatch.setattr(live, "LIFETIME_S", 0.0)
    return create_app(
        SITE, DuckDBStore(tmp_path / "s.duckdb"), accounts=accounts, clock=lambda: NOW
    )


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every endpoint of the app. FastAPI 0.16x keeps included routers as wrappers whose
    routes come out of `effective_route_contexts()`; older versions list them directly."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                if isinstance(context.original_route, APIRoute):
                    yield context.original_route


def routes(app) -> list[tuple[str, str, APIRoute]]:  # type: ignore[no-untyped-def]
    found = [
        (method, route.path, route)
        for route in api_routes(app.routes)
        for method in sorted(route.methods or ())
    ]
    # The walk itself must not come back empty: that would pass every test below.
    assert {("GET", "/"), ("GET", "/api/rooms"), ("POST", "/logout")} <= {
        (m, p) for m, p, _ in found
    }
    return found


def required_roles(route: APIRoute) -> frozenset[Role]:
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Require)]
    assert len(found) == 1, f"{route.path}: give it exactly one Require(...) dependency"
    return found[0].roles


def call(client: TestClient, method: str, path: str) -> int:
    if method == "POST":
        return client.post(path, data={}, follow_redirects=False).status_code
    return client.request(method, path, follow_redirects=False).status_code


def test_every_route_refuses_anonymous_requests(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    checked = 0
    for method, path, route in routes(app):
        if (method, path) in PUBLIC:
            continue
        required_roles(route)  # every non-public route names its roles
        status = call(client, method, path)
        expected = 401 if path.startswith("/api/") or path == "/metrics" else 303
        assert status == expected, (method, path, status)
        checked += 1
    assert checked >= 4  # /, /api/rooms, /api/ingest, /api/openapi.json, /logout ...


def test_every_route_refuses_the_wrong_roles_and_admits_the_right_ones(app) -> None:  # type: ignore[no-untyped-def]
    clients = {}
    for role in Role:
        clients[role] = TestClient(app)
        sign_in(clients[role], role.value)
    for method, path, route in routes(app):
        if (method, path) in PUBLIC:
            continue
        roles = required_roles(route)
        for role, client in clients.items():
            status = call(client, method, path)
            if role in roles:
                assert status not in (401, 403), (role, method, path, status)
            else:
                assert status == 403, (role, method, path, status)


def test_a_user_of_another_site_is_refused(app, accounts: Accounts) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("elsewhere", Role.ADMIN, PASSWORD, ["Other School"])
    client = TestClient(app)
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    answer = client.post("/login", data={"name": "elsewhere", "password": PASSWORD, "csrf": csrf})
    assert answer.status_code == 401
    token = accounts.new_token("elsewhere", "test")
    assert client.get("/api/rooms", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_session_cookie_flags_and_logout(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    answer = client.post(
        "/login",
        data={"name": "rep", "password": PASSWORD, "csrf": csrf, "next": "/api/rooms"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/api/rooms"
    cookie = answer.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert client.get("/api/rooms").status_code == 200
    # Signing out needs the session's form token: another site cannot sign you out.
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    overview = client.get("/").text
    token = overview.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/rooms").status_code == 401


def test_login_form_needs_its_csrf_token_and_never_redirects_off_site(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    client.get("/login")
    forged = client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf": "x"})
    assert forged.status_code == 400
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        page = client.get("/login", params={"next": target})
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        answer = client.post(
            "/login",
            data={"name": "admin", "password": PASSWORD, "csrf": csrf, "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/", target


def test_failed_logins_are_throttled(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    statuses = [
        client.post(
            "/login", data={"name": "admin", "password": "wrong password!", "csrf": csrf}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    # Even the right password waits now: a guesser cannot tell it found it.
    right = client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf": csrf})
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0


def test_unknown_page_visit_goes_to_login_and_back(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    answer = client.get("/?building=Main", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2F%3Fbuilding%3DMain"


def test_accounts_store_only_hashes(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "a.sqlite")
    accounts.add_user("ann", Role.REP, PASSWORD, ["S"])
    token, session = accounts.start_session(accounts.check_password("ann", PASSWORD))  # type: ignore[arg-type]
    api = accounts.new_token("ann", "test")
    raw = (tmp_path / "a.sqlite").read_bytes()
    for secret in (PASSWORD, token, api):
        assert secret.encode() not in raw
    assert b"$argon2id$" in raw
    assert accounts.check_password("ann", "not the password") is None
    assert accounts.check_password("nobody", PASSWORD) is None
    assert accounts.session(token) == session
    assert accounts.session(token, NOW + timedelta(days=400)) is None  # expired
    assert session.expires - datetime.now(UTC) <= SESSION_LIFETIME
    accounts.set_password("ann", "another long password")
    assert accounts.session(token) is None  # a new password ends old sessions
    assert accounts.token_user(api) is not None
    accounts.remove_user("ann")
    assert accounts.token_user(api) is None
    with pytest.raises(AccountError, match="at least 10"):
        accounts.add_user("bob", Role.STAFF, "short", ["S"])
    accounts.add_user("cy", Role.STAFF, PASSWORD, ["S"])
    with pytest.raises(AccountError, match="exists"):
        accounts.add_user("cy", Role.STAFF, PASSWORD, ["S"])


def test_what_another_process_changes_applies_within_the_remembered_time(
    state_where: StateLocation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard remembers sessions and tokens for `REMEMBER_S`: a user removed by the
    users command (another process, another `Accounts`) is refused once that has passed;
    one removed here, and a session ended here, at once."""
    clock = [1000.0]
    monkeypatch.setattr(accounts_module.time, "monotonic", lambda: clock[0])
    dashboard = Accounts(state_where)
    command = Accounts(state_where)
    for name in ("ann", "bob"):
        dashboard.add_user(name, Role.REP, PASSWORD, ["S"])
    ann_token = dashboard.new_token("ann", "integration")
    ann_cookie, _ = dashboard.start_session(dashboard.user("ann"))  # type: ignore[arg-type]
    assert dashboard.token_user(ann_token) is not None
    assert dashboard.session(ann_cookie) is not None

    command.remove_user("ann")
    clock[0] += REMEMBER_S - 0.5
    assert dashboard.token_user(ann_token) is not None  # still remembered
    clock[0] += 1.0
    assert dashboard.token_user(ann_token) is None
    assert dashboard.session(ann_cookie) is None

    bob_token = dashboard.new_token("bob", "integration")
    bob_cookie, bob_session = dashboard.start_session(dashboard.user("bob"))  # type: ignore[arg-type]
    assert dashboard.session(bob_cookie) == bob_session
    # A remembered session still ends when it expires.
    assert dashboard.session(bob_cookie, bob_session.expires) is None
    dashboard.end_session(bob_cookie)
    assert dashboard.session(bob_cookie) is None  # logged out here: at once
    assert dashboard.token_user(bob_token) is not None
    dashboard.remove_user("bob")
    assert dashboard.token_user(bob_token) is None


def test_users_command(tmp_path: Path, example_site_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(example_site_path.read_text())

    def users(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ventwatch", "users", *args, "--config", str(site)],
            input=stdin,
            capture_output=True,
            text=True,
        )

    added = users("add", "ann", "--role", "rep", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert users("list").stdout == "ann\trep\tHillside Academy\n"
    # A trust user of several sites: each named as its own file names it, or told so.
    trust = users(
        "add", "tia", "--role", "site_manager", "--site", "Hillside Academy",
        "--site", "Valley Schol", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert trust.returncode == 0, trust.stderr
    assert "note: 'Valley Schol' is not the site of" in trust.stderr
    assert trust.stderr.count("note:") == 1  # none for this file's own site
    short = users("add", "bob", "--role", "staff", "--password-stdin", stdin="short\n")
    assert short.returncode == 1
    assert "at least 10" in short.stderr
    token = users("token", "ann").stdout.strip()
    assert token.startswith("vw_")
    accounts = Accounts(tmp_path / "data" / "accounts.sqlite")  # from the site file
    assert accounts.token_user(token) is not None
    assert users("remove", "ann").returncode == 0
    assert users("remove", "ann").returncode == 1


def test_api_tokens_are_named_listed_expire_and_are_revoked_one_by_one(
    state_where: StateLocation,
) -> None:
    accounts = Accounts(state_where)
    for name, role in (("ann", Role.REP), ("root", Role.ADMIN), ("bob", Role.STAFF)):
        accounts.add_user(name, role, PASSWORD, ["S"])
    scraper, made = accounts.issue_token("ann", "prometheus", NOW + timedelta(days=30), NOW)
    screen = accounts.new_token("ann", "hall screen", now=NOW)
    assert (made.label, made.created, made.expires, made.last_used) == (
        "prometheus",
        NOW,
        NOW + timedelta(days=30),
        None,
    )
    assert accounts.token_user(scraper, NOW + timedelta(days=29)) == accounts.user("ann")
    assert accounts.token_user(scraper, NOW + timedelta(days=30)) is None  # expired
    assert accounts.token_user(screen, NOW + timedelta(days=3000)) is not None  # never expires
    listed = accounts.tokens("ann")
    assert [(t.id, t.label, t.user) for t in listed] == [
        (made.id, "prometheus", "ann"),
        (made.id + 1, "hall screen", "ann"),
    ]
    assert listed[0].last_used == NOW + timedelta(days=29)  # the last use that was let in
    assert accounts.tokens("root") == []
    assert accounts.tokens() == listed
    for secret in (scraper, screen):
        assert secret not in repr(listed)
    with pytest.raises(AccountError, match="label"):
        accounts.new_token("ann", "  ")
    with pytest.raises(AccountError, match="future"):
        accounts.new_token("ann", "x", expires=NOW, now=NOW)

    # One by one: the owner, or an admin; anyone else is told there is no such token.
    with pytest.raises(AccountError, match=f"no API token {made.id}"):
        accounts.revoke_token(made.id, by=accounts.user("bob"))
    assert accounts.revoke_token(made.id, by=accounts.user("ann")).label == "prometheus"
    assert accounts.token_user(scraper, NOW) is None
    assert accounts.token_user(screen, NOW) is not None
    assert accounts.revoke_token(made.id + 1, by=accounts.user("root")).user == "ann"
    assert accounts.token_user(screen, NOW) is None
    with pytest.raises(AccountError, match="no API token"):
        accounts.revoke_token(made.id)
    # Ids are never given again.
    accounts.new_token("ann", "later")
    assert accounts.tokens()[0].id == made.id + 2


def test_tokens_made_before_ids_are_migrated(tmp_path: Path) -> None:
    """An accounts file from before token ids and expiry (the table as it was): its tokens
    keep working, get an id, no expiry, and "unnamed" where they had no label."""
    import hashlib
    import sqlite3

    path = tmp_path / "old.sqlite"
    old = Accounts(path)
    old.add_user("ann", Role.REP, PASSWORD, ["S"])
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            DROP TABLE api_tokens;
            CREATE TABLE api_tokens (
                token_sha256 TEXT PRIMARY KEY,
                user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                label TEXT NOT NULL,
                created TEXT NOT NULL
            );
            """
        )
        for secret, label, created in (
            ("vw_old_scraper", "prometheus", "2026-01-05T08:00:00+00:00"),
            ("vw_old_blank", "", "2026-02-01T09:30:00+00:00"),
        ):
            digest = hashlib.sha256(secret.encode()).hexdigest()
            db.execute(
                "INSERT INTO api_tokens VALUES (?, ?, ?, ?)", (digest, "ann", label, created)
            )

    accounts = Accounts(path)
    assert [(t.id, t.label, t.user, t.expires, t.last_used) for t in accounts.tokens()] == [
        (1, "prometheus", "ann", None, None),
        (2, "unnamed", "ann", None, None),
    ]
    assert accounts.tokens()[0].created == datetime(2026, 1, 5, 8, tzinfo=UTC)
    assert accounts.token_user("vw_old_scraper") == accounts.user("ann")
    assert accounts.token_user("vw_old_blank", NOW + timedelta(days=3000)) is not None
    assert Accounts(path).tokens()[1].label == "unnamed"  # opening it again changes nothing
    accounts.new_token("ann", "new")
    assert [t.id for t in accounts.tokens()] == [1, 2, 3]
    accounts.remove_user("ann")  # and tokens still go with their user
    assert accounts.tokens() == []


def test_token_commands(tmp_path: Path, example_site_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(example_site_path.read_text())

    def users(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ventwatch", "users", *args, "--config", str(site)],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
        )

    assert users("add", "ann", "--role", "rep", "--password-stdin").returncode == 0
    assert users("add", "bob", "--role", "staff", "--password-stdin").returncode == 0
    made = users("token", "ann", "--label", "prometheus", "--expires-days", "30")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("vw_")
    assert made.stdout == secret + "\n"  # only the token: `> file.token` keeps just it
    assert "token 1 (prometheus) acts as ann, expires 20" in made.stderr
    plain = users("token", "bob")  # the command as it was still works
    assert plain.returncode == 0
    assert plain.stdout.startswith("vw_")

    listing = users("tokens")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0] == "id\tlabel\tuser\tcreated\texpires\tlast used"
    first, second = (line.split("\t") for line in lines[1:])
    assert first[:3] == ["1", "prometheus", "ann"]
    assert first[3].endswith(" UTC")
    assert first[4].endswith(" UTC")
    assert first[5] == "never"
    assert second[:3] == ["2", "integration", "bob"]
    assert second[4] == "never"
    assert secret not in listing.stdout
    assert [line.split("\t")[0] for line in users("tokens", "bob").stdout.splitlines()] == [
        "id",
        "2",
    ]
    assert users("tokens", "nobody").returncode == 1

    accounts = Accounts(tmp_path / "data" / "accounts.sqlite")
    assert accounts.token_user(secret) is not None
    revoked = users("revoke-token", "1")
    assert (revoked.returncode, revoked.stdout) == (0, "revoked token 1 (prometheus) of ann\n")
    # (This process remembered the token as valid for REMEMBER_S; a fresh look refuses it.)
    assert Accounts(accounts.path).token_user(secret) is None
    again = users("revoke-token", "1")
    assert (again.returncode, again.stderr) == (1, "error: no API token 1\n")
    assert users("token", "ann", "--expires-days", "0").returncode == 2  # usage


def test_set_password_offers_to_revoke_the_users_tokens(
    tmp_path: Path, example_site_path: Path
) -> None:
    import os

    site = tmp_path / "site.yaml"
    site.write_text(example_site_path.read_text())
    command = [sys.executable, "-m", "ventwatch", "users"]
    accounts = Accounts(tmp_path / "data" / "accounts.sqlite")
    accounts.add_user("ann", Role.REP, PASSWORD, ["S"])

    def set_password(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "set-password", "ann", "--password-stdin", *options, "--config", str(site)],
            input="another long password\n",
            capture_output=True,
            text=True,
        )

    token = accounts.new_token("ann", "scraper")
    kept = set_password()  # not at a terminal, no option: kept, and said so
    assert kept.returncode == 0, kept.stderr
    assert "new password set for ann\nkept 1 API token of ann" in kept.stdout
    assert accounts.token_user(token) is not None
    assert "kept" in set_password("--keep-tokens").stdout
    revoked = set_password("--revoke-tokens")
    assert "revoked 1 API token of ann" in revoked.stdout
    assert Accounts(accounts.path).token_user(token) is None
    assert accounts.tokens("ann") == []

    # At a terminal it asks.
    token = accounts.new_token("ann", "scraper")
    main, terminal = os.openpty()
    process = subprocess.Popen(
        [*command, "set-password", "ann", "--password-stdin", "--config", str(site)],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(terminal)
    os.write(main, b"a third long password\ny\n")
    out, err = process.communicate(timeout=60)
    os.close(main)
    assert process.returncode == 0, err
    assert "ann has 1 API token: revoke them too? [y/N]" in out
    assert "revoked 1 API token of ann" in out
    assert Accounts(accounts.path).token_user(token) is None
