"""`ventwatch import`: ventwatch CSV and Aranet4 exports into the store, bad rows reported by
line number and skipped; and the store's minute means agree with analysis's own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from ventwatch.analysis.engine import minute_means
from ventwatch.config import load_site
from ventwatch.ingest.importer import ImportFormatError, RowError, aranet4_csv, ventwatch_csv
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore


@pytest.fixture
def site_file(tmp_path: Path, example_site_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    shutil.copy(example_site_path, path)
    return path


CSV = """time,room,co2_ppm,temperature_c,humidity_pct
2026-11-17T09:00:00+00:00,Room 1,650,20.5,45
2026-11-17T09:01:00+00:00,Room 2,1650,19.0,
2026-11-17T09:02:00,Room 1,700,20,45
2026-11-17T09:03:00+00:00,Room 99,700,20,45
2026-11-17T09:04:00+00:00,Room 1,lots,20,45
2026-11-17T09:05:00+00:00,Room 1,99999,99,45
2026-11-17T09:06:00+00:00,Room 1,700
"""


def test_ventwatch_csv_rows(site_file: Path) -> None:
    rows = list(ventwatch_csv(CSV.splitlines(), load_site(site_file), "import:x"))
    good = [r for r in rows if isinstance(r, Reading)]
    bad = [(r.line, r.message) for r in rows if isinstance(r, RowError)]
    assert [(r.room, r.co2_ppm, r.humidity_pct) for r in good] == [
        ("Room 1", 650, 45),
        ("Room 2", 1650, None),
        ("Room 1", None, 45),  # line 7: impossible CO2 and temperature left out, humidity kept
    ]
    assert good[0].time == datetime(2026, 11, 17, 9, tzinfo=UTC)
    assert [line for line, _ in bad] == [4, 5, 6, 7, 8]
    assert "no UTC offset" in bad[0][1]
    assert "unknown room 'Room 99'" in bad[1][1]
    assert "not a number" in bad[2][1]
    assert "left out co2_ppm=99999 outside" in bad[3][1]
    assert "fields" in bad[4][1]
    assert [r.skipped for r in rows if isinstance(r, RowError)] == [True, True, True, False, True]


def test_missing_columns_name_the_header(site_file: Path) -> None:
    with pytest.raises(ImportFormatError, match="header lacks co2_ppm"):
        list(ventwatch_csv(["time,room,temperature_c"], load_site(site_file), "x"))


ARANET = """Time(dd/mm/yyyy),Carbon dioxide(ppm),Temperature(°F),Relative humidity(%),\
Atmospheric pressure(hPa)
17/11/2026 09:00:00,812,68.9,44,1012
17/11/2026 09:05:00,,68.0,44,1012
6/15/2026 09:10:00,900,68,44,1012
"""


def test_aranet4_export(site_file: Path) -> None:
    rows = list(aranet4_csv(ARANET.splitlines(), load_site(site_file), "Room 4", "aranet"))
    good = [r for r in rows if isinstance(r, Reading)]
    assert [(r.room, r.co2_ppm, r.temperature_c, r.pressure_hpa) for r in good] == [
        ("Room 4", 812, 20.5, 1012),
        ("Room 4", None, 20.0, 1012),
    ]
    assert good[0].time == datetime(2026, 11, 17, 9, tzinfo=UTC)  # local GMT
    assert [r.line for r in rows if isinstance(r, RowError)] == [4]


def test_import_command_then_analyse(site_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "week.csv"
    start = datetime(2026, 11, 16, 9, tzinfo=UTC)
    lines = ["time,room,co2_ppm,temperature_c"]
    lines += [f"{(start + timedelta(minutes=i)).isoformat()},Room 1,1600,20" for i in range(60)]
    lines.append("yesterday,Room 1,1600,20")
    csv.write_text("\n".join(lines) + "\n")
    run = [sys.executable, "-m", "ventwatch"]
    out = subprocess.run(
        [*run, "import", "--config", str(site_file), str(csv)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "60 readings stored, 1 rows skipped" in out.stdout
    assert f"{csv}:62: skipped" in out.stderr
    out = subprocess.run(
        [
            *run,
            "analyse",
            "--config",
            str(site_file),
            "--from",
            "2026-11-16",
            "--to",
            "2026-11-16",
            "--room",
            "Room 1",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    import json

    (room,) = json.loads(out.stdout)["rooms"]
    assert room["status"] == "grey"  # 60 of 330 occupied minutes
    assert room["longest_above_1500_min"] == 60


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
