"""The rep's evidence pack: every file there, the figures true to the seeded week, and the
checksums verified by the standard tool (`sha256sum -c`), which also catches an edit."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import zipfile
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path

import pytest

from tests.report_week import MONDAY, SCHOOL_DAYS, seed
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.records import AlertRecords
from ventwatch.analysis.profiles import load_profile
from ventwatch.reports.evidence import evidence_pack, load_evidence
from ventwatch.reports.period import parse_week
from ventwatch.store.duckdb import DuckDBStore

GENERATED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    folder = tmp_path_factory.mktemp("evidence")
    _, site = seed(folder)
    records = AlertRecords(folder / "accounts.sqlite", site.site.name)
    opened = datetime.combine(MONDAY, datetime.min.time(), UTC).replace(hour=10, minute=20)
    alert = records.save(
        Alert(room="Lab 1", rule="co2-urgent", severity="urgent", opened_at=opened, worst=1600.0),
        opened,
        "opened",
    )
    assert alert.id is not None
    records.record_action(
        alert.id, step="practical-steps", action="windows-opened", note="=cmd|' /C calc'!A0",
        taken_on=date(2026, 11, 18), by="rep", at=opened, close=True,
    )  # fmt: skip
    other = records.save(
        Alert(room="Room 2", rule="cold", severity="advisory", opened_at=opened), opened, "opened"
    )
    assert other.id is not None
    store = DuckDBStore(folder / "store.duckdb")
    inputs = load_evidence(
        store, site, load_profile("joint-union"), parse_week("2026-W47"), GENERATED, records,
        rooms=["Lab 1", "Hall"],
    )  # fmt: skip
    data = evidence_pack(inputs)
    store.close()
    out = folder / "pack"
    zipfile.ZipFile(io.BytesIO(data)).extractall(out)
    return data, out


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_the_pack_holds_every_file_and_sha256sum_verifies_it(pack: tuple[bytes, Path]) -> None:
    _, out = pack
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "report.pdf", "readings.csv", "episodes.csv", "actions.csv", "alert-log.csv",
            "rooms.csv", "register-log.csv", "profile-joint-union.yaml", "README.txt",
            "manifest.json", "MANIFEST.sha256",
        ]
    )  # fmt: skip
    check = subprocess.run(
        ["sha256sum", "-c", "MANIFEST.sha256"], cwd=out, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 10
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    assert manifest["rooms"] == ["Lab 1", "Hall"]
    assert manifest["period"] == {"label": "2026-W47", "first": "2026-11-16", "last": "2026-11-22"}
    assert manifest["profile"] == {"id": "joint-union", "version": "1.2"}


def test_an_edited_file_fails_the_check(pack: tuple[bytes, Path], tmp_path: Path) -> None:
    data, _ = pack
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    readings = tmp_path / "readings.csv"
    readings.write_text(readings.read_text().replace(",1600.0,", ",1400.0,", 1))
    check = subprocess.run(
        ["sha256sum", "-c", "MANIFEST.sha256"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode != 0
    assert "readings.csv: FAILED" in check.stdout


def test_the_files_hold_the_seeded_week(pack: tuple[bytes, Path]) -> None:
    _, out = pack
    readings = read_csv(out / "readings.csv")
    # One reading a minute, 09:00-14:59, five school days, for each of the two rooms.
    assert len(readings) == 2 * 5 * 360
    assert {r["room"] for r in readings} == {"Lab 1", "Hall"}
    assert sum(r["co2_ppm"] == "1600.0" for r in readings if r["room"] == "Lab 1") == 5 * 30
    assert readings[0]["time"].startswith("2026-11-16T09:00:00")
    episodes = read_csv(out / "episodes.csv")
    lab = [(e["above_ppm"], e["minutes"]) for e in episodes if e["room"] == "Lab 1"]
    assert sorted(lab) == sorted([("800.0", "30")] * 5 + [("1500.0", "30")] * 5)
    hall = [(e["above_ppm"], e["minutes"]) for e in episodes if e["room"] == "Hall"]
    assert hall == [("800.0", "30")] * 5
    [action] = read_csv(out / "actions.csv")
    assert (action["room"], action["action"], action["taken_on"]) == (
        "Lab 1", "windows-opened", "2026-11-18"
    )  # fmt: skip
    assert action["note"].startswith("'=")  # kept as text, not run as a formula
    log = read_csv(out / "alert-log.csv")
    assert [e["what"] for e in log] == ["opened", "closed"]  # Room 2's alert is not in the pack
    shipped = (files("ventwatch.analysis") / "profiles" / "joint-union.yaml").read_bytes()
    assert (out / "profile-joint-union.yaml").read_bytes() == shipped
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "Lab 1" in text
    assert "Room 2" not in text
    readme = (out / "README.txt").read_text()
    assert "sha256sum -c MANIFEST.sha256" in readme
    assert SCHOOL_DAYS[0].isoformat() in readme
