"""One truth: the same readings give the same verdict in `ventwatch analyse`, the report CSV,
the week view (`/api/week`) and `/api/analysis`, on the embedded DuckDB file and on a real
InfluxDB, whatever the sensors' cadences, jitter and silences.

Readings are generated as real loggers write them (every minute with a drifting clock, every
2, 5, 10 minutes, a LoRaWAN room every 15 that declares it), written to both stores, and read
back by every consumer through its own path: the CLI in-process, the dashboard through HTTP.
A room whose lessons start at midnight checks that a reading from before the week stands
for the week's first minutes on InfluxDB too (its `GROUP BY time(1m)` query starts a hold
earlier)."""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import InfluxServer, sign_in
from ventwatch.accounts import Accounts
from ventwatch.cli import app as cli
from ventwatch.config import load_site
from ventwatch.dashboard.app import create_app
from ventwatch.readings import Reading
from ventwatch.store import Store, open_store

MONDAY = date(2026, 11, 16)  # ISO week 2026-W47; London is on UTC in November
WEEK = "2026-W47"
AFTER = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the week is over
SITE_YAML = """
site: {name: One Truth School, timezone: Europe/London}
occupied_hours:
  start: "08:45"
  end: "15:15"
  breaks: [{start: "10:45", end: "11:00"}, {start: "12:15", end: "13:00"}]
rooms:
  - {name: Lab, ventilation: natural}
  - {name: Hall, ventilation: mechanical}
  - {name: Field Room, ventilation: natural, report_interval_minutes: 15}
  - name: Boarding
    occupied_hours: {start: "00:00", end: "06:00"}
state: {database: accounts.sqlite}
"""
ROOMS = ("Lab", "Hall", "Field Room", "Boarding")
CADENCES_S = (60.0, 59.5, 60.5, 120.0, 300.0, 600.0)  # the Field Room reports every 900 s


@st.composite
def week_of_readings(draw: st.DrawFn) -> list[Reading]:
    """Each room's cadence, first second and silences are drawn; the values wander from a
    drawn level (a seeded walk, so a failing week shrinks to a few choices)."""
    out: list[Reading] = []
    for room in ROOMS:
        cadence = 900.0 if room == "Field Room" else draw(st.sampled_from(CADENCES_S))
        phase = draw(st.integers(0, 59))
        silence_every = draw(st.sampled_from([10, 40, 1000]))  # readings between silences
        rng = random.Random(draw(st.integers(0, 2**32 - 1)))
        level = draw(st.floats(500, 1800))
        # Boarding from Sunday 23:00 (a reading stands into Monday 00:00); the others from
        # 07:30 each school day.
        days = [MONDAY - timedelta(days=1), *[MONDAY + timedelta(days=i) for i in range(5)]]
        for day in days:
            midnight = datetime.combine(day, datetime.min.time(), UTC)
            if room == "Boarding":
                first, span = midnight + timedelta(hours=23), timedelta(hours=7)
            elif day >= MONDAY:
                first, span = midnight + timedelta(hours=7.5), timedelta(hours=8.5)
            else:
                continue
            t = first + timedelta(seconds=phase)
            while t < first + span:
                if rng.randrange(silence_every) == 0:  # a silence, short or long
                    t += timedelta(minutes=rng.randint(3, 45))
                    continue
                level = min(3500.0, max(420.0, level + rng.uniform(-120, 120)))
                out.append(
                    Reading(t, "One Truth School", room, f"s-{room}", "tasmota",
                            co2_ppm=round(level, 1), temperature_c=20.0)
                )  # fmt: skip
                t += timedelta(seconds=cadence + rng.uniform(-2, 2))
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "site.yaml").write_text(SITE_YAML)
    return tmp_path


