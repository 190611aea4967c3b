"""`ventwatch import`: ventwatch CSV and Aranet4 exports, in every form people really have
(tests/testdata/import/README.md says where each was seen), into the store; bad rows reported
by line number and reason and skipped; and the store's minute means agree with analysis's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import free_port
from ventwatch import cli
from ventwatch.analysis.series import minute_means
from ventwatch.config import load_site
from ventwatch.ingest.csv_import import Numbers
from ventwatch.ingest.importer import (
    DateOrder,
    ImportFile,
    ImportFormatError,
    ImportUsageError,
    RowError,
    Tally,
    read_import,
    sensor_for,
)
from ventwatch.readings import PHYSICAL_RANGE, Reading
from ventwatch.store.duckdb import DuckDBStore

DATA = Path(__file__).parent / "testdata" / "import"
SITE = load_site(Path(__file__).resolve().parent.parent / "sensors.example.yaml")
LONDON = ZoneInfo("Europe/London")
REASONS = {
    "bad quoting",
    "bad time",
    "no values",
    "not a number",
    "out of range",
    "thousands separator",
    "time in the clock-change gap",
    "time without UTC offset",
    "unknown room",
    "wrong number of fields",
}
HEADER = (
    "Time(dd/mm/yyyy),Carbon dioxide(ppm),Temperature(°C),Relative humidity(%),"
    "Atmospheric pressure(hPa)"
)


def read(
    data: str | bytes,
    room: str | None = "Room 4",
    date_order: DateOrder | None = None,
    filename: str = "export.csv",
) -> tuple[ImportFile, list[Reading], list[RowError]]:
    """Read a file all the way through: what it was read as, its readings, its row errors."""
    raw = data.encode() if isinstance(data, str) else data
    imported = read_import(raw, SITE, filename=filename, room=room, date_order=date_order)
    rows = [row for _, row in imported.rows]
    return (
        imported,
        [r for r in rows if isinstance(r, Reading)],
        [r for r in rows if isinstance(r, RowError)],
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- ventwatch's own CSV ---------------------------------------------------------------------

CSV = """time,room,co2_ppm,temperature_c,humidity_pct
2026-11-17T09:00:00+00:00,Room 1,650,20.5,45
2026-11-17T09:01:00+00:00,Room 2,1650,19.0,
2026-11-17T09:02:00,Room 1,700,20,45
2026-11-17T09:03:00+00:00,Room 99,700,20,45
2026-11-17T09:04:00+00:00,Room 1,lots,20,45
2026-11-17T09:05:00+00:00,Room 1,99999,99,45
2026-11-17T09:06:00+00:00,Room 1,700
"""


def test_ventwatch_csv_rows() -> None:
    imported, good, bad = read(CSV, room=None)
    assert imported.form == "ventwatch CSV (UTF-8, ',' separated)"
    assert imported.rows_read == 7
    assert [(r.room, r.co2_ppm, r.humidity_pct) for r in good] == [
        ("Room 1", 650, 45),
        ("Room 2", 1650, None),
        ("Room 1", None, 45),  # line 7: impossible CO2 and temperature left out, humidity kept
    ]
    assert good[0].time == utc(2026, 11, 17, 9)
    assert good[0].sensor == "import:export.csv/Room 1"
    assert [(e.line, e.reason) for e in bad] == [
        (4, "time without UTC offset"),
        (5, "unknown room"),
        (6, "not a number"),
        (7, "out of range"),
        (8, "wrong number of fields"),
    ]
    assert "unknown room 'Room 99'" in bad[1].message
    assert "left out co2_ppm=99999 outside" in bad[3].message
    assert [e.skipped for e in bad] == [True, True, True, False, True]


def test_missing_columns_name_the_header() -> None:
    with pytest.raises(ImportFormatError, match="header lacks co2_ppm") as caught:
        read("time,room,temperature_c\n", room=None)
    assert caught.value.line == 1


def test_ventwatch_csv_with_semicolons_decimal_commas_and_any_case() -> None:
    """What a spreadsheet where the comma is the decimal mark makes of ventwatch's CSV."""
    text = (
        "Time;ROOM; co2_ppm ;Temperature_C;humidity_pct\r\n"
        "2026-11-17T09:00:00+00:00;Room 1;650;20,5;45\r\n"
        "2026-11-17T09:01:00+00:00;Room 2;1.650;19,0;\r\n"
    )
    imported, good, bad = read(text.encode("cp1252"), room=None)
    assert imported.form == "ventwatch CSV (UTF-8, ';' separated)"  # ASCII reads as UTF-8
    assert [(r.room, r.co2_ppm, r.temperature_c) for r in good] == [("Room 1", 650, 20.5)]
    assert [(e.line, e.reason) for e in bad] == [(3, "thousands separator")]


def test_room_option_is_for_aranet_exports_only() -> None:
    with pytest.raises(ImportUsageError, match="--room is for Aranet4 exports"):
        read(CSV, room="Room 1")


