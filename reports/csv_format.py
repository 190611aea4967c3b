"""The report as CSV, for spreadsheets and scripts: one row per room (`render_csv`), or one
row per room and school day (`render_daily_csv`). UTF-8, comma-separated, a header row, and
numbers written plainly (a dot for decimals, no thousands separator, no units); an empty
cell means "no value" (no data, or not judged). The columns are a contract, listed here and
in docs/staff.md; new columns are only ever added at the end.

Rooms CSV (`--format csv`), one row per room:

- site, room, building, ventilation_type: from the site file;
- from, to: the report's first and last dates (YYYY-MM-DD, inclusive); period: its label
  (2026-W47, or "FROM to TO");
- profile_id, profile_version: the guidance profile applied;
- status (green, amber, red, grey), status_reason, status_source: the period's judgement
  and the source key of the rule that decided it (empty for green and grey);
- coverage_pct, occupied_minutes, minutes_with_data: occupied minutes with a reading;
- co2_mean_ppm, pct_time_above_800, pct_time_above_1500, longest_above_1500_min,
  max_20min_mean_ppm: as in `ventwatch analyse --format json`;
- bb101_daily_mean_limit_ppm, bb101_days_over, bb101_days_with_data: each school day
  (start to end, breaks and lunch included) against BB101's daily mean and 20-minute
  ceiling for the mode the room ran in and its building type; the limit is empty when a
  hybrid room changed mode within the period, and days with data are the days judged (a
  day needs the status's coverage);
- temperature_min_c, temperature_mean_c, minimum_temperature_c (the room's "cold": ACoP
  L24's 16 °C, or its 13 °C in a room the site file marks `physical_effort: severe`),
  minutes_below_minimum_temperature (occupied minutes cold);
- cold_and_high_co2: true or false: at least 20 occupied minutes below comfort (NEU's
  18 °C) with CO2 over the amber figure (windows likely kept shut to stay warm);
  cold_after_windows_opened: true or false: at least 20 occupied minutes below comfort in
  runs that began as CO2 and temperature fell sharply mid-lesson, so windows were
  *possibly* opened (an inference; falls in a lesson's last 10 minutes are the class
  leaving, not windows);
- offline_minutes, drift_suspected, health_notes ("; "-separated);
- decay_ach, lps_per_person: ventilation estimates, empty when none could be made;
- previous_status, change (better, worse, same, not comparable): against the previous
  period of the same length;
- actions_logged: how many actions the action log holds for the room in the period;
- register_windows_working, register_windows_restricted, register_windows_painted_shut,
  register_windows_broken (openable windows by state), register_mechanical ("none", or
  what the plant is), register_mechanical_working, register_air_cleaner (true: CO2 says
  less there), register_assessed_on, register_review_due (YYYY-MM-DD),
  register_shared_with_staff, register_shared_where, register_notes: the room's register
  (the guide's step 2) as the site file and the dashboard's edits have it when the report
  is made; empty: not recorded;
- physical_effort (normal, severe: the site file's, which sets minimum_temperature_c),
  temperature_max_c, below_comfort_temperature_c and minutes_below_comfort_temperature
  (NEU's 18 °C minimum), above_comfort_temperature_c and minutes_above_comfort_temperature
  (NEU's 26 °C maximum): each temperature label with its own figure, apart from "cold".

Daily CSV (`--format daily-csv`), one row per room and school day it was in use:

- site, room, building, date (YYYY-MM-DD), weekday (Mon..Sun);
- status, status_reason, coverage_pct, occupied_minutes, minutes_with_data,
  co2_mean_ppm, pct_time_above_800, pct_time_above_1500, longest_above_1500_min,
  max_20min_mean_ppm: that day alone, as above;
- bb101_under_daily_limit: true (within BB101's daily mean and its 20-minute ceiling),
  false, or empty (not judged: too little data that day);
- temperature_min_c, minutes_below_minimum_temperature;
- lessons: each lesson of the day (a run of occupied minutes between breaks) as
  "08:45-10:45 peak 1620 end 1480", "; "-separated, local times, whole ppm ("no data" for a
  value the series has a gap for); lesson_peak_max_ppm, lesson_end_max_ppm: the day's
  highest lesson peak and highest end-of-lesson value;
- temperature_max_c, minutes_below_comfort_temperature, minutes_above_comfort_temperature:
  that day alone, as above.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (a room named
"=1+1" or "-1.05") is written with a `'` before it (`text_cell`), as every CSV ventwatch
writes: a spreadsheet would otherwise run it as a formula (OWASP's "CSV injection"). Numbers
are never prefixed: a temperature of -1.5 stays the number -1.5.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Final
from zoneinfo import ZoneInfo

from ventwatch.analysis.lessons import Lesson
from ventwatch.reports.model import Report, RoomReport

ROOM_COLUMNS: Final = (
    "site",
    "room",
    "building",
    "ventilation_type",
    "from",
    "to",
    "period",
    "profile_id",
    "profile_version",
    "status",
    "status_reason",
    "status_source",
    "coverage_pct",
    "occupied_minutes",
    "minutes_with_data",
    "co2_mean_ppm",
    "pct_time_above_800",
    "pct_time_above_1500",
    "longest_above_1500_min",
    "max_20min_mean_ppm",
    "bb101_daily_mean_limit_ppm",
    "bb101_days_over",
    "bb101_days_with_data",
    "temperature_min_c",
    "temperature_mean_c",
    "minimum_temperature_c",
    "minutes_below_minimum_temperature",
    "cold_and_high_co2",
    "cold_after_windows_opened",
    "offline_minutes",
    "drift_suspected",
    "health_notes",
    "decay_ach",
    "lps_per_person",
    "previous_status",
    "change",
    "actions_logged",
    "register_windows_working",
    "register_windows_restricted",
    "register_windows_painted_shut",
    "register_windows_broken",
    "register_mechanical",
    "register_mechanical_working",
    "register_air_cleaner",
    "register_assessed_on",
    "register_review_due",
    "register_shared_with_staff",
    "register_shared_where",
    "register_notes",
    "physical_effort",
    "temperature_max_c",
    "below_comfort_temperature_c",
    "minutes_below_comfort_temperature",
    "above_comfort_temperature_c",
    "minutes_above_comfort_temperature",
)
DAY_COLUMNS: Final = (
    "site",
    "room",
    "building",
    "date",
    "weekday",
    "status",
    "status_reason",
    "coverage_pct",
    "occupied_minutes",
    "minutes_with_data",
    "co2_mean_ppm",
    "pct_time_above_800",
    "pct_time_above_1500",
    "longest_above_1500_min",
    "max_20min_mean_ppm",
    "bb101_under_daily_limit",
    "temperature_min_c",
    "minutes_below_minimum_temperature",
    "lessons",
    "lesson_peak_max_ppm",
    "lesson_end_max_ppm",
    "temperature_max_c",
    "minutes_below_comfort_temperature",
    "minutes_above_comfort_temperature",
)

Cell = str | int | float | bool | date | None
# What makes a spreadsheet take a cell as a formula (the audit log's CSV guards the same).
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def room_rows(report: Report) -> list[tuple[Cell, ...]]:
    """The rooms table as values (the XLSX summary sheet writes the same rows)."""
    h = report.header
    rows: list[tuple[Cell, ...]] = []
    for r in report.rooms:
        a, m = r.analysis, r.analysis.co2
        t, v = a.temperature, a.ventilation
        rows.append(
            (
                h.site,
                a.room,
                a.building,
                a.ventilation_type,
                h.period.first,
                h.period.last,
                h.period.label,
                h.profile_id,
                h.profile_version,
                m.status,
                m.status_reason,
                m.status_source,
                m.coverage_pct,
                m.occupied_minutes,
                m.minutes_with_data,
                m.co2_mean_ppm,
                m.pct_time_above_800,
                m.pct_time_above_1500,
                m.longest_above_1500_min,
                m.max_20min_mean_ppm,
                a.bb101.daily_mean_limit_ppm,
                a.bb101.days_failing,
                sum(1 for d in a.bb101.days if d.passes is not None),
                t.min_c,
                t.mean_c,
                t.minimum_c,
                t.minutes_below_minimum,
                t.cold_and_high_co2,
                t.cold_because_windows_opened,
                a.health.offline_minutes,
                a.health.drift_suspected,
                "; ".join(a.health.notes),
                v.decay_ach,
                v.lps_per_person,
                r.previous.status,
                r.change,
                len(r.actions),
                *r.register.values().values(),
                t.physical_effort,
                t.max_c,
                t.comfort_c[0],
                t.minutes_below_comfort,
                t.comfort_c[1],
                t.minutes_above_comfort,
            )
        )
    return rows


def lessons_text(lessons: Sequence[Lesson], tz: ZoneInfo) -> str:
    """'08:45-10:45 peak 1620 end 1480; 11:05-12:15 peak 1210 end no data': what a rep
    would write down, in one cell."""

    def ppm(value: float | None) -> str:
        return "no data" if value is None else f"{value:.0f}"

    return "; ".join(
        f"{x.start.astimezone(tz):%H:%M}-{x.end.astimezone(tz):%H:%M} "
        f"peak {ppm(x.peak_ppm)} end {ppm(x.end_ppm)}"
        for x in lessons
    )


def _highest(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def room_day_rows(site: str, room: RoomReport, tz: ZoneInfo) -> list[tuple[Cell, ...]]:
    """A room's rows of the daily table (the XLSX room sheets write the same rows); `tz`
    is the site's, for the lessons' times."""
    rows: list[tuple[Cell, ...]] = []
    for d in room.days:
        m = d.co2
        rows.append(
            (
                site,
                room.room,
                room.analysis.building,
                d.day,
                f"{d.day:%a}",
                m.status,
                m.status_reason,
                m.coverage_pct,
                m.occupied_minutes,
                m.minutes_with_data,
                m.co2_mean_ppm,
                m.pct_time_above_800,
                m.pct_time_above_1500,
                m.longest_above_1500_min,
                m.max_20min_mean_ppm,
                d.bb101_passes,
                d.temperature.min_c,
                d.temperature.minutes_below_minimum,
                lessons_text(d.lessons, tz),
                _highest([x.peak_ppm for x in d.lessons]),
                _highest([x.end_ppm for x in d.lessons]),
                d.temperature.max_c,
                d.temperature.minutes_below_comfort,
                d.temperature.minutes_above_comfort,
            )
        )
    return rows


def day_rows(report: Report) -> list[tuple[Cell, ...]]:
    tz = ZoneInfo(report.header.timezone)
    return [row for r in report.rooms for row in room_day_rows(report.header.site, r, tz)]


def text_cell(value: str) -> str:
    """Text as a CSV cell a spreadsheet keeps as text: quoted with `'` when it would run as a
    formula. Only for text: a number's minus sign is not a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return text_cell(value)
    return str(value)  # a float as its shortest round-trip form: 683.3, 100.0


def _write(columns: Sequence[str], rows: list[tuple[Cell, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def render_csv(report: Report) -> str:
    """One row per room (the columns are in this module's docstring)."""
    return _write(ROOM_COLUMNS, room_rows(report))


def render_daily_csv(report: Report) -> str:
    """One row per room and school day the room was in use."""
    return _write(DAY_COLUMNS, day_rows(report))
