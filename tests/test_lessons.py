"""Per-lesson values: each lesson's peak and end-of-lesson CO2 on exact synthetic days, the
properties that hold for any day (Hypothesis), and where they show: the analysis JSON, the
daily CSV and the room page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import sign_in
from ventwatch.accounts import Accounts
from ventwatch.analysis.engine import analyse_site, to_json
from ventwatch.analysis.lessons import Lesson, lessons
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import minute_means, site_series
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.readings import Reading
from ventwatch.reports.csv_format import DAY_COLUMNS, render_daily_csv
from ventwatch.reports.model import build_report
from ventwatch.reports.period import parse_range
from ventwatch.store.duckdb import DuckDBStore

PROFILE = load_profile("joint-union")
MONDAY = date(2026, 11, 16)  # GMT: local time = UTC
START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
# 09:00-12:00 with two breaks: lessons 09:00-10:00, 10:15-11:00 and 11:30-12:00.
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "S", "timezone": "Europe/London"},
        "occupied_hours": {
            "start": "09:00",
            "end": "12:00",
            "breaks": [{"start": "10:00", "end": "10:15"}, {"start": "11:00", "end": "11:30"}],
        },
        "rooms": [{"name": "A"}],
    }
)
DAY_MINUTES = 180  # 09:00-11:59


def frame(values: dict[int, float]) -> pd.DataFrame:
    """Room A's readings at minutes after 09:00 on Monday."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime([START + timedelta(minutes=m) for m in values], utc=True),
            "room": "A",
            "co2_ppm": list(values.values()),
            "temperature_c": 20.0,
            "humidity_pct": 45.0,
        }
    )


def day_lessons(values: dict[int, float], site: SiteConfig = SITE) -> list[Lesson]:
    result = analyse_site(minute_means(frame(values)), site, PROFILE, MONDAY, MONDAY)
    return result.rooms[0].lessons


def at(minute: int) -> datetime:
    return START + timedelta(minutes=minute)


def test_each_lesson_has_its_peak_and_its_last_minute() -> None:
    values = {m: 600.0 + m for m in range(60)}  # rising to 659 at 09:59
    values |= {m: 1500.0 for m in range(75, 120)}  # 10:15-10:59
    values[100] = 1720.5  # the peak of the second lesson
    values |= {m: 900.0 for m in range(150, 180)}
    values[179] = 1010.0  # the last minute of the day
    found = day_lessons(values)
    assert [(x.start, x.end, x.minutes) for x in found] == [
        (at(0), at(60), 60),
        (at(75), at(120), 45),
        (at(150), at(180), 30),
    ]
    assert [(x.peak_ppm, x.end_ppm) for x in found] == [
        (659.0, 659.0),
        (1720.5, 1500.0),
        (1010.0, 1010.0),
    ]
    assert {x.date for x in found} == {MONDAY}
    assert not any(x.ongoing for x in found)
    assert [x.minutes_with_data for x in found] == [60, 45, 30]


def test_a_gap_at_the_end_of_a_lesson_has_no_end_value() -> None:
    # Lesson one's sensor stops at 09:40: its reading stands 10 minutes (to 09:49), then the
    # series has a gap, so the lesson's last minute (09:59) has no value. Lesson two has no
    # reading at all. A reading held across a break carries into the next lesson.
    values = {m: 1000.0 for m in range(41)}
    values[30] = 1300.0
    values |= {m: 800.0 for m in range(140, 150)}  # 11:20-11:29, in the second break
    found = day_lessons(values)
    assert [(x.peak_ppm, x.end_ppm, x.minutes_with_data) for x in found] == [
        (1300.0, None, 50),
        (None, None, 0),
        (800.0, None, 9),  # 11:29's reading stands for 11:30-11:38
    ]


def test_breaks_kept_occupied_make_one_lesson() -> None:
    kept = SiteConfig.model_validate(
        {**SITE.model_dump(mode="json", by_alias=True), "occupied_hours": {
            **SITE.occupied_hours.model_dump(mode="json"), "exclude_breaks": False}}
    )  # fmt: skip
    found = day_lessons({m: 700.0 + m for m in range(180)}, kept)
    assert [(x.start, x.end, x.peak_ppm, x.end_ppm) for x in found] == [
        (at(0), at(180), 879.0, 879.0)
    ]


def test_today_s_current_lesson_is_marked_ongoing() -> None:
    values = {m: 900.0 for m in range(90)}
    until = at(90) + timedelta(seconds=20)  # 10:30:20, in the second lesson
    result = analyse_site(
        minute_means(frame(values)), SITE, PROFILE, MONDAY, MONDAY, until=until
    ).rooms[0]
    assert [(x.end, x.ongoing) for x in result.lessons] == [(at(60), False), (at(90), True)]


def test_a_lesson_that_ends_with_the_range_is_not_ongoing() -> None:
    result = analyse_site(
        minute_means(frame({m: 900.0 for m in range(60)})), SITE, PROFILE, MONDAY, MONDAY,
        until=at(60),
    ).rooms[0]  # fmt: skip
    assert [(x.end, x.ongoing) for x in result.lessons] == [(at(60), False)]


def test_the_json_document_has_each_room_s_lessons() -> None:
    values = {m: 600.0 + m for m in range(60)}
    doc = to_json(analyse_site(minute_means(frame(values)), SITE, PROFILE, MONDAY, MONDAY))
    first = doc["rooms"][0]["lessons"][0]
    assert first == {
        "date": "2026-11-16",
        "start": "2026-11-16T09:00:00+00:00",
        "end": "2026-11-16T10:00:00+00:00",
        "minutes": 60,
        "minutes_with_data": 60,
        "peak_ppm": 659.0,
        "end_ppm": 659.0,
        "ongoing": False,
    }
    assert [x["peak_ppm"] for x in doc["rooms"][0]["lessons"]] == [659.0, None, None]