# -- Aranet4 exports: every header form ------------------------------------------------------

# file, what its form line says, its first reading (time, CO2, °C, %, hPa), how many rows.
FORMS = [
    (
        "aranet_2021_time_co2.csv",
        "UTF-8, ',' separated, decimal mark '.'; dates day first, line 4 reads "
        "'13/10/2021 00:02:48'",
        (utc(2021, 10, 12, 22, 52, 48), 537, 22.8, 54, 1020),
        4,
    ),
    (
        "aranet_dmy_fahrenheit_mmhg.csv",
        "dates day first, from the header Time(dd/mm/yyyy)",
        (utc(2023, 10, 5, 12, 38, 35), 721, 25.22, 61, 1021.25),  # 77.4 °F, 766 mmHg
        3,
    ),
    (
        "aranet_mmdd_celsius.csv",
        "dates month first, from the header Time(mm/dd/yyyy)",
        (utc(2026, 11, 17, 9), 812, 20.5, 44, 1012),
        2,
    ),
    (
        "aranet_DDMMYYYY_H_mm_ss.csv",
        "dates day first, from the header Time(DD/MM/YYYY H:mm:ss)",
        (utc(2026, 4, 3, 8), 497, 16.6, 69, 993.3),  # 9:00 BST
        3,
    ),
    (
        "aranet_MMDDYYYY_h_mm_ss_A.csv",
        "dates month first, from the header Time(MM/DD/YYYY h:mm:ss A)",
        (utc(2026, 3, 28, 11, 58, 3), 506, 24.28, 22, 846.0),
        3,
    ),
    (
        "aranet_DDMMYYYY_h_mm_ss_A_excel_1252.csv",
        "Windows-1252, ';' separated, decimal mark ','; dates day first",
        (utc(2026, 11, 17, 14, 5), 1210, 21.5, 48, 1012.4),
        2,
    ),
    (
        "aranet_excel_unicode_text.txt",
        "UTF-16, tab separated, decimal mark '.'",
        (utc(2026, 11, 17, 9), 812, 20.5, 44, 1012),
        2,
    ),
    (
        "aranet_utf8_bom_odd_header.csv",
        "UTF-8 with BOM, ';' separated, decimal mark ','",
        (utc(2026, 11, 17, 9), 812, 20.5, 44, 1012.5),
        1,
    ),
    (
        "aranet_mojibake_header.csv",
        "dates day first, from the header Time(dd/mm/yyyy)",
        (utc(2026, 11, 17, 9), 812, 20.5, 44, 1012),
        1,
    ),
]


@pytest.mark.parametrize(("name", "form", "first", "count"), FORMS, ids=[f[0] for f in FORMS])
def test_aranet_export_forms(
    name: str, form: str, first: tuple[datetime, float, float, float, float], count: int
) -> None:
    imported, good, bad = read((DATA / name).read_bytes())
    assert bad == []
    assert form in imported.form
    assert imported.form.startswith("Aranet4 export for 'Room 4' as sensor 'import:export.csv'")
    assert len(good) == imported.rows_read == count
    r = good[0]
    assert (r.time, r.co2_ppm, r.temperature_c, r.humidity_pct, r.pressure_hpa) == first
    assert {(r.room, r.family) for r in good} == {("Room 4", "import")}
    assert [r.time for r in good] == sorted(r.time for r in good)


def test_units_converted_are_said_once() -> None:
    imported, good, _ = read((DATA / "aranet_dmy_fahrenheit_mmhg.csv").read_bytes())
    assert imported.notes == (
        "'Temperature(°F)' converted to °C",
        "'Atmospheric pressure(mmHg)' converted to hPa",
    )
    assert [r.pressure_hpa for r in good] == [1021.25, 1019.92, 1021.25]


def test_twelve_hour_clock_noon_and_midnight() -> None:
    _, good, _ = read((DATA / "aranet_MMDDYYYY_h_mm_ss_A.csv").read_bytes())
    assert [r.time for r in good] == [
        utc(2026, 3, 28, 11, 58, 3),
        utc(2026, 3, 28, 12, 8, 3),  # 12:08:03 PM
        utc(2026, 3, 29, 0, 3, 3),  # 12:03:03 AM, the next day
    ]


def test_a_pressure_unit_ventwatch_cannot_convert_is_left_out_with_one_note() -> None:
    header = HEADER.replace("(hPa)", "(psi)")
    rows = "".join(f"17/11/2026 09:0{i}:00,812,20.5,44,14.7\n" for i in range(5))
    imported, good, bad = read(header + "\n" + rows)
    assert imported.notes == (
        "'Atmospheric pressure(psi)': unit 'psi' is not one ventwatch converts: left out",
    )
    assert bad == []
    assert len(good) == 5
    assert {r.pressure_hpa for r in good} == {None}


