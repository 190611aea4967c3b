"""Reports on a seeded week with known answers (tests/report_week.py), read back from a real
DuckDB store: the model's figures, then every format opened the way a person or a program
would open it (csv module, openpyxl, an HTML parser, pdftotext and pdftoppm)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from openpyxl import Workbook, load_workbook
from PIL import Image

from tests.report_week import (
    ACTIONS,
    FORMULA,
    MONDAY,
    MUSIC,
    ROOMS,
    SCHOOL_DAYS,
    SITE_NAME,
    WEEK,
    seed,
)
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.records import AlertRecords
from ventwatch.analysis.engine import analyse_site
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import SiteConfig
from ventwatch.reports.csv_format import DAY_COLUMNS, ROOM_COLUMNS, render_csv, render_daily_csv
from ventwatch.reports.headings import HEADINGS
from ventwatch.reports.html_format import render_html
from ventwatch.reports.inputs import load_report, logged_actions
from ventwatch.reports.model import Report, ReportAction, RoomReport, build_report
from ventwatch.reports.pdf_format import render_pdf
from ventwatch.reports.period import EARLIEST, LATEST, BadPeriodError, parse_range, parse_week
from ventwatch.reports.svg import HATCH_SPACING, _hatch, room_chart
from ventwatch.reports.xlsx_format import EXCEL_RESERVED, FORBIDDEN, render_xlsx, sheet_names
from ventwatch.store.duckdb import DuckDBStore

PROFILE = load_profile("joint-union")
GENERATED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    folder: Path
    site: SiteConfig
    report: Report


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    folder = tmp_path_factory.mktemp("report")
    _, site = seed(folder)
    store = DuckDBStore(folder / "store.duckdb")
    try:
        report = load_report(store, site, PROFILE, parse_week(WEEK), GENERATED, ACTIONS)
    finally:
        store.close()
    return Seeded(folder, site, report)


def room(report: Report, name: str) -> RoomReport:
    return next(r for r in report.rooms if r.room == name)


# -- the model ------------------------------------------------------------------------------


def test_statuses_and_figures_are_the_known_answers(seeded: Seeded) -> None:
    r = seeded.report
    assert [x.room for x in r.rooms] == list(ROOMS)
    assert {x.room: x.status for x in r.rooms} == {
        "Lab 1": "red",
        "Room 2": "green",
        "Hall": "amber",
        MUSIC: "grey",
        FORMULA: "grey",
    }
    lab = room(r, "Lab 1").analysis.co2
    assert (lab.occupied_minutes, lab.minutes_with_data, lab.coverage_pct) == (1800, 1800, 100.0)
    assert lab.co2_mean_ppm == 683.3
    assert (lab.pct_time_above_800, lab.pct_time_above_1500) == (8.33, 8.33)
    assert (lab.longest_above_1500_min, lab.max_20min_mean_ppm) == (30, 1600.0)
    assert lab.status_reason == "30 consecutive occupied minutes above 1500 ppm"
    assert lab.status_source == "HSE-CO2"
    hall = room(r, "Hall").analysis.co2
    assert (hall.co2_mean_ppm, hall.pct_time_above_800, hall.pct_time_above_1500) == (
        625.0,
        8.33,
        0.0,
    )
    cold = room(r, "Room 2").analysis.temperature
    assert (cold.min_c, cold.minutes_below_minimum, cold.minimum_c) == (15.0, 225, 16.0)
    music = room(r, MUSIC).analysis.co2
    assert (music.minutes_with_data, music.coverage_pct) == (345, 19.17)
    assert music.status_reason == "not enough data: 19% of occupied minutes (needs 50%)"
    empty = room(r, FORMULA).analysis.co2
    assert (empty.coverage_pct, empty.co2_mean_ppm, empty.pct_time_above_800) == (0.0, None, None)


def test_header_cites_the_profile_and_the_hours(seeded: Seeded) -> None:
    h = seeded.report.header
    assert (h.site, h.timezone, h.period.label) == (SITE_NAME, "Europe/London", WEEK)
    assert (h.period.first, h.period.last) == (MONDAY, MONDAY + timedelta(days=6))
    assert h.school_days == SCHOOL_DAYS  # the weekend had no occupied minute
    assert (h.profile_id, h.profile_version, h.profile_title) == (
        PROFILE.id,
        PROFILE.version,
        PROFILE.title,
    )
    assert [s.key for s in h.sources] == [s.key for s in PROFILE.sources]
    assert h.occupied_hours == "Mon, Tue, Wed, Thu, Fri 09:00-15:00 (Europe/London)"
    assert h.generated_at == GENERATED


def test_summary_compares_with_the_previous_week(seeded: Seeded) -> None:
    s = seeded.report.summary
    assert s.counts == {"red": 1, "amber": 1, "green": 1, "grey": 2}
    assert s.previous_counts == {"red": 1, "amber": 0, "green": 1, "grey": 3}
    assert s.worst == ["Lab 1", "Hall"]
    assert s.not_enough_data == [MUSIC, FORMULA]
    assert (s.worse, s.better) == (["Lab 1"], ["Room 2"])
    # Room 2 at 15 °C is cold and below comfort; the Hall at 19 °C neither.
    assert [(x.label, x.rooms) for x in s.temperature] == [
        ("cold (below 16 °C, ACoP L24)", ["Room 2"]),
        ("below comfort (below 18 °C, NEU)", ["Room 2"]),
    ]
    changes = {x.room: x.change for x in seeded.report.rooms}
    assert changes["Hall"] == "not comparable"  # no data the week before
    assert room(seeded.report, "Room 2").previous.status == "red"


def test_each_school_day_is_judged_on_its_own(seeded: Seeded) -> None:
    lab = room(seeded.report, "Lab 1")
    assert [d.day for d in lab.days] == SCHOOL_DAYS
    for d in lab.days:
        assert (d.co2.status, d.co2.occupied_minutes, d.co2.co2_mean_ppm) == ("red", 360, 683.3)
        assert (d.co2.pct_time_above_1500, d.bb101_passes) == (8.33, True)
    cold = room(seeded.report, "Room 2").days[0]
    assert (cold.temperature.min_c, cold.temperature.minutes_below_minimum) == (15.0, 45)
    music = room(seeded.report, MUSIC).days[2]
    assert (music.co2.status, music.co2.minutes_with_data) == ("grey", 69)


def test_day_chart_holds_five_minute_means_over_the_school_day(seeded: Seeded) -> None:
    chart = room(seeded.report, "Lab 1").days[1].chart
    assert chart.start == datetime.combine(SCHOOL_DAYS[1], time(9), UTC)
    assert (chart.step_minutes, len(chart.co2_ppm)) == (5, 72)  # 09:00-15:00
    # 10:00-10:29 at 1600 ppm: steps 12 to 17.
    assert chart.co2_ppm[11:19] == [600.0, *[1600.0] * 6, 600.0]
    assert all(chart.occupied)
    music = room(seeded.report, MUSIC).days[0].chart
    # Read 09:00-09:59; the 09:59 reading stands until 10:08, in the steps from 10:00 and 10:05.
    assert music.co2_ppm[:14] == [700.0] * 14
    assert music.co2_ppm[14:] == [None] * 58


def test_actions_of_the_period_only(seeded: Seeded) -> None:
    assert room(seeded.report, "Lab 1").actions == [ACTIONS[0]]  # not the week before's
    assert room(seeded.report, "Room 2").actions == [ACTIONS[2]]  # Sunday is in the week
    assert room(seeded.report, "Hall").actions == []


def test_notes_are_the_profiles_words(seeded: Seeded) -> None:
    r = seeded.report
    assert [(b.label, b.advice, b.source) for b in r.bands] == [
        (b.label, b.advice, b.source) for b in PROFILE.co2_bands
    ]
    assert [(b.from_ppm, b.below_ppm) for b in r.bands] == [(None, 800), (800, 1500), (1500, None)]
    notes = {n.status: n for n in r.statuses}
    rules = {rule.status: rule for rule in PROFILE.status.rules}
    assert notes["red"].meaning == rules["red"].meaning
    assert notes["amber"].source == rules["amber"].source
    assert "20 consecutive occupied minutes above 800 ppm" in notes["green"].meaning
    red = PROFILE.attribution(rules["red"])
    assert (notes["red"].source_part, notes["red"].ventwatch_part) == (
        red.source_part,
        red.ventwatch_part,
    )
    assert notes["green"].source_part == ""  # no source defines green
    assert "50%" in notes["grey"].meaning


def test_the_html_and_the_spreadsheet_say_whose_part_is_whose(seeded: Seeded) -> None:
    """Bands, statuses, the consistently rule and BB101's criteria, each with the source's
    part and ventwatch's, worded by `Profile.attribution` as on the pages and in alerts."""
    r = seeded.report
    said = [PROFILE.attribution(b) for b in PROFILE.co2_bands]
    said += [PROFILE.attribution(rule) for rule in PROFILE.status.rules]
    said.append(PROFILE.attribution(PROFILE.status.consistently))
    said += [PROFILE.criterion_attribution(c) for c in PROFILE.bb101.criteria]
    said.append(PROFILE.attribution(PROFILE.bb101.undeclared_mode))
    t = PROFILE.temperature
    said += [PROFILE.attribution(x) for x in (t.cold, t.cold_severe_effort, t.below_comfort)]
    said.append(PROFILE.attribution(t.above_comfort))
    html = render_html(r)
    book = load_workbook(io.BytesIO(render_xlsx(r)))
    cells = {str(c.value) for row in book["Guidance"].iter_rows() for c in row if c.value}
    for words in said:
        assert escape(words.source_part) in html
        assert escape(words.ventwatch_part) in html
        assert words.source_part in cells
        assert words.ventwatch_part in cells
    # Each room: its consistently reading beside its status; BB101 over the whole day.
    lab = room(r, "Lab 1").analysis
    assert escape(lab.consistently.reason) in html
    assert "from 09:00 to 15:00, breaks and lunch included" in html
    assert "Consistently" in cells


