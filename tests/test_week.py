"""The week view: rooms x school days of an ISO week, judged as the analysis engine judges a
day and a week; the page and `/api/week` against a real DuckDB store."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from tests.conftest import sign_in
from ventwatch.accounts import Accounts
from ventwatch.analysis.engine import analyse_site
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.week import BadWeekError, IsoWeek, WeekCache, WeekView, week_view
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

PROFILE = load_profile("joint-union")
EVIL_ROOM = "<script>alert(1)</script>"
WEEK = IsoWeek(2026, 47)  # Monday 16 to Sunday 22 November 2026: GMT, local time = UTC
MON, TUE, WED, THU, FRI, SAT = (date(2026, 11, 16) + timedelta(days=i) for i in range(6))
WEDNESDAY_1030 = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)
NEXT_WEEK = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "Europe/London"},
        "occupied_hours": {"start": "09:00", "end": "15:00"},  # 360 minutes a day
        "calendar": {"holidays": [THU.isoformat()]},
        "rooms": [
            {"name": "Lab 1", "building": "Science"},
            {"name": "Room 2", "building": "Main"},
            {"name": "Empty Room", "building": "Main"},
            {"name": EVIL_ROOM, "building": "Main", "floor": 1},
            # Used on Tuesdays only: not in use on the other school days.
            {
                "name": "Hall",
                "building": "Main",
                "occupied_hours": {"days": ["tue"], "start": "09:00", "end": "15:00"},
            },
        ],
    }
)


def day_of_readings(room: str, day: date, co2: float = 600.0, **high: float) -> list[Reading]:
    """One reading a minute from 09:00 to 15:00; `high={"from_min": ..., "to_min": ...,
    "ppm": ...}` puts minutes [from_min, to_min) after 09:00 at another level."""
    start = datetime.combine(day, time(9), UTC)
    return [
        Reading(
            start + timedelta(minutes=m),
            SITE.site.name,
            room,
            f"s-{room}",
            "tasmota",
            co2_ppm=high["ppm"] if high and high["from_min"] <= m < high["to_min"] else co2,
            temperature_c=20.0,
            humidity_pct=45.0,
        )
        for m in range(360)
    ]


def week_readings() -> list[Reading]:
    readings = []
    for day in (MON, TUE, WED, FRI):
        # Lab 1: 30 minutes above 1500 ppm on Tuesday, 10:00-10:29.
        spike = {"from_min": 60, "to_min": 90, "ppm": 1600.0} if day == TUE else {}
        readings += day_of_readings("Lab 1", day, **spike)
        readings += day_of_readings("Room 2", day)
        readings += day_of_readings(EVIL_ROOM, day, 700.0)
    # Room 2 is stuffy on the holiday and at the weekend: neither counts.
    readings += day_of_readings("Room 2", THU, 2000.0)
    readings += day_of_readings("Room 2", SAT, 2000.0)
    # The hall: above 800 ppm for 30 minutes of its Tuesday.
    readings += day_of_readings("Hall", TUE, **{"from_min": 0, "to_min": 30, "ppm": 900.0})
    return readings


def means_of(readings: Iterable[Reading], until: datetime | None = None) -> pd.DataFrame:
    """The store's minute means of these readings (one a minute: the readings themselves)."""
    rows = [r for r in readings if until is None or r.time < until]
    return pd.DataFrame(
        {
            "room": [r.room for r in rows],
            "minute": pd.to_datetime([r.time for r in rows], utc=True),
            "co2_ppm": [r.co2_ppm for r in rows],
            "temperature_c": [r.temperature_c for r in rows],
            "humidity_pct": [r.humidity_pct for r in rows],
        }
    )


def view_at(now: datetime) -> WeekView:
    return week_view(means_of(week_readings(), until=now), SITE, PROFILE, WEEK, now)


def rows_of(view: WeekView) -> dict[str, list[str]]:
    """Room -> its day cells then the week, each as 'state status'."""
    return {r.room: [f"{c.state} {c.status}" for c in [*r.days, r.week]] for r in view.rooms}


# -- the pure function ------------------------------------------------------------------


