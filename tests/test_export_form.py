"""The export form: one labelled week picker listing only weeks with readings (the seeded
site has 2026-W46 and W47; "now" is in W48, which has none), shared by the report and the
evidence pack; and a page asked for with a wrong parameter answers with a page in words,
where the API keeps FastAPI's JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import sign_in
from tests.report_week import seed
from ventwatch.accounts import Accounts, Role
from ventwatch.config import load_site
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.export_weeks import weeks_with_data
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday of W48


class Form(HTMLParser):
    """The export form's week pickers, their labels and options, and its buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.week_inputs: list[dict[str, str | None]] = []
        self.selects: dict[str, list[tuple[str, bool, str]]] = {}
        self.labels: dict[str, str] = {}
        self.buttons: list[dict[str, str | None]] = []
        self._select: str | None = None
        self._label: str | None = None
        self._option: tuple[str, bool] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name") == "week":
            self.week_inputs.append(a)
        elif tag == "select":
            self._select = str(a.get("name"))
            self.selects[self._select] = []
            self.selects[f"id:{self._select}"] = [(str(a.get("id")), False, "")]
        elif tag == "option" and self._select is not None:
            self._option, self._text = (str(a.get("value")), "selected" in a), ""
        elif tag == "label":
            self._label, self._text = str(a.get("for")), ""
        elif tag == "button":
            self.buttons.append(a)

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._select is not None and self._option is not None:
            self.selects[self._select].append((*self._option, self._text.strip()))
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "label" and self._label is not None:
            self.labels[self._label] = self._text.strip()
            self._label = None


def form_of(html: str) -> Form:
    start = html.index('<details class="export">')
    form = Form()
    form.feed(html[start : html.index("</details>", start)])
    return form


@pytest.fixture
def app(tmp_path: Path, accounts: Accounts) -> FastAPI:
    _, site = seed(tmp_path)
    store = DuckDBStore(tmp_path / "store.duckdb")
    return create_app(site, store, accounts=accounts, clock=lambda: NOW)


def client_for(app: FastAPI, role: Role) -> TestClient:
    client = TestClient(app)
    sign_in(client, role.value)
    return client


@pytest.mark.parametrize("path", ["/", "/room?name=Hall"])
def test_one_labelled_week_picker_lists_the_weeks_with_readings(app: FastAPI, path: str) -> None:
    form = form_of(client_for(app, Role.REP).get(path).text)
    assert form.week_inputs == []  # no free week field, not two pickers
    weeks = form.selects["week"]
    assert [(value, selected) for value, selected, _ in weeks] == [
        ("2026-W47", True),  # the latest week with readings: the export's default
        ("2026-W46", False),
    ]
    assert [text for *_, text in weeks] == ["16 Nov – 22 Nov 2026", "9 Nov – 15 Nov 2026"]
    [(select_id, *_)] = form.selects["id:week"]
    assert form.labels[select_id] == "Week"
    assert form.labels[form.selects["id:format"][0][0]] == "Format"
    # The evidence pack is a second button of the same form, on the same week.
    assert [b.get("formaction") for b in form.buttons] == [None, "/export/evidence"]


def test_staff_get_the_picker_without_the_evidence_button(app: FastAPI) -> None:
    form = form_of(client_for(app, Role.STAFF).get("/").text)
    assert [v for v, *_ in form.selects["week"]] == ["2026-W47", "2026-W46"]
    assert [b.get("formaction") for b in form.buttons] == [None]


def test_a_week_in_progress_is_offered_as_so_far(tmp_path: Path, accounts: Accounts) -> None:
    _, site = seed(tmp_path)
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.write([Reading(NOW - timedelta(hours=1), site.site.name, "Hall", "s", "t", 500.0)])
    app = create_app(site, store, accounts=accounts, clock=lambda: NOW)
    weeks = form_of(client_for(app, Role.STAFF).get("/").text).selects["week"]
    assert weeks[0] == ("2026-W48", False, "23 Nov – 29 Nov 2026 (this week, so far)")
    assert [(v, s) for v, s, _ in weeks[1:]] == [("2026-W47", True), ("2026-W46", False)]


def test_no_week_with_readings_offers_no_form(tmp_path: Path, accounts: Accounts) -> None:
    path, _ = seed(tmp_path)
    site = load_site(path)
    empty = DuckDBStore(tmp_path / "empty.duckdb")
    app = create_app(site, empty, accounts=accounts, clock=lambda: NOW)
    html = client_for(app, Role.STAFF).get("/").text
    assert "No week has readings yet" in html
    assert 'action="/export"' not in html


def test_weeks_with_data_across_a_year_end_and_a_gap(tmp_path: Path) -> None:
    """Weeks are the site's ISO weeks in its own time zone: a reading late on a Sunday
    evening in UTC that is Monday in Auckland counts for Auckland's next week."""
    store = DuckDBStore(tmp_path / "s.duckdb")
    sunday_evening = datetime(2026, 12, 27, 20, 0, tzinfo=UTC)  # Mon 28 Dec 09:00 in Auckland
    store.write([Reading(sunday_evening, "S", "R", "s", "t", 500.0)])
    now = datetime(2027, 1, 20, tzinfo=UTC)
    london = [w.label for w in weeks_with_data(store, ZoneInfo("Europe/London"), now)]
    auckland = [w.label for w in weeks_with_data(store, ZoneInfo("Pacific/Auckland"), now)]
    assert (london, auckland) == (["2026-W52"], ["2026-W53"])
    assert weeks_with_data(store, ZoneInfo("Europe/London"), now, weeks=3) == []


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/export", {"week": "next week"}, "week: `next week` is not an ISO week, e.g. 2026-W47"),
        (
            "/export",
            {"format": "docx"},
            "format: `docx` is not one of pdf, html, xlsx, csv or daily-csv",
        ),
        ("/export/evidence", {"week": "47"}, "week: `47` is not an ISO week, e.g. 2026-W47"),
        ("/room", {"name": "Hall", "day": "someday"}, "day: `someday` is not a date"),
        ("/room", {}, "name is missing"),
        ("/week", {"week": "2026-W99"}, "2026 has no ISO week 99"),  # the route's own 400
    ],
)
def test_a_wrong_parameter_gives_a_page_in_words(
    app: FastAPI, path: str, params: dict[str, str], words: str
) -> None:
    got = client_for(app, Role.REP).get(path, params=params)
    assert got.status_code in (400, 422)
    assert got.headers["content-type"].startswith("text/html")
    assert words in got.text.replace("&#96;", "`"), got.text
    assert "<h1>" in got.text
    assert '"loc"' not in got.text


def test_the_api_keeps_fastapis_json_for_a_wrong_parameter(app: FastAPI) -> None:
    got = client_for(app, Role.REP).get("/api/week", params={"week": "soon"})
    assert got.status_code == 422
    assert got.headers["content-type"] == "application/json"
    [problem] = got.json()["detail"]
    assert problem["loc"] == ["query", "week"]


def test_a_wrong_parameter_of_a_signed_out_visitor_asks_for_the_login(app: FastAPI) -> None:
    got = TestClient(app).get("/export", params={"format": "docx"}, follow_redirects=False)
    assert got.status_code == 303
    assert got.headers["location"].startswith("/login?next=")