def test_inches_of_mercury_and_unknown_columns() -> None:
    header = HEADER.replace("(hPa)", "(inHg)") + ",Battery(%),Radon(Bq/m3)"
    imported, good, _ = read(header + "\n17/11/2026 09:00:00,812,20.5,44,29.92,80,12\n")
    assert good[0].pressure_hpa == 1013.21
    assert good[0].battery_pct == 80
    assert "column 'Radon(Bq/m3)' ignored" in imported.notes


def test_no_readable_column_is_a_file_error() -> None:
    with pytest.raises(ImportFormatError, match="no column ventwatch can read"):
        read("Time(dd/mm/yyyy),Carbon dioxide(%)\n17/11/2026 09:00:00,0.08\n")


def test_sensor_is_the_monitor_when_the_file_keeps_the_apps_name() -> None:
    assert sensor_for("Aranet4 0C39F_2023-04-07T17_14_19-0600.csv") == "import:Aranet4 0C39F"
    assert sensor_for("room4 week 47.csv") == "import:room4 week 47.csv"
    _, good, _ = read(
        (DATA / "aranet_mmdd_celsius.csv").read_bytes(),
        filename="Aranet4 0C39F_2026-11-17T10_00_00+0000.csv",
    )
    assert {r.sensor for r in good} == {"import:Aranet4 0C39F"}


def test_an_export_needs_a_room_of_the_site() -> None:
    data = (DATA / "aranet_mmdd_celsius.csv").read_bytes()
    with pytest.raises(ImportUsageError, match="give --room ROOM") as caught:
        read(data, room=None)
    assert "Room 4" in str(caught.value)
    with pytest.raises(ImportUsageError, match="'Room 99' is not a room of the site"):
        read(data, room="Room 99")


# -- date order ------------------------------------------------------------------------------


def test_date_order_unknowable_names_the_option() -> None:
    data = (DATA / "aranet_2021_days_up_to_12.csv").read_bytes()
    with pytest.raises(ImportUsageError, match=r"--date-order dmy .*--date-order mdy") as caught:
        read(data)
    assert caught.value.line == 1
    imported, good, _ = read(data, date_order=DateOrder.dmy)
    assert "dates day first, from --date-order" in imported.form
    assert good[0].time == utc(2021, 10, 7, 13, 37, 48)
    _, good, _ = read(data, date_order=DateOrder.mdy)
    assert good[0].time == utc(2021, 7, 10, 13, 37, 48)


def test_date_order_inferred_month_first() -> None:
    imported, good, _ = read(
        "Time,CO2(ppm)\n10/12/2026 09:00:00,812\n10/13/2026 09:00:00,820\n", room="Room 1"
    )
    assert "dates month first, line 3 reads '10/13/2026 09:00:00'" in imported.form
    assert [r.time.date().isoformat() for r in good] == ["2026-10-12", "2026-10-13"]


def test_dates_that_read_the_same_both_ways_need_no_order() -> None:
    imported, good, _ = read("Time,CO2(ppm)\n05/05/2026 09:00:00,812\n")
    assert "no date in the file depends on it" in imported.form
    assert good[0].time == utc(2026, 5, 5, 8)


def test_dates_that_disagree_name_the_option() -> None:
    with pytest.raises(ImportUsageError, match=r"dates disagree: line 2 .* line 3"):
        read("Time,CO2(ppm)\n13/10/2026 09:00:00,812\n10/14/2026 09:00:00,820\n")


def test_a_header_the_dates_contradict() -> None:
    """Excel re-saves dates in its own locale's order under the app's header."""
    text = f"{HEADER}\n10/12/2026 09:00,812,20.5,44,1012\n10/13/2026 09:00,812,20.5,44,1012\n"
    with pytest.raises(ImportUsageError, match="says day first but line 3 reads") as caught:
        read(text)
    assert "--date-order mdy" in str(caught.value)
    _, good, bad = read(text, date_order=DateOrder.mdy)
    assert (len(good), bad) == (2, [])


# -- local times: the clocks going back and forward ------------------------------------------


def test_the_repeated_hour_keeps_both_readings_in_order() -> None:
    """Europe/London, 25 October 2026: 01:00-01:59 happens twice (BST, then GMT)."""
    stamps = ["0:50", "1:20", "1:50", "1:10", "1:40", "2:10", "2:40"]
    text = HEADER + "\n" + "".join(f"25/10/2026 {s}:00,800,20,50,1010\n" for s in stamps)
    _, good, bad = read(text)
    assert bad == []
    assert [r.time for r in good] == [
        utc(2026, 10, 24, 23, 50),
        utc(2026, 10, 25, 0, 20),  # 01:20 BST, fold=0
        utc(2026, 10, 25, 0, 50),
        utc(2026, 10, 25, 1, 10),  # back to 01:10: now GMT, fold=1
        utc(2026, 10, 25, 1, 40),
        utc(2026, 10, 25, 2, 10),
        utc(2026, 10, 25, 2, 40),
    ]


