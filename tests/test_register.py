"""The room register (the joint union guide's step 2): the site file's `rooms[].register`
checked with its lines, edits on the dashboard (who may, the CSRF token, escaping, the
audit), the register on the room page, in reports and in the evidence pack with the air
cleaner's caveat, and reminders of reviews through a real SMTP server, once per due date,
across a restart."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.conftest import SmtpServer, sign_in
from tests.report_week import MONDAY, seed
from ventwatch.accounts import Accounts, Role
from ventwatch.alerts.alerting import Alerting
from ventwatch.alerts.records import AlertRecords
from ventwatch.alerts.reviews import ReviewReminder, reminders_due
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import minute_means
from ventwatch.config import SiteConfig, SiteConfigError, load_site
from ventwatch.dashboard.app import create_app
from ventwatch.register import (
    AIR_CLEANER_CAVEAT,
    KEYS,
    RegisterEdits,
    RegisterError,
    file_registers,
    room_registers,
)
from ventwatch.reports.csv_format import ROOM_COLUMNS, render_csv
from ventwatch.reports.evidence import evidence_pack, load_evidence
from ventwatch.reports.html_format import render_html
from ventwatch.reports.model import build_report
from ventwatch.reports.period import parse_range, parse_week
from ventwatch.reports.xlsx_format import render_xlsx
from ventwatch.settings import resolve
from ventwatch.state_database import StateLocation
from ventwatch.store import open_store
from ventwatch.store.duckdb import DuckDBStore

PROFILE = load_profile("joint-union")
NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
ONE_DAY = parse_range(str(MONDAY), str(MONDAY))
EVIL = "<script>alert('reg')</script>"
GOOD_YAML = """\
site: {name: Hillside Academy, timezone: Europe/London}
rooms:
  - name: Room 4
    register:
      windows: {working: 2, restricted: 2, painted_shut: 1}
      mechanical: {type: extract fan, working: false}
      air_cleaner: true
      risk_assessment:
        assessed_on: 2026-09-01
        review_due: 2026-12-01
        shared_with_staff: true
        shared_where: staff-room noticeboard
      notes: Blinds block the top windows.
  - name: Lab 3
    register: {mechanical: none, air_cleaner: false}
  - name: Hall
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the site file -----------------------------------------------------------------------------


def test_a_register_in_the_site_file_reads_as_flat_keys(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, GOOD_YAML))
    registers = file_registers(site)
    room4 = registers["Room 4"]
    assert room4.values() == {
        "windows_working": 2,
        "windows_restricted": 2,
        "windows_painted_shut": 1,
        "windows_broken": 0,
        "mechanical": "extract fan",
        "mechanical_working": False,
        "air_cleaner": True,
        "assessed_on": date(2026, 9, 1),
        "review_due": date(2026, 12, 1),
        "shared_with_staff": True,
        "shared_where": "staff-room noticeboard",
        "notes": "Blinds block the top windows.",
    }
    assert room4.windows == ("5 openable windows: 2 open as designed, 2 restricted, 1 painted shut")
    assert room4.plant == "extract fan (not working)"
    assert (registers["Lab 3"].plant, registers["Lab 3"].windows) == ("none", None)
    assert not registers["Hall"].recorded
    assert registers["Room 4"].changed == {}


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("working: 2, restricted", "working: -2, restricted", ".windows.working", "greater than"),
        ("working: 2, restricted", "working: two, restricted", ".windows.working", "integer"),
        ("windows: {working: 2,", "windows: {working: 2, open: 1,", ".windows", "key `open` in"),
        (
            "mechanical: {type: extract fan, working: false}",
            "mechanical: fan",
            ".mechanical",
            "write `none`, or the plant as {type: fan, working: true}",
        ),
        ("type: extract fan", "type: None", ".mechanical.type", "write `mechanical: none`"),
        ("air_cleaner: true", "air_cleaner: maybe", ".air_cleaner", "`maybe` is not true or false"),
        (
            "review_due: 2026-12-01",
            "review_due: 2026-08-01",
            ".risk_assessment.review_due",
            "review_due 2026-08-01 is before assessed_on 2026-09-01",
        ),
        ("review_due: 2026-12-01", "review_due: soon", ".risk_assessment.review_due", "YYYY-MM-DD"),
        ("notes: Blinds", 'notes: "Blinds\\x07', ".notes", "control character '\\x07'"),
        ("register: {mechanical: none", "register: {plant: none", "", "key `plant` in"),
    ],
)
def test_a_bad_register_is_reported_with_its_line(
    tmp_path: Path, old: str, new: str, where: str, message: str
) -> None:
    lines = GOOD_YAML.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if old in line)
    lines[number - 1] = lines[number - 1].replace(old, new)
    if new.endswith("\\x07"):
        lines[number - 1] += '"'
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(SiteConfigError) as info:
        load_site(path)
    [problem] = info.value.problems
    assert problem.line == number, str(info.value)
    # An unknown key's message names its section itself (`where` is empty then).
    place = problem.where or problem.message.split("`")[3]
    assert place.startswith("rooms["), place
    assert place.endswith(f".register{where}"), place
    assert message in problem.message


