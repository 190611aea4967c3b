"""A real published recording (tests/testdata/real/README.md: an office's CO2 every 16 minutes,
its clock drifting between :00 and :59) imported and analysed by the real `ventwatch`
processes, against the rule computed here independently, reading by reading, in plain Python.

The recording reports less often than the profile's 10-minute hold: undeclared, each reading
stands for 10 of its 16 minutes, no run can outlast 10 minutes, and the office must not be
called green: it is grey, with the line to add to the site file; declared
(`report_interval_minutes: 16`), every minute is covered and the verdict is the office's."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from statistics import mean, median
from zoneinfo import ZoneInfo

import pytest

RECORDING = Path(__file__).parent / "testdata" / "real" / "uci-occupancy-office-16min.csv"
BRUSSELS = ZoneInfo("Europe/Brussels")
FIRST, LAST = date(2015, 2, 5), date(2015, 2, 9)  # Thursday to Monday: three office days
OPENS, CLOSES = time(8, 0), time(18, 0)
VENTWATCH = [sys.executable, "-m", "ventwatch"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("VENTWATCH_")}


def recorded() -> list[tuple[datetime, float]]:
    """(UTC time, CO2 ppm) of each row, as the recording has them."""
    with RECORDING.open(newline="") as handle:
        return [
            (
                datetime.strptime(row["time"], "%Y-%m-%d %H:%M:%S")
                .replace(tzinfo=BRUSSELS)
                .astimezone(UTC),
                float(row["V4"]),
            )
            for row in csv.DictReader(handle)
        ]


def by_hand(readings: list[tuple[datetime, float]], hold: int) -> dict[str, object]:
    """The minute-series rule and the joint-union profile's figures, minute by minute."""
    means: dict[datetime, list[float]] = defaultdict(list)
    for when, co2 in readings:
        means[when.replace(second=0, microsecond=0)].append(co2)
    values: list[float | None] = []  # each occupied minute's value, in time order
    day_of: list[date] = []
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            minute = datetime.combine(day, OPENS, BRUSSELS).astimezone(UTC)
            closes = datetime.combine(day, CLOSES, BRUSSELS).astimezone(UTC)
            while minute < closes:
                standing = next(
                    (
                        mean(means[minute - timedelta(minutes=back)])
                        for back in range(hold)
                        if minute - timedelta(minutes=back) in means
                    ),
                    None,
                )
                values.append(standing)
                day_of.append(day)
                minute += timedelta(minutes=1)
        day += timedelta(days=1)
    known = [v for v in values if v is not None]
    # The median minutes between readings of the range read (from a hold before it).
    start = datetime.combine(FIRST, time(0), BRUSSELS).astimezone(UTC) - timedelta(minutes=hold)
    end = datetime.combine(LAST + timedelta(days=1), time(0), BRUSSELS).astimezone(UTC)
    read = sorted(m for m in means if start <= m < end)
    every = median((b - a) / timedelta(minutes=1) for a, b in pairwise(read))

    def longest_above(threshold: float) -> int:
        longest = run = 0
        for i, v in enumerate(values):
            same_day = i > 0 and day_of[i] == day_of[i - 1]
            run = (run + 1 if same_day else 1) if v is not None and v > threshold else 0
            longest = max(longest, run)
        return longest

    coverage = round(100 * len(known) / len(values), 2)
    if coverage < 50 or every > hold:
        status = "grey"
    elif longest_above(1500) >= 20:
        status = "red"
    elif longest_above(800) >= 20:
        status = "amber"
    else:
        status = "green"
    return {
        "status": status,
        "coverage_pct": coverage,
        "occupied_minutes": len(values),
        "co2_mean_ppm": round(mean(known), 1) if known else None,
        "pct_time_above_800": round(100 * sum(v > 800 for v in known) / len(known), 2),
        "pct_time_above_1500": round(100 * sum(v > 1500 for v in known) / len(known), 2),
        "longest_above_1500_min": longest_above(1500),
    }


def site_file(folder: Path, declared: bool) -> Path:
    interval = ", report_interval_minutes: 16" if declared else ""
    path = folder / "site.yaml"
    path.write_text(
        "site: {name: UCI office, timezone: Europe/Brussels}\n"
        'occupied_hours: {start: "08:00", end: "18:00"}\n'
        f"rooms: [{{name: Office{interval}}}]\n"
        'store: {url: "duckdb:///./store.duckdb"}\n'
        "state: {database: accounts.sqlite}\n"
    )
    return path


def ventwatch(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*VENTWATCH, *args], capture_output=True, text=True, env=ENV, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize(("declared", "hold"), [(False, 10), (True, 24)])
def test_import_and_analyse_agree_with_the_rule_by_hand(
    tmp_path: Path, declared: bool, hold: int
) -> None:
    site = site_file(tmp_path, declared)
    # The recording as ventwatch's own CSV: its local times with their offset, CO2 and °C.
    converted = tmp_path / "office.csv"
    with RECORDING.open(newline="") as source, converted.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["time", "room", "co2_ppm", "temperature_c"])
        for row in csv.DictReader(source):
            local = datetime.strptime(row["time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BRUSSELS)
            writer.writerow([local.isoformat(), "Office", row["V4"], row["V1"]])
    imported = ventwatch("import", "--config", str(site), str(converted))
    assert "509 rows read, 509 stored" in imported.stdout
    analysed = ventwatch(
        "analyse", "--config", str(site), "--from", str(FIRST), "--to", str(LAST),
        "--format", "json",
    )  # fmt: skip
    [room] = json.loads(analysed.stdout)["rooms"]
    expected = by_hand(recorded(), hold)
    assert {k: room[k] for k in expected} == expected
    if declared:
        assert (room["coverage_pct"], room["status"]) == (100.0, expected["status"])
        assert room["max_20min_mean_ppm"] is not None
    else:
        assert room["status"] == "grey"  # runs of 10 minutes at most: cannot be judged
        assert "report_interval_minutes: 16" in room["status_reason"]