def test_a_whole_night_across_the_clock_change_on_a_12_hour_clock() -> None:
    start = utc(2026, 10, 24, 22)
    header = HEADER.replace("Time(dd/mm/yyyy)", "Time(DD/MM/YYYY h:mm:ss A)")
    lines = [header]
    times = [start + timedelta(minutes=5 * i) for i in range(60)]  # 5 hours, every 5 minutes
    for t in times:
        local = t.astimezone(LONDON)
        lines.append(f"{local:%d/%m/%Y %I:%M:%S %p},700,20,50,1010")
    _, good, bad = read("\n".join(lines))
    assert bad == []
    assert [r.time for r in good] == times


def test_a_time_the_clocks_skipped_is_an_error_for_its_row() -> None:
    """Europe/London, 29 March 2026: 01:00-01:59 never happened."""
    stamps = ("0:50", "1:20", "2:20")
    text = HEADER + "\n" + "".join(f"29/03/2026 {s},800,20,50,1010\n" for s in stamps)
    _, good, bad = read(text)
    assert [r.time for r in good] == [utc(2026, 3, 29, 0, 50), utc(2026, 3, 29, 1, 20)]
    assert [(e.line, e.reason) for e in bad] == [(3, "time in the clock-change gap")]
    assert "29/03/2026 01:20:00 never happened in Europe/London" in bad[0].message


# -- numbers ---------------------------------------------------------------------------------


def test_a_quoted_thousands_separator_in_a_comma_file_is_never_a_fraction() -> None:
    text = (
        f"{HEADER}\n"
        '17/11/2026 09:00:00,"998","20.5","44","1012"\n'
        '17/11/2026 09:05:00,"1,029","20.5","44","1012"\n'
        '17/11/2026 09:10:00,"1029","20.5","44","1012"\n'
        '17/11/2026 09:15:00,"1 029","20.5","44","1012"\n'
    )
    _, good, bad = read(text)
    assert [r.co2_ppm for r in good] == [998, 1029]
    assert [(e.line, e.reason) for e in bad] == [
        (3, "thousands separator"),
        (5, "thousands separator"),
    ]
    assert "co2_ppm '1,029' has a thousands separator" in bad[0].message


def test_thousands_separators_where_the_comma_is_the_decimal_mark() -> None:
    text = (
        HEADER.replace(",", ";")
        + "\n17/11/2026 09:00:00;998;20,5;44;1012,1\n"
        + "17/11/2026 09:05:00;1.029;20,5;44;1012,1\n"
        + "17/11/2026 09:10:00;1029;20,5;44;1.012,1\n"
        + "17/11/2026 09:15:00;1029;20.5;44;1012,1\n"
    )
    imported, good, bad = read(text)
    assert "decimal mark ','" in imported.form
    assert [(r.co2_ppm, r.temperature_c, r.pressure_hpa) for r in good] == [(998, 20.5, 1012.1)]
    assert [(e.line, e.reason) for e in bad] == [
        (3, "thousands separator"),
        (4, "thousands separator"),
        (5, "not a number"),
    ]
    assert "this file's decimal mark is ','" in bad[2].message


def test_decimal_mark_from_the_file_else_from_the_separator() -> None:
    assert Numbers.infer(["1,5", "20,25", "1.029"], ";").decimal == ","
    assert Numbers.infer(["1.5", "20.25", "1,029"], ";").decimal == "."
    assert Numbers.infer(["1029", "44"], ";").decimal == ","
    assert Numbers.infer(["1029", "44"], ",").decimal == "."
    assert Numbers(".").parse("  ", "co2_ppm") is None


# -- files that cannot be read, rows that cannot be read -------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 1, "the file is empty"),
        (b"\n\n  \n", 1, "the file is empty"),
        (b"time,room\nx,y\n\x81\x8d\x8f\n", 3, "neither UTF-8 nor Windows-1252"),
        (b"\xff\xfea\x00\n\x00\x00\xd8", 2, r"not UTF-16 text \(byte 0x00\)"),
        (b"just some text\n1\n", 1, "one column only"),
        (b"sep=;\n", 1, "no header after the sep= line"),
        (b"date;value\n2026-11-17;1\n", 1, "is neither ventwatch's"),
    ],
)
def test_a_file_that_cannot_be_read_says_where(data: bytes, line: int, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message) as caught:
        read(data)
    assert caught.value.line == line


