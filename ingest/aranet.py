"""The Aranet4 app's CSV export: one monitor's log, local wall-clock times, units in the header.

The app has written its header in several forms over the years (each one seen in public
material, listed in tests/testdata/import/README.md):

    Time,CO₂(ppm),Temperature(C),Humidity(%),Pressure(hPa)
    Time(dd/mm/yyyy),Carbon dioxide(ppm),Temperature(°C),Relative humidity(%),Atmospheric
        pressure(hPa)
    Time(mm/dd/yyyy),...
    Time(DD/MM/YYYY H:mm:ss),...
    Time(DD/MM/YYYY h:mm:ss A),...   (a 12-hour clock: "07/10/2021 2:37:48 PM")
    Time(MM/DD/YYYY h:mm:ss A),...

with temperature in °C or °F and pressure in hPa or mmHg as the app is set, values quoted
("907") and, once a spreadsheet has re-saved the file, seconds dropped and quotes gone. So
columns are found by name, units read from the header, and the date order taken from the
header when it says, else from the file when a day above 12 settles it, else asked for
(`--date-order`): a wrong guess would put a term of readings on the wrong days silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ventwatch.ingest.csv_import import (
    BadRowError,
    ImportUsageError,
    Numbers,
    RowError,
    Table,
    check_year,
    header_name,
    left_out,
    row_error,
)
from ventwatch.ingest.decoders.types import DecodeError
from ventwatch.ingest.decoders.units import convert
from ventwatch.ingest.decoders.values import checked
from ventwatch.readings import QUANTITIES, Reading


class DateOrder(StrEnum):
    """Which number of `03/04/2026` is the day: `dmy` (3 April) or `mdy` (4 March)."""

    dmy = "dmy"
    mdy = "mdy"


ORDER_WORDS = {DateOrder.dmy: "day first", DateOrder.mdy: "month first"}

TIME_NAMES = frozenset({"time", "date", "date time", "datetime", "timestamp"})
# Header names (after `header_name`) -> quantity. "co?" is `CO₂` saved as Windows-1252,
# which has no `₂`: Excel writes a question mark.
QUANTITY_NAMES = {
    "carbon dioxide": "co2_ppm",
    "co2": "co2_ppm",
    "co?": "co2_ppm",
    "temperature": "temperature_c",
    "temp": "temperature_c",
    "relative humidity": "humidity_pct",
    "humidity": "humidity_pct",
    "rh": "humidity_pct",
    "atmospheric pressure": "pressure_hpa",
    "pressure": "pressure_hpa",
    "barometric pressure": "pressure_hpa",
    "battery": "battery_pct",
}
# Units that are already the quantity's own (or no unit at all: the app always writes one).
NATIVE_UNITS = {
    "co2_ppm": {"", "ppm"},
    "temperature_c": {"", "c", "°c"},
    "humidity_pct": {"", "%", "%rh"},
    "pressure_hpa": {"", "hpa", "mbar"},
    "battery_pct": {"", "%"},
}
# Pressure units besides hPa, in hPa: mmHg (the app's other setting), atm (seen in a public
# loader of the app's exports), and two more a re-worked file may carry.
PRESSURE_UNITS = {"mmhg": 1.33322387, "torr": 1.33322368, "inhg": 33.8638866, "atm": 1013.25}
_NAME_UNIT = re.compile(r"(.*?)\s*(?:\((.*)\))?")


@dataclass(frozen=True, slots=True)
class Column:
    """A value column: where, which quantity, and how to get it into ventwatch's unit
    (None: it already is)."""

    index: int
    quantity: str
    convert: Callable[[float], float] | None


@dataclass(frozen=True, slots=True)
class AranetHeader:
    time_index: int
    time_cell: str  # as written, for messages: "Time(DD/MM/YYYY H:mm:ss)"
    order: str | None  # "dmy", "mdy" or "ymd" when the header says
    columns: tuple[Column, ...]
    notes: tuple[str, ...]  # columns converted or left out, said once for the file


def _converter(quantity: str, unit: str) -> Callable[[float], float] | None:
    """How to convert `unit` to the quantity's own; raises KeyError for a unit ventwatch
    does not convert."""
    if unit in NATIVE_UNITS[quantity]:
        return None
    if quantity == "pressure_hpa" and unit in PRESSURE_UNITS:
        factor = PRESSURE_UNITS[unit]
        return lambda value: round(value * factor, 2)
    try:
        convert(quantity, 0.0, unit)
    except DecodeError:
        raise KeyError(unit) from None
    return lambda value: convert(quantity, value, unit)


def _date_order_of(spec: str) -> str | None:
    """The order a time column's header states: `dd/mm/yyyy H:mm:ss` -> "dmy"."""
    date = spec.split(" ")[0]
    places = {part: date.find(part) for part in "dmy"}
    if min(places.values()) < 0:
        return None
    order = "".join(sorted(places, key=lambda part: places[part]))
    return order if order in ("dmy", "mdy", "ymd") else None


