"""Readings from files: ventwatch's CSV (`time,room,co2_ppm,temperature_c[,humidity_pct...]`)
and the Aranet4 app's export of one monitor, in whatever form they arrive.

Files are where old monitoring lives (a term of Aranet4 exports, another system's dump), so a
bad row is reported with its line number and reason and skipped: the rest of the file still
counts. Values are checked against the same physical ranges as live messages.

The work is split by layer: `csv_import` turns bytes into cells (encodings, separators,
decimal marks) and reads ventwatch's CSV; `aranet` reads the app's export (header forms,
date orders, local times across clock changes); this module recognises which one a file is
and keeps the tally for the summary. All of it is pure (bytes in, readings and row errors
out); `ventwatch import` does the file and store I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ventwatch.config import SiteConfig
from ventwatch.ingest.aranet import (
    ORDER_WORDS,
    DateOrder,
    aranet_rows,
    read_header,
    resolve_order,
)
from ventwatch.ingest.csv_import import (
    SEPARATORS,
    BadRowError,
    ImportFormatError,
    ImportUsageError,
    Numbers,
    RowError,
    header_name,
    is_ventwatch,
    read_table,
    value_cells,
    ventwatch_rows,
)
from ventwatch.readings import Reading

__all__ = [
    "DateOrder",
    "ImportFile",
    "ImportFormatError",
    "ImportUsageError",
    "RowError",
    "Tally",
    "read_import",
    "sensor_for",
]

# The app names an export "<monitor name>_<local time of export>.csv", e.g.
# "Aranet4 0C39F_2023-04-07T17_14_19-0600.csv".
_APP_FILE_NAME = re.compile(r"(.+?)_\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}")


def sensor_for(filename: str) -> str:
    """The sensor id of an Aranet4 export's readings: the monitor's name when the file
    still has the app's name, so that overlapping exports of one monitor (this week's
    after last week's) find their shared readings already stored; else the file's name."""
    found = _APP_FILE_NAME.match(filename)
    return f"import:{found.group(1) if found else filename}"


@dataclass(frozen=True)
class ImportFile:
    """A file recognised and ready to read: what it was read as (`form`), what was said
    once for the whole file (`notes`), how many data rows it has, and the rows themselves,
    each with its line number, read lazily in file order."""

    form: str
    notes: tuple[str, ...]
    rows_read: int
    rows: Iterator[tuple[int, Reading | RowError]]


def read_import(
    data: bytes,
    site: SiteConfig,
    *,
    filename: str,
    room: str | None = None,
    date_order: DateOrder | None = None,
) -> ImportFile:
    """Recognise `data` as ventwatch's CSV or an Aranet4 export (`room`: the room its
    monitor stood in) and read it.

    Raises `ImportFormatError` for a file that cannot be read at all and `ImportUsageError`
    when the command must say more (`--room`, `--date-order`); every other problem is a
    `RowError` in `rows`."""
    table = read_table(data)
    layout = f"{table.encoding}, {SEPARATORS[table.separator]} separated"
    names = [header_name(cell) for cell in table.header]
    if is_ventwatch(names):
        if room is not None:
            raise ImportUsageError(
                table.header_line,
                "--room is for Aranet4 exports: this ventwatch CSV names each row's room",
            )
        rows = ventwatch_rows(table, site, f"import:{filename}")
        return ImportFile(f"ventwatch CSV ({layout})", (), len(table.rows), rows)
    header = read_header(table.header)
    if header is None:
        raise ImportFormatError(
            table.header_line,
            f"header {','.join(table.header)[:100]!r} is neither ventwatch's "
            "(time,room,co2_ppm,temperature_c[,...]) nor an Aranet4 export's "
            "(Time(dd/mm/yyyy),Carbon dioxide(ppm),...)",
        )
    if not header.columns:
        raise ImportFormatError(
            table.header_line, f"no column ventwatch can read: {'; '.join(header.notes)}"
        )
    rooms = [r.name for r in site.rooms]
    if room is None or room not in rooms:
        given = "give --room ROOM" if room is None else f"--room {room!r} is not a room of the site"
        raise ImportUsageError(
            table.header_line,
            f"an Aranet4 export holds one monitor's readings: {given} (rooms: {', '.join(rooms)})",
        )
    times = (
        (line, cells[header.time_index])
        for line, cells in table.rows
        if not isinstance(cells, BadRowError) and header.time_index < len(cells)
    )
    order = resolve_order(header, date_order, times, table.header_line)
    numbers = Numbers.infer(value_cells(table, [c.index for c in header.columns]), table.separator)
    sensor = sensor_for(filename)
    form = (
        f"Aranet4 export for {room!r} as sensor {sensor!r} ({layout}, decimal mark "
        f"{numbers.decimal!r}; dates {ORDER_WORDS[order.order]}, {order.why})"
    )
    where = (site.site.name, room, sensor)
    rows = aranet_rows(table, header, order.order, numbers, site.tz, where)
    return ImportFile(form, header.notes, len(table.rows), rows)


FIRST_LINES = 5  # line numbers shown per reason; the rest are counted


@dataclass
class Reason:
    """How many rows one reason cost, and the first few of their line numbers."""

    count: int = 0
    lines: list[int] = field(default_factory=list)


@dataclass
class Tally:
    """What became of a file's rows: read, stored, already in the store, and skipped (or
    kept without a value) by reason with the first few line numbers of each."""

    read: int
    readings: int = 0
    stored: int = 0
    skipped: dict[str, Reason] = field(default_factory=dict)
    left_out: dict[str, Reason] = field(default_factory=dict)

    def add(self, error: RowError) -> bool:
        """Count a row error; True while it is among the first few of its reason (the ones
        worth printing in full: a file read with the wrong date order fails every row)."""
        reason = (self.skipped if error.skipped else self.left_out).setdefault(
            error.reason, Reason()
        )
        reason.count += 1
        if len(reason.lines) < FIRST_LINES:
            reason.lines.append(error.line)
            return True
        return False

    @property
    def duplicates(self) -> int:
        """Readings the store already had (a file imported twice, overlapping exports)."""
        return self.readings - self.stored

    @property
    def skipped_rows(self) -> int:
        return sum(r.count for r in self.skipped.values())

    def summary(self) -> list[str]:
        lines = [
            f"{self.read} row{'' if self.read == 1 else 's'} read, {self.stored} stored, "
            f"{self.duplicates} duplicates (already stored), {self.skipped_rows} skipped"
        ]
        for kind, reasons in (("skipped", self.skipped), ("kept without a value", self.left_out)):
            for name, reason in sorted(reasons.items(), key=lambda item: -item[1].count):
                lines.append(f"{kind} {reason.count}: {name} ({_line_list(reason)})")
        return lines


def _line_list(reason: Reason) -> str:
    shown = ", ".join(str(n) for n in reason.lines)
    more = reason.count - len(reason.lines)
    return f"line{'s' if reason.count > 1 else ''} {shown}" + (f" and {more} more" if more else "")
