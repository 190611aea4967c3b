"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against the
real `ventwatch run` process, a real Mosquitto and a DuckDB store seeded with known readings.

Screenshots land in each test's temporary folder (`pytest --basetemp=DIR` keeps them where you
can open them).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD, MosquittoServer, publish, ventwatch_run
from ventwatch.accounts import ALL_SITES, Accounts, Role
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TZ = ZoneInfo("Europe/London")
SITE_YAML = """
site: {name: Browser Academy, timezone: Europe/London}
rooms:
  - {name: Good Room, building: Main, floor: 0}
  - {name: Busy Room, building: Main, floor: 0}
  - {name: Stuffy Room, building: Main, floor: 1}
  - {name: Quiet Room, building: Science, floor: 0}
  - {name: "<b>Bold</b> Room", building: Science, floor: 0}
sensors:
  - {family: tasmota, device: good-co2, room: Good Room}
  - {family: tasmota, device: busy-co2, room: Busy Room}
  - {family: tasmota, device: stuffy-co2, room: Stuffy Room}
  - {family: tasmota, device: quiet-co2, room: Quiet Room}
  - {family: tasmota, device: bold-co2, room: "<b>Bold</b> Room"}
"""
# Each room's CO2 through lessons, and its newest reading: what the overview must show.
LESSON_PPM = {"Good Room": 600, "Busy Room": 1000, "Stuffy Room": 1700, "<b>Bold</b> Room": 650}
SENSOR = {
    "Good Room": "good-co2",
    "Busy Room": "busy-co2",
    "Stuffy Room": "stuffy-co2",
    "Quiet Room": "quiet-co2",
    "<b>Bold</b> Room": "bold-co2",
}
EXPECTED_TITLE = {
    "Good Room": "Good",
    "Busy Room": "Needs action",
    "Stuffy Room": "Poor",
    "Quiet Room": "No recent reading",  # its sensor fell silent an hour ago: never good
    "<b>Bold</b> Room": "Good",
}


def seed(path: Path, now: datetime) -> None:
    """A week of one-minute readings: lesson-time levels on weekdays 09:00-15:00, outdoor
    air otherwise; the quiet room's sensor stops an hour before `now`."""
    store = DuckDBStore(path)
    batch = []
    start = (now - timedelta(days=7)).replace(second=0, microsecond=0)
    minutes = int((now - start).total_seconds() // 60)
    for room, lesson in {**LESSON_PPM, "Quiet Room": 700}.items():
        sensor = SENSOR[room]
        for i in range(minutes):
            t = start + timedelta(minutes=i)
            if room == "Quiet Room" and t > now - timedelta(hours=1):
                break
            local = t.astimezone(TZ)
            lesson_time = local.weekday() < 5 and 9 <= local.hour < 15
            batch.append(
                Reading(
                    time=t,
                    site="Browser Academy",
                    room=room,
                    sensor=sensor,
                    family="tasmota",
                    co2_ppm=float(lesson if lesson_time else 450),
                    temperature_c=20.5,
                    humidity_pct=45.0,
                )
            )
    # The newest reading of each room is its lesson level, whatever the time of day.
    for room, lesson in LESSON_PPM.items():
        batch.append(
            Reading(
                time=now.replace(microsecond=0),
                site="Browser Academy",
                room=room,
                sensor=SENSOR[room],
                family="tasmota",
                co2_ppm=float(lesson),
                temperature_c=20.5,
            )
        )
    store.write(batch)
    store.close()


@dataclass
class Dashboard:
    url: str
    screenshots: Path


@pytest.fixture(scope="module")
def dashboard(
    mosquitto: MosquittoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dashboard]:
    folder = tmp_path_factory.mktemp("browser")
    site = folder / "site.yaml"
    site.write_text(SITE_YAML)
    seed(folder / "store.duckdb", datetime.now(UTC))
    accounts = Accounts(folder / "accounts.sqlite")
    for role in Role:
        accounts.add_user(role.value, role, PASSWORD, [ALL_SITES])
    with ventwatch_run(site, folder, mosquitto.url) as url:
        yield Dashboard(url, folder)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is not installed: the test command installs Debian's chromium "
            "(apt-get install -y chromium); the browser tests need the real browser."
        )
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium refuses to run as root with its sandbox (CI runs as root).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def signed_in(browser: Browser, dashboard: Dashboard, name: str, **context: object) -> Page:
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(dashboard.url + "/")
    expect(page).to_have_url(f"{dashboard.url}/login?next=%2F")  # nobody sees anything first
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(dashboard.url + "/")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def tile(page: Page, room: str):  # type: ignore[no-untyped-def]
    return page.locator(f".tile[data-room={json.dumps(room)}]")


