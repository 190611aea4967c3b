"""Readings from files: ventwatch's CSV (`time,room,co2_ppm,temperature_c[,humidity_pct...]`)
and the Aranet4 app's export for one room.

Files are where old monitoring lives (a term of Aranet4 exports, another system's dump), so a
bad row is reported with its line number and skipped: the rest of the file still counts.
Values are checked against the same physical ranges as live messages.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ventwatch.config import SiteConfig
from ventwatch.ingest.decoders.types import DecodeError
from ventwatch.ingest.decoders.units import convert
from ventwatch.ingest.decoders.values import checked
from ventwatch.readings import QUANTITIES, Reading

REQUIRED = ("time", "room", "co2_ppm", "temperature_c")


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (its header), as opposed to one bad row."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str
    skipped: bool = True  # False: a value was left out, the rest of the row was kept


def _number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise DecodeError(f"{text[:30]!r} is not a number") from None


def ventwatch_csv(
    lines: Iterable[str], site: SiteConfig, source: str
) -> Iterator[Reading | RowError]:
    """Rows of the ventwatch CSV: time (ISO 8601 with offset), room, values by key.

    The sensor id is the optional `sensor` column, else `<source>/<room>`: one series per
    room, so that rooms measured at the same instants stay apart."""
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFormatError(
            f"line 1: header lacks {', '.join(missing)} (needs {','.join(REQUIRED)})"
        )
    columns = {name: header.index(name) for name in header}
    quantities = [q for q in QUANTITIES if q in columns]
    rooms = {r.name for r in site.rooms}
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            if len(row) != len(header):
                raise DecodeError(f"{len(row)} fields, the header has {len(header)}")
            time = datetime.fromisoformat(row[columns["time"]].strip())
            if time.tzinfo is None:
                raise DecodeError("time has no UTC offset (write e.g. 2026-11-17T09:15:00+00:00)")
            room = row[columns["room"]].strip()
            if room not in rooms:
                raise DecodeError(f"unknown room {room!r}")
            values = {q: _number(row[columns[q]]) for q in quantities}
            sensor = row[columns["sensor"]].strip() if "sensor" in columns else f"{source}/{room}"
            reading = checked(sensor, time, values)
        except (DecodeError, ValueError) as exc:
            yield RowError(line, str(exc))
            continue
        if reading.dropped:
            yield RowError(line, f"left out {'; '.join(reading.dropped)}", skipped=False)
        yield Reading(
            time=time.astimezone(UTC),
            site=site.site.name,
            room=room,
            sensor=sensor,
            family="import",
            **reading.values,
        )


# Aranet4 app export: "Time(dd/mm/yyyy)","Carbon dioxide(ppm)","Temperature(°C)", ...
ARANET_COLUMNS = {
    "carbon dioxide": "co2_ppm",
    "temperature": "temperature_c",
    "relative humidity": "humidity_pct",
    "atmospheric pressure": "pressure_hpa",
}
ARANET_DATE = {"dd/mm/yyyy": "%d/%m/%Y", "mm/dd/yyyy": "%m/%d/%Y", "yyyy-mm-dd": "%Y-%m-%d"}
_HEADER = re.compile(r"^\s*([^()]+?)\s*\(([^)]*)\)\s*$")


def _aranet_time(text: str, date_format: str, tz: ZoneInfo) -> datetime:
    text = text.strip()
    for time_format in (" %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p"):
        try:
            return datetime.strptime(text, date_format + time_format).replace(tzinfo=tz)
        except ValueError:
            continue
    raise DecodeError(f"time {text[:30]!r} does not match the header's date format")


def aranet4_csv(
    lines: Iterable[str], site: SiteConfig, room: str, sensor: str
) -> Iterator[Reading | RowError]:
    """The Aranet4 app's export of one monitor: local times, units in the header."""
    if room not in {r.name for r in site.rooms}:
        raise ImportFormatError(f"--room {room!r} is not a room of the site")
    reader = csv.reader(lines)
    header = next(reader, [])
    parsed = [_HEADER.match(h) for h in header]
    if not parsed or not parsed[0] or not parsed[0].group(1).lower().startswith("time"):
        raise ImportFormatError("line 1: not an Aranet4 export (first column Time(dd/mm/yyyy))")
    date_format = ARANET_DATE.get(parsed[0].group(2).lower())
    if date_format is None:
        raise ImportFormatError(f"line 1: unknown date format {parsed[0].group(2)!r}")
    columns: list[tuple[int, str, str]] = []
    for i, match in enumerate(parsed[1:], start=1):
        if match and match.group(1).lower() in ARANET_COLUMNS:
            columns.append((i, ARANET_COLUMNS[match.group(1).lower()], match.group(2)))
    tz = site.tz
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            time = _aranet_time(row[0], date_format, tz)
            values = {}
            for i, quantity, unit in columns:
                value = _number(row[i]) if i < len(row) else None
                values[quantity] = None if value is None else convert(quantity, value, unit)
            reading = checked(sensor, time, values)
        except DecodeError as exc:
            yield RowError(line, str(exc))
            continue
        if reading.dropped:
            yield RowError(line, f"left out {'; '.join(reading.dropped)}", skipped=False)
        yield Reading(
            time=time.astimezone(UTC),
            site=site.site.name,
            room=room,
            sensor=sensor,
            family="import",
            **reading.values,
        )