# Any day: readings at some minutes (a reading stands up to the hold), any values.
day_st = st.dictionaries(
    st.integers(-15, DAY_MINUTES + 10), st.floats(400, 5000, allow_nan=False), max_size=120
)


@settings(max_examples=80, deadline=None)
@given(values=day_st, days=st.integers(1, 2))
def test_lessons_are_the_series_own_values(values: dict[int, float], days: int) -> None:
    points = {m + d * 24 * 60: v for d in range(days) for m, v in values.items()}
    minutes = minute_means(frame(points)) if points else minute_means(frame({0: 500.0})).iloc[:0]
    last = MONDAY + timedelta(days=days - 1)
    start, end = local_day_bounds(MONDAY, last, SITE.tz)
    [series] = site_series(minutes, SITE, PROFILE, start, end, quantities=("co2_ppm",)).rooms
    index = pd.date_range(start, end - timedelta(minutes=1), freq="min")
    co2 = series.values["co2_ppm"]
    found = lessons(series)
    covered = np.zeros(len(index), dtype=bool)
    for x in found:
        a = index.get_loc(pd.Timestamp(x.start))
        b = a + x.minutes
        assert x.end == x.start + timedelta(minutes=x.minutes)
        # Never across a break, a night or an unoccupied minute: every minute counts.
        assert series.occupied[a:b].all()
        assert x.start.date() == x.date == (x.end - timedelta(minutes=1)).date()
        assert not covered[a:b].any()
        covered[a:b] = True
        part = co2[a:b]
        with_data = part[~np.isnan(part)]
        assert x.minutes_with_data == len(with_data)
        assert x.peak_ppm == (round(float(with_data.max()), 1) if len(with_data) else None)
        assert x.end_ppm == (None if np.isnan(part[-1]) else round(float(part[-1]), 1))
        # A lesson is maximal: the minutes either side are not occupied.
        assert a == 0 or not series.occupied[a - 1]
        assert b == len(index) or not series.occupied[b]
    assert (covered == series.occupied).all()
    assert len(found) == 3 * days


def test_the_daily_csv_has_each_day_s_lessons_at_the_end() -> None:
    values = {m: 600.0 + m for m in range(60)}
    values |= {m: 1500.0 for m in range(75, 120)}
    values[100] = 1720.5
    values |= {m: 900.0 for m in range(150, 171)}  # 11:50's reading stands to 11:59
    period = parse_range(str(MONDAY), str(MONDAY))
    report = build_report(
        minute_means(frame(values)), SITE, PROFILE, period, datetime(2026, 11, 17, tzinfo=UTC)
    )
    at = DAY_COLUMNS.index("lessons")
    assert DAY_COLUMNS[at : at + 3] == ("lessons", "lesson_peak_max_ppm", "lesson_end_max_ppm")
    [row] = list(csv.DictReader(io.StringIO(render_daily_csv(report))))
    assert row["lessons"] == (
        "09:00-10:00 peak 659 end 659; 10:15-11:00 peak 1720 end 1500; 11:30-12:00 peak 900 end 900"
    )
    assert (row["lesson_peak_max_ppm"], row["lesson_end_max_ppm"]) == ("1720.5", "1500.0")


def test_the_daily_csv_says_no_data_for_a_gap() -> None:
    period = parse_range(str(MONDAY), str(MONDAY))
    report = build_report(
        minute_means(frame({m: 1000.0 for m in range(41)})), SITE, PROFILE, period,
        datetime(2026, 11, 17, tzinfo=UTC),
    )  # fmt: skip
    [row] = list(csv.DictReader(io.StringIO(render_daily_csv(report))))
    assert row["lessons"] == (
        "09:00-10:00 peak 1000 end no data; 10:15-11:00 peak no data end no data; "
        "11:30-12:00 peak no data end no data"
    )
    assert (row["lesson_peak_max_ppm"], row["lesson_end_max_ppm"]) == ("1000.0", "")


def test_the_room_page_has_a_table_of_lessons_per_day(tmp_path: Path, accounts: Accounts) -> None:
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.write(
        [
            Reading(at(m), "S", "A", "s-a", "tasmota", co2_ppm=600.0 + m, temperature_c=20.0)
            for m in range(60)
        ]
    )
    app = create_app(SITE, store, accounts=accounts, clock=lambda: at(30) + timedelta(days=1))
    client = TestClient(app)
    sign_in(client, "staff")
    page = client.get("/room", params={"name": "A", "range": "custom", "from": MONDAY.isoformat(),
                                       "to": MONDAY.isoformat()})  # fmt: skip
    assert page.status_code == 200
    table = page.text.split('<table data-day="2026-11-16">')[1].split("</table>")[0]
    assert "Mon 16 Nov" in table
    rows = table.split("<tbody>")[1].split("<tr>")[1:]
    assert "09:00–10:00" in rows[0]
    assert "659\u00a0ppm" in rows[0]
    assert "60 of 60" in rows[0]
    assert "10:15–11:00" in rows[1]
    assert "no data" in rows[1]
    assert "0 of 45" in rows[1]
    # Today (Tuesday 09:30): the lesson under way is marked as so far.
    today = client.get("/room", params={"name": "A"}).text
    assert '09:00–09:30 <span class="hint">(so far)</span>' in today
    assert '<table data-day="2026-11-17">' in today
    store.close()