def test_sign_in_and_see_every_room_s_status(browser: Browser, dashboard: Dashboard) -> None:
    page = signed_in(browser, dashboard, "site_manager")
    for room, title in EXPECTED_TITLE.items():
        expect(tile(page, room).locator("[data-field=title]")).to_have_text(title)
    expect(tile(page, "Stuffy Room").locator("[data-field=co2]")).to_have_text("1700\u00a0ppm")
    # A room name from the site file is text, never markup.
    expect(page.get_by_role("heading", name="<b>Bold</b> Room")).to_be_visible()
    assert page.locator(".tile b").count() == 0
    expect(page.locator("[data-summary=poor] [data-field=count]")).to_have_text("1")
    page.screenshot(path=dashboard.screenshots / "overview.png", full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_room_page_draws_co2_against_the_bands(browser: Browser, dashboard: Dashboard) -> None:
    page = signed_in(browser, dashboard, "rep")
    page.get_by_role("link", name="Stuffy Room").click()
    expect(page).to_have_url(f"{dashboard.url}/room?name=Stuffy+Room")
    # The last seven days (the seeded week), whatever day of the week the tests run on: this
    # week alone has no readings yet on a Monday just after midnight.
    today = datetime.now(TZ).date()
    ranges = page.locator("nav.ranges")
    ranges.locator("input[name=from]").fill(str(today - timedelta(days=6)))
    ranges.locator("input[name=to]").fill(str(today))
    ranges.get_by_role("button", name="Show").click()
    chart = page.locator("#co2-chart")
    expect(chart.locator(".main-svg").first).to_be_visible()
    shapes = chart.evaluate("el => el._fullLayout.shapes.map(s => s.name)")
    assert [s for s in shapes if s.startswith("band")] == ["band good", "band act", "band poor"]
    assert "occupied" in shapes
    drawn = chart.evaluate("el => el._fullData[0].y.filter(v => v !== null).length")
    assert drawn > 100  # the week's readings are on the chart, not just the bands
    page.screenshot(path=dashboard.screenshots / "room-week.png", full_page=True)
    # Five school days of lessons at 1700 ppm are in any seven days: red.
    expect(page.locator("[data-field=status]")).to_have_text("Poor")
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_published_reading_arrives_without_a_reload(
    browser: Browser, dashboard: Dashboard, mosquitto: MosquittoServer
) -> None:
    page = signed_in(browser, dashboard, "site_manager")
    page.evaluate("window.notReloaded = true")
    local = datetime.now(TZ).replace(tzinfo=None, microsecond=0)
    payload = {"Time": local.isoformat(), "SCD40": {"CarbonDioxide": 1234, "Temperature": 19.6}}
    publish(mosquitto, "tele/good-co2/SENSOR", json.dumps(payload).encode())
    good = tile(page, "Good Room")
    expect(good.locator("[data-field=co2]")).to_have_text("1234\u00a0ppm", timeout=10_000)
    expect(good.locator("[data-field=title]")).to_have_text("Needs action")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=dashboard.screenshots / "live.png")


def test_filters_and_worst_first(browser: Browser, dashboard: Dashboard) -> None:
    page = signed_in(browser, dashboard, "staff")
    page.get_by_label("Status").select_option("poor")
    expect(page.locator(".tile:visible")).to_have_count(1)
    expect(page.locator(".tile:visible .room")).to_have_text("Stuffy Room")
    assert "status=poor" in page.url  # the view can be bookmarked
    page.get_by_label("Status").select_option("")
    page.get_by_label("Order").select_option("worst")
    expect(page.locator("#worst-first .tile").first).to_have_attribute("data-room", "Stuffy Room")
    page.get_by_label("Building").select_option("Science")
    expect(page.locator(".tile:visible")).to_have_count(2)


def test_staff_are_refused_the_admin_form(browser: Browser, dashboard: Dashboard) -> None:
    page = signed_in(browser, dashboard, "staff")
    expect(page.get_by_role("link", name="Sensors")).to_have_count(0)
    response = page.goto(dashboard.url + "/sensors")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not for your account")).to_be_visible()
    page.screenshot(path=dashboard.screenshots / "refused.png")


