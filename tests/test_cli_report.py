"""`ventwatch report` as a person or a cron job runs it: the real process, against the seeded
week of tests/report_week.py in a real DuckDB file, for every format; and its exit codes."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import free_port
from tests.report_week import FORMULA, ROOMS, SITE_NAME, WEEK, seed
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.records import AlertRecords
from ventwatch.store.duckdb import DuckDBStore

VENTWATCH = [sys.executable, "-m", "ventwatch", "report"]
# The site file alone decides where the store is: nothing from the caller's environment.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("VENTWATCH_")}


@pytest.fixture(scope="module")
def site_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-report")
    path, _ = seed(folder)
    # One action in the rep's log (the alerts' SQLite file the site file names).
    records = AlertRecords(folder / "accounts.sqlite", SITE_NAME)
    opened = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
    alert = records.save(Alert("Lab 1", "co2-urgent", "urgent", opened), opened, "opened")
    assert alert.id is not None
    records.record_action(
        alert.id,
        step="practical-steps",
        action="windows-opened",
        note="",
        taken_on=date(2026, 11, 18),
        by="rep",
        at=opened,
        close=False,
    )
    return path


def report(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*VENTWATCH, *args], capture_output=True, env=env or ENV, timeout=120, check=False
    )


def test_csv_to_a_file(site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "week.csv"
    done = report("--config", str(site_file), "--week", WEEK, "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = {r["room"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert list(rows) == [f"'{FORMULA}" if r == FORMULA else r for r in ROOMS]  # kept as text
    assert (rows["Lab 1"]["status"], rows["Lab 1"]["co2_mean_ppm"]) == ("red", "683.3")
    assert rows["Lab 1"]["actions_logged"] == "1"  # from the alerts' action log
    assert b"1 red, 1 amber, 1 green, 2 grey" in done.stderr


def test_daily_csv_to_standard_output_with_rooms_and_dates(site_file: Path) -> None:
    done = report(
        "--config", str(site_file), "--from", "2026-11-17", "--to", "2026-11-18",
        "--room", "Lab 1", "--room", "Hall", "--format", "daily-csv", "--out", "-",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert [(r["room"], r["date"]) for r in rows] == [
        ("Lab 1", "2026-11-17"),
        ("Lab 1", "2026-11-18"),
        ("Hall", "2026-11-17"),
        ("Hall", "2026-11-18"),
    ]
    assert {r["status"] for r in rows if r["room"] == "Hall"} == {"amber"}


def test_xlsx(site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "week.xlsx"
    done = report("-c", str(site_file), "--week", WEEK, "-f", "xlsx", "-o", str(out))
    assert done.returncode == 0, done.stderr
    book = load_workbook(out)
    assert book.sheetnames[:3] == ["Summary", "Guidance", "Lab 1"]
    assert FORMULA in book.sheetnames


def test_html(site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "week.html"
    done = report("-c", str(site_file), "--week", WEEK, "-f", "html", "-o", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Hillside &lt;Academy&gt;" in html


def test_pdf_is_the_default(site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "week.pdf"
    done = report("-c", str(site_file), "--week", WEEK, "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Hillside <Academy>" in text
    assert "683 ppm" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-W99"], b"2026 has no ISO week 99"),
        (["--week", "47"], b"give the week as an ISO week"),
        (["--week", WEEK, "--from", "2026-11-16", "--to", "2026-11-20"], b"not both"),
        (["--from", "2026-11-16"], b"give --week"),
        ([], b"give --week"),
        (["--from", "2026-11-20", "--to", "2026-11-16"], b"is before"),
        (["--week", WEEK, "--format", "docx"], b"docx"),
        (["--week", WEEK, "--room", "Attic"], b"unknown room 'Attic'"),
    ],
)
def test_usage_errors_exit_2(
    site_file: Path, tmp_path: Path, args: list[str], message: bytes
) -> None:
    out = tmp_path / "never.pdf"
    done = report("--config", str(site_file), "--out", str(out), *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert b"Traceback" not in done.stderr
    assert not out.exists()


def test_a_broken_site_file_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "site.yaml"
    broken.write_text("site: {name: X}\nrooms: []\n")
    done = report("--config", str(broken), "--week", WEEK, "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 1
    assert f"{broken}:".encode() in done.stderr
    assert b"Traceback" not in done.stderr


def test_a_store_that_is_down_exits_1(site_file: Path, tmp_path: Path) -> None:
    url = f"influxdb://127.0.0.1:{free_port()}/ventwatch"  # nothing listens there
    done = report(
        "--config", str(site_file), "--week", WEEK, "--format", "csv",
        "--out", str(tmp_path / "x.csv"), env={**ENV, "VENTWATCH_STORE_URL": url},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert b"error: store influxdb://127.0.0.1" in done.stderr
    assert b"Traceback" not in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_store_file_held_by_another_process_exits_1(site_file: Path, tmp_path: Path) -> None:
    """DuckDB lets one process write a file: a report next to a running `ventwatch run`
    says so instead of failing with a traceback."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); sys.stdin.read()", str(site_file.parent / "store.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"open\n"
        done = report("-c", str(site_file), "--week", WEEK, "-f", "csv", "-o", str(tmp_path / "x"))
    finally:
        holder.communicate(b"", timeout=10)
    assert done.returncode == 1, done.stderr
    assert b"cannot open" in done.stderr
    assert b"Traceback" not in done.stderr
    DuckDBStore(site_file.parent / "store.duckdb").close()  # released again


def test_an_output_that_cannot_be_written_exits_1(site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "x.csv"
    done = report("-c", str(site_file), "--week", WEEK, "-f", "csv", "-o", str(out))
    assert done.returncode == 1
    assert b"cannot write" in done.stderr


def test_evidence_pack(site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    done = report("--config", str(site_file), "--week", WEEK, "--format", "evidence",
                  "--room", "Lab 1", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "pack"
    zipfile.ZipFile(out).extractall(folder)
    check = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=folder, capture_output=True)
    assert check.returncode == 0, check.stdout
    readings = (folder / "readings.csv").read_text().splitlines()
    assert len(readings) == 1 + 5 * 360  # header + Lab 1's seeded week
