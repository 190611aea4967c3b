"""The pages on a phone and in the page's language, in a real browser (Debian's headless
Chromium through Playwright) against the real dashboard under uvicorn: a DuckDB store seeded
with a week of readings, alerts saved as the monitor saves them, a fixed clock (Tuesday 17
November 2026) so every date on the page is known.

On a 390 px phone the alerts, sensors and week tables keep their key columns in view, with no
word split across lines; the overview's band chips filter to their band and back; "worst
first" can be made this browser's default; dates read "17 Nov 2026" on the pages and on the
Plotly axes. Screenshots (desktop 1280 px and phone 390 px) land in the module's temporary
folder (`pytest --basetemp=DIR` keeps them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import PASSWORD
from tests.test_alerts_page import NOW, alerting_for, opened
from tests.test_browser import browser  # noqa: F401  (the module's Chromium, a fixture)
from tests.test_login_security import served
from ventwatch.accounts import ALL_SITES, Accounts, Role
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

TZ = ZoneInfo("Europe/London")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Long words on purpose: a room name that a narrow column would split mid-word.
LESSON_PPM = {
    "Technology Workshop": 1700,
    "Humanities 12": 1000,
    "Music": 620,
    "<b>Bold</b> Room": 650,
}
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Phone Academy", "timezone": "Europe/London"},
        "rooms": [
            {"name": "Technology Workshop", "building": "Main"},
            {"name": "Humanities 12", "building": "Main", "floor": 1},
            {"name": "Music", "building": "Arts"},
            {"name": "<b>Bold</b> Room", "building": "Arts"},
        ],
        "sensors": [
            {"family": "tasmota", "device": f"sensor-{i}", "room": room}
            for i, room in enumerate(LESSON_PPM)
        ],
    }
)
MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


def seed(store: DuckDBStore) -> None:
    """Eight days of one-minute readings up to NOW: each room's lesson level on weekdays
    09:00-15:00, outdoor air otherwise, and its lesson level as the newest reading."""
    start = NOW - timedelta(days=8)
    batch = []
    for i, (room, lesson) in enumerate(LESSON_PPM.items()):
        for minute in range(int((NOW - start).total_seconds() // 60) + 1):
            t = start + timedelta(minutes=minute)
            local = t.astimezone(TZ)
            in_lesson = local.weekday() < 5 and 9 <= local.hour < 15
            ppm = lesson if in_lesson or t == NOW else 450
            batch.append(
                Reading(
                    time=t, site="Phone Academy", room=room, sensor=f"sensor-{i}",
                    family="tasmota", co2_ppm=float(ppm), temperature_c=20.5,
                )
            )  # fmt: skip
    store.write(batch)


@dataclass
class Site:
    url: str
    shots: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("phone")
    store = DuckDBStore(folder / "store.duckdb")
    seed(store)
    accounts = Accounts(folder / "accounts.sqlite")
    for role in Role:
        accounts.add_user(role.value, role, PASSWORD, [ALL_SITES])
    alerting = alerting_for(SITE, store, accounts)
    opened(alerting, "Technology Workshop", occurrences=3)
    opened(alerting, "Humanities 12", "co2-advisory", at=NOW - timedelta(days=1), worst=1100)
    app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW, alerting=alerting)
    with served(app) as url:
        yield Site(url, folder)
    store.close()


def signed_in(chromium: Browser, site: Site, viewport: dict[str, int]) -> Page:
    page = chromium.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.url + "/login")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url + "/")
    page.errors = errors  # type: ignore[attr-defined]
    return page


# For every text node under an element: the words drawn on more than one line (a word split
# mid-word), found with a Range over each word; and whether the element overflows its box.
SPLIT_WORDS = """el => {
  const split = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (tops.size > 1) split.push(m[0]);
    }
  }
  const style = getComputedStyle(el);
  return {
    split,
    overflows: el.scrollWidth > el.clientWidth + 1,
    wrap: style.overflowWrap,
    wordBreak: style.wordBreak,
  };
}"""


def assert_readable(cell: Locator, width: int = PHONE["width"]) -> None:
    """On screen, inside the phone's width, with every word whole on one line."""
    expect(cell).to_be_visible()
    box = cell.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= width + 0.5, box
    found = cell.evaluate(SPLIT_WORDS)
    assert found["split"] == [], found
    assert not found["overflows"], found
    assert found["wrap"] != "anywhere", found
    assert found["wordBreak"] not in ("break-all", "break-word"), found