def test_rows_that_cannot_be_read() -> None:
    text = (
        f"{HEADER}\n"
        '17/11/2026 09:00:00,"812"x,20.5,44,1012\n'  # broken quoting
        "17/11/2026 09:05:00,812,20.5\n"  # too few fields
        "17/11/2026 09:10:00,812,20.5,44,1012,,\n"  # a trailing separator is fine
        "17/11/26 09:15:00,812,20.5,44,1012\n"  # two-digit year
        "31/02/2026 09:20:00,812,20.5,44,1012\n"  # no such day
        "17/11/2026 13:25:00 PM,812,20.5,44,1012\n"  # 13 o'clock PM
        "17/11/2026 09:30:00,,,,\n"  # nothing to keep
        "17/11/2026 09:35:00,9,99,44,1012\n"  # impossible CO2 and temperature: humidity kept
        "17/11/1900 09:40:00,812,20.5,44,1012\n"  # a corrupt year
    )
    _, good, bad = read(text)
    assert [r.time for r in good] == [utc(2026, 11, 17, 9, 10), utc(2026, 11, 17, 9, 35)]
    assert [(e.line, e.reason, e.skipped) for e in bad] == [
        (2, "bad quoting", True),
        (3, "wrong number of fields", True),
        (5, "bad time", True),
        (6, "bad time", True),
        (7, "bad time", True),
        (8, "no values", True),
        (9, "out of range", False),
        (10, "bad time", True),
    ]


def test_the_tally_counts_by_reason_with_the_first_lines() -> None:
    tally = Tally(read=12, readings=5, stored=3)
    for line in range(2, 9):
        assert tally.add(RowError(line, "bad time", "x")) is (line < 7)
    tally.add(RowError(20, "out of range", "x", skipped=False))
    assert tally.summary() == [
        "12 rows read, 3 stored, 2 duplicates (already stored), 7 skipped",
        "skipped 7: bad time (lines 2, 3, 4, 5, 6 and 2 more)",
        "kept without a value 1: out of range (line 20)",
    ]


# -- properties ------------------------------------------------------------------------------

# The Aranet4 app's time headers: (header, order its rows are in, does it say so, 12-hour).
TIME_FORMS = [
    ("Time", "dmy", False, False),
    ("Time(dd/mm/yyyy)", "dmy", True, False),
    ("Time(mm/dd/yyyy)", "mdy", True, False),
    ("Time(DD/MM/YYYY H:mm:ss)", "dmy", True, False),
    ("Time(DD/MM/YYYY h:mm:ss A)", "dmy", True, True),
    ("Time(MM/DD/YYYY h:mm:ss A)", "mdy", True, True),
]
# Exports start near clock changes, so that many cross one (and the repeated hour).
CLOCK_CHANGES = [utc(2025, 10, 26, 1), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)]
MMHG = 1.33322387


@st.composite
def exports(draw: st.DrawFn) -> tuple[bytes, DateOrder | None, list[tuple[datetime, ...]]]:
    """An export as the app (or a spreadsheet after it) writes one: any header form, unit,
    encoding, separator, decimal mark, quoting, line ending and header case; times every
    1-59 minutes (Aranet4 logs every 1, 2, 5 or 10) written as London wall-clock times.
    Returns the bytes, the `--date-order` to give, and the (UTC time, CO2, °C, %, hPa)
    each row must read back as."""
    time_header, order, stated, twelve = draw(st.sampled_from(TIME_FORMS))
    fahrenheit, mmhg, seconds, shout, quote_time = (draw(st.booleans()) for _ in range(5))
    separator = draw(st.sampled_from([",", ";", "\t"]))
    decimal = draw(st.sampled_from([".", ","]))
    quoted = draw(st.booleans()) or (decimal == "," and separator == ",")
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    if time_header == "Time":  # the 2021 app's names
        names = ["CO₂(ppm)", "Temperature({})", "Humidity(%)", "Pressure({})"]
        t_unit = "F" if fahrenheit else "C"
    else:
        names = ["Carbon dioxide(ppm)", "Temperature({})", "Relative humidity(%)"]
        names.append("Atmospheric pressure({})")
        t_unit = "°F" if fahrenheit else "°C"
    names[1], names[3] = names[1].format(t_unit), names[3].format("mmHg" if mmhg else "hPa")
    header = [time_header, *names]
    if shout:
        header = [f" {cell.upper().replace('(', ' (')} " for cell in header]
    # Not inside the second pass of a repeated hour: nothing can tell a file that starts
    # there from one that starts in the first pass (`LocalClock`).
    offset = draw(st.integers(-150, 60).filter(lambda minutes: not 0 <= minutes < 60))
    start = draw(st.sampled_from(CLOCK_CHANGES)) + timedelta(
        minutes=offset, seconds=draw(st.integers(0, 59)) if seconds else 0
    )
    steps = draw(st.lists(st.integers(1, 59), min_size=1, max_size=30))
    times = [start + timedelta(minutes=sum(steps[:i])) for i in range(len(steps))]

    def number(value: float, digits: int) -> str:
        text = f"{value:.{digits}f}".replace(".", decimal)
        return f'"{text}"' if quoted else text

    lines, expected = [separator.join(header)], []
    for t in times:
        co2, humidity = draw(st.integers(400, 5000)), draw(st.integers(15, 90))
        celsius, hpa = draw(st.integers(100, 300)) / 10, draw(st.integers(9500, 10500)) / 10
        local = t.astimezone(LONDON)
        day, month = (local.day, local.month) if order == "dmy" else (local.month, local.day)
        clock = f"{(local.hour % 12 or 12) if twelve else local.hour}:{local.minute:02d}"
        clock += f":{local.second:02d}" if seconds else ""
        clock += (" PM" if local.hour >= 12 else " AM") if twelve else ""
        stamp = f"{day:02d}/{month:02d}/{local.year} {clock}"
        temperature = round(celsius * 9 / 5 + 32, 1) if fahrenheit else celsius
        pressure = round(hpa / MMHG) if mmhg else hpa
        cells = [f'"{stamp}"' if quote_time else stamp, number(co2, 0), number(temperature, 1)]
        cells += [number(humidity, 0), number(pressure, 0 if mmhg else 1)]
        lines.append(separator.join(cells))
        expected.append((t, co2, celsius, humidity, hpa))
    data = newline.join(lines).encode(encoding, errors="replace")  # cp1252: CO₂ -> CO?
    return data, None if stated else DateOrder(order), expected