def test_a_place_shared_with_staff_needs_it_shared(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_YAML.replace("shared_with_staff: true", "shared_with_staff: false"))
    with pytest.raises(SiteConfigError) as info:
        load_site(path)
    line = GOOD_YAML.splitlines().index("        shared_where: staff-room noticeboard") + 1
    assert str(info.value) == (
        f"{path}:{line}: rooms[0].register.risk_assessment.shared_where: shared_where names"
        " where it was shared: shared_with_staff is false"
    )


# -- edits kept in the state file ---------------------------------------------------------------


def test_an_edit_overrides_the_file_key_by_key_and_is_audited(
    tmp_path: Path, state_where: StateLocation
) -> None:
    site = load_site(write(tmp_path, GOOD_YAML))
    edits = RegisterEdits(state_where, site.site.name)
    room = site.rooms[0]
    changed = edits.change(
        room, site, {"review_due": date(2027, 3, 1), "windows_broken": 1, "notes": " Fixed. "},
        "sam", NOW,
    )  # fmt: skip
    assert changed == ["windows_broken", "review_due", "notes"]
    # Another object on the same file (another process) sees it: it is in the file.
    reg = RegisterEdits(state_where, site.site.name).effective(site)["Room 4"]
    assert (reg.review_due, reg.windows_broken, reg.notes) == (date(2027, 3, 1), 1, "Fixed.")
    assert reg.windows_working == 2  # the file's, unchanged
    assert reg.changed["review_due"].by == "sam"
    assert reg.changed["review_due"].file_value == date(2026, 12, 1)
    # Saving the same values again changes nothing and logs nothing.
    assert edits.change(room, site, reg.values(), "sam", NOW) == []
    # Clearing a key is an edit too: "not recorded" over the file's value.
    assert edits.change(room, site, {"shared_where": None}, "ann", NOW) == ["shared_where"]
    assert edits.effective(site)["Room 4"].shared_where is None
    log = edits.log(["Room 4"])
    assert [(e.actor, e.kind, e.key, e.old, e.new) for e in log] == [
        ("sam", "changed", "windows_broken", 0, 1),
        ("sam", "changed", "review_due", date(2026, 12, 1), date(2027, 3, 1)),
        ("sam", "changed", "notes", "Blinds block the top windows.", "Fixed."),
        ("ann", "changed", "shared_where", "staff-room noticeboard", None),
    ]
    # Back to the site file: the overrides go, and that is logged too.
    assert sorted(edits.reset(room, "ann", NOW)) == [
        "notes", "review_due", "shared_where", "windows_broken",
    ]  # fmt: skip
    assert edits.effective(site) == file_registers(site)
    assert [e.kind for e in edits.log()][-4:] == ["reset"] * 4
    # Another site in the same file keeps its own register.
    other = RegisterEdits(state_where, "Other School")
    assert other.log() == []