def analyse_json(site_file: Path, store_url: str) -> dict[str, dict[str, Any]]:
    done = CliRunner().invoke(
        cli,
        ["analyse", "--config", str(site_file), "--from", "2026-11-16", "--to", "2026-11-22",
         "--format", "json"],
        env={"VENTWATCH_STORE_URL": store_url},
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return {r["room"]: r for r in json.loads(done.stdout)["rooms"]}


def report_csv(site_file: Path, store_url: str) -> dict[str, dict[str, str]]:
    done = CliRunner().invoke(
        cli,
        ["report", "--config", str(site_file), "--week", WEEK, "--format", "csv", "--out", "-"],
        env={"VENTWATCH_STORE_URL": store_url},
    )
    assert done.exit_code == 0, done.output
    return {row["room"]: row for row in csv.DictReader(io.StringIO(done.stdout))}


def dashboard(site_file: Path, store: Store, accounts: Accounts) -> TestClient:
    app = create_app(load_site(site_file), store, accounts=accounts, clock=lambda: AFTER)
    client = TestClient(app)
    sign_in(client, "rep")
    return client


def number(text: str) -> float | None:
    return None if text == "" else float(text)


def verdicts(site_file: Path, store: Store, url: str, accounts: Accounts) -> dict[str, Any]:
    """Each consumer's verdict and figures per room, side by side."""
    analysed = analyse_json(site_file, url)
    reported = report_csv(site_file, url)
    client = dashboard(site_file, store, accounts)
    span = {"from": "2026-11-16", "to": "2026-11-22"}
    api = {r["room"]: r for r in client.get("/api/analysis", params=span).json()["rooms"]}
    weeks = client.get("/api/week", params={"week": WEEK}).json()["rooms"]
    week = {r["room"]: r["week"] for r in weeks}
    out = {}
    for room in ROOMS:
        a, r, w, b = analysed[room], reported[room], week[room], api[room]
        keys = ("status", "coverage_pct", "occupied_minutes", "longest_above_1500_min",
                "pct_time_above_800", "pct_time_above_1500", "co2_mean_ppm")  # fmt: skip
        out[room] = {
            "analyse": {k: a[k] for k in keys},
            "api": {k: b[k] for k in keys},
            "csv": {
                "status": r["status"],
                **{k: number(r[k]) for k in keys[1:]},
            },
            # The week view shows the status and the shares above the profile's figures.
            "week": {
                "status": w["status"],
                "coverage_pct": w["coverage_pct"],
                "occupied_minutes": w["occupied_minutes"],
                "pct_time_above_800": w["pct_above"]["800"],
                "pct_time_above_1500": w["pct_above"]["1500"],
            },
        }
    return out


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(readings=week_of_readings())
@example(readings=[])  # no data at all: grey everywhere, never an error
def test_every_consumer_on_every_store_gives_one_verdict(
    readings: list[Reading], folder: Path, influxdb: InfluxServer, accounts: Accounts
) -> None:
    site_file = folder / "site.yaml"
    results = {}
    for url in (f"duckdb://{folder}/{uuid.uuid4().hex}.duckdb", influxdb.url_for()):
        store = open_store(url, site=None)
        try:
            store.write(readings)
            results[url.split(":")[0]] = verdicts(site_file, store, url, accounts)
        finally:
            store.close()
    duck, influx = results["duckdb"], results["influxdb"]
    assert duck == influx  # the two stores agree, consumer by consumer
    for room, by_consumer in duck.items():
        truth = by_consumer["analyse"]
        assert by_consumer["api"] == truth, room
        assert by_consumer["csv"] == truth, room
        week = by_consumer["week"]
        assert week == {k: truth[k] for k in week}, room


def test_a_reading_before_the_week_stands_into_it_on_both_stores(
    folder: Path, influxdb: InfluxServer, accounts: Accounts
) -> None:
    """Sunday 23:55's reading stands for Monday 00:00-00:04 of the Boarding room's lessons:
    every store is read from a hold before the range."""
    sunday = datetime(2026, 11, 15, 23, 55, tzinfo=UTC)
    reading = Reading(sunday, "One Truth School", "Boarding", "s", "tasmota", co2_ppm=900.0)
    for url in (f"duckdb://{folder}/lead.duckdb", influxdb.url_for()):
        store = open_store(url, site=None)
        try:
            store.write([reading])
            found = verdicts(folder / "site.yaml", store, url, accounts)["Boarding"]
        finally:
            store.close()
        # Boarding's week: 5 days x 360 minutes; 5 of them with data.
        coverage = round(100 * 5 / 1800, 2)
        assert {by["coverage_pct"] for by in found.values()} == {coverage}, url
