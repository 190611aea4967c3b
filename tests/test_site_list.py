"""Several sites in one dashboard: a trust user signs in once, sees every site of theirs with
its rooms in each band, and drills down into a site whose pages, links, forms and redirects
all stay under `/sites/<slug>/`; a user of one site never sees another's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import Mount

from tests.conftest import PASSWORD, sign_in
from tests.test_accounts import api_routes, call, required_roles
from ventwatch.accounts import Accounts, Role
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.records import Alert
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig, site_slug
from ventwatch.dashboard.app import create_app, create_site_list
from ventwatch.dashboard.routes import live
from ventwatch.dashboard.sites import mount_point
from ventwatch.readings import Reading
from ventwatch.settings import resolve
from ventwatch.store.duckdb import DuckDBStore
from ventwatch.wiring.service import in_site_list
from ventwatch.wiring.sites import several_sites_problems

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
NORTH = SiteConfig.model_validate(
    {
        "site": {"name": "North School"},
        "rooms": [{"name": "N1"}, {"name": "N2"}, {"name": "N3", "building": "Annexe"}],
    }
)
SOUTH = SiteConfig.model_validate(
    {"site": {"name": "South <School>"}, "rooms": [{"name": "S1"}, {"name": "S2"}]}
)
# Each room's newest CO2 (None: never heard from); what the list must count.
LATEST = {"N1": 600.0, "N2": 1700.0, "N3": 650.0, "S1": 1000.0, "S2": None}
PROFILE = load_profile(NORTH.guidance.profile)
NORTH_BASE = "/sites/north-school"
SOUTH_BASE = "/sites/south-school"


def store_for(path: Path, site: SiteConfig) -> DuckDBStore:
    store = DuckDBStore(path)
    store.write(
        [
            Reading(
                time=NOW,
                site=site.site.name,
                room=room.name,
                sensor=f"{room.name}-co2",
                family="tasmota",
                co2_ppm=LATEST[room.name],
                temperature_c=20.0,
            )
            for room in site.rooms
            if LATEST[room.name] is not None
        ]
    )
    return store


@dataclass
class Clock:
    """A test's clock, moved on by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(
    tmp_path: Path, accounts: Accounts, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> Iterator[FastAPI]:
    """The list of North and South, each site's counts made once (what the list's background
    thread does first when the app starts; a `TestClient` outside `with` starts nothing)."""
    monkeypatch.setattr(live, "LIFETIME_S", 0.0)  # a live stream ends at once here
    accounts.add_user("trust", Role.SITE_MANAGER, PASSWORD, ["North School", "South <School>"])
    accounts.add_user("north", Role.STAFF, PASSWORD, ["North School"])
    accounts.add_user("elsewhere", Role.ADMIN, PASSWORD, ["Other School"])
    stores = [store_for(tmp_path / f"{i}.duckdb", s) for i, s in enumerate((NORTH, SOUTH))]
    site_apps = [
        create_app(
            site,
            store,
            accounts=accounts,
            clock=clock,
            base=mount_point(site.site.name),
        )
        for site, store in zip((NORTH, SOUTH), stores, strict=True)
    ]
    app = create_site_list(site_apps, accounts, clock=clock)
    app.state.site_summaries.refresh_due()
    yield app
    for store in stores:
        store.close()


def signed_in(app: FastAPI, name: str) -> TestClient:
    client = TestClient(app)
    sign_in(client, name)
    return client


def test_a_trust_user_sees_each_site_with_its_counts(app: FastAPI) -> None:
    client = signed_in(app, "trust")
    sites = {s["site"]: s for s in client.get("/api/sites").json()}
    assert set(sites) == {"North School", "South <School>"}
    north, south = sites["North School"], sites["South <School>"]
    assert north["url"] == NORTH_BASE + "/"
    assert (north["rooms"], north["attention"], north["best_band"]) == (3, 1, "good")
    assert {b: n for b, n in north["summary"].items() if n} == {"good": 2, "poor": 1}
    assert south["url"] == SOUTH_BASE + "/"
    assert {b: n for b, n in south["summary"].items() if n} == {"act": 1, "no-data": 1}
    assert south["attention"] == 2
    # No alerting runs in these apps: the list says nothing rather than "0 open".
    assert north["open_alerts"] is None
    # The counts the site's own overview shows (one judgement), made now and fresh.
    assert north["summary"] == client.get(NORTH_BASE + "/api/rooms").json()["summary"]
    assert datetime.fromisoformat(north["generated_at"]) == NOW
    assert (north["age_s"], north["stale"]) == (0, False)

    page = client.get("/")
    assert page.status_code == 200
    assert f'<a href="{NORTH_BASE}/">North School</a>' in page.text
    assert "South &lt;School&gt;" in page.text
    assert "<School>" not in page.text
    assert '2 sites, <span data-field="rooms">5</span> rooms;' in page.text
    assert '<span data-field="attention">3</span> need attention' in page.text
    row = page.text.split('data-site="North School"')[1].split("</tr>")[0]
    assert re.search(r'data-summary="poor".*?</span> 1 Poor', row, re.S)
    assert re.search(r'data-field="attention">1<', row)


