"""Every CSV ventwatch writes keeps text a spreadsheet would run as a formula (a cell starting
with = + - @, a tab or a carriage return) as text, with a `'` before it, and keeps numbers
as numbers: a temperature of -1.5 °C is the number -1.5, not the text "'-1.5".

Through the dashboard's exports (the command line and the weekly email write the same
renderers' output): the rooms CSV, the school-days CSV, and the evidence pack's CSVs.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import sign_in
from tests.report_week import MONDAY, SCHOOL_DAYS
from ventwatch.accounts import Accounts
from ventwatch.alerts.alerting import Alerting
from ventwatch.analysis.profiles import load_profile
from ventwatch.config import load_site
from ventwatch.dashboard.app import create_app
from ventwatch.readings import Reading
from ventwatch.reports.csv_format import FORMULA_START
from ventwatch.settings import resolve
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # last week: 2026-W47
SITE = "@Hillside"
COLD = "-1.05"  # a basement room numbered like a decimal: text, not a number
SHED = "+Shed"
SITE_YAML = f"""
site: {{name: "{SITE}", timezone: Europe/London}}
occupied_hours: {{start: "09:00", end: "15:00"}}
rooms:
  - {{name: "{COLD}", building: "=Basement"}}
  - {{name: "{SHED}", building: "Main"}}
"""


@pytest.fixture
def app(tmp_path: Path, accounts: Accounts) -> FastAPI:
    path = tmp_path / "site.yaml"
    path.write_text(SITE_YAML, encoding="utf-8")
    site = load_site(path)
    store = DuckDBStore(tmp_path / "store.duckdb")
    readings = []
    for day in SCHOOL_DAYS:
        start = datetime.combine(day, time(9), UTC)
        for m in range(360):
            at = start + timedelta(minutes=m)
            readings += [
                Reading(at, SITE, COLD, "-probe", "tasmota", co2_ppm=600.0, temperature_c=-1.5),
                Reading(at, SITE, SHED, "=1+1", "tasmota", co2_ppm=1600.0, temperature_c=18.0),
            ]
    store.write(readings)
    settings = resolve(site, None, env={"VENTWATCH_STATE_DB": str(accounts.path)})
    alerting = Alerting(site, settings, store, load_profile("joint-union"), clock=lambda: NOW)
    return create_app(site, store, accounts=accounts, clock=lambda: NOW, alerting=alerting)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def assert_no_formula(rows: list[dict[str, str]]) -> None:
    """Every cell that starts like a formula is a number (a minus sign) or quoted text."""
    for row in rows:
        for column, cell in row.items():
            if cell.startswith(FORMULA_START):
                assert float(cell) < 0, (column, cell)  # "-1.5": a number, never run


def test_report_csvs_keep_text_as_text_and_numbers_as_numbers(app: FastAPI) -> None:
    client = TestClient(app)
    sign_in(client, "staff")
    rooms = rows_of(client.get("/export", params={"format": "csv"}).text)
    assert_no_formula(rooms)
    by_room = {r["room"]: r for r in rooms}
    assert set(by_room) == {f"'{COLD}", f"'{SHED}"}
    cold = by_room[f"'{COLD}"]
    assert (cold["site"], cold["building"]) == (f"'{SITE}", "'=Basement")
    assert (cold["temperature_min_c"], cold["temperature_mean_c"]) == ("-1.5", "-1.5")
    assert by_room[f"'{SHED}"]["status"] == "red"  # the rest of the row is as ever
    days = rows_of(client.get("/export", params={"format": "daily-csv"}).text)
    assert_no_formula(days)
    monday = next(d for d in days if d["room"] == f"'{COLD}" and d["date"] == str(MONDAY))
    assert monday["temperature_min_c"] == "-1.5"


def test_evidence_pack_csvs_keep_text_as_text_and_numbers_as_numbers(app: FastAPI) -> None:
    client = TestClient(app)
    sign_in(client, "rep")
    pack = zipfile.ZipFile(io.BytesIO(client.get("/export/evidence").content))
    readings = rows_of(pack.read("readings.csv").decode())
    assert_no_formula(readings)
    assert {(r["room"], r["sensor"]) for r in readings} == {
        (f"'{COLD}", "'-probe"), (f"'{SHED}", "'=1+1"),
    }  # fmt: skip
    assert {r["temperature_c"] for r in readings if r["room"] == f"'{COLD}"} == {"-1.5"}
    episodes = rows_of(pack.read("episodes.csv").decode())
    assert_no_formula(episodes)
    assert {e["room"] for e in episodes} == {f"'{SHED}"}
