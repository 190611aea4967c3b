"""One plain vocabulary: every page, email, report and export says a status in the words of
the profile's `statuses` section (Good, Needs action, Poor, Not enough data), never as a
colour ("Grey" means nothing to a teacher); the CSV keeps the machine values. The words come
from the profile: a copy of it with another word shows that word everywhere."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pydantic import ValidationError

from tests.conftest import sign_in
from tests.report_week import ACTIONS, WEEK, seed
from tests.test_week import SITE as WEEK_SITE
from tests.test_week import WEDNESDAY_1030, week_readings
from ventwatch.accounts import Accounts
from ventwatch.analysis.profiles import Profile, available_profiles, load_profile
from ventwatch.dashboard.app import _status_words, create_app
from ventwatch.reports.csv_format import render_csv
from ventwatch.reports.headings import HEADINGS
from ventwatch.reports.html_format import render_html
from ventwatch.reports.inputs import load_report
from ventwatch.reports.model import Report
from ventwatch.reports.pdf_format import render_pdf
from ventwatch.reports.period import parse_week
from ventwatch.reports.weekly_email import summary_notice
from ventwatch.reports.xlsx_format import render_xlsx
from ventwatch.store.duckdb import DuckDBStore

GENERATED = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
# A status said as a colour, to people: "Grey", "Amber", "red (amber)", "3 red".
COLOUR_WORD = re.compile(r"\b(Green|Amber|Red|Grey|Gray)\b|\b(red|amber|grey|gray)\b")


def renamed(profile_id: str, old: str, new: str) -> Profile:
    """A copy of a shipped profile, read from its YAML with `old` changed to `new`."""
    text = (files("ventwatch.analysis") / "profiles" / f"{profile_id}.yaml").read_text("utf-8")
    assert text.count(old) == 1
    return Profile.model_validate(yaml.safe_load(text.replace(old, new)))


RENAMED = renamed("joint-union", 'word: "Poor"', 'word: "Act now"')


class Visible(HTMLParser):
    """What a person reads of a page: its text, titles and labels (not scripts, styles, class
    names or the machine values in data attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.text += [v for k, v in attrs if k in ("title", "aria-label", "alt") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def visible(html: str) -> str:
    """The page's words, each run of spaces (no-break ones too) as one space."""
    parser = Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.text).split())


def colour_words(text: str) -> list[str]:
    """The colour words in `text`, with some context to say where."""
    return [text[max(m.start() - 40, 0) : m.end() + 40] for m in COLOUR_WORD.finditer(text)]


# -- the profile ----------------------------------------------------------------------------


def test_every_profile_defines_the_words_once() -> None:
    for profile_id in available_profiles():
        words = load_profile(profile_id).statuses
        looks = [words.green, words.amber, words.red, words.grey]
        assert [x.word for x in looks] == ["Good", "Needs action", "Poor", "Not enough data"]
        assert [x.symbol for x in looks] == ["✓", "▲", "✖", "◌"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('word: "Poor"', 'word: "Grey"'),  # a colour, not a meaning
        ('word: "Poor"', 'word: "Good"'),  # the same as green's
        ('word: "Poor"', 'word: ""'),
        ('symbol: "✖"', 'symbol: "✓"'),  # the same as green's
        ('colour: "#b3261e"', 'colour: "red"'),  # a hex colour, safe inside a style
        ('colour: "#b3261e"', 'colour: "#000;}"'),
    ],
)
def test_a_profile_with_unclear_words_is_refused(old: str, new: str) -> None:
    renamed("hse", old, old)  # as shipped: valid
    with pytest.raises(ValidationError):
        renamed("hse", old, new)


def test_a_live_band_is_said_as_the_status_it_stands_for() -> None:
    profile = load_profile("joint-union")
    assert [profile.band_status(b.name) for b in profile.co2_bands] == ["green", "amber", "red"]


# -- pages ----------------------------------------------------------------------------------