def counting(store: object, monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The times `store.latest` is asked for, from now on."""
    asked: list[datetime] = []
    latest: Callable[..., object] = store.latest  # type: ignore[attr-defined]

    def counted(*args: object, **kwargs: object) -> object:
        asked.append(NOW)
        return latest(*args, **kwargs)

    monkeypatch.setattr(store, "latest", counted)
    return asked


def test_the_list_answers_from_counts_made_in_the_background(
    app: FastAPI, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests, each in a second of its own, read no store: the counts are in memory,
    made again by the background once they are `refresh` old."""
    asked = [counting(a.state.store, monkeypatch) for a in app.state.site_apps]
    client = signed_in(app, "trust")
    for _ in range(4):  # within two refreshes: not stale yet
        clock.now += timedelta(seconds=2)
        sites = {s["site"]: s for s in client.get("/api/sites").json()}
        assert client.get("/").status_code == 200
    assert asked == [[], []]
    north = sites["North School"]
    assert {b: n for b, n in north["summary"].items() if n} == {"good": 2, "poor": 1}
    assert (north["age_s"], north["stale"]) == (8, False)
    assert "counted 8 s ago" in client.get("/").text

    clock.now = NOW + app.state.site_summaries.refresh  # due: each site is counted again
    app.state.site_summaries.refresh_due()
    assert [len(a) for a in asked] == [1, 1]
    assert client.get("/api/sites").json()[0]["age_s"] == 0


def test_counts_that_missed_their_refresh_show_as_stale_never_as_good(
    app: FastAPI, clock: Clock
) -> None:
    client = signed_in(app, "trust")
    clock.now = NOW + 2 * app.state.site_summaries.refresh + timedelta(seconds=1)  # none came
    sites = {s["site"]: s for s in client.get("/api/sites").json()}
    north = sites["North School"]
    assert north["stale"] is True
    assert datetime.fromisoformat(north["generated_at"]) == NOW  # when it was last counted
    # Every room counts as not recent, none as good, and every one needs attention.
    assert {b: n for b, n in north["summary"].items() if n} == {"stale": 3}
    assert north["attention"] == 3
    page = client.get("/").text
    row = page.split('data-site="North School"')[1].split("</tr>")[0]
    assert ' class="stale"' in row
    assert "stale: counted 11 s ago" in row
    assert 'data-summary="good"' not in row
    assert '<span data-field="attention">5</span> need attention' in page


def two_sites(tmp_path: Path, accounts: Accounts, clock: Callable[[], datetime]) -> FastAPI:
    """North and South in a list whose counts nobody has made yet; `trust` sees both."""
    stores = [store_for(tmp_path / f"{i}.duckdb", s) for i, s in enumerate((NORTH, SOUTH))]
    site_apps = [
        create_app(site, store, accounts=accounts, clock=clock, base=mount_point(site.site.name))
        for site, store in zip((NORTH, SOUTH), stores, strict=True)
    ]
    accounts.add_user("trust", Role.SITE_MANAGER, PASSWORD, ["North School", "South <School>"])
    return create_site_list(site_apps, accounts, clock=clock)


def test_a_site_whose_counts_fail_shows_as_stale_and_the_others_go_on(
    tmp_path: Path, accounts: Accounts, clock: Clock
) -> None:
    app = two_sites(tmp_path, accounts, clock)
    north_store, south_store = (a.state.store for a in app.state.site_apps)
    north_store.close()  # North's store is down
    app.state.site_summaries.refresh_due()
    north, south = signed_in(app, "trust").get("/api/sites").json()
    assert (north["stale"], north["generated_at"], north["summary"]["stale"]) == (True, None, 3)
    assert "not counted yet" in signed_in(app, "trust").get("/").text
    assert (south["stale"], south["summary"]["act"]) == (False, 1)
    south_store.close()


def test_each_user_sees_only_their_sites_in_the_same_second(app: FastAPI) -> None:
    """The answer is made once a second per set of sites a user may see, never shared with
    a user who may see fewer."""
    trust, north = signed_in(app, "trust"), signed_in(app, "north")
    assert len(trust.get("/api/sites").json()) == 2
    assert [s["site"] for s in north.get("/api/sites").json()] == ["North School"]
    assert len(trust.get("/api/sites").json()) == 2


def test_open_alerts_are_counted_for_the_roles_that_see_alerts_only(
    tmp_path: Path, accounts: Accounts
) -> None:
    """Counted once for everyone in the background; shown to a manager, never to staff, even
    in the same second (the answer is made per role group)."""
    stores = [store_for(tmp_path / f"{i}.duckdb", s) for i, s in enumerate((NORTH, SOUTH))]
    env = {"VENTWATCH_STATE_DB": str(accounts.path)}
    site_apps = [
        create_app(
            site,
            store,
            accounts=accounts,
            clock=lambda: NOW,
            alerting=Alerting(site, resolve(site, None, env=env), store, PROFILE),
            base=mount_point(site.site.name),
        )
        for site, store in zip((NORTH, SOUTH), stores, strict=True)
    ]
    north_records = site_apps[0].state.alerting.records
    north_records.save(Alert("N2", "co2-urgent", "urgent", NOW), NOW, "opened")
    app = create_site_list(site_apps, accounts, clock=lambda: NOW)
    app.state.site_summaries.refresh_due()
    accounts.add_user("trust", Role.SITE_MANAGER, PASSWORD, ["North School", "South <School>"])
    accounts.add_user("both", Role.STAFF, PASSWORD, ["North School", "South <School>"])
    manager = signed_in(app, "trust").get("/api/sites").json()
    assert [s["open_alerts"] for s in manager] == [1, 0]
    staff = signed_in(app, "both").get("/api/sites").json()
    assert [s["open_alerts"] for s in staff] == [None, None]
    for store in stores:
        store.close()


def test_the_counts_are_made_by_a_thread_while_the_app_runs(
    tmp_path: Path, accounts: Accounts
) -> None:
    app = two_sites(tmp_path, accounts, lambda: NOW)
    with TestClient(app) as client:  # the app's lifespan: the thread starts
        sign_in(client, "trust")
        deadline = time.monotonic() + 10
        while any(s["stale"] for s in client.get("/api/sites").json()):
            assert time.monotonic() < deadline, "no counts made"
            time.sleep(0.05)
        assert [s["summary"]["good"] for s in client.get("/api/sites").json()] == [2, 0]
    assert "site-list-counts" not in [t.name for t in threading.enumerate()]  # stopped
    for site_app in app.state.site_apps:
        site_app.state.store.close()


def test_drilling_down_keeps_every_link_inside_the_site(app: FastAPI) -> None:
    client = signed_in(app, "trust")
    for path in ("/", "/week", "/room?name=N2", "/sensors"):
        page = client.get(NORTH_BASE + path)
        assert page.status_code == 200, (path, page.text)
        links = re.findall(r'(?:href|action|src)="(/[^"]*)"', page.text)
        assert links, path
        outside = [u for u in links if not u.startswith(NORTH_BASE + "/") and u != "/"]
        assert outside == [], (path, outside)
        assert '<a href="/">All sites</a>' in page.text  # the way back to the list
    overview = client.get(NORTH_BASE + "/").text
    assert f'<meta name="ventwatch-base" content="{NORTH_BASE}">' in overview  # for the script
    assert f'href="{NORTH_BASE}/room?name=N2"' in overview
    rooms = client.get(NORTH_BASE + "/api/rooms").json()
    assert [r["room"] for r in rooms["rooms"]] == ["N1", "N2", "N3"]
    assert client.get(SOUTH_BASE + "/api/rooms").json()["site"] == "South <School>"
    # A form's redirect stays in the site too.
    csrf = re.search(r'name="csrf" value="([^"]+)"', overview)
    assert csrf is not None
    out = client.post(NORTH_BASE + "/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, NORTH_BASE + "/login")
    assert client.get("/api/sites").status_code == 401  # signed out of every site at once


def test_a_user_of_one_site_goes_straight_to_it_and_sees_no_other(app: FastAPI) -> None:
    client = signed_in(app, "north")
    home = client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, NORTH_BASE + "/")
    assert [s["site"] for s in client.get("/api/sites").json()] == ["North School"]
    assert client.get(NORTH_BASE + "/api/rooms").status_code == 200
    assert client.get(SOUTH_BASE + "/api/rooms").status_code == 403
    assert client.get(SOUTH_BASE + "/", follow_redirects=False).status_code == 403


def test_a_user_of_no_listed_site_cannot_sign_in(app: FastAPI) -> None:
    client = TestClient(app)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post(
        "/login", data={"name": "elsewhere", "password": PASSWORD, "csrf": csrf.group(1)}
    )
    assert answer.status_code == 401


def test_failed_logins_count_once_across_the_list_and_its_sites(app: FastAPI) -> None:
    client = TestClient(app)
    for path in ("/login", NORTH_BASE + "/login", SOUTH_BASE + "/login") * 2:
        form = client.get(path)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        wrong = {"name": "trust", "password": "not it at all", "csrf": csrf.group(1)}
        last = client.post(path, data=wrong)
    assert last.status_code == 429  # the sixth failure for this name, on whichever form


def test_signing_in_inside_a_site_comes_back_to_the_page(app: FastAPI) -> None:
    client = TestClient(app)
    first = client.get(NORTH_BASE + "/week?show=share", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == (
        NORTH_BASE + "/login?next=%2Fsites%2Fnorth-school%2Fweek%3Fshow%3Dshare"
    )
    form = client.get(first.headers["location"])
    assert "<h1>North School</h1>" in form.text
    assert f'action="{NORTH_BASE}/login"' in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    next_path = re.search(r'name="next" value="([^"]+)"', form.text)
    assert csrf is not None
    assert next_path is not None
    answer = client.post(
        NORTH_BASE + "/login",
        data={
            "name": "north",
            "password": PASSWORD,
            "csrf": csrf.group(1),
            "next": next_path.group(1).replace("&amp;", "&"),
        },
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        NORTH_BASE + "/week?show=share",
    )


def every_route(app: FastAPI, prefix: str = "") -> Iterator[tuple[str, str, APIRoute]]:
    """Every endpoint of the site list and of each mounted site, with its full path."""
    for route in api_routes(app.routes):
        for method in sorted(route.methods):
            yield method, prefix + route.path, route
    for mount in app.routes:
        if isinstance(mount, Mount) and isinstance(mount.app, FastAPI):
            yield from every_route(mount.app, prefix + mount.path)


def test_every_route_of_every_site_refuses_anonymous_requests(app: FastAPI) -> None:
    client = TestClient(app)
    public = {"/login", "/healthz"}
    found = list(every_route(app))
    paths = {p for _, p, _ in found}
    # The walk reaches the list's own routes and both sites' (it must not come back empty).
    assert {"/", "/api/sites", f"{NORTH_BASE}/api/rooms", f"{SOUTH_BASE}/alerts"} <= paths
    checked = 0
    for method, path, route in found:
        if path.removeprefix(NORTH_BASE).removeprefix(SOUTH_BASE) in public:
            continue
        required_roles(route)
        status = call(client, method, path)
        local = path.removeprefix(NORTH_BASE).removeprefix(SOUTH_BASE)
        expected = 401 if local.startswith("/api/") or local == "/metrics" else 303
        assert status == expected, (method, path, status)
        checked += 1
    assert checked > 40


def test_health_names_the_site_whose_store_fails(app: FastAPI) -> None:
    client = TestClient(app)
    assert client.get("/healthz").json() == {"status": "ok"}
    south = app.state.site_apps[1]
    south.state.store.close()
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["reason"] == "South <School>: store down"  # never where it is


def test_sites_that_would_share_files_are_refused_by_name(tmp_path: Path) -> None:
    def settings_of(site: SiteConfig, folder: str, **env: str) -> tuple[Path, object, SiteConfig]:
        path = tmp_path / folder / "site.yaml"
        return path, resolve(site, path, env=env), site

    north = settings_of(NORTH, "n")
    south = settings_of(SOUTH, "n")  # one folder: one store file, spool and accounts file
    problems = several_sites_problems([north, south])  # type: ignore[list-item]
    assert any("have the same embedded store file" in p and "n/site.yaml" in p for p in problems)
    assert any("have the same spool folder" in p for p in problems)
    assert not any("accounts" in p for p in problems)  # sharing the accounts is the point

    shared = {"VENTWATCH_STATE_DB": str(tmp_path / "accounts.sqlite")}
    apart = [
        settings_of(replace_store(NORTH, "north"), "n", **shared),
        settings_of(replace_store(SOUTH, "south"), "s", **shared),
    ]
    assert several_sites_problems(apart) == []  # type: ignore[arg-type]

    own_accounts = [settings_of(NORTH, "n"), settings_of(SOUTH, "s")]
    problems = several_sites_problems(own_accounts)  # type: ignore[arg-type]
    assert problems
    assert "different accounts files" in problems[0]

    # A store URL that cannot work is left for opening it to explain, not a crash here.
    broken = SOUTH.model_copy(
        update={"store": SOUTH.store.model_copy(update={"url": "duckdb:///"})}
    )
    assert several_sites_problems([apart[0], settings_of(broken, "b", **shared)]) == []  # type: ignore[list-item]

    twin = SiteConfig.model_validate({"site": {"name": "north school"}, "rooms": [{"name": "X"}]})
    problems = several_sites_problems([apart[0], settings_of(twin, "t", **shared)])  # type: ignore[list-item]
    assert any("same site name as a URL" in p for p in problems)

    # One InfluxDB database for the sites of a trust: every reading carries its site.
    influx = {**shared, "VENTWATCH_STORE_URL": "influxdb://127.0.0.1:8086/trust"}
    one_database = [settings_of(NORTH, "n", **influx), settings_of(SOUTH, "s", **influx)]
    assert several_sites_problems(one_database) == []  # type: ignore[arg-type]


def replace_store(site: SiteConfig, name: str) -> SiteConfig:
    store = site.store.model_copy(update={"url": f"duckdb:///./{name}.duckdb", "spool": name})
    return site.model_copy(update={"store": store})


def test_a_site_s_emails_link_to_its_own_part_of_the_dashboard(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    settings = in_site_list(NORTH, resolve(NORTH, path, env={"VENTWATCH_HTTP": "0.0.0.0:80"}))
    assert settings.dashboard_url == "http://0.0.0.0:80/sites/north-school"
    named = NORTH.model_copy(
        update={"alerts": NORTH.alerts.model_copy(update={"dashboard_url": "https://vw.example"})}
    )
    assert in_site_list(named, resolve(named, path, env={})).dashboard_url == "https://vw.example"


@given(st.text(max_size=60))
def test_a_site_slug_is_a_plain_url_segment(name: str) -> None:
    slug = site_slug(name)
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", slug), slug
    assert site_slug(slug) == slug


def test_slugs_of_real_names() -> None:
    assert site_slug("Hillside Academy") == "hillside-academy"
    assert site_slug("St. Mary's C of E") == "st-mary-s-c-of-e"
    assert site_slug("Ysgol Gymraeg Bro Morgannwg") == "ysgol-gymraeg-bro-morgannwg"
    assert site_slug("École Saint-Michel ★") == "ecole-saint-michel"
    assert site_slug("★") == "site"
    assert mount_point("Hillside Academy") == "/sites/hillside-academy"


def test_run_refuses_sites_that_would_share_a_store(tmp_path: Path) -> None:
    """Before anything starts: exit 1, naming both files and what they share."""
    for name in ("North School", "South School"):
        (tmp_path / f"{site_slug(name)}.yaml").write_text(
            f"site: {{name: {name}}}\nrooms: [{{name: R1}}]\n"
            'store: {url: "duckdb:///./one.duckdb"}\n'
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENTWATCH_")}
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "ventwatch",
            "run",
            "--config",
            str(tmp_path / "north-school.yaml"),
            "--config",
            str(tmp_path / "south-school.yaml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert answer.returncode == 1, answer.stderr
    assert "these sites cannot run together" in answer.stderr
    assert re.search(
        r"north-school\.yaml and .*south-school\.yaml have the same embedded store file",
        answer.stderr,
    )
    assert "same spool folder" in answer.stderr
    assert not (tmp_path / "one.duckdb").exists()  # refused before any store was opened
