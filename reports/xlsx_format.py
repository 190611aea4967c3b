"""The report as an Excel workbook (openpyxl): a Summary sheet (the header, rooms by status,
and every room as one row with the CSV's columns), a Guidance sheet (what each band and
status means, and the sources), and a sheet per room (its figures, school days, estimates,
sensor health and actions).

Numbers are stored as numbers with number formats, never as text, so a rep can sort, sum
and chart them; dates are dates. Text that starts with "=" is stored as text, never as a
formula. Sheet names follow Excel's rules (`sheet_names`).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ventwatch.analysis.comfort import TemperatureResult
from ventwatch.analysis.profiles import Statuses, StatusLook
from ventwatch.register import AIR_CLEANER_CAVEAT
from ventwatch.reports.csv_format import (
    DAY_COLUMNS,
    ROOM_COLUMNS,
    Cell,
    room_day_rows,
    room_rows,
)
from ventwatch.reports.headings import HEADINGS
from ventwatch.reports.model import Report, RoomReport

SUMMARY: Final = "Summary"
GUIDANCE: Final = "Guidance"
MAX_SHEET_NAME: Final = 31  # UTF-16 code units, as Excel counts them
FORBIDDEN: Final = frozenset("[]:*?/\\")
# Excel keeps this name for its change tracking.
EXCEL_RESERVED: Final = ("History",)
BOLD: Final = Font(bold=True)
TITLE: Final = Font(bold=True, size=14)

# Column -> number format (the others are text, integers or true/false).
FORMATS: Final[dict[str, str]] = {
    "coverage_pct": "0.0",
    "co2_mean_ppm": "0",
    "pct_time_above_800": "0.0",
    "pct_time_above_1500": "0.0",
    "max_20min_mean_ppm": "0",
    "bb101_daily_mean_limit_ppm": "0",
    "temperature_min_c": "0.0",
    "temperature_mean_c": "0.0",
    "minimum_temperature_c": "0.0",
    "temperature_max_c": "0.0",
    "below_comfort_temperature_c": "0.0",
    "above_comfort_temperature_c": "0.0",
    "decay_ach": "0.00",
    "lps_per_person": "0.0",
    "lesson_peak_max_ppm": "0",
    "lesson_end_max_ppm": "0",
}
INTEGER: Final = "0"
DATE: Final = "yyyy-mm-dd"
DATE_TIME: Final = "yyyy-mm-dd hh:mm"
# The columns and rows holding a status: shown in the profile's words, symbol and colour
# (the CSV keeps the machine values).
STATUS_COLUMNS: Final = frozenset({"status", "previous_status", "consistently"})


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate(text: str, limit: int) -> str:
    while _units(text) > limit:
        text = text[:-1]
    return text


def _base(name: str) -> str:
    cleaned = "".join(
        "_" if c in FORBIDDEN or unicodedata.category(c).startswith("C") else c for c in name
    )
    cleaned = _truncate(cleaned.strip().strip("'").strip(), MAX_SHEET_NAME).strip().strip("'")
    return cleaned or "Room"


def sheet_names(names: Sequence[str], reserved: Sequence[str] = ()) -> list[str]:
    """A valid, unique worksheet name for each of `names`, in order: at most 31 characters,
    none of []:*?/\\ or control characters, not starting or ending with an apostrophe, and
    different, ignoring case, from each other, from `reserved` and from Excel's own."""
    taken = {r.casefold() for r in (*reserved, *EXCEL_RESERVED)}
    out = []
    for name in names:
        base = candidate = _base(name)
        n = 1
        while candidate.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            candidate = _truncate(base, MAX_SHEET_NAME - len(suffix)).rstrip("'") + suffix
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def _put(ws: Worksheet, row: int, column: int, value: Cell, fmt: str | None = None) -> None:
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # a room called "=SUM(A1)" stays a name, not a formula
    elif isinstance(value, datetime):
        cell.number_format = DATE_TIME
    elif isinstance(value, date):
        cell.number_format = DATE
    elif fmt is not None and isinstance(value, int | float) and not isinstance(value, bool):
        cell.number_format = fmt


def _status(ws: Worksheet, row: int, column: int, look: StatusLook) -> None:
    """A status as people read it: '✖ Poor' on its colour, in black or white, whichever
    reads on that colour."""
    cell = ws.cell(row=row, column=column, value=look.text)
    cell.data_type = "s"
    rgb = look.colour[1:]
    cell.fill = PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)
    red, green, blue = (int(rgb[i : i + 2], 16) for i in (0, 2, 4))
    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 140
    cell.font = Font(color="FFFFFF" if dark else "000000")