def test_the_report_is_the_engines_judgement_of_the_same_dates(seeded: Seeded) -> None:
    """The report and `ventwatch analyse` cannot disagree: the same engine, the same data."""
    store = DuckDBStore(seeded.folder / "store.duckdb")
    try:
        start, end = datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
        minutes = store.minute_means(None, start, end)
    finally:
        store.close()
    direct = analyse_site(minutes, seeded.site, PROFILE, MONDAY, MONDAY + timedelta(days=6))
    assert [r.co2 for r in direct.rooms] == [r.analysis.co2 for r in seeded.report.rooms]


# -- pure properties over random data -----------------------------------------------------

SMALL_SITE = SiteConfig.model_validate(
    {
        "site": {"name": "S", "timezone": "Europe/London"},
        "occupied_hours": {
            "start": "09:00",
            "end": "10:00",
            "breaks": [{"start": "09:30", "end": "09:40"}],
        },
        "rooms": [{"name": "A"}, {"name": "B", "occupied_hours": {"days": ["tue"]}}],
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "Gone"]),
            st.integers(0, 14 * 1440 - 1),
            st.floats(300, 5000),
        ),
        max_size=400,
    )
)
def test_built_report_is_consistent_with_the_engine(rows: list[tuple[str, int, float]]) -> None:
    """Over any minute means: one row per room, days that add up to the week, counts that add
    up to the rooms, charts that hold only values from the data."""
    period = parse_week(WEEK)
    start = datetime.combine(period.previous().first, time(0), UTC)
    minutes = pd.DataFrame(
        {
            "room": [r for r, _, _ in rows],
            "minute": pd.to_datetime([start + timedelta(minutes=m) for _, m, _ in rows], utc=True),
            "co2_ppm": [v for _, _, v in rows],
            "temperature_c": [20.0] * len(rows),
            "humidity_pct": [np.nan] * len(rows),
        }
    ).drop_duplicates(["room", "minute"])
    report = build_report(minutes, SMALL_SITE, PROFILE, period, GENERATED)
    direct = analyse_site(minutes, SMALL_SITE, PROFILE, period.first, period.last)
    assert [r.analysis.co2 for r in report.rooms] == [r.co2 for r in direct.rooms]
    assert sum(report.summary.counts.values()) == len(SMALL_SITE.rooms)
    for r in report.rooms:
        m = r.analysis.co2
        assert sum(d.co2.occupied_minutes for d in r.days) == m.occupied_minutes
        assert sum(d.co2.minutes_with_data for d in r.days) == m.minutes_with_data
        values = set(minutes.loc[minutes["room"] == r.room, "co2_ppm"])
        for d in r.days:
            for v in d.chart.co2_ppm:
                assert v is None or min(values) - 0.1 <= v <= max(values) + 0.1
    assert [d.day for d in room(report, "B").days] == [date(2026, 11, 17)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 7 * 1440 - 1), st.floats(300, 5000)), max_size=400),
    # Thursday to Tuesday over a clock change (London 25 October, New York 1 November), and
    # a zone half an hour off the hour.
    st.sampled_from(
        [
            ("Europe/London", date(2026, 10, 22)),
            ("America/New_York", date(2026, 10, 29)),
            ("Asia/Kolkata", date(2026, 10, 29)),
        ]
    ),
)
def test_each_chart_step_is_the_mean_of_its_five_minutes(
    rows: list[tuple[int, float]], where: tuple[str, date]
) -> None:
    """A day chart's step is the mean of the minute series over its five local minutes (each
    minute mean standing for up to the profile's 10 minutes), from the start of the school
    day, whatever the clocks did before that day."""
    timezone, first = where
    tz = ZoneInfo(timezone)
    cfg = SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": timezone},
            "occupied_hours": {"start": "08:50", "end": "15:22"},
            "rooms": [{"name": "A"}],
        }
    )
    period = parse_range(str(first), str(first + timedelta(days=5)))
    start = datetime.combine(period.previous().first, time(0), tz)
    minutes = pd.DataFrame(
        {
            "room": "A",
            "minute": pd.to_datetime([start + timedelta(minutes=m) for m, _ in rows], utc=True),
            "co2_ppm": [v for _, v in rows],
            "temperature_c": 20.0,
            "humidity_pct": np.nan,
        }
    ).drop_duplicates(["room", "minute"])
    by_minute = dict(zip(minutes["minute"], minutes["co2_ppm"], strict=True))
    [report] = build_report(minutes, cfg, PROFILE, period, GENERATED).rooms
    assert [d.day for d in report.days] == [first + timedelta(days=i) for i in (0, 1, 4, 5)]
    for day in report.days:
        chart = day.chart
        assert chart.start == datetime.combine(day.day, time(8, 50), tz)
        assert len(chart.co2_ppm) == 79  # 08:50 to 15:25, the step holding 15:21
        for i, value in enumerate(chart.co2_ppm):
            step = pd.Timestamp(chart.start) + pd.Timedelta(minutes=5 * i)
            found = [v for m in pd.date_range(step, periods=5, freq="min")
                     if (v := standing(by_minute, m)) is not None]  # fmt: skip
            assert value == (round(float(np.mean(found)), 1) if found else None)