def test_a_finished_week_with_known_answers() -> None:
    view = view_at(NEXT_WEEK)
    # Thursday is a holiday, Saturday and Sunday are the weekend: no columns.
    assert view.school_days == [MON, TUE, WED, FRI]
    assert (view.week, view.first, view.last) == ("2026-W47", MON, date(2026, 11, 22))
    assert view.thresholds == ["800", "1500"]
    assert (view.profile.id, view.profile.version) == ("joint-union", "1.2")
    assert rows_of(view) == {
        "Lab 1": ["complete green", "complete red", "complete green", "complete green",
                  "complete red"],
        "Room 2": ["complete green"] * 5,  # its 2000 ppm holiday and Saturday do not count
        "Empty Room": ["complete grey"] * 5,
        EVIL_ROOM: ["complete green"] * 5,
        "Hall": ["not_in_use None", "complete amber", "not_in_use None", "not_in_use None",
                 "complete amber"],
    }  # fmt: skip
    lab = view.rooms[0]
    tuesday = lab.days[1]
    assert tuesday.day == TUE
    assert tuesday.status_reason == "30 consecutive occupied minutes above 1500 ppm"
    assert tuesday.status_source == "HSE-CO2"
    assert (tuesday.occupied_minutes, tuesday.minutes_with_data, tuesday.coverage_pct) == (
        360,
        360,
        100.0,
    )
    assert tuesday.pct_above == {"800": 8.33, "1500": 8.33}  # 30 of 360 minutes
    assert lab.days[0].pct_above == {"800": 0.0, "1500": 0.0}
    assert lab.week.pct_above == {"800": 2.08, "1500": 2.08}  # 30 of 4 x 360 minutes
    empty = view.rooms[2].days[0]
    assert empty.status_reason == "not enough data: 0% of occupied minutes (needs 50%)"
    assert empty.pct_above == {"800": None, "1500": None}
    assert empty.coverage_pct == 0.0


def assert_as_the_engine_says(
    minutes: pd.DataFrame, site: SiteConfig, week: IsoWeek, now: datetime
) -> int:
    """Every cell of the view is what `analyse_site` says of that day (or week) up to `now`;
    returns how many judged cells were compared."""
    view = week_view(minutes, site, PROFILE, week, now)
    compared = 0
    for room in view.rooms:
        spans = [(c.day, c.day, c) for c in room.days] + [(week.monday, week.sunday, room.week)]
        for first, last, cell in spans:
            if cell.state == "to_come" or datetime.combine(first, time(0), site.tz) >= now:
                continue  # nothing judged (and the engine wants a span that has begun)
            engine = analyse_site(minutes, site, PROFILE, first, last, [room.room], until=now)
            m = engine.rooms[0].co2
            if cell.state == "not_in_use":
                assert m.occupied_minutes == 0
                continue
            assert (
                cell.status, cell.status_reason, cell.status_source, cell.coverage_pct,
                cell.occupied_minutes, cell.minutes_with_data, cell.pct_above,
            ) == (
                m.status, m.status_reason, m.status_source, m.coverage_pct,
                m.occupied_minutes, m.minutes_with_data,
                {"800": m.pct_time_above_800, "1500": m.pct_time_above_1500},
            ), (room.room, first, last)  # fmt: skip
            compared += 1
    return compared


def test_cells_are_what_analyse_site_says_of_that_day_and_week() -> None:
    minutes = means_of(week_readings())
    # Four rooms: four days and the week each; the hall: its Tuesday and the week.
    assert assert_as_the_engine_says(minutes, SITE, WEEK, NEXT_WEEK) == 4 * 5 + 2
    # On Wednesday at 10:30, Friday is still to come.
    assert assert_as_the_engine_says(minutes, SITE, WEEK, WEDNESDAY_1030) == 4 * 4 + 2


