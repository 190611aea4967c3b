"""Delimited text as people really have it, and ventwatch's own CSV.

Files reach `ventwatch import` after a phone app, a spreadsheet and an email have had their
way with them: UTF-8 with or without a byte-order mark, Windows-1252 after Excel re-saved
them, UTF-16 from Excel's "Unicode text"; commas, semicolons (where the comma is the decimal
mark) or tabs between fields; decimal commas; headers in any case. This module turns the
bytes into cells with their line numbers and decides, once per file, how numbers are
written, so that the format readers (`aranet`, `ventwatch_rows` below) deal with cells only.

Everything here is pure: bytes in, cells, readings and row errors out. A problem with one
row is a `RowError` (the rest of the file still counts); only a file that cannot be read at
all raises `ImportFormatError`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ventwatch.config import SiteConfig
from ventwatch.ingest.decoders.types import DecodeError, OutOfRangeError
from ventwatch.ingest.decoders.values import checked
from ventwatch.readings import QUANTITIES, Reading

# Readings outside these years are a corrupt cell, not an old term of data; the bound also
# keeps local-to-UTC conversion clear of datetime's limits.
YEARS = (1970, 2100)


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (its encoding or header), as opposed to one bad
    row; `line` says where."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class ImportUsageError(ImportFormatError):
    """The file is readable but the command has to say more, or something else (`--room`,
    `--date-order`): the person fixes the command line, not the file."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One row that was skipped (or kept without a value, `skipped=False`).

    `reason` is short and fixed ("not a number", "thousands separator", ...) so that a
    summary can count rows by it; `message` says what exactly was wrong with this row."""

    line: int
    reason: str
    message: str
    skipped: bool = True


class BadRowError(Exception):
    """Raised while reading one row; becomes that row's `RowError`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def row_error(line: int, exc: Exception) -> RowError:
    """The `RowError` for an exception raised while reading a row: ours, or the shared
    value checks' (the same physical ranges as live messages)."""
    if isinstance(exc, BadRowError):
        return RowError(line, exc.reason, exc.message)
    if isinstance(exc, OutOfRangeError):
        return RowError(line, "out of range", str(exc))
    return RowError(line, "no values", str(exc))


def left_out(line: int, dropped: Sequence[str]) -> RowError:
    """The note for a row kept without its impossible values."""
    return RowError(line, "out of range", f"left out {'; '.join(dropped)}", skipped=False)


# -- bytes to cells --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    """A delimited file split into cells: the header and every non-blank row after it, each
    with its line number (as an editor counts them). A row whose quoting is broken holds
    its `BadRowError` instead of cells."""

    encoding: str
    separator: str
    header_line: int
    header: tuple[str, ...]
    rows: tuple[tuple[int, list[str] | BadRowError], ...]

    def width(self, cells: list[str]) -> list[str]:
        """The row's cells, checked against the header's count: empty cells past the
        header's last column are dropped (a trailing separator), anything else is an error."""
        if len(cells) > len(self.header) and not any(c.strip() for c in cells[len(self.header) :]):
            cells = cells[: len(self.header)]
        if len(cells) != len(self.header):
            raise BadRowError(
                "wrong number of fields", f"{len(cells)} fields, the header has {len(self.header)}"
            )
        return cells