def test_an_edit_the_file_rules_refuse_changes_nothing(
    tmp_path: Path, state_where: StateLocation
) -> None:
    site = load_site(write(tmp_path, GOOD_YAML))
    edits = RegisterEdits(state_where, site.site.name)
    with pytest.raises(RegisterError) as info:
        edits.change(site.rooms[0], site, {"review_due": date(2026, 1, 1)}, "sam", NOW)
    assert info.value.problems == [
        "review_due: review_due 2026-01-01 is before assessed_on 2026-09-01"
    ]
    with pytest.raises(RegisterError, match="no mechanical plant"):
        edits.change(site.rooms[1], site, {"mechanical_working": True}, "sam", NOW)
    with pytest.raises(RegisterError, match="windows_working"):
        edits.change(site.rooms[2], site, {"windows_working": -1}, "sam", NOW)
    with pytest.raises(RegisterError, match="not a key"):
        edits.change(site.rooms[2], site, {"colour": "blue"}, "sam", NOW)
    assert edits.log() == []
    assert edits.effective(site) == file_registers(site)


def test_a_report_reads_edits_without_creating_the_state_file(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, GOOD_YAML))
    missing = tmp_path / "none.sqlite"
    assert room_registers(missing, site) == file_registers(site)
    assert not missing.exists()


# -- the dashboard ------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> SiteConfig:
    return load_site(write(tmp_path, GOOD_YAML))


@pytest.fixture
def client_for(tmp_path: Path, accounts: Accounts, site: SiteConfig):  # type: ignore[no-untyped-def]
    store = DuckDBStore(tmp_path / "store.duckdb")
    app = create_app(site, store, accounts=accounts, clock=lambda: NOW)

    def client(role: Role) -> TestClient:
        made = TestClient(app)
        sign_in(made, role.value)
        return made

    yield client
    store.close()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def form(**values: str) -> dict[str, str]:
    """The edit form as a browser posts it: every field, empty unless given."""
    return {"room": "Room 4", **dict.fromkeys(KEYS, ""), **values}


def test_everyone_reads_the_register_and_only_managers_may_edit(client_for: Any) -> None:
    for role in Role:
        client = client_for(role)
        page = client.get("/room", params={"name": "Room 4"})
        assert page.status_code == 200
        assert "5 openable windows: 2 open as designed, 2 restricted, 1 painted shut" in page.text
        assert "extract fan (not working)" in page.text
        assert "staff-room noticeboard" in page.text
        editor = role in (Role.ADMIN, Role.SITE_MANAGER)
        assert ("Edit the register" in page.text) == editor
        form_page = client.get("/room/register", params={"name": "Room 4"})
        assert form_page.status_code == (200 if editor else 403)
        token = csrf_of(page.text)
        answer = client.post(
            "/room/register", data={**form(notes="x"), "csrf": token}, follow_redirects=False
        )
        assert answer.status_code == (303 if editor else 403), role
        reset = client.post(
            "/room/register/reset", data={"room": "Room 4", "csrf": token}, follow_redirects=False
        )
        assert reset.status_code == (303 if editor else 403), role


def test_an_edit_needs_the_session_s_csrf_token(client_for: Any, tmp_path: Path) -> None:
    client = client_for(Role.SITE_MANAGER)
    forged = client.post("/room/register", data={**form(notes="x"), "csrf": "forged"})
    assert forged.status_code == 403
    assert client.post("/room/register", data=form(notes="x")).status_code == 422
    assert RegisterEdits(tmp_path / "accounts.sqlite", "Hillside Academy").log() == []