def _table(
    ws: Worksheet,
    top: int,
    columns: Sequence[str],
    rows: list[tuple[Cell, ...]],
    words: Statuses,
) -> int:
    """A header row (the columns in words) and rows from `top`; returns the next free row."""
    for c, name in enumerate(columns, start=1):
        _put(ws, top, c, HEADINGS[name])
        ws.cell(row=top, column=c).font = BOLD
    for r, row in enumerate(rows, start=top + 1):
        for c, (name, value) in enumerate(zip(columns, row, strict=True), start=1):
            if name in STATUS_COLUMNS and isinstance(value, str):
                _status(ws, r, c, words.of(value))  # type: ignore[arg-type]
            else:
                _put(ws, r, c, value, FORMATS.get(name, INTEGER))
    return top + len(rows) + 2


def _worded(
    pairs: Sequence[tuple[str, Cell, str | None]],
) -> list[tuple[str, Cell, str | None]]:
    """A room sheet's rows, named as the rooms CSV's columns, with their labels in words."""
    return [(HEADINGS[key], value, fmt) for key, value, fmt in pairs]


def _pairs(
    ws: Worksheet,
    top: int,
    pairs: Sequence[tuple[str, Cell, str | None]],
    words: Statuses | None = None,
) -> int:
    """Label and value rows from `top`; with `words`, a status row's value in its words."""
    statuses = {HEADINGS[c] for c in STATUS_COLUMNS}
    for r, (label, value, fmt) in enumerate(pairs, start=top):
        _put(ws, r, 1, label)
        ws.cell(row=r, column=1).font = BOLD
        if words is not None and label in statuses and isinstance(value, str):
            _status(ws, r, 2, words.of(value))  # type: ignore[arg-type]
        else:
            _put(ws, r, 2, value, fmt)
    return top + len(pairs) + 1