def standing(by_minute: dict[pd.Timestamp, float], minute: pd.Timestamp) -> float | None:
    """The value the minute series has at `minute`, worked out by hand: the newest minute
    mean of the 10 minutes up to it, if any."""
    for back in range(10):
        earlier = minute - pd.Timedelta(minutes=back)
        if earlier in by_minute:
            return by_minute[earlier]
    return None


# -- the period and sheet names --------------------------------------------------------------


@given(st.dates(EARLIEST + timedelta(days=14), LATEST - timedelta(days=7)))
def test_any_iso_week_parses_to_its_monday_to_sunday(day: date) -> None:
    iso = day.isocalendar()
    period = parse_week(f"{iso.year:04d}-W{iso.week:02d}")
    assert period.first.weekday() == 0
    assert period.days == 7
    assert period.first <= day <= period.last
    before = period.previous()
    assert (before.last + timedelta(days=1), before.days) == (period.first, 7)
    assert parse_week(before.label) == before


@given(st.text(max_size=12))
def test_anything_else_is_a_bad_week_never_a_crash(text: str) -> None:
    if re.fullmatch(r"[0-9]{4}-W[0-9]{2}", text):
        return
    with pytest.raises(BadPeriodError):
        parse_week(text)


@pytest.mark.parametrize("text", ["2026-W00", "2026-W54", "2025-W53", "1999-W01", "٢٠٢٦-W47"])
def test_weeks_that_do_not_exist(text: str) -> None:
    with pytest.raises(BadPeriodError):
        parse_week(text)