def test_alerts_on_a_phone_keep_room_severity_condition_and_workflow(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    page = signed_in(browser, site, PHONE)
    page.goto(site.url + "/alerts")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for row in page.locator("tr[data-alert]").all():
        assert_readable(row.locator("th[scope=row]"))
        for key in ("Severity", "Condition", "Workflow"):
            assert_readable(row.locator(f'td[data-label="{key}"]'))
    urgent = page.locator("tr[data-alert]").filter(has_text="Technology Workshop")
    expect(urgent.locator('td[data-label="Condition"]')).to_contain_text(
        "active since Fri 13 Nov 2026, 10:30"
    )
    # Each value is named on the card: the column's header, drawn before it.
    label = urgent.locator('td[data-label="Severity"]').evaluate(
        "el => getComputedStyle(el, '::before').content"
    )
    assert label == '"Severity"'
    page.screenshot(path=site.shots / "phone-alerts.png", full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_sensors_on_a_phone_keep_sensor_room_last_message_and_health(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    page = signed_in(browser, site, PHONE)
    page.goto(site.url + "/sensors")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    rows = page.locator("tr[data-sensor]")
    expect(rows).to_have_count(len(LESSON_PPM))
    for row in rows.all():
        assert_readable(row.locator("th[scope=row]"))
        for key in ("Room", "Last message", "Health"):
            assert_readable(row.locator(f'td[data-label="{key}"]'))
    page.screenshot(path=site.shots / "phone-sensors.png", full_page=True)


def test_the_week_on_a_phone_keeps_room_and_week_in_view(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    page = signed_in(browser, site, PHONE)
    page.goto(site.url + "/week")
    # en-GB: day before month, no leading zero, the year once in the heading.
    expect(page.locator(".meta").first).to_contain_text("Mon 16 Nov 2026 to Sun 22 Nov 2026")
    expect(page.locator(".wk thead")).to_contain_text("Tue 17 Nov")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    scroller = page.locator(".wk-scroll")
    rows = page.locator(".wk tbody tr:has(td)")
    expect(rows).to_have_count(len(LESSON_PPM))
    for scrolled in (0, 10_000):  # at the start, then scrolled to the far end of the days
        scroller.evaluate("(el, x) => { el.scrollLeft = x; }", scrolled)
        # The pinned columns, Room and Week: in view whatever the scroll, words whole.
        for row in [page.locator(".wk thead tr"), *rows.all()]:
            for cell in ("th:first-child", ".wk-week"):
                assert_readable(row.locator(cell))
    # At the end of the days: Consistently, whole.
    for row in [page.locator(".wk thead tr"), *rows.all()]:
        assert_readable(row.locator(".wk-total:not(.wk-week)"))
    page.screenshot(path=site.shots / "phone-week.png", full_page=True)


def test_a_band_chip_filters_to_its_band_and_back(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    page = signed_in(browser, site, PHONE)
    tiles = page.locator(".tile:visible")
    expect(tiles).to_have_count(len(LESSON_PPM))
    poor = page.locator('button[data-chip="poor"]')
    expect(poor).to_have_attribute("aria-pressed", "false")
    poor.focus()  # a keyboard works it as well as a finger
    page.keyboard.press("Enter")
    expect(tiles).to_have_count(1)
    expect(tiles.locator(".room")).to_have_text("Technology Workshop")
    expect(poor).to_have_attribute("aria-pressed", "true")
    assert "status=poor" in page.url  # the same filter as the Status list: bookmarkable
    expect(page.get_by_label("Status")).to_have_value("poor")
    page.screenshot(path=site.shots / "phone-overview-poor-pressed.png")
    # Another chip moves the filter; pressing the pressed one again shows every room.
    good = page.locator('button[data-chip="good"]')
    good.click()
    expect(tiles).to_have_count(2)
    expect(poor).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Space")  # focus stayed on the good chip
    expect(tiles).to_have_count(len(LESSON_PPM))
    expect(good).to_have_attribute("aria-pressed", "false")
    assert "status=" not in page.url
    assert page.errors == []  # type: ignore[attr-defined]


def test_worst_first_can_be_this_browser_s_default(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    page = signed_in(browser, site, DESKTOP)
    worst = page.locator("#worst-first")
    expect(worst).to_be_hidden()
    page.get_by_label("Order", exact=True).select_option("worst")
    page.get_by_label("Always sort this way on this device").check()
    page.goto(site.url + "/")  # a fresh visit: no order in the address
    expect(worst).to_be_visible()
    expect(worst.locator(".tile").first).to_have_attribute("data-room", "Technology Workshop")
    expect(page.get_by_label("Order", exact=True)).to_have_value("worst")
    # The default holds beside other filters in the address.
    page.goto(site.url + "/?status=poor")
    expect(worst).to_be_visible()
    expect(page.locator(".tile:visible")).to_have_count(1)
    page.get_by_label("Always sort this way on this device").uncheck()
    page.goto(site.url + "/")
    expect(worst).to_be_hidden()
    expect(page.get_by_label("Order", exact=True)).to_have_value("")
    assert page.errors == []  # type: ignore[attr-defined]


# Each line of each x-axis tick label (Plotly draws a label's lines as tspans).
TICK_LINES = """el => [...el.querySelectorAll(".xtick text")].flatMap((text) => {
  const lines = text.querySelectorAll("tspan.line");
  return lines.length ? [...lines].map((line) => line.textContent) : [text.textContent];
})"""


def test_dates_read_en_gb_on_the_page_and_on_the_chart_axes(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    page = signed_in(browser, site, DESKTOP)
    assert page.evaluate("document.documentElement.lang") == "en-GB"
    for query, expected in (
        ("range=today", "Tuesday 17 November 2026"),
        ("range=week", "Mon 16 Nov 2026 to Fri 20 Nov 2026"),
    ):
        page.goto(f"{site.url}/room?name=Music&{query}")
        expect(page.locator("h1 + .meta")).to_contain_text(expected)
        chart = page.locator("#co2-chart")
        expect(chart.locator(".xtick").first).to_be_visible()
        ticks = chart.evaluate(TICK_LINES)
        text = " ".join(ticks)
        assert re.search(rf"\b1[67] {MONTH}\b", text), ticks  # "16 Nov", not "Nov 16"
        assert "2026" in text, ticks
        assert not re.search(rf"{MONTH} \d{{1,2}}\b", text), ticks
        hover = chart.evaluate("el => el._fullLayout.xaxis.hoverformat")
        assert hover == "%a %-d %b %Y, %H:%M"
        assert page.errors == []  # type: ignore[attr-defined]


def test_screenshots_desktop_and_phone(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    """Every page a person opens, at both widths, for a person to look at; on each, nothing
    wider than the window."""
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = signed_in(browser, site, viewport)
        for path in ("/", "/alerts", "/sensors", "/week", "/room?name=Technology+Workshop"):
            page.goto(site.url + path)
            if path.startswith("/room"):
                expect(page.locator("#co2-chart .main-svg").first).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], (path, width)
            slug = path.strip("/").split("?")[0] or "overview"
            page.screenshot(path=site.shots / f"{name}-{slug}.png", full_page=True)
        page.context.close()


def test_chip_and_room_names_stay_text(browser: Browser, site: Site) -> None:  # noqa: F811
    """A room name with markup is text on the overview's tiles and the phone cards."""
    page = signed_in(browser, site, PHONE)
    expect(page.get_by_role("heading", name="<b>Bold</b> Room")).to_be_visible()
    page.goto(site.url + "/sensors")
    assert page.locator("table.cards b").count() == 0
    expect(page.locator(f"tr[data-sensor={json.dumps('tasmota:sensor-3')}]")).to_contain_text(
        "<b>Bold</b> Room"
    )