def _summary(ws: Worksheet, report: Report) -> None:
    h = report.header
    ws["A1"] = "Ventilation report"
    ws["A1"].font = TITLE
    generated = h.generated_at.astimezone(ZoneInfo(h.timezone)).replace(tzinfo=None)
    row = _pairs(
        ws,
        3,
        [
            ("Site", h.site, None),
            ("Period", h.period.label, None),
            ("From", h.period.first, None),
            ("To", h.period.last, None),
            ("School days", ", ".join(f"{d:%a %d %b}" for d in h.school_days), None),
            ("Guidance profile", f"{h.profile_id} {h.profile_version}: {h.profile_title}", None),
            ("Sources", ", ".join(s.key for s in h.sources), None),
            ("Hours counted", h.occupied_hours, None),
            (f"Generated ({h.timezone})", generated, None),
            ("ventwatch version", h.ventwatch_version, None),
        ],
    )
    _put(ws, row, 1, "Status")
    _put(ws, row, 2, "Rooms")
    _put(ws, row, 3, f"Previous period ({h.period.previous().label})")
    for c in (1, 2, 3):
        ws.cell(row=row, column=c).font = BOLD
    for i, (status, count) in enumerate(report.summary.counts.items(), start=row + 1):
        _status(ws, i, 1, report.words.of(status))
        _put(ws, i, 2, count, INTEGER)
        _put(ws, i, 3, report.summary.previous_counts[status], INTEGER)
    row += len(report.summary.counts) + 2
    top = row
    row = _table(ws, top, ROOM_COLUMNS, room_rows(report), report.words)
    ws.freeze_panes = ws.cell(row=top + 1, column=3).coordinate
    ws.auto_filter.ref = f"A{top}:{get_column_letter(len(ROOM_COLUMNS))}{top + len(report.rooms)}"
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 24
    for c in range(3, len(ROOM_COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 14


def _guidance(ws: Worksheet, report: Report) -> None:
    words = report.words
    row = _table(
        ws,
        1,
        ("band", "from_ppm", "below_ppm", "meaning", "what_to_do", "source", "from_the_source",
         "ventwatch_choice"),
        [
            (words.of(b.status).text, b.from_ppm, b.below_ppm, b.label, b.advice, b.source,
             b.source_part, b.ventwatch_part)
            for b in report.bands
        ],
        words,
    )  # fmt: skip
    c = report.consistently
    row = _table(
        ws,
        row,
        ("what", "meaning", "source", "from_the_source", "ventwatch_choice"),
        [
            *((words.of(n.status).text, n.meaning, n.source, n.source_part, n.ventwatch_part)
              for n in report.statuses),
            ("Consistently", c.rule, c.source, c.source_part, c.ventwatch_part),
            *(("BB101", n.name, n.source, n.source_part, n.ventwatch_part) for n in report.bb101),
            *(("Temperature", n.label, n.source, n.source_part, n.ventwatch_part)
              for n in report.temperature),
        ],
        words,
    )  # fmt: skip
    _table(
        ws,
        row,
        ("source", "title", "publisher", "year", "url", "checked"),
        [(s.key, s.title, s.publisher, s.year, s.url, s.status) for s in report.header.sources],
        words,
    )
    for column, width in zip("ABCDEFGH", (14, 40, 30, 50, 40, 14, 80, 60), strict=True):
        ws.column_dimensions[column].width = width


def _register(r: RoomReport) -> list[tuple[str, Cell, str | None]]:
    """The room's register as label/value rows, named as the rooms CSV's columns."""
    return [
        (f"register_{key}", value, INTEGER if key.startswith("windows_") else None)
        for key, value in r.register.values().items()
    ]


def _caveat(r: RoomReport) -> list[tuple[str, Cell, str | None]]:
    """Beside the CO2 figures of a room with an air cleaner: they say less there."""
    caveat = f"Air cleaner in this room: {AIR_CLEANER_CAVEAT}"
    return [("air_cleaner_caveat", caveat, None)] if r.register.air_cleaner else []


def _temperature_labels(t: TemperatureResult) -> list[tuple[str, Cell, str | None]]:
    """Each temperature label's figure and minutes, named as the rooms CSV's columns, and
    the label in words beside them (each has its own source)."""
    return [
        ("minimum_temperature_c", t.minimum_c, FORMATS["minimum_temperature_c"]),
        ("minutes_below_minimum_temperature", t.minutes_below_minimum, INTEGER),
        ("below_comfort_temperature_c", t.comfort_c[0], FORMATS["below_comfort_temperature_c"]),
        ("minutes_below_comfort_temperature", t.minutes_below_comfort, INTEGER),
        ("above_comfort_temperature_c", t.comfort_c[1], FORMATS["above_comfort_temperature_c"]),
        ("minutes_above_comfort_temperature", t.minutes_above_comfort, INTEGER),
        *((f"label_{x.key}", x.label, None) for x in t.labels),
    ]


def _room(ws: Worksheet, site: str, r: RoomReport, tz: ZoneInfo, words: Statuses) -> None:
    a, m, t, v = r.analysis, r.analysis.co2, r.analysis.temperature, r.analysis.ventilation
    ws["A1"] = a.room
    ws["A1"].data_type = "s"
    ws["A1"].font = TITLE
    row = _pairs(
        ws,
        3,
        _worded(
            [
                ("building", a.building, None),
                ("ventilation_type", a.ventilation_type, None),
                ("hours counted", a.schedule, None),
                ("status", m.status, None),
                ("status_reason", m.status_reason, None),
                ("status_source", m.status_source, None),
                ("consistently", a.consistently.status, None),
                ("consistently_reason", a.consistently.reason, None),
                ("coverage_pct", m.coverage_pct, FORMATS["coverage_pct"]),
                ("occupied_minutes", m.occupied_minutes, INTEGER),
                ("minutes_with_data", m.minutes_with_data, INTEGER),
                ("co2_mean_ppm", m.co2_mean_ppm, FORMATS["co2_mean_ppm"]),
                ("pct_time_above_800", m.pct_time_above_800, FORMATS["pct_time_above_800"]),
                ("pct_time_above_1500", m.pct_time_above_1500, FORMATS["pct_time_above_1500"]),
                ("longest_above_1500_min", m.longest_above_1500_min, INTEGER),
                ("max_20min_mean_ppm", m.max_20min_mean_ppm, FORMATS["max_20min_mean_ppm"]),
                *_caveat(r),
                ("bb101_days_over", a.bb101.days_failing, INTEGER),
                ("temperature_min_c", t.min_c, FORMATS["temperature_min_c"]),
                ("temperature_max_c", t.max_c, FORMATS["temperature_max_c"]),
                ("physical_effort", t.physical_effort, None),
                *_temperature_labels(t),
                ("cold_and_high_co2", t.cold_and_high_co2, None),
                ("cold_after_windows_opened", t.cold_because_windows_opened, None),
                *(
                    ("temperature_note", note, None)
                    for note in (t.stuffy_note, t.windows_note)
                    if note
                ),
                ("decay_ach", v.decay_ach, FORMATS["decay_ach"]),
                ("decay_note", v.decay_note, None),
                ("lps_per_person", v.lps_per_person, FORMATS["lps_per_person"]),
                ("steady_state_note", v.steady_state_note, None),
                ("health_notes", "; ".join(a.health.notes), None),
                ("previous_status", r.previous.status, None),
                ("change", r.change, None),
                *_register(r),
            ]
        ),
        words,
    )
    # The daily table without the site, room and building columns the sheet is about.
    days = [d[3:] for d in room_day_rows(site, r, tz)]
    row = _table(ws, row, DAY_COLUMNS[3:], days, words)
    _table(
        ws,
        row,
        ("taken_on", "step", "action", "note", "recorded_by"),
        [(x.taken_on, x.step, x.action, x.note, x.recorded_by) for x in r.actions],
        words,
    )
    ws.column_dimensions["A"].width = 34
    for c in range(2, len(DAY_COLUMNS)):
        ws.column_dimensions[get_column_letter(c)].width = 14


def render_xlsx(report: Report) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None  # a new workbook has one sheet
    summary.title = SUMMARY
    _summary(summary, report)
    _guidance(book.create_sheet(GUIDANCE), report)
    names = sheet_names([r.room for r in report.rooms], reserved=(SUMMARY, GUIDANCE))
    tz = ZoneInfo(report.header.timezone)
    for name, room in zip(names, report.rooms, strict=True):
        _room(book.create_sheet(name), report.header.site, room, tz, report.words)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