def test_keyboard_and_phone(browser: Browser, dashboard: Dashboard) -> None:
    page = signed_in(browser, dashboard, "rep", viewport={"width": 390, "height": 844})
    # Nothing wider than the phone: no sideways scrolling on the overview or a room page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=dashboard.screenshots / "phone-overview.png", full_page=True)
    for _ in range(40):  # Tab through the page to the first room's link, then open it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Good Room":
            break
    else:
        pytest.fail("the room link cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{dashboard.url}/room?name=Good+Room")
    expect(page.locator("#co2-chart .main-svg").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=dashboard.screenshots / "phone-room.png", full_page=True)


# -- several sites in one dashboard ----------------------------------------------------------
TRUST_SITES = {
    "north": "North Academy",
    "south": "South Academy",
}


def trust_site_yaml(key: str) -> str:
    return f"""
site: {{name: {TRUST_SITES[key]}, timezone: Europe/London}}
store: {{url: "duckdb:///./{key}.duckdb", spool: {key}-spool}}
rooms:
  - {{name: {key.title()} Hall}}
  - {{name: {key.title()} Lab}}
sensors:
  - {{family: tasmota, device: {key}-hall, room: {key.title()} Hall}}
  - {{family: tasmota, device: {key}-lab, room: {key.title()} Lab}}
"""


@pytest.fixture(scope="module")
def trust_dashboard(
    mosquitto: MosquittoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dashboard]:
    """`ventwatch run` with two site files: a site list over both, one accounts file."""
    folder = tmp_path_factory.mktemp("trust")
    paths = []
    for key in TRUST_SITES:
        path = folder / f"{key}.yaml"
        path.write_text(trust_site_yaml(key))
        paths.append(path)
    accounts = Accounts(folder / "accounts.sqlite")
    accounts.add_user("trust", Role.SITE_MANAGER, PASSWORD, list(TRUST_SITES.values()))
    with ventwatch_run(paths, folder, mosquitto.url) as url:
        yield Dashboard(url, folder)


def tasmota_co2(mosquitto: MosquittoServer, device: str, ppm: int) -> None:
    local = datetime.now(TZ).replace(tzinfo=None, microsecond=0)
    payload = {"Time": local.isoformat(), "SCD40": {"CarbonDioxide": ppm, "Temperature": 20.1}}
    publish(mosquitto, f"tele/{device}/SENSOR", json.dumps(payload).encode())


def test_a_trust_user_drills_down_from_the_site_list(
    browser: Browser, trust_dashboard: Dashboard, mosquitto: MosquittoServer
) -> None:
    url = trust_dashboard.url
    tasmota_co2(mosquitto, "south-lab", 1650)
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/")
    expect(page).to_have_url(f"{url}/login?next=%2F")
    page.get_by_label("Name").fill("trust")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(url + "/")
    expect(page.get_by_role("heading", name="Your sites")).to_be_visible()
    expect(page.locator("tr[data-site]")).to_have_count(2)
    south = page.locator('tr[data-site="South Academy"]')
    # The ingested reading is counted in its own site only (the store of each site is its own).
    expect(south.locator('[data-summary="poor"]')).to_contain_text("1 Poor", timeout=10_000)
    expect(page.locator('tr[data-site="North Academy"] [data-summary="poor"]')).to_have_count(0)
    # The list keeps itself current: a new reading at South shows without a reload.
    page.evaluate("window.notReloaded = true")
    tasmota_co2(mosquitto, "south-hall", 1000)
    expect(south.locator('[data-summary="act"]')).to_contain_text("1 Needs action", timeout=15_000)
    expect(page.locator("#totals [data-summary=act]")).to_contain_text("1 Needs action")
    expect(page.locator("[data-field=attention]").first).to_have_text("4")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=trust_dashboard.screenshots / "site-list.png", full_page=True)

    page.get_by_role("link", name="South Academy").click()
    expect(page).to_have_url(url + "/sites/south-academy/")
    lab = tile(page, "South Lab")
    expect(lab.locator("[data-field=co2]")).to_have_text("1650\u00a0ppm")
    # The page script finds the live stream under the site's own address.
    page.evaluate("window.notReloaded = true")
    tasmota_co2(mosquitto, "south-lab", 720)
    expect(lab.locator("[data-field=co2]")).to_have_text("720\u00a0ppm", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=trust_dashboard.screenshots / "site-overview.png", full_page=True)
    page.get_by_role("link", name="All sites").click()
    expect(page).to_have_url(url + "/")
    # North's ingest heard South's sensor on the shared broker: South's, not an unknown one.
    north = page.context.request.get(url + "/sites/north-academy/api/ingest").json()["counts"]
    assert (north["other_site"], north["unknown_sensor"], north["stored"]) == (3, 0, 0)
    assert errors == []