def test_2026_has_a_week_53() -> None:
    assert parse_week("2026-W53").first == date(2026, 12, 28)


def test_ranges() -> None:
    period = parse_range("2026-11-16", "2026-11-20")
    assert (period.days, period.label) == (5, "2026-11-16 to 2026-11-20")
    assert period.previous().label == "2026-11-11 to 2026-11-15"
    for first, last in [("2026-11-20", "2026-11-16"), ("16/11/2026", "2026-11-20")]:
        with pytest.raises(BadPeriodError):
            parse_range(first, last)


@settings(max_examples=200)
@given(st.lists(st.text(max_size=40), max_size=8))
def test_sheet_names_are_valid_and_unique(names: list[str]) -> None:
    made = sheet_names(names, reserved=("Summary",))
    assert len(made) == len(names)
    folded = [m.casefold() for m in made]
    assert len(set(folded)) == len(folded)
    assert not {"summary", *(r.casefold() for r in EXCEL_RESERVED)} & set(folded)
    book = Workbook()
    for name in made:
        assert 1 <= len(name.encode("utf-16-le")) // 2 <= 31
        assert not set(name) & FORBIDDEN
        assert not name.startswith("'")
        assert not name.endswith("'")
        book.create_sheet(name)  # openpyxl refuses a name Excel would refuse