@pytest.mark.parametrize(
    ("timezone", "week"),
    [("Europe/London", IsoWeek(2026, 13)), ("Europe/London", IsoWeek(2026, 43)),
     ("America/New_York", IsoWeek(2026, 45))],
)  # fmt: skip
def test_weeks_with_a_clock_change(timezone: str, week: IsoWeek) -> None:
    """23- and 25-hour Sundays, weekend hours, a room's own figures and hours: still as the
    engine says, both after the week and in the middle of its Sunday."""
    site = SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": timezone},
            "occupied_hours": {
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "start": "00:00",
                "end": "23:59",
                "breaks": [{"start": "12:00", "end": "12:30"}],
            },
            "guidance": {"rooms": {"B": {"red_above_ppm": 1200}}},
            "rooms": [
                {"name": "A"},
                {"name": "B", "ventilation": "mechanical"},
                {
                    "name": "C",
                    "occupied_hours": {"days": ["sun"], "start": "00:30", "end": "03:30"},
                },
            ],
        }
    )
    rng = np.random.default_rng(week.week)
    minutes = pd.date_range(
        datetime.combine(week.monday - timedelta(days=1), time(0), UTC), periods=9 * 1440,
        freq="min",
    )  # fmt: skip
    frames = []
    for room in "ABC":
        keep = rng.random(len(minutes)) < 0.8
        walk = np.abs(np.cumsum(rng.normal(0, 40, len(minutes))).clip(-300, 3000)) + 400
        frames.append(
            pd.DataFrame(
                {
                    "room": room,
                    "minute": minutes[keep],
                    "co2_ppm": walk[keep],
                    "temperature_c": 20.0,
                    "humidity_pct": 45.0,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    after = datetime.combine(week.sunday + timedelta(days=2), time(0), UTC)
    # A and B: seven days and the week each; C: its Sunday and the week.
    assert assert_as_the_engine_says(frame, site, week, after) == 2 * (7 + 1) + 2
    sunday = datetime.combine(week.sunday, time(2, 17, 30), UTC)
    assert assert_as_the_engine_says(frame, site, week, sunday) > 0


def test_today_so_far_and_days_to_come() -> None:
    view = view_at(WEDNESDAY_1030)
    assert view.school_days == [MON, TUE, WED, FRI]  # Friday has a column, still to come
    rows = rows_of(view)
    assert rows["Lab 1"] == ["complete green", "complete red", "so_far green", "to_come None",
                             "so_far red"]  # fmt: skip
    assert rows["Empty Room"] == ["complete grey", "complete grey", "so_far grey",
                                  "to_come None", "so_far grey"]  # fmt: skip
    # The hall's only day is over: its week is complete on Wednesday.
    assert rows["Hall"][-1] == "complete amber"
    wednesday = view.rooms[0].days[2]
    assert (wednesday.occupied_minutes, wednesday.minutes_with_data) == (90, 90)  # 09:00-10:29
    engine = analyse_site(
        means_of(week_readings(), until=WEDNESDAY_1030), SITE, PROFILE, WED, WED,
        rooms=["Lab 1"], until=WEDNESDAY_1030,
    ).rooms[0].co2  # fmt: skip
    assert (wednesday.status, wednesday.coverage_pct) == (engine.status, engine.coverage_pct)
    friday = view.rooms[0].days[3]
    assert friday.status is friday.coverage_pct is friday.pct_above["800"] is None
    assert view.rooms[0].week.occupied_minutes == 3 * 360 - 270


def test_today_before_and_after_school() -> None:
    before = view_at(datetime(2026, 11, 18, 8, 0, tzinfo=UTC))
    assert rows_of(before)["Lab 1"][2] == "to_come None"
    after = view_at(datetime(2026, 11, 18, 16, 0, tzinfo=UTC))
    assert rows_of(after)["Lab 1"][2] == "complete green"


def test_a_week_to_come_and_a_holiday_week() -> None:
    future = week_view(means_of([]), SITE, PROFILE, IsoWeek(2026, 49), NEXT_WEEK)
    assert len(future.school_days) == 5
    assert {c.state for r in future.rooms for c in [*r.days, r.week]} == {"to_come", "not_in_use"}
    closed = SiteConfig.model_validate(
        {
            **SITE.model_dump(mode="json"),
            "calendar": {"holidays": [{"start": MON.isoformat(), "end": FRI.isoformat()}]},
        }
    )
    holiday = week_view(means_of(week_readings()), closed, PROFILE, WEEK, NEXT_WEEK)
    assert holiday.school_days == []
    assert {r.week.state for r in holiday.rooms} == {"not_in_use"}


def test_the_room_s_own_figures_apply() -> None:
    """A site may set a room's amber figure lower (HSE: 800 where people sing)."""
    music = SiteConfig.model_validate(
        {
            **SITE.model_dump(mode="json"),
            "guidance": {"rooms": {EVIL_ROOM: {"amber_above_ppm": 650}}},
        }
    )
    view = week_view(means_of(week_readings()), music, PROFILE, WEEK, NEXT_WEEK)
    assert rows_of(view)[EVIL_ROOM] == ["complete amber"] * 5


minute_values = st.lists(
    st.one_of(st.none(), st.floats(min_value=350, max_value=5000, allow_nan=False)),
    min_size=360,
    max_size=360,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=minute_values)
def test_shares_are_percentages_and_match_the_engine(values: list[float | None]) -> None:
    start = datetime.combine(TUE, time(9), UTC)
    frame = pd.DataFrame(
        {
            "room": "Lab 1",
            "minute": pd.to_datetime(
                [start + timedelta(minutes=i) for i, v in enumerate(values) if v is not None],
                utc=True,
            ),
            "co2_ppm": [v for v in values if v is not None],
            "temperature_c": 20.0,
            "humidity_pct": 45.0,
        }
    )
    view = week_view(frame, SITE, PROFILE, WEEK, NEXT_WEEK)
    cell = view.rooms[0].days[1]
    engine = analyse_site(frame, SITE, PROFILE, TUE, TUE, rooms=["Lab 1"]).rooms[0].co2
    above800, above1500 = cell.pct_above["800"], cell.pct_above["1500"]
    if engine.minutes_with_data == 0:
        assert above800 is above1500 is None
        return
    assert above800 is not None
    assert above1500 is not None
    assert 0.0 <= above1500 <= above800 <= 100.0
    assert (above800, above1500) == (engine.pct_time_above_800, engine.pct_time_above_1500)
    assert (cell.status, cell.status_reason) == (engine.status, engine.status_reason)
    assert math.isclose(cell.coverage_pct or 0.0, engine.coverage_pct)


@pytest.mark.parametrize(
    ("text", "week"),
    [("2026-W47", IsoWeek(2026, 47)), ("2026-W53", IsoWeek(2026, 53)),
     ("2000-W01", IsoWeek(2000, 1)), ("2020-W01", IsoWeek(2020, 1))],
)  # fmt: skip
def test_iso_weeks(text: str, week: IsoWeek) -> None:
    assert IsoWeek.parse(text) == week
    assert str(week) == text


@pytest.mark.parametrize(
    "text",
    ["", "2026-W00", "2025-W53", "2026-W54", "2026-w47", "2026-W7", " 2026-W47", "2026-W47\n",
     "26-W47", "1999-W52", "2200-W01", "٢٠٢٦-W47", "2026-11-16", "2026W47"],
)  # fmt: skip
def test_bad_weeks_are_refused(text: str) -> None:
    with pytest.raises(BadWeekError):
        IsoWeek.parse(text)


def test_week_arithmetic() -> None:
    assert IsoWeek(2026, 1).shifted(-1) == IsoWeek(2025, 52)
    assert IsoWeek(2026, 52).shifted(1) == IsoWeek(2026, 53)
    assert IsoWeek(2026, 53).shifted(1) == IsoWeek(2027, 1)
    assert IsoWeek(2000, 1).shifted(-1) is None
    assert IsoWeek.of(date(2027, 1, 1)) == IsoWeek(2026, 53)


class CountingStore(DuckDBStore):
    calls = 0

    def minute_means(self, *args: object, **kwargs: object) -> pd.DataFrame:
        self.calls += 1
        return super().minute_means(*args, **kwargs)  # type: ignore[arg-type]


def test_the_cache_asks_the_store_once_a_minute_per_week(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "c.duckdb")
    store.write(week_readings())
    cache = WeekCache()
    first = cache.get(SITE, store, PROFILE, WEEK, WEDNESDAY_1030)
    assert cache.get(SITE, store, PROFILE, WEEK, WEDNESDAY_1030 + timedelta(seconds=59)) is first
    assert store.calls == 1
    cache.get(SITE, store, PROFILE, IsoWeek(2026, 46), WEDNESDAY_1030)
    assert store.calls == 2
    later = cache.get(SITE, store, PROFILE, WEEK, WEDNESDAY_1030 + timedelta(minutes=1))
    assert store.calls == 3
    assert later.rooms[0].days[2].occupied_minutes == first.rooms[0].days[2].occupied_minutes + 1


# -- the page and the API ---------------------------------------------------------------


class Table(HTMLParser):
    """The week table's rows: each as its cells' text and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[list[str], list[str]]] = []
        self._cell: list[str] | None = None
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("class", "wk") in attrs:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append(([], []))
        elif self._inside and tag in ("th", "td"):
            self._cell = []
        elif self._inside and tag == "a":
            self.rows[-1][1].append(dict(attrs)["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif tag in ("th", "td") and self._cell is not None:
            self.rows[-1][0].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_of(html: str) -> dict[str, tuple[list[str], list[str]]]:
    """Room (the row header) -> (its cells' text, its links)."""
    parser = Table()
    parser.feed(html)
    return {cells[0]: (cells[1:], links) for cells, links in parser.rows if cells}


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.write(week_readings())
    return store


@pytest.fixture
def client(store: DuckDBStore, accounts: Accounts) -> TestClient:
    app = create_app(SITE, store, accounts=accounts, clock=lambda: WEDNESDAY_1030)
    client = TestClient(app)
    sign_in(client, "rep")
    return client


def test_rep_sees_the_heat_map(client: TestClient) -> None:
    response = client.get("/week")  # this week at the site
    assert response.status_code == 200
    html = response.text
    assert "<h1>Hillside Academy: week 2026-W47</h1>" in html
    assert "joint-union version 1.2" in html
    rows = table_of(html)
    assert rows["Room"][0] == [
        "Mon 16 Nov", "Tue 17 Nov", "Wed 18 Nov", "Fri 20 Nov", "Week", "Consistently"
    ]  # fmt: skip
    assert "Thu 19 Nov" not in html
    assert "Sat 21 Nov" not in html
    # The week's status is the single-run rule (one red day is enough); beside it, the
    # consistently reading wants red on 3 of any 5 school days, and 3 judged days at all.
    assert rows["Lab 1"][0] == ["✓ Good", "✖ Poor", "✓ Good so far", "… To come", "✖ Poor so far",
                                "✓ Good 1 Poor, 0 Needs action of 3"]  # fmt: skip
    grey, none = "◌ Not enough data", "0 Poor, 0 Needs action"
    assert rows["Empty Room"][0] == [grey, grey, f"{grey} so far", "… To come",
                                     f"{grey} so far", f"{grey} {none} of 3"]  # fmt: skip
    assert rows["Hall"][0] == ["– Not in use", "▲ Needs action", "– Not in use", "– Not in use",
                               "▲ Needs action", f"{grey} 0 Poor, 1 Needs action of 1"]  # fmt: skip
    # Grouped by building in site-file order, with a header for each group.
    assert list(rows)[:3] == ["Room", "Science", "Lab 1"]
    assert html.index(">Main<") < html.index(">Room 2<")
    assert 'class="wk-cell band-poor"' in html
    assert 'class="wk-cell band-stale"' in html
    assert 'scope="col"' in html
    assert 'scope="row"' in html
    assert "Poorly ventilated - over 1500 ppm for 20 minutes or more" in html  # the key
    # ... which says what the source says and what ventwatch chose, from the profile
    for rule in PROFILE.status.rules:
        words = PROFILE.attribution(rule)
        assert escape(words.source_part) in html
        assert escape(words.ventwatch_part) in html
    assert escape(PROFILE.attribution(PROFILE.status.consistently).ventwatch_part) in html


def test_cells_link_to_the_room_on_that_day(client: TestClient) -> None:
    rows = table_of(client.get("/week").text)
    room_link, *cells = rows["Lab 1"][1]
    assert len(cells) == 5
    for link, day in zip(cells, [MON, TUE, WED, FRI], strict=False):
        parts = urlsplit(link)
        assert parts.path == "/room"
        assert parse_qs(parts.query) == {"name": ["Lab 1"], "day": [day.isoformat()]}
    week = parse_qs(urlsplit(cells[-1]).query)
    assert week == {"name": ["Lab 1"], "range": ["week"], "day": [MON.isoformat()]}
    assert parse_qs(urlsplit(room_link).query) == week


def test_evil_room_name_is_escaped_and_linked_safely(client: TestClient) -> None:
    html = client.get("/week").text
    assert EVIL_ROOM not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    _, links = table_of(html)[EVIL_ROOM]
    assert parse_qs(urlsplit(links[1]).query)["name"] == [EVIL_ROOM]
    assert "/room?name=%3Cscript%3Ealert%281%29%3C%2Fscript%3E&amp;day=2026-11-16" in html


def test_shares_of_time_above_the_profile_figures(client: TestClient) -> None:
    rows = table_of(client.get("/week", params={"show": "above1500"}).text)
    assert rows["Lab 1"][0] == ["0.0% ✓ Good", "8.3% ✖ Poor", "0.0% ✓ Good so far",
                                "… To come", "3.7% ✖ Poor so far",
                                "✓ Good 1 Poor, 0 Needs action of 3"]  # fmt: skip
    assert rows["Empty Room"][0][0] == "– ◌ Not enough data"
    html = client.get("/week", params={"show": "above800"}).text
    assert "above 800 ppm" in html
    assert 'aria-current="page">Time above 800 ppm</a>' in html


def test_week_navigation(client: TestClient) -> None:
    html = client.get("/week", params={"week": "2026-W48", "show": "above800"}).text
    assert 'href="/week?week=2026-W47&amp;show=above800" rel="prev"' in html
    assert 'href="/week?week=2026-W49&amp;show=above800" rel="next"' in html
    assert 'href="/week?week=2026-W47&amp;show=above800">This week (2026-W47)' in html
    rows = table_of(html)
    assert set(rows["Lab 1"][0]) == {"… To come", "◌ Not enough data 0 Poor, 0 Needs action of 0"}


@pytest.mark.parametrize(
    "params",
    [{"week": "2026-W99"}, {"week": "soon"}, {"week": "2025-W53"}, {"week": ""},
     {"week": "1900-W01"}, {"show": "above1000"}, {"show": ""}],
)  # fmt: skip
def test_bad_requests_get_a_clear_page(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/week", params=params)
    assert response.status_code == 400
    assert "Cannot show this" in response.text
    assert "Signed in as" in response.text


def test_anonymous_users_are_sent_to_sign_in(store: DuckDBStore, accounts: Accounts) -> None:
    client = TestClient(create_app(SITE, store, accounts=accounts, clock=lambda: NEXT_WEEK))
    response = client.get("/week", params={"week": "2026-W47"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fweek%3Fweek%3D2026-W47"
    assert client.get("/api/week").status_code == 401


def test_api_week(client: TestClient) -> None:
    body = client.get("/api/week", params={"week": "2026-W47"}).json()
    assert body["week"] == "2026-W47"
    assert body["school_days"] == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-20"]
    assert body["profile"] == {"id": "joint-union", "version": "1.2"}
    assert body["thresholds"] == ["800", "1500"]
    lab = body["rooms"][0]
    assert (lab["room"], lab["building"], lab["week"]["status"]) == ("Lab 1", "Science", "red")
    tuesday = lab["days"][1]
    assert tuesday == {
        "day": "2026-11-17",
        "state": "complete",
        "status": "red",
        "status_reason": "30 consecutive occupied minutes above 1500 ppm",
        "status_source": "HSE-CO2",
        "coverage_pct": 100.0,
        "occupied_minutes": 360,
        "minutes_with_data": 360,
        "pct_above": {"800": 8.33, "1500": 8.33},
    }
    assert lab["days"][3]["state"] == "to_come"
    assert client.get("/api/week").json() == body  # this week by default
    refused = client.get("/api/week", params={"week": "2025-W53"})
    assert (refused.status_code, refused.json()) == (400, {"detail": "2025 has no ISO week 53"})
    assert client.get("/api/week", params={"week": "soon"}).status_code == 422
    schema = client.get("/api/openapi.json").json()
    assert "WeekView" in schema["components"]["schemas"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(week=st.text(max_size=12) | st.from_regex(r"\A[0-9]{4}-W[0-9]{2}\Z"))
def test_any_week_string_gives_data_or_a_4xx(client: TestClient, week: str) -> None:
    page = client.get("/week", params={"week": week}).status_code
    assert page in (200, 400), (week, page)
    api = client.get("/api/week", params={"week": week}).status_code
    assert api in (200, 400, 422), (week, api)
