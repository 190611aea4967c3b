"""The dashboard against a real DuckDB store: bands in the JSON, the overview page, escaping of
anything that came from a site file or a sensor, the page script, health and colour contrast."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from tests.conftest import free_port, sign_in
from ventwatch.accounts import Accounts
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.present import ago, by_building_and_floor
from ventwatch.dashboard.rooms import RoomNow
from ventwatch.readings import Reading
from ventwatch.store import open_store
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
EVIL_ROOM = "<script>alert(1)</script>"
EVIL_PAYLOAD = '<img src=x onerror="alert(2)">'
STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"

SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "Europe/London"},
        "rooms": [
            {"name": "Good Room", "building": "Main", "floor": 0},
            {"name": "Act Room", "building": "Main", "floor": 1},
            {"name": "Poor Room", "building": "Main", "floor": 0},
            {"name": "Stale Room", "building": "Science", "floor": 0},
            {"name": "Empty Room", "building": "Science", "floor": 0},
            {"name": EVIL_ROOM, "building": "Science", "floor": "Annex"},
        ],
    }
)
STATS: dict[str, Any] = {
    "counts": {"stored": 10, "undecodable": 2, "unknown_sensor": 1},
    "quarantine": [
        {
            "time": (NOW - timedelta(minutes=3)).isoformat(),
            "topic": "tele/room-4-co2/SENSOR",
            "reason": "not JSON",
            "payload": EVIL_PAYLOAD,
        }
    ],
    "connected": True,
    "store": {
        "ok": False,
        "last_write": (NOW - timedelta(minutes=2)).isoformat(),
        "error": "InfluxDB at http://127.0.0.1:8086 could not take the write",
        "spool_pending": 1234,
        "spool_bytes": 3 * 1048576,
        "spool_full": False,
    },
}


def reading(room: str, age: timedelta, co2: float | None, sensor: str = "") -> Reading:
    return Reading(
        NOW - age, SITE.site.name, room, sensor or f"s-{room}", "tasmota",
        co2_ppm=co2, temperature_c=20.5, humidity_pct=45.0,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.write(
        [
            reading("Good Room", timedelta(minutes=5), 1200, sensor="s-good"),  # older value
            reading("Good Room", timedelta(seconds=12), 600, sensor="s-good"),
            reading("Act Room", timedelta(seconds=30), 1000),
            reading("Poor Room", timedelta(minutes=2), 1700),
            reading("Stale Room", timedelta(minutes=20), 600),
            reading(EVIL_ROOM, timedelta(seconds=5), 700),
            reading("Not In Site", timedelta(seconds=5), 900),
        ]
    )
    return store


def app_with(store: DuckDBStore, accounts: Accounts, **kw: Any) -> TestClient:
    return TestClient(create_app(SITE, store, accounts=accounts, clock=lambda: NOW, **kw))


@pytest.fixture
def client(store: DuckDBStore, accounts: Accounts) -> TestClient:
    client = app_with(store, accounts, ingest_stats=lambda: STATS)
    sign_in(client, "site_manager")
    return client


def test_api_rooms_bands(client: TestClient) -> None:
    body = client.get("/api/rooms").json()
    rooms = {r["room"]: r for r in body["rooms"]}
    assert list(rooms) == [r.name for r in SITE.rooms]  # site-file rooms only, in order
    assert {name: r["band"] for name, r in rooms.items()} == {
        "Good Room": "good",
        "Act Room": "act",
        "Poor Room": "poor",
        "Stale Room": "stale",
        "Empty Room": "no-data",
        EVIL_ROOM: "good",
    }
    good = rooms["Good Room"]
    assert (good["co2_ppm"], good["temperature_c"], good["humidity_pct"]) == (600, 20.5, 45)
    assert (good["age_s"], good["sensor"], good["building"], good["floor"]) == (
        12,
        "s-good",
        "Main",
        0,
    )
    assert datetime.fromisoformat(good["time"]) == NOW - timedelta(seconds=12)
    assert rooms["Stale Room"]["age_s"] == 1200
    assert rooms["Stale Room"]["label"] == "No reading for 20 min"
    empty = rooms["Empty Room"]
    assert empty["time"] is empty["age_s"] is empty["co2_ppm"] is empty["sensor"] is None
    assert body["site"] == "Hillside Academy"
    assert body["profile"] == {"id": "joint-union", "version": "1.2"}
    assert datetime.fromisoformat(body["generated_at"]) == NOW
    assert body["summary"] == {
        "good": 2,
        "act": 1,
        "poor": 1,
        "stale": 1,
        "no-data": 1,
        "no-co2": 0,
    }


def test_overview_shows_every_room_with_words_not_only_colour(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Hillside Academy</h1>" in html
    for room in ("Good Room", "Act Room", "Poor Room", "Stale Room", "Empty Room"):
        assert f'data-room="{room}"' in html
    for text in ("Good", "Needs action", "Poor", "No recent reading", "No reading yet"):
        assert f'<span data-field="title">{text}</span>' in html
    assert "Well ventilated (under 800 ppm)" in html
    assert "No reading for 20 min" in html
    assert "600\u00a0ppm" in html
    assert "20.5\u00a0°C" in html
    assert "12 s ago" in html
    assert "20 min ago" in html
    assert 'class="tile band-stale"' in html
    assert 'class="tile band-no-data"' in html
    # Grouped: buildings in site-file order, numbered floors upwards, named floors last.
    headings = re.findall(r"<h[23][^>]*>([^<]+)</h[23]>", html)
    assert headings[:6] == ["Main", "Ground floor", "Floor 1", "Science", "Ground floor", "Annex"]
    assert html.index("Good Room") < html.index("Poor Room") < html.index("Act Room")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_markup_from_site_file_and_sensors_is_escaped(client: TestClient) -> None:
    html = client.get("/").text
    assert EVIL_ROOM not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert EVIL_PAYLOAD not in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    own = (
        '<script src="/static/overview.js" defer>',
        '<script src="/static/export.js" defer>',  # the export form's (`_export.html`)
        '<script type="application/json" id="bands">',
    )
    for script in own:
        html = html.replace(script, "")
    assert "<script" not in html


def test_ingest_panel_and_api(client: TestClient, store: DuckDBStore, accounts: Accounts) -> None:
    html = client.get("/").text
    assert 'id="ingest"' in html
    assert "<dt>unknown sensor</dt><dd>1</dd>" in html
    assert "tele/room-4-co2/SENSOR" in html
    # A store that is down is said plainly, with what waits on disk (site time: NOW is UTC
    # in November, so London time is the same).
    last = (NOW - timedelta(minutes=2)).strftime("%H:%M:%S")
    assert (
        "NOT WRITING: InfluxDB at http://127.0.0.1:8086 could not take the write "
        f"(last write {last}); 1234 readings spooled on disk (3.0 MB)"
    ) in html
    assert client.get("/api/ingest").json() == STATS
    bare = app_with(store, accounts)
    sign_in(bare, "admin")
    assert bare.get("/api/ingest").json() == {}
    assert 'id="ingest"' not in bare.get("/").text


def test_page_script_uses_dom_apis_only(client: TestClient) -> None:
    script = client.get("/static/overview.js")
    assert script.status_code == 200
    assert "/api/rooms" in script.text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script.text, sink
    assert "textContent" in script.text
    assert client.get("/static/style.css").status_code == 200
    # Every page script, the site list's too: DOM APIs only, never markup from data.
    scripts = sorted((Path(__file__).parent.parent / "dashboard" / "static").glob("*.js"))
    assert {p.name for p in scripts} >= {"overview.js", "room.js", "sites.js"}
    for path in scripts:
        text = client.get(f"/static/{path.name}").text
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, (path.name, sink)


def test_healthz(client: TestClient, store: DuckDBStore) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    store.close()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "reason": "store down"}


def test_healthz_does_not_tell_anyone_where_the_store_is(
    accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    """`/healthz` is public: an InfluxDB that does not answer is "store down", and only the
    log names its host and port."""
    port = free_port()  # nothing listens there
    store = open_store(f"influxdb://ventwatch:s3cret@127.0.0.1:{port}/ventwatch", None, site=None)
    try:
        with caplog.at_level(logging.WARNING, logger="ventwatch.dashboard.routes.health"):
            response = TestClient(create_app(SITE, store, accounts=accounts)).get("/healthz")
    finally:
        store.close()
    assert response.status_code == 503
    assert response.json() == {"status": "error", "reason": "store down"}
    for secret in ("127.0.0.1", str(port), "s3cret", "ventwatch:"):
        assert secret not in response.text
    assert str(port) in caplog.text  # for whoever runs the server
    assert "s3cret" not in caplog.text


@pytest.mark.parametrize(
    ("age", "text"),
    [(None, "never"), (-3, "0 s ago"), (12.7, "12 s ago"), (300, "5 min ago"),
     (7200, "2 h ago"), (3 * 86400, "3 days ago")],
)  # fmt: skip
def test_age_text(age: float | None, text: str) -> None:
    assert ago(age) == text


def test_floors_group_numbered_then_named() -> None:
    def room(name: str, building: str, floor: int | str) -> RoomNow:
        return RoomNow(
            room=name, building=building, floor=floor, band="no-data", label="", co2_ppm=None,
            temperature_c=None, humidity_pct=None, time=None, age_s=None, sensor=None,
            today_status="grey", today="",
        )  # fmt: skip

    rooms = [room("a", "B", 2), room("b", "B", "Roof"), room("c", "A", 0), room("d", "B", 0)]
    grouped = by_building_and_floor(rooms)
    assert [(b, [(f, [r.room for r in rs]) for f, rs in floors]) for b, floors in grouped] == [
        ("B", [("Ground floor", ["d"]), ("Floor 2", ["a"]), ("Roof", ["b"])]),
        ("A", [("Ground floor", ["c"])]),
    ]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_text_colours_meet_wcag_aa() -> None:
    """Every --NAME-fg in the stylesheet against its --NAME-bg (and -bg2): at least 4.5:1."""
    colours = dict(
        re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\b", (STATIC / "style.css").read_text())
    )
    pairs = [
        (name, fg, bg)
        for name, fg in colours.items()
        if name.endswith("-fg")
        for suffix in ("-bg", "-bg2")
        if (bg := colours.get(name.removesuffix("-fg") + suffix))
    ]
    assert len(pairs) >= 10
    for name, fg, bg in pairs:
        hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5, (name, fg, bg)


def test_today_comes_from_the_analysis_engine(tmp_path: Path, accounts: Accounts) -> None:
    """Tuesday 10:30: a room above 1500 ppm since 09:30 is red for today, with the reason;
    one at 600 ppm is green; minutes still to come do not count as missing data."""
    store = DuckDBStore(tmp_path / "today.duckdb")
    start = NOW - timedelta(minutes=60)
    store.write(
        [
            Reading(start + timedelta(minutes=m), "S", room, f"s-{room}", "tasmota", co2_ppm=co2)
            for m in range(60)
            for room, co2 in ((SITE.rooms[0].name, 1600.0), (SITE.rooms[1].name, 600.0))
        ]
    )
    client = app_with(store, accounts)
    sign_in(client, "staff")
    data = client.get("/api/rooms").json()
    rooms = {r["room"]: r for r in data["rooms"]}
    first, second = rooms[SITE.rooms[0].name], rooms[SITE.rooms[1].name]
    assert first["today_status"] == "red"
    assert "consecutive occupied minutes above 1500 ppm" in first["today"]
    assert second["today_status"] == "green"


def test_pages_say_whose_part_is_whose(tmp_path: Path, accounts: Accounts) -> None:
    """The room page's verdict and the overview's band key give the source's part and
    ventwatch's, worded by the profile (`Profile.attribution`) as alerts and reports are."""
    profile = load_profile(SITE.guidance.profile)
    store = DuckDBStore(tmp_path / "words.duckdb")
    start = NOW - timedelta(minutes=60)
    store.write(
        [
            Reading(start + timedelta(minutes=m), "S", "Good Room", "s-g", "tasmota", co2_ppm=1600)
            for m in range(61)
        ]
    )
    client = app_with(store, accounts)
    sign_in(client, "staff")
    page = client.get("/room", params={"name": "Good Room", "range": "today"}).text
    verdict = page.split('class="verdict')[1].split("</section>")[0]
    red = profile.attribution(profile.status.rules[0])
    assert escape(red.source_part) in verdict
    assert escape(red.ventwatch_part) in verdict
    assert "Consistently:" in verdict  # beside the single-run status, with its own basis
    assert escape(profile.attribution(profile.status.consistently).ventwatch_part) in verdict
    assert "breaks and lunch included" in page  # BB101's window, not the lesson minutes
    overview = client.get("/").text
    for band in profile.co2_bands:
        words = profile.attribution(band)
        assert escape(words.source_part) in overview
        assert escape(words.ventwatch_part) in overview