def test_sheet_names_keep_readable_names() -> None:
    assert sheet_names(["Lab 1", "lab 1", "A/B: [x]?", "x" * 40, "'quoted'"]) == [
        "Lab 1",
        "lab 1 (2)",
        "A_B_ _x__",
        "x" * 31,
        "quoted",
    ]


# -- formats ---------------------------------------------------------------------------------


def test_rooms_csv_has_the_documented_columns_and_figures(seeded: Seeded) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(seeded.report))))
    assert list(rows[0]) == list(ROOM_COLUMNS)
    by_room = {r["room"]: r for r in rows}
    # Names exactly as in the site file, but one a spreadsheet would run as a formula.
    assert list(by_room) == [f"'{FORMULA}" if r == FORMULA else r for r in ROOMS]
    lab = by_room["Lab 1"]
    assert (lab["site"], lab["from"], lab["to"], lab["period"]) == (
        SITE_NAME,
        "2026-11-16",
        "2026-11-22",
        WEEK,
    )
    assert (lab["profile_id"], lab["profile_version"]) == ("joint-union", "1.2")
    assert (lab["status"], lab["status_source"]) == ("red", "HSE-CO2")
    assert float(lab["co2_mean_ppm"]) == 683.3
    assert float(lab["pct_time_above_1500"]) == 8.33
    assert int(lab["longest_above_1500_min"]) == 30
    assert float(lab["max_20min_mean_ppm"]) == 1600.0
    assert (lab["previous_status"], lab["change"], lab["actions_logged"]) == ("green", "worse", "1")
    hall = by_room["Hall"]
    assert (hall["pct_time_above_800"], hall["pct_time_above_1500"]) == ("8.33", "0.0")
    assert (hall["status"], hall["status_source"], hall["change"]) == (
        "amber",
        "NEU-CO2",
        "not comparable",
    )
    cold = by_room["Room 2"]
    assert (int(cold["minutes_below_minimum_temperature"]), cold["temperature_min_c"]) == (
        225,
        "15.0",
    )
    # Added at the end: each temperature label apart, with its own figure.
    assert ROOM_COLUMNS[-6:] == (
        "physical_effort",
        "temperature_max_c",
        "below_comfort_temperature_c",
        "minutes_below_comfort_temperature",
        "above_comfort_temperature_c",
        "minutes_above_comfort_temperature",
    )
    assert [cold[c] for c in ROOM_COLUMNS[-6:]] == ["normal", "20.0", "18.0", "225", "26.0", "0"]
    assert (
        cold["minimum_temperature_c"],
        by_room["Hall"]["minutes_below_comfort_temperature"],
    ) == (
        "16.0",
        "0",
    )
    empty = by_room[f"'{FORMULA}"]
    assert (empty["status"], empty["co2_mean_ppm"], empty["coverage_pct"]) == ("grey", "", "0.0")
    assert empty["cold_and_high_co2"] == "false"