@settings(max_examples=300, deadline=None)
@given(exports())
def test_generated_exports_read_back(
    export: tuple[bytes, DateOrder | None, list[tuple[datetime, ...]]],
) -> None:
    data, date_order, expected = export
    _, good, bad = read(data, date_order=date_order)
    assert bad == []
    assert len(good) == len(expected)
    for reading, (time, co2, celsius, humidity, hpa) in zip(good, expected, strict=True):
        assert reading.time == time
        assert (reading.co2_ppm, reading.humidity_pct) == (co2, humidity)
        assert reading.temperature_c == pytest.approx(celsius, abs=0.03)  # °F has 0.1 steps
        assert reading.pressure_hpa == pytest.approx(hpa, abs=0.7)  # mmHg has 1.33 hPa steps


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
            st.sampled_from(["Room 1", "Lab 2", "Drama Studio"]),
            st.integers(400, 5000),
            st.integers(-50, 350).map(lambda tenths: tenths / 10),
            st.one_of(st.none(), st.integers(0, 100)),
        ),
        max_size=20,
    ),
    st.sampled_from([(",", "."), (";", ","), (";", "."), ("\t", "."), ("\t", ",")]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
    st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(hours=-5, minutes=-30)]),
)
def test_generated_ventwatch_csv_reads_back(
    rows: list[tuple[datetime, str, int, float, int | None]],
    layout: tuple[str, str],
    encoding: str,
    offset: timedelta,
) -> None:
    separator, decimal = layout
    lines = [separator.join(["time", "room", "co2_ppm", "temperature_c", "humidity_pct"])]
    for time, room, co2, celsius, humidity in rows:
        stamp = time.astimezone(timezone(offset)).isoformat()
        temperature = f"{celsius:.1f}".replace(".", decimal)
        wet = "" if humidity is None else str(humidity)
        lines.append(separator.join([stamp, room, str(co2), temperature, wet]))
    data = "\r\n".join(lines).encode(encoding)
    _, good, bad = read(data, room=None)
    assert bad == []
    assert [(r.time, r.room, r.co2_ppm, r.temperature_c, r.humidity_pct) for r in good] == [
        (time, room, co2, celsius, humidity) for time, room, co2, celsius, humidity in rows
    ]


def check_rows(imported: ImportFile) -> None:
    """Every row is a reading fit to store or a row error with a known reason."""
    for line, row in imported.rows:
        assert isinstance(line, int)
        assert line > 0
        if isinstance(row, RowError):
            assert row.reason in REASONS
            assert row.line == line
            continue
        assert isinstance(row, Reading)
        assert row.time.utcoffset() == timedelta(0)
        for key, value in row.values().items():
            assert PHYSICAL_RANGE[key][0] <= value <= PHYSICAL_RANGE[key][1]


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=600),
    st.sampled_from([None, "Room 4"]),
    st.sampled_from([None, DateOrder.dmy, DateOrder.mdy]),
)
def test_arbitrary_bytes_are_a_file_or_row_error(
    data: bytes, room: str | None, date_order: DateOrder | None
) -> None:
    try:
        imported = read_import(data, SITE, filename="x.csv", room=room, date_order=date_order)
    except ImportFormatError:  # ImportUsageError too
        return
    check_rows(imported)