def test_the_room_page_keeps_each_temperature_label_apart(
    tmp_path: Path, accounts: Accounts
) -> None:
    """Tuesday from 09:30: CO2 falls sharply at 09:50 while the temperature drops from 19 °C
    to 16.75 °C: below comfort (NEU's 18 °C) but not cold (L24's 16 °C), each with its own
    source, and windows only *possibly* opened."""
    profile = load_profile(SITE.guidance.profile)
    store = DuckDBStore(tmp_path / "temperature.duckdb")
    start = NOW - timedelta(minutes=60)
    co2 = [1500.0] * 20 + [1500.0 - 40 * i for i in range(1, 16)] + [900.0] * 25
    temp = [19.0] * 20 + [19.0 - 0.15 * i for i in range(1, 16)] + [16.75] * 25
    store.write(
        [
            Reading(start + timedelta(minutes=m), "S", "Good Room", "s-g", "tasmota",
                    co2_ppm=co2[m], temperature_c=temp[m])
            for m in range(60)
        ]
    )  # fmt: skip
    client = app_with(store, accounts)
    sign_in(client, "staff")
    page = client.get("/room", params={"name": "Good Room", "range": "today"}).text
    section = page.split('id="temperature-heading"')[1].split("</section>")[0]
    labels = {
        key: section.split(f'data-label="{key}"')[1].split("</li>")[0]
        for key in ("cold", "below_comfort", "above_comfort")
    }
    assert "<strong>0 occupied minutes cold (below 16 °C, ACoP L24)</strong>" in labels["cold"]
    assert (
        "<strong>34 occupied minutes below comfort (below 18 °C, NEU)</strong>"
        in (labels["below_comfort"])
    )
    assert "0 occupied minutes above comfort (over 26 °C, NEU)" in labels["above_comfort"]
    t = profile.temperature
    for key, label in (("cold", t.cold), ("below_comfort", t.below_comfort)):
        words = profile.attribution(label)
        assert escape(words.source_part) in labels[key]
        assert escape(words.ventwatch_part) in labels[key]
    assert "(L24; Secondary)" in labels["cold"]
    assert "(NEU-VT; Verified)" in labels["below_comfort"]
    windows = section.split('data-field="windows-opened"')[1].split("</p>")[0]
    assert "<strong>Possibly windows opened:</strong> 34 occupied minutes below comfort" in windows
    assert "windows were possibly opened" in windows
    facts = page.split('class="facts"')[1].split("</table>")[0]
    assert "Minutes cold (below 16 °C, ACoP L24)" in facts
    assert "Minutes below comfort (below 18 °C, NEU)" in facts
    assert "Shaded strips: cold (below 16 °C, ACoP L24); below comfort" in page


@pytest.mark.parametrize("path", ["/", "/api/rooms"])
def test_big_answers_are_gzipped_for_clients_that_ask(
    path: str, store: DuckDBStore, accounts: Accounts
) -> None:
    client = app_with(store, accounts, ingest_stats=lambda: STATS)
    sign_in(client, "site_manager")
    plain = client.get(path, headers={"accept-encoding": "identity"})
    packed = client.get(path, headers={"accept-encoding": "gzip, deflate"})
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content  # the same page, decoded by httpx
    assert len(packed.content) > 1000
    assert packed.num_bytes_downloaded < len(packed.content) / 2
