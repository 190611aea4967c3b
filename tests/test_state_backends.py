"""The state database on both back ends: every state module against a SQLite file and a real
PostgreSQL (`state_where`), the settings that choose one, and PostgreSQL restarted under
serve and monitor processes. The outbox's suite (tests/test_outbox.py), the register's edits,
API tokens, leases and sessions across serve processes (tests/test_trust.py) run on both
too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import (
    PASSWORD,
    HttpReceiver,
    InfluxServer,
    PostgresServer,
    free_port,
    sign_in,
    start_postgres,
    state_env,
    wait_for_port,
)
from ventwatch.accounts import ALL_SITES, AccountError, Accounts, Role
from ventwatch.alerts.leases import SiteLeases
from ventwatch.alerts.lifecycle import Alert
from ventwatch.alerts.records import AlertRecords
from ventwatch.assignments import Assignments
from ventwatch.config import Recipient, load_site, site_slug
from ventwatch.notify.channels import Channels
from ventwatch.notify.notices import Notice
from ventwatch.notify.outbox import Outbox
from ventwatch.postgres_state import translate
from ventwatch.settings import SettingsError, resolve
from ventwatch.state_database import PostgresURL, StateLocation

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITE = "Hillside Academy"


def test_users_sessions_and_a_name_taken_twice(state_where: StateLocation) -> None:
    accounts = Accounts(state_where)
    ann = accounts.add_user("ann", Role.REP, PASSWORD, ["North", "South"])
    with pytest.raises(AccountError, match="exists already"):
        accounts.add_user("ann", Role.STAFF, PASSWORD, ["North"])
    accounts.add_user("user", Role.STAFF, PASSWORD, [ALL_SITES])  # a reserved word, as data
    assert [u.name for u in accounts.users()] == ["ann", "user"]
    assert accounts.user("ann") == ann
    assert accounts.check_password("ann", PASSWORD) == ann
    assert accounts.check_password("ann", "not the password") is None
    token, session = accounts.start_session(ann, T0)
    # Another process's object reads the same session.
    assert Accounts(state_where).session(token, T0) == session
    accounts.remove_user("ann")  # its sessions and tokens go with it (ON DELETE CASCADE)
    assert Accounts(state_where).session(token, T0) is None
    with pytest.raises(AccountError, match="no user"):
        accounts.remove_user("ann")


def test_assignments_replace_and_count_versions(state_where: StateLocation) -> None:
    assignments = Assignments(state_where)
    assert assignments.version() == 0
    assignments.assign(SITE, "tasmota", "b12", "Room 1", "sam", T0)
    assignments.assign(SITE, "tasmota", "b12", "Room 2", "ann", T0 + timedelta(hours=1))
    assignments.assign("Other", "tasmota", "b12", "Lab", "ann", T0)
    (found,) = Assignments(state_where).for_site(SITE)
    assert (found.room, found.assigned_by, found.assigned_at) == (
        "Room 2", "ann", T0 + timedelta(hours=1),
    )  # fmt: skip
    assert assignments.version() == 3


def alert(room: str, rule: str = "co2_high", **fields: object) -> Alert:
    return Alert(room=room, rule=rule, severity="red", opened_at=T0, **fields)  # type: ignore[arg-type]


def test_alert_records_workflow_audit_and_marks(state_where: StateLocation) -> None:
    records = AlertRecords(state_where, SITE)
    first = records.save(alert("B12", notified=True, worst=1612.5), T0, "opened", {"ppm": 1612})
    second = records.save(alert("B12", rule="too_cold"), T0, "opened")
    other_site = AlertRecords(state_where, "Other").save(alert("B12"), T0, "opened")
    assert first.id is not None
    assert second.id is not None
    assert other_site.id is not None
    assert len({first.id, second.id, other_site.id}) == 3
    again = AlertRecords(state_where, SITE).get(first.id)
    assert again == first  # every field back as it went in: times, the flag, the float
    assert again is not None
    assert again.notified is True
    assert AlertRecords(state_where, SITE).get(other_site.id) is None  # another site's
    assert set(records.latest()) == {("B12", "co2_high"), ("B12", "too_cold")}

    records.acknowledge(first.id, "ann", T0 + timedelta(minutes=5))
    records.record_action(
        first.id, step="act", action="open_windows", note="both", taken_on=date(2026, 3, 2),
        by="ann", at=T0 + timedelta(minutes=9), close=True,
    )  # fmt: skip
    assert records.unclosed_counts() == {("too_cold", "red", "active"): 1}
    kinds = [e.kind for e in records.audit(first.id)]
    assert kinds[0] == "opened"
    assert kinds[-1] == "closed"
    assert len(kinds) >= 3
    assert [e.kind for e in records.audit(limit=2)] == kinds[-2:]  # the newest, oldest first
    (action,) = records.actions(room="B12")
    assert (action.action, action.recorded_by) == ("open_windows", "ann")

    sub_id, confirm = records.subscribe("ann", {"name": "Ann", "email": "a@x.org"}, T0,
                                        timedelta(days=1))  # fmt: skip
    assert not records.subscriptions("ann")[0].confirmed
    assert records.confirm(confirm, "ann", T0 + timedelta(hours=1)).id == sub_id
    assert records.subscriptions("ann")[0].confirmed
    assert records.unsubscribe(sub_id, "ann", T0) is True

    records.add_digest_line({"name": "Ann"}, "B12 opened", T0)
    records.add_digest_line({"name": "Ann"}, "B12 closed", T0)
    assert list(records.take_digest().values()) == [["B12 opened", "B12 closed"]]
    assert records.take_digest() == {}

    assert records.mark("weekly") is None
    records.set_mark("weekly", "2026-W10")
    records.set_mark("weekly", "2026-W11")  # replaced, not a second row
    assert AlertRecords(state_where, SITE).mark("weekly") == "2026-W11"
    assert AlertRecords(state_where, "Other").mark("weekly") is None


def test_leases_share_sites_between_two_monitors(state_where: StateLocation) -> None:
    now = [1000.0]
    a = SiteLeases(state_where, "a", lease_s=30, clock=lambda: now[0])
    b = SiteLeases(state_where, "b", lease_s=30, clock=lambda: now[0])
    sites = ["s1", "s2", "s3", "s4"]
    held_a, _ = a.claim(sites)
    assert held_a == set(sites)  # alone: every site
    b.claim(sites)
    _, beyond = a.claim(sites)  # two alive now: a holds more than its share
    assert len(beyond) == 2
    a.release(beyond)
    held_b, _ = b.claim(sites)
    assert held_b == beyond
    assert sorted(Counter(a.holders().values()).values()) == [2, 2]
    now[0] += 31  # a stops renewing: b takes its sites once they run out
    b.claim(sites)
    assert b.claim(sites)[0] == set(sites)
    b.leave()
    assert a.holders() == {}


def test_text_sorts_byte_by_byte_on_both(state_where: StateLocation) -> None:
    """ISO times are kept as text and compared as text (the outbox's due times): PostgreSQL
    must not sort them by the server's locale."""
    box = Outbox(state_where, SITE, Channels(None, None))
    recipient = Recipient(name="Estates", webhook="http://127.0.0.1:9/hook")
    notice = Notice(kind="opened", subject="s", text="t", html="<p>t</p>", data={})
    ids = [box.enqueue(recipient, notice, now=T0 + timedelta(seconds=s)) for s in (0, 9, 10)]
    assert [d.id for d in box.deliveries()] == ids[::-1]


@given(
    sql=st.text(alphabet="SELECT ?%'\"abc_,()=", max_size=40),
)
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_translation_keeps_every_placeholder_and_percent(sql: str) -> None:
    """Each `?` is one psycopg placeholder and each `%` a literal one, whatever surrounds
    them: no parameter is dropped, doubled or read from the SQL's own text."""
    translated = translate(sql)
    assert translated.count("%s") - translated.count("%%s") >= 0
    assert translated.replace("%s", "").replace("%%", "").count("%") == 0
    assert translated.replace("%%", "").count("%s") == sql.count("?")


def test_ddl_types_for_postgresql() -> None:
    ddl = translate(
        "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, x REAL, s TEXT)",
        bound=False,
    )
    assert ddl == (
        "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT,"
        ' x DOUBLE PRECISION, s TEXT COLLATE "C")'
    )
    # Data is never rewritten: a value that says INTEGER stays as it is.
    assert translate("UPDATE t SET s = 'INTEGER' WHERE id = ?") == (
        "UPDATE t SET s = 'INTEGER' WHERE id = %s"
    )


# -- choosing the back end -------------------------------------------------------------------


def test_the_state_url_wins_and_a_wrong_one_is_refused(
    tmp_path: Path, example_site_path: Path
) -> None:
    site = load_site(example_site_path)
    url = "postgresql://ventwatch:s3cret@db.example:5432/ventwatch"
    env = {"VENTWATCH_STATE_URL": url, "VENTWATCH_STATE_DB": "x.sqlite"}
    where = resolve(site, example_site_path, env=env).state_db
    assert where == PostgresURL(url)
    assert "s3cret" not in str(where)
    for bad, why in (
        ("mysql://db/ventwatch", "must be postgresql://"),
        ("postgresql://db:5432/", "names no database"),
        ("postgresql://db:port/ventwatch", "VENTWATCH_STATE_URL"),
    ):
        with pytest.raises(SettingsError, match=why):
            resolve(site, example_site_path, env={"VENTWATCH_STATE_URL": bad})


# -- PostgreSQL restarted under serve and monitor ------------------------------------------------


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A cluster of this test's own: it is restarted, which the machine's must never be."""
    server = start_postgres()
    server.admin("CREATE DATABASE ventwatch")
    yield server
    from ventwatch.postgres_state import close_pools

    close_pools()
    server.stop("immediate")


def site_file(name: str, store_url: str, folder: Path) -> str:
    return json.dumps({
        "site": {"name": name, "timezone": "Europe/London"},
        "store": {"url": store_url, "spool": str(folder / f"{site_slug(name)}-spool")},
        "rooms": [{"name": "Room 1"}],
        "sensors": [{"family": "tasmota", "device": site_slug(name), "room": "Room 1"}],
    })  # fmt: skip


@pytest.mark.servers
def test_serve_and_monitor_carry_on_when_postgresql_restarts(
    tmp_path: Path, private_postgres: PostgresServer, influxdb: InfluxServer,
    http_receiver: HttpReceiver,
) -> None:  # fmt: skip
    """A session opened before the restart still works after it, through the same serve
    process; the monitor keeps its leases and sends a message queued after the restart,
    once; nothing written before is lost."""
    state = PostgresURL(private_postgres.url("ventwatch"))
    folder = tmp_path / "sites"
    folder.mkdir()
    for name in ("North School", "South School"):
        (folder / f"{site_slug(name)}.yaml").write_text(
            site_file(name, influxdb.url_for("restart"), tmp_path)
        )
    Accounts(state).add_user("manager", Role.SITE_MANAGER, PASSWORD, ["North School"])
    env = {**os.environ, **state_env(state)}
    port = free_port()
    log = tmp_path / "monitor.log"
    with log.open("wb") as out:
        monitor = subprocess.Popen(
            [sys.executable, "-m", "ventwatch", "monitor", "--sites", str(folder),
             "--lease-seconds", "6"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    serve = subprocess.Popen(
        [sys.executable, "-m", "ventwatch", "serve", "--sites", str(folder), "--port", str(port)],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    leases = SiteLeases(state, "the test")
    try:
        wait_for_port(port, timeout=30)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        sign_in(client, "manager")
        rooms = f"/sites/{site_slug('North School')}/api/rooms"
        assert client.get(rooms).status_code == 200
        deadline = time.monotonic() + 30
        while len(leases.holders()) < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        holder = set(leases.holders().values())

        private_postgres.stop("fast")  # every connection of serve and monitor is cut
        time.sleep(1.0)
        private_postgres.start()

        assert client.get(rooms).status_code == 200, "the session outlived the restart"
        box = Outbox(state, "North School", Channels(None, None))
        notice = Notice(kind="opened", subject="s", text="t", html="<p>t</p>", data={})
        box.enqueue(Recipient(name="Estates", webhook=http_receiver.url + "/after"), notice,
                    now=datetime.now(UTC))  # fmt: skip
        deadline = time.monotonic() + 30
        while box.counts()["sent"] < 1:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert [r.path for r in http_receiver.requests].count("/after") == 1
        assert set(leases.holders().values()) == holder  # kept its sites through it
        assert monitor.poll() is None
        assert serve.poll() is None
    finally:
        for process in (monitor, serve):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