FRAGMENTS = [
    "25/10/2026 ",
    "29/03/2026 ",
    "13/13/2026 ",
    "10/14/2026 ",
    "2026-11-17T09:00:00+00:00",
    "2026-11-17 ",
    "1:30:00",
    "12:00",
    " AM",
    " PM",
    '"1,029"',
    "1.029",
    "21,5",
    "1 029",
    "Room 1",
    "9999999999999999999999",
    "nan",
    "-0",
    ",",
    ";",
    "\t",
    '"',
]
ROW = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text('0123456789/:.,;- "AMPé°\x00', max_size=6)),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([HEADER, HEADER.replace(",", ";"), "time,room,co2_ppm,temperature_c,sensor"]),
    st.lists(ROW, max_size=12),
    st.sampled_from([None, DateOrder.dmy]),
)
def test_arbitrary_rows_under_a_real_header_are_row_errors(
    header: str, rows: list[str], date_order: DateOrder | None
) -> None:
    room = "Room 4" if header.startswith("Time(") else None
    try:
        imported = read_import(
            "\n".join([header, *rows]).encode(),
            SITE,
            filename="x.csv",
            room=room,
            date_order=date_order,
        )
    except ImportUsageError:  # e.g. dates that disagree, with no --date-order
        assert date_order is None
        return
    assert imported.rows_read == sum(1 for r in rows if r.strip())
    check_rows(imported)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1000, 9999),
    st.sampled_from([(",", ".", True), (";", ",", False), (";", ".", False), ("\t", ",", False)]),
)
def test_a_grouped_co2_is_never_read_as_a_fraction(co2: int, layout: tuple[str, str, bool]) -> None:
    separator, decimal, quoted = layout
    group = "," if decimal == "." else "."
    grouped = f"{co2:,}".replace(",", group)
    cell = f'"{grouped}"' if quoted else grouped
    temperature = "20,5" if decimal == "," else "20.5"
    temperature = f'"{temperature}"' if quoted else temperature
    rows = [
        ["17/11/2026 09:00:00", str(co2), temperature, "44", "1012"],
        ["17/11/2026 09:05:00", cell, temperature, "44", "1012"],
    ]
    text = "\n".join(separator.join(row) for row in [HEADER.split(","), *rows])
    _, good, bad = read(text)
    assert [r.co2_ppm for r in good] == [co2]
    assert [(e.line, e.reason) for e in bad] == [(3, "thousands separator")]


# -- the command -----------------------------------------------------------------------------


@pytest.fixture
def site_file(tmp_path: Path, example_site_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    shutil.copy(example_site_path, path)
    return path


def ventwatch(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "ventwatch", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out


def test_import_command_then_analyse(site_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "week.csv"
    start = datetime(2026, 11, 16, 9, tzinfo=UTC)
    lines = ["time,room,co2_ppm,temperature_c"]
    lines += [f"{(start + timedelta(minutes=i)).isoformat()},Room 1,1600,20" for i in range(60)]
    lines.append("yesterday,Room 1,1600,20")
    csv.write_text("\n".join(lines) + "\n")
    out = ventwatch("import", "--config", site_file, csv)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"{csv}: ventwatch CSV (UTF-8, ',' separated)",
        f"{csv}: 61 rows read, 60 stored, 0 duplicates (already stored), 1 skipped",
        f"{csv}: skipped 1: bad time (line 62)",
    ]
    assert f"{csv}:62: skipped: bad time: time 'yesterday' is not ISO 8601" in out.stderr
    out = ventwatch(
        "analyse", "--config", site_file, "--from", "2026-11-16", "--to", "2026-11-16",
        "--room", "Room 1", "--format", "json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (room,) = json.loads(out.stdout)["rooms"]
    # 09:00-09:59, the last reading standing until 10:08: 69 of the 330 occupied minutes.
    assert room["status"] == "grey"
    assert room["co2_mean_ppm"] == 1600
    assert room["longest_above_1500_min"] == 69


def test_import_aranet_exports_counts_duplicates(site_file: Path, tmp_path: Path) -> None:
    """Two overlapping exports of one monitor: the second stores only what is new."""
    rows = [
        f"17/11/2026 09:{m:02d}:00,{800 + m},20.5,44,1012" for m in range(0, 60, 5)
    ]  # 12 rows, 09:00-09:55 GMT
    first = tmp_path / "Aranet4 0C39F_2026-11-17T09_32_00+0000.csv"
    first.write_text("\n".join([HEADER, *rows[:7], '17/11/2026 09:33:00,"1,029",20.5,44,1012']))
    second = tmp_path / "Aranet4 0C39F_2026-11-17T10_00_00+0000.csv"
    second.write_text("\n".join([HEADER, *rows]))
    out = ventwatch("import", "--config", site_file, "--room", "Room 4", first)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1:] == [
        f"{first}: 8 rows read, 7 stored, 0 duplicates (already stored), 1 skipped",
        f"{first}: skipped 1: thousands separator (line 9)",
    ]
    assert f"{first}:9: skipped: thousands separator: co2_ppm '1,029'" in out.stderr
    out = ventwatch("import", "--config", site_file, "--room", "Room 4", second)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"{second}: Aranet4 export for 'Room 4' as sensor 'import:Aranet4 0C39F' (UTF-8, "
        "',' separated, decimal mark '.'; dates day first, from the header Time(dd/mm/yyyy))",
        f"{second}: 12 rows read, 5 stored, 7 duplicates (already stored), 0 skipped",
    ]
    out = ventwatch("import", "--config", site_file, "--room", "Room 4", second)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"{second}: nothing stored: all 12 readings were already stored"
    )
    store = DuckDBStore(tmp_path / "data" / "hillside.duckdb")
    try:
        frame = store.range(["Room 4"], utc(2026, 11, 17), utc(2026, 11, 18))
    finally:
        store.close()
    assert len(frame) == 12
    assert set(frame["sensor"]) == {"import:Aranet4 0C39F"}