def test_daily_csv_has_a_row_per_room_and_school_day(seeded: Seeded) -> None:
    rows = list(csv.DictReader(io.StringIO(render_daily_csv(seeded.report))))
    assert list(rows[0]) == list(DAY_COLUMNS)
    assert len(rows) == len(ROOMS) * len(SCHOOL_DAYS)
    tuesday = next(r for r in rows if r["room"] == "Lab 1" and r["date"] == "2026-11-17")
    assert (tuesday["weekday"], tuesday["status"], tuesday["co2_mean_ppm"]) == (
        "Tue",
        "red",
        "683.3",
    )
    assert (tuesday["pct_time_above_800"], tuesday["bb101_under_daily_limit"]) == ("8.33", "true")
    monday = next(r for r in rows if r["room"] == "Room 2" and r["date"] == "2026-11-16")
    assert monday["minutes_below_minimum_temperature"] == "45"
    assert DAY_COLUMNS[-3:] == (
        "temperature_max_c",
        "minutes_below_comfort_temperature",
        "minutes_above_comfort_temperature",
    )
    assert [monday[c] for c in DAY_COLUMNS[-3:]] == ["20.0", "45", "0"]


def test_xlsx_stores_numbers_as_numbers(seeded: Seeded) -> None:
    book = load_workbook(io.BytesIO(render_xlsx(seeded.report)))
    assert book.sheetnames == ["Summary", "Guidance", "Lab 1", "Room 2", "Hall",
                               'Music <b>&<_b> "Drama"', FORMULA]  # fmt: skip
    summary = book["Summary"]
    header_row = next(r[0].row for r in summary.iter_rows(max_col=2) if r[1].value == "Room")
    columns = [c.value for c in summary[header_row]][: len(ROOM_COLUMNS)]
    assert columns == [HEADINGS[c] for c in ROOM_COLUMNS]  # in words, not column ids
    assert "Time above 800 ppm (%)" in columns
    rows = {
        summary.cell(row=r, column=2).value: {
            name: summary.cell(row=r, column=i + 1) for i, name in enumerate(ROOM_COLUMNS)
        }
        for r in range(header_row + 1, header_row + 1 + len(ROOMS))
    }
    lab = rows["Lab 1"]
    model = room(seeded.report, "Lab 1").analysis.co2
    for name in ("co2_mean_ppm", "pct_time_above_800", "max_20min_mean_ppm", "coverage_pct"):
        value = lab[name].value
        assert isinstance(value, int | float), name  # a number (1600.0 reads back as 1600)
        assert not isinstance(value, bool)
        assert value == getattr(model, name)
    assert lab["longest_above_1500_min"].value == 30
    assert isinstance(lab["longest_above_1500_min"].value, int)
    assert lab["pct_time_above_800"].number_format == "0.0"
    assert lab["from"].value == datetime(2026, 11, 16)  # a date cell, not text
    assert lab["from"].number_format == "yyyy-mm-dd"
    formula = rows[FORMULA]["room"]
    assert (formula.value, formula.data_type) == (FORMULA, "s")  # text, never a formula
    assert rows[FORMULA]["co2_mean_ppm"].value is None
    counts = {
        summary.cell(row=r, column=1).value: summary.cell(row=r, column=2).value
        for r in range(1, header_row)
    }
    assert (counts["✖\u00a0Poor"], counts["◌\u00a0Not enough data"]) == (1, 2)
    sheet = book["Room 2"]
    pairs = {row[0].value: row[1].value for row in sheet.iter_rows(max_col=2)}
    assert pairs["Minutes cold"] == 225
    assert pairs["Lowest temperature (°C)"] == 15.0
    assert (pairs["Minutes below comfort"], pairs["Minutes above comfort"]) == (225, 0)
    assert pairs["Cold"] == "cold (below 16 °C, ACoP L24)"
    assert pairs["Below comfort"] == "below comfort (below 18 °C, NEU)"
    assert pairs["Status"] == "✓\u00a0Good"
    day_header = next(r[0].row for r in sheet.iter_rows(max_col=1) if r[0].value == "Date")
    assert sheet.cell(row=day_header + 1, column=1).value == datetime(2026, 11, 16)
    guidance = book["Guidance"]
    assert guidance["D2"].value == PROFILE.co2_bands[0].label