@pytest.fixture
def week_store(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.write(week_readings())
    return store


def pages(client: TestClient) -> dict[str, str]:
    """Every page a site manager can open on the week fixture's site, by path."""
    paths = ["/", "/week", "/week?show=above800", "/sensors", "/tokens"]
    for room in WEEK_SITE.rooms:
        for kind in ("today", "week"):
            paths.append(f"/room?{_query(room.name, kind)}")
    out = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        out[path] = response.text
    return out


def _query(room: str, kind: str) -> str:
    return urlencode({"name": room, "range": kind, "day": "2026-11-16"})


def test_no_page_says_a_status_as_a_colour(week_store: DuckDBStore, accounts: Accounts) -> None:
    app = create_app(WEEK_SITE, week_store, accounts=accounts, clock=lambda: WEDNESDAY_1030)
    client = TestClient(app)
    sign_in(client, "site_manager")
    seen = pages(client)
    for path, html in seen.items():
        assert not colour_words(visible(html)), (path, colour_words(visible(html)))
    text = " ".join(visible(html) for html in seen.values())
    for word in ("✓ Good", "▲ Needs action", "✖ Poor", "◌ Not enough data"):
        assert word in text


def test_the_pages_take_their_words_from_the_profile(
    week_store: DuckDBStore, accounts: Accounts
) -> None:
    app = create_app(WEEK_SITE, week_store, accounts=accounts, clock=lambda: WEDNESDAY_1030)
    # As create_app does with the site's profile: here a copy with red called "Act now".
    app.state.profile = RENAMED
    _status_words(app.state.templates, RENAMED)
    client = TestClient(app)
    sign_in(client, "rep")
    week = visible(client.get("/week").text)
    assert "✖ Act now" in week
    assert not re.search(r"\bPoor\b", week)
    room = visible(client.get(f"/room?{_query('Lab 1', 'week')}").text)
    assert "✖ Act now" in room
    assert not re.search(r"\bPoor\b", room)


# -- reports --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    """The seeded report week, judged by the shipped profile and by the renamed copy."""
    folder = tmp_path_factory.mktemp("vocabulary")
    _, site = seed(folder)
    store = DuckDBStore(folder / "store.duckdb")
    try:
        return {
            name: load_report(store, site, profile, parse_week(WEEK), GENERATED, ACTIONS)
            for name, profile in (("shipped", load_profile("joint-union")), ("renamed", RENAMED))
        }
    finally:
        store.close()


def pdf_text(report: Report, folder: Path) -> str:
    pdf = folder / "report.pdf"
    pdf.write_bytes(render_pdf(report))
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def xlsx_text(report: Report) -> list[str]:
    book = load_workbook(io.BytesIO(render_xlsx(report)))
    return [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value]


def test_the_report_formats_say_the_words(reports: dict[str, Report], tmp_path: Path) -> None:
    report = reports["shipped"]
    html = visible(render_html(report))
    assert not colour_words(html), colour_words(html)
    assert "✖ Poor" in html
    assert "◌ Not enough data" in html
    pdf = pdf_text(report, tmp_path)
    assert not colour_words(pdf), colour_words(pdf)
    assert "Poor" in pdf
    cells = xlsx_text(report)
    assert not [c for c in cells if colour_words(c) and not c.startswith("http")], [
        c for c in cells if colour_words(c)
    ]
    notice = summary_notice(report, (), "https://vw.example")
    for said in (notice.text, visible(notice.html)):
        assert not colour_words(said), colour_words(said)
        assert "Poor" in said


def test_the_csv_keeps_its_machine_values(reports: dict[str, Report]) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(reports["renamed"]))))
    assert {r["status"] for r in rows} <= {"green", "amber", "red", "grey"}
    assert "red" in {r["status"] for r in rows}


def test_the_report_formats_take_their_words_from_the_profile(
    reports: dict[str, Report], tmp_path: Path
) -> None:
    report = reports["renamed"]
    html = visible(render_html(report))
    assert "✖ Act now" in html
    assert not re.search(r"\bPoor\b", html)
    assert "Act now" in pdf_text(report, tmp_path)
    assert "✖\u00a0Act now" in xlsx_text(report)
    notice = summary_notice(report, (), "https://vw.example")
    assert "1 Act now" in notice.text
    assert "Act now" in notice.html


def test_the_spreadsheet_speaks_in_words(reports: dict[str, Report]) -> None:
    book = load_workbook(io.BytesIO(render_xlsx(reports["shipped"])))
    summary = book["Summary"]
    labels = {row[0].value: row[1] for row in summary.iter_rows(max_col=2) if row[0].value}
    generated = labels["Generated (Europe/London)"]
    assert generated.value == datetime(2026, 11, 23, 8, 30)  # a date and a time, not text
    assert generated.number_format == "yyyy-mm-dd hh:mm"
    headers = [c.value for row in summary.iter_rows() for c in row if c.font.bold]
    assert "Time above 800 ppm (%)" in headers
    assert "pct_time_above_800" not in headers
    ids = set(HEADINGS)
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                if cell.font.bold:
                    assert cell.value not in ids - set(HEADINGS.values()), (ws.title, cell.value)