def test_a_manager_s_edit_shows_on_the_room_page_escaped(
    client_for: Any, tmp_path: Path, site: SiteConfig
) -> None:
    manager = client_for(Role.SITE_MANAGER)
    page = manager.get("/room/register", params={"name": "Room 4"})
    assert 'value="2026-12-01"' in page.text  # filled with what the register says now
    fields = {
        "windows_working": "3", "windows_restricted": "1", "windows_painted_shut": "1",
        "windows_broken": "0", "mechanical": "extract fan", "mechanical_working": "yes",
        "air_cleaner": "no", "assessed_on": "2026-11-16", "review_due": "2027-05-16",
        "shared_with_staff": "yes", "shared_where": EVIL, "notes": f"Fan fixed {EVIL}",
    }  # fmt: skip
    answer = manager.post(
        "/room/register", data={**form(**fields), "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/room?name=Room+4#register-heading"
    staff = client_for(Role.STAFF).get("/room", params={"name": "Room 4"}).text
    assert EVIL not in staff
    assert "&lt;script&gt;alert(&#39;reg&#39;)&lt;/script&gt;" in staff
    assert "extract fan (working)" in staff
    assert "16 May 2027" in staff
    assert "by site_manager" in staff  # who changed it, on the page
    assert AIR_CLEANER_CAVEAT not in staff  # no air cleaner any more
    log = RegisterEdits(tmp_path / "accounts.sqlite", site.site.name).log()
    assert {e.key for e in log} == {
        "windows_working", "windows_restricted", "mechanical_working", "air_cleaner",
        "assessed_on", "review_due", "shared_where", "notes",
    }  # fmt: skip
    assert {e.actor for e in log} == {"site_manager"}
    # The register's own page lists the changes, escaped too.
    own = manager.get("/room/register", params={"name": "Room 4"}).text
    assert EVIL not in own
    assert "the site file says" in own


def test_a_refused_edit_comes_back_saying_why(client_for: Any, tmp_path: Path) -> None:
    manager = client_for(Role.ADMIN)
    token = csrf_of(manager.get("/room/register", params={"name": "Room 4"}).text)
    bad = manager.post(
        "/room/register",
        data={**form(review_due="2026-01-01", windows_broken="lots", assessed_on="2026-09-01"),
              "csrf": token},
    )  # fmt: skip
    assert bad.status_code == 400
    assert "windows_broken: &#39;lots&#39; is not a whole number" in bad.text
    before = manager.post(
        "/room/register", data={**form(review_due="2026-01-01", assessed_on="2026-09-01"),
                                "csrf": token},
    )  # fmt: skip
    assert before.status_code == 400
    assert "is before assessed_on" in before.text
    assert RegisterEdits(tmp_path / "accounts.sqlite", "Hillside Academy").log() == []
    assert manager.get("/room/register", params={"name": "Nowhere"}).status_code == 404


def test_the_air_cleaner_caveat_is_next_to_the_room_s_figures(client_for: Any) -> None:
    page = client_for(Role.STAFF).get("/room", params={"name": "Room 4"}).text
    figures = page.split('id="figures-heading"')[1].split("</section>")[0]
    assert "air cleaning units do not reduce CO2 levels" in figures
    lab = client_for(Role.STAFF).get("/room", params={"name": "Lab 3"}).text
    assert "air cleaning units do not reduce CO2 levels" not in lab


# -- reports and the evidence pack --------------------------------------------------------------


def minutes_of(room: str, values: list[float]) -> Any:
    import pandas as pd

    start = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    return minute_means(
        pd.DataFrame(
            {
                "time": pd.to_datetime(
                    [start + timedelta(minutes=i) for i in range(len(values))], utc=True
                ),
                "room": room,
                "co2_ppm": values,
                "temperature_c": 20.0,
                "humidity_pct": 45.0,
            }
        )
    )


def test_the_report_shows_the_register_and_the_caveat(site: SiteConfig, tmp_path: Path) -> None:
    edits = RegisterEdits(tmp_path / "state.sqlite", site.site.name)
    edits.change(site.rooms[2], site, {"notes": EVIL, "review_due": date(2026, 11, 1)}, "sam", NOW)
    report = build_report(
        minutes_of("Room 4", [900.0] * 60), site, PROFILE, ONE_DAY, NOW,
        registers=edits.effective(site),
    )  # fmt: skip
    html = render_html(report)
    room4 = html.split('id="room-1"')[1].split('id="room-2"')[0]
    figures_end = room4.index("</table>")
    caveat = room4.index("Air cleaner in this room:")
    assert figures_end < caveat < room4.index("<h3>School days</h3>")  # next to the figures
    assert "5 openable windows" in room4
    assert "01 Sep 2026" in room4
    assert "01 Dec 2026 (due soon)" in room4  # 14 days before it
    hall = html.split('id="room-3"')[1]
    assert "01 Nov 2026 (overdue when this report was made)" in hall
    assert EVIL not in html
    assert "&lt;script&gt;" in hall
    assert "Changed on the dashboard: notes by sam" in hall
    assert "Nothing recorded." not in hall
    assert AIR_CLEANER_CAVEAT not in html.split('id="room-2"')[1]

    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    at = ROOM_COLUMNS.index("actions_logged") + 1  # the register's columns follow it
    assert list(rows[0])[at : at + len(KEYS)] == [f"register_{key}" for key in KEYS]
    assert ROOM_COLUMNS[at] == "register_windows_working"
    assert (rows[0]["register_air_cleaner"], rows[0]["register_review_due"]) == (
        "true", "2026-12-01",
    )  # fmt: skip
    assert rows[0]["register_windows_painted_shut"] == "1"
    assert (rows[1]["register_mechanical"], rows[1]["register_windows_working"]) == ("none", "")
    assert rows[2]["register_notes"] == EVIL  # text, as typed (not a formula: no prefix)

    book = load_workbook(io.BytesIO(render_xlsx(report)))
    pairs = {row[0].value: row[1].value for row in book["Room 4"].iter_rows(max_col=2)}
    assert pairs["Air cleaner caveat"] == f"Air cleaner in this room: {AIR_CLEANER_CAVEAT}"
    assert pairs["Windows that open as designed"] == 2
    assert pairs["Review due"] == datetime(2026, 12, 1)
    labels = [row[0].value for row in book["Room 4"].iter_rows(max_col=1)]
    assert labels.index("Air cleaner caveat") == labels.index("Worst 20-minute mean (ppm)") + 1
    assert "Air cleaner caveat" not in [row[0].value for row in book["Lab 3"].iter_rows(max_col=1)]


def test_without_edits_a_report_has_the_site_file_s_register(site: SiteConfig) -> None:
    report = build_report(
        minutes_of("Room 4", [900.0] * 60),
        site,
        PROFILE,
        ONE_DAY,
        NOW,
    )
    assert [r.register for r in report.rooms] == list(file_registers(site).values())


def test_the_evidence_pack_holds_each_room_s_register_and_its_changes(tmp_path: Path) -> None:
    path, _ = seed(tmp_path)
    text = path.read_text().replace(
        "  - {name: Lab 1, building: Science}",
        "  - name: Lab 1\n    building: Science\n    register: {air_cleaner: true, "
        "windows: {working: 4}, risk_assessment: {assessed_on: 2026-09-01}}",
    )
    path.write_text(text)
    site = load_site(path)
    records = AlertRecords(tmp_path / "accounts.sqlite", site.site.name)
    edits = RegisterEdits(tmp_path / "accounts.sqlite", site.site.name)
    edits.change(site.rooms[0], site, {"notes": "=HYPERLINK(1)"}, "sam", NOW)
    edits.change(site.rooms[1], site, {"notes": "not in the pack"}, "sam", NOW)
    store = DuckDBStore(tmp_path / "store.duckdb")
    inputs = load_evidence(
        store, site, PROFILE, parse_week("2026-W47"), NOW, records, ["Lab 1", "Hall"], edits
    )
    data = evidence_pack(inputs)
    store.close()
    pack = zipfile.ZipFile(io.BytesIO(data))
    rooms = list(csv.DictReader(io.StringIO(pack.read("rooms.csv").decode())))
    assert [r["room"] for r in rooms] == ["Lab 1", "Hall"]
    lab = rooms[0]
    assert (lab["building"], lab["ventilation_type"], lab["capacity"]) == (
        "Science", "natural", "30",
    )  # fmt: skip
    assert (lab["register_air_cleaner"], lab["register_windows_working"]) == ("true", "4")
    assert lab["register_assessed_on"] == "2026-09-01"
    assert lab["register_notes"] == "'=HYPERLINK(1)"  # kept as text in a spreadsheet
    assert lab["register_changed_on_dashboard"].startswith("notes by sam ")
    assert rooms[1]["register_air_cleaner"] == ""
    log = list(csv.DictReader(io.StringIO(pack.read("register-log.csv").decode())))
    assert [(e["room"], e["who"], e["key"], e["new"]) for e in log] == [
        ("Lab 1", "sam", "notes", '"=HYPERLINK(1)"')
    ]
    manifest = json.loads(pack.read("manifest.json"))
    assert manifest["register"]["Lab 1"]["air_cleaner"] is True
    assert manifest["register"]["Lab 1"]["assessed_on"] == "2026-09-01"
    assert {f["name"] for f in manifest["files"]} >= {"rooms.csv", "register-log.csv"}
    assert "rooms.csv" in pack.read("README.txt").decode()
    assert pack.read("report.pdf").startswith(b"%PDF")


# -- reminders ----------------------------------------------------------------------------------


def test_which_reviews_call_for_a_reminder(site: SiteConfig) -> None:
    registers = file_registers(site)  # Room 4's review is due on 1 December 2026
    due = date(2026, 12, 1)
    assert reminders_due(registers, due - timedelta(days=15)) == []
    assert reminders_due(registers, due - timedelta(days=14)) == [
        ReviewReminder("Room 4", due, "due", 14)
    ]
    assert reminders_due(registers, due)[0].words == "due today"
    [late] = reminders_due(registers, due + timedelta(days=1))
    assert (late.state, late.words) == ("overdue", "overdue by 1 day")


REVIEW_SITE = """\
site: {name: Hillside Academy, timezone: Europe/London}
rooms:
  - name: Room 4
    building: Main
    register: {risk_assessment: {assessed_on: 2026-06-01, review_due: 2026-12-01}}
  - name: Lab 3
    building: Science
    register: {risk_assessment: {review_due: 2027-06-01}}
alerts:
  dashboard_url: https://vw.example.org
  subscriptions:
    - {name: Head of site, email: site@example.org, severities: [info]}
    - {name: NEU rep, email: rep@example.org}
    - {name: Science, email: sci@example.org, severities: [info], buildings: [Science]}
"""


class Rig:
    """Alerting for the site on the same files, as a restarted process would open them."""

    def __init__(self, tmp: Path, smtp: SmtpServer) -> None:
        self.tmp = tmp
        self.site = load_site(write(tmp, REVIEW_SITE))
        self.store = open_store(f"duckdb://{tmp / 'store.duckdb'}", site=None)
        self.smtp = smtp
        self.alerting = self.open()

    def open(self) -> Alerting:
        env = {
            "VENTWATCH_STATE_DB": str(self.tmp / "accounts.sqlite"),
            "VENTWATCH_SMTP_URL": f"smtp://127.0.0.1:{self.smtp.port}?from=vw@example.org",
        }
        return Alerting(self.site, resolve(self.site, None, env=env), self.store, PROFILE)

    def tick(self, day: date, hour: int = 8) -> None:
        at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        self.alerting.monitor.tick(at)
        self.alerting.outbox.deliver_due(at)


def test_a_review_reminder_goes_once_per_due_date_across_restarts(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    rig = Rig(tmp_path, smtp_server)
    due = date(2026, 12, 1)
    rig.tick(due - timedelta(days=15))
    assert smtp_server.messages == []
    rig.tick(due - timedelta(days=14))
    [soon] = smtp_server.wait_for(1)
    assert soon["To"] == "site@example.org"  # takes info; the rep takes urgent and advisory
    assert soon["Subject"] == "[ventwatch] Risk assessment review due: Room 4 (01 Dec 2026)"
    text = soon.get_body(preferencelist=("plain",)).get_content()
    assert "is due in 14 days (review due Tuesday 01 December 2026)" in text
    assert "https://vw.example.org/room?name=Room+4" in text
    rig.tick(due - timedelta(days=14), hour=15)
    rig.alerting = rig.open()  # a restart on the same files
    for days in range(13, -1, -1):
        rig.tick(due - timedelta(days=days))
    assert len(smtp_server.messages) == 1
    rig.tick(due + timedelta(days=1))
    [_, late] = smtp_server.wait_for(2)
    assert late["Subject"] == "[ventwatch] Risk assessment review overdue: Room 4 (01 Dec 2026)"
    rig.alerting = rig.open()
    rig.tick(due + timedelta(days=2))
    rig.tick(due + timedelta(days=30))
    assert len(smtp_server.messages) == 2
    # The review is done: a new date on the dashboard starts its own reminders.
    rig.alerting.register.change(
        rig.site.rooms[0], rig.site, {"assessed_on": date(2027, 1, 4),
                                      "review_due": date(2027, 1, 10)}, "sam", NOW,
    )  # fmt: skip
    rig.tick(date(2027, 1, 4))
    [*_, again] = smtp_server.wait_for(3)
    assert again["Subject"] == "[ventwatch] Risk assessment review due: Room 4 (10 Jan 2027)"
    assert len(smtp_server.messages) == 3
    rig.store.close()


def test_a_review_overdue_when_first_seen_is_reminded_once_as_overdue(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    rig = Rig(tmp_path, smtp_server)
    rig.tick(date(2027, 6, 3))  # both reviews are past: one overdue reminder each
    messages = smtp_server.wait_for(3)
    assert sorted((m["To"], m["Subject"].split(": ")[1]) for m in messages) == [
        ("sci@example.org", "Lab 3 (01 Jun 2027)"),
        ("site@example.org", "Lab 3 (01 Jun 2027)"),
        ("site@example.org", "Room 4 (01 Dec 2026)"),
    ]
    assert all("overdue" in m["Subject"] for m in messages)
    rig.tick(date(2027, 6, 4))
    assert len(smtp_server.messages) == 3
    rig.store.close()


def test_the_alerts_page_lists_reviews_due_and_overdue(
    tmp_path: Path, smtp_server: SmtpServer, accounts: Accounts
) -> None:
    rig = Rig(tmp_path, smtp_server)
    rig.tick(date(2026, 11, 20))
    rig.tick(date(2026, 12, 2))
    app = create_app(
        rig.site, rig.store, accounts=accounts, alerting=rig.alerting,
        clock=lambda: datetime(2026, 12, 2, 9, tzinfo=UTC),
    )  # fmt: skip
    client = TestClient(app)
    sign_in(client, "rep")
    page = client.get("/alerts").text
    reviews = page.split('id="reviews"')[1].split("</section>")[0]
    assert "Room 4" in reviews
    assert "overdue by 1 day" in reviews
    assert "Lab 3" not in reviews  # due in June
    assert "Wed 2 Dec 2026, 08:00" in reviews  # when the overdue reminder went
    rig.store.close()