class Refs(HTMLParser):
    """Every URL an HTML page would fetch or link to, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "poster", "data") and value:
                self.urls.append(value)
            if name in ("style", "fill") and value and "url(" in value:
                self.urls += re.findall(r"url\(([^)]*)\)", value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_escapes_every_name(seeded: Seeded) -> None:
    html = render_html(seeded.report)
    page = Refs()
    page.feed(html)
    # Only links within the page and the charts' own patterns: no request leaves it.
    assert page.urls
    assert all(u.startswith("#") for u in page.urls), page.urls
    styles = "".join(re.findall(r"<style>(.*?)</style>", html, flags=re.S))
    assert re.findall(r"url\(", styles) == []
    assert "@import" not in styles
    assert "<script" not in html
    assert "<link" not in html
    assert "@page" in styles
    assert "A4" in styles
    # Names from the site file arrive as text, never as markup.
    assert "<b>&</b>" not in html
    assert "<Academy>" not in html
    text = " ".join(page.text)
    assert MUSIC in text
    assert SITE_NAME in text
    assert html.count("<svg") == len(ROOMS)  # a chart per room in use


def test_html_shows_the_figures(seeded: Seeded) -> None:
    page = Refs()
    page.feed(render_html(seeded.report))
    text = re.sub(r"\s+", " ", " ".join(page.text).replace("\u00a0", " "))
    for expected in (
        "2026-W47",
        "Joint union guide to improving ventilation in schools and colleges",
        "profile joint-union , version 1.2",
        "Mon, Tue, Wed, Thu, Fri 09:00-15:00 (Europe/London)",
        "683 ppm",
        "8.3 %",
        "1,600 ppm",
        "30 min",
        "225 min",
        "15.0 °C",
        "30 consecutive occupied minutes above 1500 ppm",
        "Windows opened",
        # Each temperature label apart, with its figure and source.
        "At times cold (below 16 °C, ACoP L24): Room 2.",
        "At times below comfort (below 18 °C, NEU): Room 2.",
        "Minutes cold (below 16 °C, ACoP L24) 225 min",
        "Minutes below comfort (below 18 °C, NEU) 225 min",
        "Minutes above comfort (over 26 °C, NEU) 0 min",
        "cold (below 13 °C, ACoP L24, severe physical effort)",
        PROFILE.co2_bands[2].advice,
        PROFILE.status.rules[0].meaning,
    ):
        assert expected in text, expected


@pytest.fixture(
    scope="module", params=[pytest.param("chromium", marks=pytest.mark.servers), "weasyprint"]
)
def pdf(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory, request) -> Path:  # type: ignore[no-untyped-def]
    """The PDF from each printer (Chromium where installed, WeasyPrint otherwise)."""
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(render_pdf(seeded.report, use=request.param))
    return path


def test_pdf_text_has_the_figures(pdf: Path) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    assert "Hillside <Academy>" in pages[0]
    assert "2026-W47" in pages[0]
    assert "profile joint-union, version 1.2" in " ".join(pages[0].split())
    lab = next(p for p in pages if "30 consecutive occupied minutes above 1500 ppm" in p)
    for expected in ("Lab 1", "683 ppm", "8.3 %", "1,600 ppm", "Windows opened"):
        assert expected in lab, expected
    assert any(MUSIC in p for p in pages)
    assert len(pages) >= len(ROOMS) + 2  # summary, guidance, a page per room
    assert f"page 1 of {len(pages) - 1}" in pages[0]  # the running footer (last: empty)


def test_pdf_first_page_renders(pdf: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(pdf.with_suffix(""))],
        check=True,
    )
    png = next(pdf.parent.glob("report-*1.png"))
    image = Image.open(png).convert("L")
    assert image.size[0] > 400
    assert image.size[1] > 600
    dark = sum(image.histogram()[:128]) / (image.size[0] * image.size[1])
    assert 0.01 < dark < 0.5  # text and tables, not a blank or a black page


def test_pdf_tools_are_installed() -> None:
    assert shutil.which("pdftotext")
    assert shutil.which("pdftoppm")


# -- charts ----------------------------------------------------------------------------------


def test_chart_keeps_every_mark_inside_its_panel(seeded: Seeded) -> None:
    days = room(seeded.report, "Lab 1").days
    svg = str(room_chart(days, seeded.report.bands, seeded.report.words))
    width, height = map(float, re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    line = re.search(r'<path d="([^"]*)" fill="none" stroke="#000"', svg).group(1)
    numbers = [float(n) for n in re.findall(r"-?[\d.]+", line)]
    xs, ys = numbers[0::2], numbers[1::2]
    assert min(xs) >= 0
    assert max(xs) <= width
    assert min(ys) >= 0
    assert max(ys) <= height
    assert len(re.findall("M", line)) == len(days)  # one unbroken line a day
    assert str(room_chart([], seeded.report.bands, seeded.report.words)) == ""


@given(
    st.floats(0, 700),
    st.floats(0, 500),
    st.floats(0.5, 200),
    st.floats(0.5, 100),
)
def test_hatching_lines_lie_inside_their_band_and_line_up(
    x: float, y: float, w: float, h: float
) -> None:
    """The highest band's hatching: diagonal segments that stay inside the band's rectangle,
    each on a line x + y = k * spacing (so panels side by side continue each other's lines),
    and as many as those lines crossing the rectangle."""
    path = _hatch(x, y, w, h)
    segments = re.findall(r"M(-?[\d.]+) (-?[\d.]+)L(-?[\d.]+) (-?[\d.]+)", path)
    assert "".join(f"M{a} {b}L{c} {d}" for a, b, c, d in segments) == path
    slack = 0.11  # one decimal place, rounded at each end
    for a, b, c, d in segments:
        for px, py in ((float(a), float(b)), (float(c), float(d))):
            assert x - slack <= px <= x + w + slack
            assert y - slack <= py <= y + h + slack
            k = (px + py) / HATCH_SPACING
            assert abs(k - round(k)) * HATCH_SPACING <= 2 * slack
    crossing = [
        k
        for k in range(int((x + y) // HATCH_SPACING) - 1, int((x + w + y + h) // HATCH_SPACING) + 2)
        if x + y < k * HATCH_SPACING < x + w + y + h
    ]
    assert len(segments) == len(crossing)


# -- the action log adapter -----------------------------------------------------------------


def test_actions_come_from_the_alert_records_in_the_guides_words(tmp_path: Path) -> None:
    assert logged_actions(tmp_path / "none.sqlite", SITE_NAME) == []
    assert not (tmp_path / "none.sqlite").exists()  # reading creates nothing
    records = AlertRecords(tmp_path / "accounts.sqlite", SITE_NAME)
    opened = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
    alert = records.save(Alert("Lab 1", "co2-urgent", "urgent", opened), opened, "opened")
    assert alert.id is not None
    records.record_action(
        alert.id,
        step="practical-steps",
        action="windows-opened",
        note="top <b>windows</b>",
        taken_on=date(2026, 11, 18),
        by="rep",
        at=opened + timedelta(days=1),
        close=False,
    )
    assert logged_actions(tmp_path / "accounts.sqlite", SITE_NAME) == [
        ReportAction(
            "Lab 1",
            date(2026, 11, 18),
            "Practical steps to improve ventilation",
            "Windows opened",
            "top <b>windows</b>",
            "rep",
        )
    ]