def test_import_usage_errors_exit_2(site_file: Path, tmp_path: Path) -> None:
    aranet = DATA / "aranet_2021_days_up_to_12.csv"
    out = ventwatch("import", "--config", site_file, aranet)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith(f"{aranet}:1: error: an Aranet4 export holds one monitor's")
    out = ventwatch("import", "--config", site_file, "--room", "Room 4", aranet)
    assert out.returncode == 2
    assert f"{aranet}:1: error: the header Time does not say" in out.stderr
    assert "give --date-order dmy (31/12/2026) or --date-order mdy" in out.stderr
    out = ventwatch(
        "import", "--config", site_file, "--room", "Room 4", "--date-order", "ymd", aranet
    )
    assert out.returncode == 2
    assert "--date-order" in out.stderr
    out = ventwatch(
        "import", "--config", site_file, "--room", "Room 4", "--date-order", "dmy", aranet
    )
    assert out.returncode == 0, out.stderr
    assert "3 rows read, 3 stored" in out.stdout


def test_import_of_nothing_usable_exits_1(site_file: Path, tmp_path: Path) -> None:
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"time,room\n\x81\x8d\x8f\x90\x9d")
    out = ventwatch("import", "--config", site_file, binary)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == (
        f"{binary}:2: error: neither UTF-8 nor Windows-1252 text (byte 0x81): "
        "save it as CSV UTF-8\n"
    )
    out = ventwatch("import", "--config", site_file, tmp_path / "missing.csv")
    assert out.returncode == 1
    assert "error: cannot read" in out.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n" + "".join(f"17/11/2026 {h}:00:00,lots,,,\n" for h in range(24)))
    out = ventwatch("import", "--config", site_file, "--room", "Room 4", bad)
    assert out.returncode == 1
    assert len([line for line in out.stderr.splitlines() if ": skipped: " in line]) == 5
    assert f"{bad}: skipped 24: not a number (lines 2, 3, 4, 5, 6 and 19 more)" in out.stdout
    assert out.stderr.splitlines()[-1] == f"{bad}: nothing stored: no row could be read"


def test_a_store_that_fails_is_one_line(site_file: Path, tmp_path: Path) -> None:
    export = DATA / "aranet_mmdd_celsius.csv"
    (tmp_path / "data").mkdir()
    holder = duckdb.connect(str(tmp_path / "data" / "hillside.duckdb"))  # as `ventwatch run` does
    try:
        out = ventwatch("import", "--config", site_file, "--room", "Room 4", export)
    finally:
        holder.close()
    assert out.returncode == 1
    assert out.stderr.startswith(f"{export}: error: store duckdb:///")
    assert "lock" in out.stderr
    down = f"influxdb://127.0.0.1:{free_port()}/ventwatch"
    out = ventwatch(
        "import", "--config", site_file, "--room", "Room 4", export,
        env={**os.environ, "VENTWATCH_STORE_URL": down},
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1].startswith(
        f"{export}:3: error: store: StoreUnavailableError: "
    )
    assert out.stderr.splitlines()[-1].endswith("(0 readings stored before it)")


def test_a_bug_while_reading_rows_is_still_one_line(
    site_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing known raises while rows are read (the properties above say so); should
    something unknown, the command still ends in one line naming file and line."""

    def rows() -> Iterator[tuple[int, Reading | RowError]]:
        yield 2, RowError(2, "bad time", "x")
        raise RuntimeError("surprise")

    monkeypatch.setattr(
        cli.imports, "read_import", lambda *args, **kwargs: ImportFile("a form", (), 2, rows())
    )
    export = tmp_path / "x.csv"
    export.write_text("anything")
    result = CliRunner().invoke(cli.app, ["import", "--config", str(site_file), str(export)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"{export}:2: error: reading the row after this one failed (RuntimeError: surprise): "
        "please report it"
    )


def test_store_minute_means_match_analysis(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    t0 = datetime(2026, 11, 16, 9, tzinfo=UTC)
    store.write(
        [
            Reading(
                t0 + timedelta(seconds=20 * i),
                "S",
                room,
                f"s-{room}",
                "x",
                co2_ppm=500.0 + i * 7 % 300,
                temperature_c=20 + i % 3,
            )
            for i in range(200)
            for room in ("A", "B")
        ]
    )
    end = t0 + timedelta(hours=2)

    def tidy(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({"room": str}).sort_values(["room", "minute"])
        return frame.reset_index(drop=True)

    ours = tidy(minute_means(store.range(None, t0, end)))
    theirs = tidy(store.minute_means(None, t0, end)[list(ours.columns)])
    assert len(ours) == 2 * 67
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