def read_header(cells: Sequence[str]) -> AranetHeader | None:
    """The export's header, or None when `cells` is not one (no time column, or no column
    of a quantity ventwatch keeps)."""
    time_index: int | None = None
    order: str | None = None
    columns: list[Column] = []
    notes: list[str] = []
    taken: set[str] = set()
    for index, cell in enumerate(cells):
        found = _NAME_UNIT.fullmatch(header_name(cell))
        assert found is not None  # every string matches
        name, spec = found.group(1), (found.group(2) or "").strip()
        unit = spec.replace(" ", "").replace("º", "°").replace("˚", "°")
        if name in TIME_NAMES and time_index is None:
            time_index, order = index, _date_order_of(spec)
        elif name in QUANTITY_NAMES and QUANTITY_NAMES[name] not in taken:
            quantity = QUANTITY_NAMES[name]
            taken.add(quantity)
            try:
                conversion = _converter(quantity, unit)
            except KeyError:
                notes.append(f"{cell!r}: unit {spec!r} is not one ventwatch converts: left out")
                continue
            if conversion is not None:
                notes.append(f"{cell!r} converted to {QUANTITIES[quantity]}")
            columns.append(Column(index, quantity, conversion))
        elif cell.strip():
            notes.append(f"column {cell!r} ignored")
    if time_index is None or not taken:
        return None
    time_cell = cells[time_index].strip()
    return AranetHeader(time_index, time_cell, order, tuple(columns), tuple(notes))


# -- times -----------------------------------------------------------------------------------

_STAMP = re.compile(
    r"(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})"  # d/m/yyyy, m/d/yyyy or yyyy-m-d
    r"(?:\s+|T|,\s*)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"  # H:mm[:ss[.fff]]
    r"(?:\s*([ap])\.?\s?m\.?)?",  # AM/PM
    re.IGNORECASE,
)


def _date_fields(text: str) -> tuple[int, int] | None:
    """The first two numbers of a day/month date (`13/10/2021` -> (13, 10)), or None for a
    year-first date or no date: what the date order is inferred from."""
    found = _STAMP.fullmatch(text.strip())
    if found is None or len(found.group(1)) > 2:
        return None
    return int(found.group(1)), int(found.group(3))


def local_time(text: str, order: DateOrder) -> datetime:
    """A row's wall-clock time, as the app wrote it (no time zone)."""
    text = text.strip()
    found = _STAMP.fullmatch(text)
    if found is None:
        raise BadRowError(
            "bad time",
            f"time {text[:40]!r} is not a date and time (like 17/11/2026 9:05:00 [AM|PM])",
        )
    first, _, second, third, hour_text, minute, seconds, half = found.groups()
    if len(first) == 4:
        year, month, day = int(first), int(second), int(third)
    elif len(third) == 4:
        year = int(third)
        day, month = (int(first), int(second)) if order == "dmy" else (int(second), int(first))
    else:
        raise BadRowError("bad time", f"time {text[:40]!r}: the year needs four digits")
    hour = int(hour_text)
    if half:
        if not 1 <= hour <= 12:
            raise BadRowError("bad time", f"time {text[:40]!r}: hour {hour} on a 12-hour clock")
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    try:
        naive = datetime(year, month, day, hour, int(minute), int(seconds or 0))
    except ValueError as exc:
        raise BadRowError(
            "bad time", f"time {text[:40]!r} read {ORDER_WORDS[order]}: {exc}"
        ) from None
    check_year(naive)
    return naive


@dataclass(frozen=True, slots=True)
class Order:
    """The date order used for a file, and why (for the summary)."""

    order: DateOrder
    why: str