SEPARATORS = {",": "','", ";": "';'", "\t": "tab"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SEP_HINT = re.compile(r"(?i)sep=(.)\s*")  # Excel's first-line hint: "sep=;"


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the name of its encoding.

    UTF-8 first (with a BOM it is Excel's "CSV UTF-8"); failing that Windows-1252, what
    Excel's plain "CSV" writes on a Western Windows (where `°` is one byte and `₂` cannot be
    written at all); UTF-16 only with its BOM (Excel's "Unicode text")."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name, codec, body = "UTF-16", "utf-16", data
    elif data.startswith(codecs.BOM_UTF8):
        name, codec, body = "UTF-8 with BOM", "utf-8", data[len(codecs.BOM_UTF8) :]
    else:
        try:
            return data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            name, codec, body = "Windows-1252", "cp1252", data
    try:
        return body.decode(codec), name
    except UnicodeDecodeError as exc:
        line = body[: exc.start].decode(codec, errors="replace").count("\n") + 1
        what = "neither UTF-8 nor Windows-1252" if codec == "cp1252" else f"not {name}"
        raise ImportFormatError(
            line, f"{what} text (byte 0x{body[exc.start]:02x}): save it as CSV UTF-8"
        ) from None


def _split(line: str, separator: str, strict: bool = True) -> list[str]:
    return next(csv.reader([line], delimiter=separator, strict=strict), [])


def sniff_separator(header: str) -> str:
    """The separator that splits the header into the most fields (a header names every
    column, so it is the most reliable line to judge by); ties go to the comma."""
    counts = {sep: len(_split(header, sep, strict=False)) for sep in SEPARATORS}
    return max(SEPARATORS, key=lambda sep: counts[sep])


def read_table(data: bytes) -> Table:
    """Decode, find the header (after blank lines and an Excel `sep=` hint), sniff the
    separator and split every row. Quoted fields spanning lines are not supported: none of
    the formats read here writes one, and a line-per-row reading keeps line numbers exact."""
    text, encoding = decode(data)
    lines = enumerate(_LINE_BREAK.split(text), start=1)
    filled = [(number, line) for number, line in lines if line.strip()]
    if not filled:
        raise ImportFormatError(1, "the file is empty")
    separator: str | None = None
    hint = _SEP_HINT.fullmatch(filled[0][1].strip("\ufeff"))
    if hint and hint.group(1) in SEPARATORS:
        separator = hint.group(1)
        if len(filled) == 1:
            raise ImportFormatError(filled[0][0], "no header after the sep= line")
        filled = filled[1:]
    header_line, header_text = filled[0]
    separator = separator or sniff_separator(header_text)
    try:
        header = tuple(_split(header_text, separator))
    except csv.Error as exc:
        raise ImportFormatError(header_line, f"header: {exc}") from None
    if len(header) < 2:
        raise ImportFormatError(
            header_line,
            f"one column only ({header_text[:60]!r}): not a CSV file with a header "
            "(e.g. Time(dd/mm/yyyy),Carbon dioxide(ppm),... or time,room,co2_ppm,...)",
        )
    rows: list[tuple[int, list[str] | BadRowError]] = []
    for number, line in filled[1:]:
        try:
            rows.append((number, _split(line, separator)))
        except csv.Error as exc:
            rows.append((number, BadRowError("bad quoting", str(exc))))
    return Table(encoding, separator, header_line, header, tuple(rows))


def header_name(cell: str) -> str:
    """A header cell as it was meant, for matching: text that went through UTF-8 -> 1252
    -> UTF-8 once too often repaired (`Â°C` is `°C`, `â‚‚` is `₂`), compatibility forms
    folded (`₂` is `2`, `℃` is `°C`), spacing collapsed, case folded."""
    if any(c in cell for c in "ÂÃâ"):
        with contextlib.suppress(UnicodeError):
            cell = cell.encode("cp1252").decode("utf-8")
    cell = unicodedata.normalize("NFKC", cell.replace("\ufeff", ""))
    return " ".join(cell.split()).casefold()


# -- numbers ---------------------------------------------------------------------------------

_FRACTION = re.compile(r"[+-]?\d*([.,])(\d+)")
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_SIMPLE = re.compile(r"\d{1,15}(?:([.,])\d{1,15})?")  # short enough to be finite
_GROUPED = {
    ".": re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"),
    ",": re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"),
}
_SPACE_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d*)?")
# CO2 is a whole number of ppm, at least ~400: "1,029" or "1.029" can only be 1029 written
# with a thousands separator, whatever the file's decimal mark.
_CO2_GROUPED = re.compile(r"\d{1,2}[.,]\d{3}")


@dataclass(frozen=True, slots=True)
class Numbers:
    """How one file writes numbers: its decimal mark, decided once from the whole file.

    A number with a thousands separator is an error for its row, never a guess: "1,029"
    read with a decimal comma would be a CO2 of 1.029 ppm."""

    decimal: str

    @property
    def group(self) -> str:
        return "," if self.decimal == "." else "."

    @classmethod
    def infer(cls, cells: Iterable[str], separator: str) -> Numbers:
        """The decimal mark most value cells use. A fraction of exactly three digits says
        nothing ("1,029" may be grouped), so only other fractions count as evidence; with
        none, a semicolon-separated file (what spreadsheets write where the comma is the
        decimal mark) has decimal commas and any other file decimal points."""
        counts = {".": 0, ",": 0}
        for cell in cells:
            if "." not in cell and "," not in cell:
                continue
            found = _FRACTION.fullmatch(cell.strip())
            if found and len(found.group(2)) != 3:
                counts[found.group(1)] += 1
        if counts[","] != counts["."]:
            return cls("," if counts[","] > counts["."] else ".")
        return cls("," if separator == ";" else ".")

    def parse(self, text: str, quantity: str) -> float | None:
        """The cell's value; None when empty; `BadRowError` when it is not a plain number."""
        text = text.strip()
        if not text:
            return None
        simple = _SIMPLE.fullmatch(text)  # the common case, decided without the other patterns
        if simple is not None and (
            simple.group(1) is None
            or (
                simple.group(1) == self.decimal
                and not (quantity == "co2_ppm" and _CO2_GROUPED.fullmatch(text))
            )
        ):
            return float(text.replace(",", "."))
        if (
            _SPACE_GROUPED.fullmatch(text)
            or _GROUPED[self.group].fullmatch(text)
            or (quantity == "co2_ppm" and _CO2_GROUPED.fullmatch(text))
        ):
            raise BadRowError(
                "thousands separator",
                f"{quantity} {text!r} has a thousands separator: export the number without one",
            )
        if self.group in text:
            raise BadRowError(
                "not a number", f"{quantity} {text!r}: this file's decimal mark is {self.decimal!r}"
            )
        plain = text.replace(",", ".") if self.decimal == "," else text
        if not _PLAIN.fullmatch(plain):
            raise BadRowError("not a number", f"{quantity} {text[:30]!r} is not a number")
        value = float(plain)
        if not math.isfinite(value):
            raise BadRowError("not a number", f"{quantity} {text[:30]!r} is too large")
        return value


def value_cells(table: Table, columns: Sequence[int]) -> Iterator[str]:
    """The cells of the given columns in every well-formed row: what `Numbers.infer` reads."""
    for _, cells in table.rows:
        if not isinstance(cells, BadRowError):
            yield from (cells[i] for i in columns if i < len(cells))


def check_year(time: datetime) -> None:
    if not YEARS[0] <= time.year <= YEARS[1]:
        raise BadRowError("bad time", f"year {time.year} is outside {YEARS[0]}..{YEARS[1]}")


# -- ventwatch's own CSV ---------------------------------------------------------------------

REQUIRED = ("time", "room", "co2_ppm", "temperature_c")


def is_ventwatch(names: Sequence[str]) -> bool:
    """Whether a header (`header_name`s) is ventwatch's CSV: it names a room column or a
    quantity by ventwatch's key. A partial one is still ours, so that its error says which
    columns are missing."""
    return any(name in names for name in ("room", *QUANTITIES))


def ventwatch_rows(
    table: Table, site: SiteConfig, source: str
) -> Iterator[tuple[int, Reading | RowError]]:
    """Rows of the ventwatch CSV: time (ISO 8601 with offset), room, values by key.

    The sensor id is the optional `sensor` column, else `<source>/<room>`: one series per
    room, so that rooms measured at the same instants stay apart."""
    names = [header_name(cell) for cell in table.header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ImportFormatError(
            table.header_line,
            f"header lacks {', '.join(missing)} (needs {','.join(REQUIRED)}[,humidity_pct,...])",
        )
    columns = {name: names.index(name) for name in reversed(names)}  # the first of a name
    quantities = [q for q in QUANTITIES if q in columns]
    numbers = Numbers.infer(value_cells(table, [columns[q] for q in quantities]), table.separator)
    rooms = {r.name for r in site.rooms}
    for line, cells in table.rows:
        try:
            if isinstance(cells, BadRowError):
                raise cells
            cells = table.width(cells)
            time = _iso_time(cells[columns["time"]])
            room = cells[columns["room"]].strip()
            if room not in rooms:
                raise BadRowError("unknown room", f"unknown room {room[:60]!r}")
            values = {q: numbers.parse(cells[columns[q]], q) for q in quantities}
            sensor = cells[columns["sensor"]].strip() if "sensor" in columns else ""
            sensor = sensor or f"{source}/{room}"
            reading = checked(sensor, time, values)
        except (BadRowError, DecodeError) as exc:
            yield line, row_error(line, exc)
            continue
        if reading.dropped:
            yield line, left_out(line, reading.dropped)
        yield (
            line,
            Reading(
                time=time,
                site=site.site.name,
                room=room,
                sensor=sensor,
                family="import",
                **reading.values,
            ),
        )


def _iso_time(text: str) -> datetime:
    text = text.strip()
    try:
        time = datetime.fromisoformat(text)
    except ValueError:
        raise BadRowError("bad time", f"time {text[:40]!r} is not ISO 8601") from None
    if time.tzinfo is None:
        raise BadRowError(
            "time without UTC offset",
            f"time {text[:40]!r} has no UTC offset (write e.g. 2026-11-17T09:15:00+00:00)",
        )
    check_year(time)
    try:
        return time.astimezone(UTC)
    except OverflowError:
        raise BadRowError("bad time", f"time {text[:40]!r} is out of range") from None
