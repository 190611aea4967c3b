"""Report exports from the dashboard: the seeded week's true figures in each format, one
room's report, the rep's evidence pack, and who may ask for what."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import sign_in
from tests.report_week import SITE_NAME, seed
from ventwatch.accounts import Accounts, Role
from ventwatch.alerts.alerting import Alerting
from ventwatch.analysis.profiles import load_profile
from ventwatch.dashboard.app import create_app
from ventwatch.settings import resolve
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday of W48: "last week" is W47


@pytest.fixture
def app(tmp_path: Path, accounts: Accounts) -> FastAPI:
    _, site = seed(tmp_path)
    store = DuckDBStore(tmp_path / "store.duckdb")
    settings = resolve(site, None, env={"VENTWATCH_STATE_DB": str(accounts.path)})
    alerting = Alerting(site, settings, store, load_profile("joint-union"), clock=lambda: NOW)
    return create_app(site, store, accounts=accounts, clock=lambda: NOW, alerting=alerting)


def client_for(app: FastAPI, role: Role) -> TestClient:
    client = TestClient(app)
    sign_in(client, role.value)
    return client


def test_staff_export_last_weeks_report_in_every_format(app: FastAPI) -> None:
    staff = client_for(app, Role.STAFF)
    rows = staff.get("/export", params={"format": "csv", "week": ""})
    assert rows.status_code == 200
    assert rows.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        'filename="ventilation-Hillside-Academy-2026-W47.csv"'
        in rows.headers["content-disposition"]
    )
    by_room = {r["room"]: r for r in csv.DictReader(io.StringIO(rows.text))}
    assert by_room["Lab 1"]["status"] == "red"
    assert float(by_room["Lab 1"]["co2_mean_ppm"]) == pytest.approx(683.3, abs=0.05)
    assert by_room["Room 2"]["status"] == "green"
    assert by_room["Hall"]["status"] == "amber"
    book = openpyxl.load_workbook(
        io.BytesIO(staff.get("/export", params={"format": "xlsx", "week": "2026-W47"}).content)
    )
    assert "Summary" in book.sheetnames
    pdf = staff.get("/export", params={"format": "pdf", "week": "2026-W47"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    html = staff.get("/export", params={"format": "html", "week": "2026-W47"}).text
    assert "Hillside &lt;Academy&gt;" in html
    daily = staff.get("/export", params={"format": "daily-csv", "week": "2026-W47"}).text
    assert len([r for r in csv.DictReader(io.StringIO(daily)) if r["room"] == "Lab 1"]) == 5


def test_one_rooms_report(app: FastAPI) -> None:
    staff = client_for(app, Role.STAFF)
    one = staff.get("/export", params={"format": "csv", "week": "2026-W47", "room": "Hall"})
    assert [r["room"] for r in csv.DictReader(io.StringIO(one.text))] == ["Hall"]
    assert "-Hall.csv" in one.headers["content-disposition"]
    assert staff.get("/export", params={"room": "Nowhere"}).status_code == 404
    assert staff.get("/export", params={"week": "2026-W99"}).status_code == 400
    assert staff.get("/export", params={"week": "next week"}).status_code == 422
    assert staff.get("/export", params={"format": "docx"}).status_code == 422


def test_the_evidence_pack_is_for_reps_and_managers(app: FastAPI) -> None:
    assert client_for(app, Role.STAFF).get("/export/evidence").status_code == 403
    rep = client_for(app, Role.REP)
    got = rep.get("/export/evidence", params={"week": "2026-W47", "room": ["Lab 1", "Hall"]})
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(got.content))
    manifest = json.loads(pack.read("manifest.json"))
    assert manifest["rooms"] == ["Lab 1", "Hall"]
    for entry in manifest["files"]:
        assert hashlib.sha256(pack.read(entry["name"])).hexdigest() == entry["sha256"]
    for line in pack.read("MANIFEST.sha256").decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(pack.read(name)).hexdigest() == digest


def test_the_export_form_is_on_the_overview_and_room_pages(app: FastAPI) -> None:
    staff = client_for(app, Role.STAFF)
    overview = staff.get("/").text
    assert 'action="/export"' in overview
    assert 'action="/export/evidence"' not in overview  # not for staff
    room = staff.get("/room", params={"name": "Lab 1"}).text
    assert '<input type="hidden" name="room" value="Lab 1">' in room
    rep = client_for(app, Role.REP)
    assert 'action="/export/evidence"' in rep.get("/").text
    assert SITE_NAME  # the seeded site is the one served


def test_a_room_named_twice_is_reported_once(app: FastAPI) -> None:
    rep = client_for(app, Role.REP)
    rooms = ["Hall", "Lab 1", "Hall"]
    got = rep.get("/export/evidence", params={"week": "2026-W47", "room": rooms})
    assert got.status_code == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(got.content)).read("manifest.json"))
    assert manifest["rooms"] == ["Lab 1", "Hall"]  # once each, in the site file's order
    dates = {"from": "2026-11-16", "to": "2026-11-20"}
    twice = rep.get("/api/analysis", params={**dates, "room": ["Hall", "Hall"]})
    assert twice.status_code == 200
    once = rep.get("/api/analysis", params={**dates, "room": "Hall"})
    assert twice.json() == once.json()


def test_every_format_is_one_registry_line_the_contracts_name() -> None:
    """A format is its module and its line in `FORMATS`: each renderer it names exists, and
    every place that spells format names out as a contract (the command line, the weekly
    email's `attach`, the export route) names only registered formats, so a renamed or
    removed format fails here rather than as a 500 or a traceback."""
    import typing

    from ventwatch.cli.report import ReportFormat as CommandLineFormat
    from ventwatch.config import ReportFormat as AttachFormat
    from ventwatch.dashboard.routes.reports import FormatName
    from ventwatch.reports.formats import FORMATS

    for f in FORMATS.values():
        module, _, function = f.renderer.partition(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function)), f.name
    assert set(typing.get_args(FormatName)) == set(FORMATS)
    assert set(typing.get_args(AttachFormat)) <= set(FORMATS)
    assert {f.value for f in CommandLineFormat} - {"evidence"} == set(FORMATS)