def resolve_order(
    header: AranetHeader,
    option: DateOrder | None,
    times: Iterable[tuple[int, str]],
    header_line: int,
) -> Order:
    """The file's date order: `--date-order` when given; else the header's, unless the
    dates contradict it (a spreadsheet re-saves dates in its own locale's order under the
    app's header); else the one a day above 12 proves; else a date that reads the same
    both ways needs none. Anything else is `ImportUsageError` naming `--date-order`."""
    day_first: tuple[int, str] | None = None
    month_first: tuple[int, str] | None = None
    ambiguous = False
    for line, text in times:
        fields = _date_fields(text)
        if fields is None:
            continue
        if fields[0] > 12 and day_first is None:
            day_first = (line, text.strip())
        if fields[1] > 12 and month_first is None:
            month_first = (line, text.strip())
        ambiguous = ambiguous or fields[0] != fields[1]
    if option is not None:
        return Order(option, "from --date-order")
    if header.order in ("dmy", "mdy"):
        stated = DateOrder(header.order)
        other = DateOrder.mdy if stated is DateOrder.dmy else DateOrder.dmy
        against, agreeing = (
            (month_first, day_first) if stated is DateOrder.dmy else (day_first, month_first)
        )
        if against is not None and agreeing is None:
            raise ImportUsageError(
                header_line,
                f"the header {header.time_cell} says {ORDER_WORDS[stated]} but line "
                f"{against[0]} reads {against[1]!r}, {ORDER_WORDS[other]} (re-saved by a "
                f"spreadsheet?): give --date-order {other.value} if the dates are "
                f"{ORDER_WORDS[other]}",
            )
        return Order(stated, f"from the header {header.time_cell}")
    if day_first is not None and month_first is not None:
        raise ImportUsageError(
            header_line,
            f"dates disagree: line {day_first[0]} reads {day_first[1]!r} (day first), line "
            f"{month_first[0]} reads {month_first[1]!r} (month first): give --date-order dmy "
            "or --date-order mdy",
        )
    if day_first is not None or month_first is not None:
        proof = day_first or month_first
        assert proof is not None
        order = DateOrder.dmy if day_first is not None else DateOrder.mdy
        return Order(order, f"line {proof[0]} reads {proof[1]!r}")
    if not ambiguous:
        return Order(DateOrder.dmy, "no date in the file depends on it")
    raise ImportUsageError(
        header_line,
        f"the header {header.time_cell} does not say whether dates are day or month first, "
        "and no date in the file has a day above 12: give --date-order dmy (31/12/2026) or "
        "--date-order mdy (12/31/2026)",
    )


class LocalClock:
    """A file's wall-clock times, in file order, to UTC in the site's time zone.

    When the clocks go back (Europe/London: 02:00 BST on the last Sunday of October is
    01:00 GMT) the hour from 01:00 happens twice, and a monitor logging through it writes
    01:00..01:59 twice. The first pass is the earlier instant (fold=0); a time going
    backwards inside that hour starts the second (fold=1), which lasts until the hour is
    over. Both readings are kept, in order. (A file that starts inside the second pass
    cannot be told from one inside the first, and is read as the first.) A time in the hour
    skipped when the clocks go forward never happened: `BadRowError`, not a guess."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._last: datetime | None = None  # the previous time, while inside a repeated hour
        self._fold = 0
        # Local hour -> its one UTC offset, or None for an hour the clocks change in: a
        # year of minutes has 8760 hours, and all but two are plain arithmetic.
        self._hours: dict[datetime, timedelta | None] = {}

    def _offset(self, hour: datetime) -> timedelta | None:
        ends = (hour, hour + timedelta(minutes=59, seconds=59))
        offsets = {
            t.replace(tzinfo=self.tz, fold=fold).utcoffset() for t in ends for fold in (0, 1)
        }
        return offsets.pop() if len(offsets) == 1 else None

    def utc(self, naive: datetime) -> datetime:
        hour = naive.replace(minute=0, second=0, microsecond=0)
        if hour not in self._hours:
            self._hours[hour] = self._offset(hour)
        offset = self._hours[hour]
        if offset is not None:
            self._last, self._fold = None, 0
            return (naive - offset).replace(tzinfo=UTC)
        first = naive.replace(tzinfo=self.tz, fold=0)
        if first.astimezone(UTC).astimezone(self.tz).replace(tzinfo=None) != naive:
            raise BadRowError(
                "time in the clock-change gap",
                f"{naive:%d/%m/%Y %H:%M:%S} never happened in {self.tz.key}: "
                "the clocks went forward",
            )
        second = naive.replace(tzinfo=self.tz, fold=1)
        if first.utcoffset() == second.utcoffset():
            self._last, self._fold = None, 0
            return first.astimezone(UTC)
        last = self._last
        fold = int(
            last is not None
            and abs(naive - last) <= timedelta(hours=1)
            and (self._fold == 1 or naive < last)
        )
        self._last, self._fold = naive, fold
        return (second if fold else first).astimezone(UTC)


def aranet_rows(
    table: Table,
    header: AranetHeader,
    order: DateOrder,
    numbers: Numbers,
    tz: ZoneInfo,
    where: tuple[str, str, str],
) -> Iterator[tuple[int, Reading | RowError]]:
    """The export's rows as readings of one sensor in one room (`where`: site, room,
    sensor), or the reason each row was skipped."""
    site, room, sensor = where
    clock = LocalClock(tz)
    for line, cells in table.rows:
        try:
            if isinstance(cells, BadRowError):
                raise cells
            cells = table.width(cells)
            time = clock.utc(local_time(cells[header.time_index], order))
            values: dict[str, float | None] = {}
            for column in header.columns:
                value = numbers.parse(cells[column.index], column.quantity)
                if value is not None and column.convert is not None:
                    value = column.convert(value)
                values[column.quantity] = value
            reading = checked(sensor, time, values)
        except (BadRowError, DecodeError) as exc:
            yield line, row_error(line, exc)
            continue
        if reading.dropped:
            yield line, left_out(line, reading.dropped)
        yield (
            line,
            Reading(
                time=time, site=site, room=room, sensor=sensor, family="import", **reading.values
            ),
        )
