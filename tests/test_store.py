"""The store: one suite for every backend. Each shared test runs against the embedded DuckDB
file and a real InfluxDB server (a fresh database per test); the InfluxDB tests after them
cover what only a server has: escaping, credentials, a server that is down or slow,
retention policies, URLs, chunked writes and reads, and equality with DuckDB's frames."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import InfluxServer, free_port, start_influxd
from ventwatch.readings import Reading
from ventwatch.store import (
    Store,
    StoreRejectedError,
    StoreUnavailableError,
    StoreURLError,
    open_store,
)
from ventwatch.store.duckdb import DuckDBStore
from ventwatch.store.influxdb import InfluxDBStore, parse_influxdb_url

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


def reading(minute: int, room: str = "Room 1", sensor: str = "s1", **values: float) -> Reading:
    return Reading(T0 + timedelta(minutes=minute), "Site", room, sensor, "tasmota", **values)


@pytest.fixture(params=["duckdb", pytest.param("influxdb", marks=pytest.mark.servers)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb://{tmp_path / 'store.duckdb'}"
    server: InfluxServer = request.getfixturevalue("influxdb")
    return server.url_for()  # a fresh database: tests stay independent


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url, site=None)
    yield opened
    opened.close()


def database_of(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


# -- shared: every store -------------------------------------------------------------------


def test_write_is_idempotent(store: Store) -> None:
    batch = [reading(0, co2_ppm=600), reading(1, co2_ppm=650)]
    # DuckDB counts new readings; InfluxDB cannot tell new from old and counts points sent
    # (a second reading of one sensor and time inside a batch is dropped by both).
    new = (2, 2, 3) if isinstance(store, InfluxDBStore) else (2, 0, 1)
    assert store.write(batch) == new[0]
    assert store.write(batch) == new[1]
    assert store.write([*batch, reading(2, co2_ppm=700), reading(2, co2_ppm=701)]) == new[2]
    frame = store.range(None, T0, T0 + timedelta(hours=1))
    assert list(frame["co2_ppm"]) == [600, 650, 700]  # stored once each; first one wins


def test_latest_takes_each_quantity_from_its_newest_reading(store: Store) -> None:
    store.write(
        [
            reading(0, co2_ppm=600, temperature_c=20.0),
            reading(1, sensor="s2", temperature_c=21.5),  # an ESPHome-style temperature-only
            reading(0, room="Room 2", sensor="s3", co2_ppm=1600),
        ]
    )
    latest = store.latest(since=T0 - timedelta(hours=1))
    assert set(latest) == {"Room 1", "Room 2"}
    room1 = latest["Room 1"]
    assert room1.time == T0 + timedelta(minutes=1)
    assert room1.sensor == "s2"
    assert room1.co2_ppm == 600
    assert room1.temperature_c == 21.5
    assert room1.humidity_pct is None
    assert latest["Room 2"].co2_ppm == 1600
    assert store.latest(since=T0 + timedelta(minutes=5)) == {}


def test_latest_counts_a_battery_only_reading_as_the_newest(store: Store) -> None:
    store.write([reading(0, co2_ppm=600), reading(3, sensor="s9", battery_pct=80.0)])
    room = store.latest(since=T0)["Room 1"]
    assert (room.time, room.sensor, room.co2_ppm) == (T0 + timedelta(minutes=3), "s9", 600)


def test_range_filters_rooms_and_half_open_interval(store: Store) -> None:
    store.write([reading(m, room=r, sensor=r, co2_ppm=500 + m) for m in range(10) for r in "AB"])
    frame = store.range(["A"], T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))
    assert list(frame["room"].unique()) == ["A"]
    assert list(frame["co2_ppm"]) == [502, 503, 504]
    assert str(frame["time"].dt.tz) == "UTC"
    assert list(frame.columns) == [
        "time",
        *("site", "room", "sensor", "family"),
        *("co2_ppm", "temperature_c", "humidity_pct", "pressure_hpa", "battery_pct"),
    ]
    assert store.range([], T0, T0 + timedelta(hours=1)).empty
    assert store.range(["A"], T0 + timedelta(minutes=5), T0 + timedelta(minutes=5)).empty


def test_has_readings_per_half_open_span(store: Store) -> None:
    """Which weeks have readings, for the export's week list: start counts, end does not;
    a reading with only a battery level is a reading too."""
    store.write([reading(0, co2_ppm=600), reading(60, battery_pct=80.0)])
    minute = timedelta(minutes=1)
    spans = [
        (T0, T0 + minute),  # the first reading
        (T0 - minute, T0),  # ends where it is: not in it
        (T0 + minute, T0 + 60 * minute),  # between the two
        (T0 + 60 * minute, T0 + 61 * minute),  # the battery-only reading
        (T0 - timedelta(days=400), T0 + timedelta(days=400)),
    ]
    assert store.has_readings(spans) == [True, False, False, True, True]
    assert store.has_readings([]) == []


def test_minute_means_per_room_and_minute(store: Store) -> None:
    store.write(
        [
            Reading(T0 + timedelta(seconds=10), "S", "A", "a1", "f", co2_ppm=600),
            Reading(T0 + timedelta(seconds=50), "S", "A", "a2", "f", co2_ppm=700, temperature_c=20),
            Reading(T0 + timedelta(seconds=70), "S", "A", "a1", "f", co2_ppm=800),
            Reading(T0 + timedelta(seconds=20), "S", "B", "b1", "f", humidity_pct=40.0),
            Reading(T0 + timedelta(seconds=30), "S", "C", "c1", "f", pressure_hpa=1000.0),
        ]
    )
    means = store.minute_means(None, T0, T0 + timedelta(hours=1))
    means = means.sort_values(["room", "minute"], ignore_index=True)
    assert list(means.columns) == ["room", "minute", "co2_ppm", "temperature_c", "humidity_pct"]
    assert list(means["room"].cat.categories) == ["A", "B", "C"]
    assert list(means["room"]) == ["A", "A", "B", "C"]
    assert list(means["minute"]) == [T0, T0 + timedelta(minutes=1), T0, T0]
    assert list(means["co2_ppm"].iloc[:2]) == [650, 800]
    assert means["temperature_c"].iloc[0] == 20
    assert means["humidity_pct"].iloc[2] == 40
    assert means.iloc[3, 2:].isna().all()  # a pressure-only minute: a row without means
    chosen = store.minute_means(["B", "Z"], T0, T0 + timedelta(hours=1))
    assert list(chosen["room"].cat.categories) == ["B", "Z"]
    assert list(chosen["room"]) == ["B"]
    assert store.minute_means([], T0, T0 + timedelta(hours=1)).empty


def test_sites_sharing_one_database_each_read_their_own(store_url: str) -> None:
    """A trust's sites in one database: each site's store reads only its readings (latest,
    range, minute means, which weeks have readings), though their rooms share names; a store
    opened for no site reads all of them. (Sensor ids differ: DuckDB keys a reading by
    sensor and time, as an embedded file is one site's; InfluxDB's series carry the site.)"""
    everyone = open_store(store_url, site=None)
    north = open_store(store_url, site="North")
    south = open_store(store_url, site="South's")  # a quote in a name stays a name
    try:

        def of(site: str, minute: int, co2: float) -> Reading:
            # The same room name at both sites: told apart by the site alone.
            return Reading(
                T0 + timedelta(minutes=minute), site, "Room 1", site[0], "tasmota", co2_ppm=co2
            )

        north.write([of("North", 0, 600), of("North", 1, 620)])
        south.write([of("South's", 0, 1600)])  # a site's store writes what it is given
        hour = (T0, T0 + timedelta(hours=1))
        assert north.latest(T0)["Room 1"].co2_ppm == 620
        assert south.latest(T0)["Room 1"].co2_ppm == 1600
        assert list(north.range(None, *hour)["co2_ppm"]) == [600, 620]
        assert list(south.range(["Room 1"], *hour)["site"]) == ["South's"]
        assert list(north.minute_means(None, *hour)["co2_ppm"]) == [600, 620]
        assert list(south.minute_means(["Room 1"], *hour)["co2_ppm"]) == [1600]
        later = (T0 + timedelta(minutes=1), T0 + timedelta(hours=1))
        assert north.has_readings([later]) == [True]
        assert south.has_readings([later]) == [False]
        assert sorted(everyone.range(None, *hour)["co2_ppm"]) == [600, 620, 1600]
        assert open_store(store_url, site="East").latest(T0) == {}
    finally:
        for store in (everyone, north, south):
            store.close()


def test_reopen_keeps_data(tmp_path: Path) -> None:
    store = open_store("duckdb:///./data/x.duckdb", base=tmp_path, site=None)
    store.write([reading(0, co2_ppm=600)])
    store.close()
    again = open_store(f"duckdb://{tmp_path / 'data' / 'x.duckdb'}", site=None)
    assert len(again.range(None, T0, T0 + timedelta(minutes=1))) == 1
    again.close()


def test_reopen_keeps_data_in_every_store(store_url: str) -> None:
    store = open_store(store_url, site=None)
    store.write([reading(0, co2_ppm=600)])
    store.close()
    again = open_store(store_url, site=None)
    assert list(again.range(None, T0, T0 + timedelta(minutes=1))["co2_ppm"]) == [600]
    again.close()


@pytest.mark.parametrize("url", ["influx://x", "duckdb://", "sqlite:///x.db"])
def test_bad_store_urls(url: str) -> None:
    with pytest.raises(StoreURLError):
        open_store(url, site=None)


def test_unknown_store_message_lists_the_supported_urls() -> None:
    with pytest.raises(StoreURLError, match=r"duckdb:///.*influxdb://.*influxdbs://"):
        open_store("influx://x", site=None)


# -- InfluxDB: the same frames as DuckDB ---------------------------------------------------


def mixed_readings() -> list[Reading]:
    """3.5 days of two sensors per room in rooms with awkward names, across UTC midnights."""
    start = T0 - timedelta(days=1, hours=2)
    out = []
    for i in range(0, 5040, 7):
        t = start + timedelta(minutes=i)
        for k, room in enumerate(("Room 1", "Lab, west", "Hall = B")):
            co2, temperature = 450.0 + (i * 7 + k) % 900, 18.5 + (i % 50) / 10
            out.append(Reading(t, "Site", room, f"{room}/co2", "tasmota", co2, temperature))
            t2 = t + timedelta(seconds=20 + k)
            humidity, temperature = 40.0 + i % 20, 19.0 + (i % 30) / 10
            out.append(
                Reading(t2, "Site", room, f"{room}/th", "zigbee2mqtt", None, temperature, humidity)
            )
    out.append(Reading(T0, "Site", "Boiler room", "b1", "esphome", pressure_hpa=1001.5))
    return out


def test_frames_equal_duckdb_across_days(influxdb: InfluxServer, tmp_path: Path) -> None:
    batch = mixed_readings()
    duck = DuckDBStore(tmp_path / "d.duckdb")
    url = influxdb.url_for()
    influx = open_store(url, site=None)
    hourly = InfluxDBStore.from_url(url, window=timedelta(hours=1))  # many more windows
    assert duck.write(batch) == influx.write(batch) == len(batch)
    cases = [
        (None, T0 - timedelta(days=2), T0 + timedelta(days=3)),
        (None, T0 - timedelta(hours=20, seconds=17), T0 + timedelta(days=1, minutes=3)),
        (["Lab, west", "Boiler room"], T0 - timedelta(days=1), T0 + timedelta(days=2)),
        (["Hall = B", "Nowhere"], T0, T0 + timedelta(hours=5)),
        (["Nowhere"], T0, T0 + timedelta(hours=5)),
        ([], T0, T0 + timedelta(hours=5)),
        (None, T0 + timedelta(days=9), T0 + timedelta(days=10)),
    ]
    for rooms, start, end in cases:
        expected = duck.range(rooms, start, end)
        for store in (influx, hourly):
            pd.testing.assert_frame_equal(store.range(rooms, start, end), expected)
        expected = duck.minute_means(rooms, start, end).sort_values(["room", "minute"])
        for store in (influx, hourly):
            got = store.minute_means(rooms, start, end).sort_values(["room", "minute"])
            pd.testing.assert_frame_equal(
                got.reset_index(drop=True), expected.reset_index(drop=True)
            )
    for since in (T0 - timedelta(days=3), T0 + timedelta(days=1), T0 + timedelta(days=5)):
        assert influx.latest(since) == duck.latest(since)
    assert len(influx.range(None, T0 - timedelta(days=2), T0 + timedelta(days=3))) == len(batch)
    for store in (duck, influx, hourly):
        store.close()


def test_latest_for_a_thousand_rooms_is_one_request(influxdb: InfluxServer) -> None:
    store = InfluxDBStore.from_url(influxdb.url_for())
    store.write(
        [reading(0, room=f"Room {i}", sensor=f"s{i}", co2_ppm=400 + i) for i in range(1000)]
    )
    requests: list[httpx.Request] = []
    store._client.event_hooks["request"] = [requests.append]
    latest = store.latest(T0)
    assert len(latest) == 1000
    assert latest["Room 999"].co2_ppm == 1399
    assert len(requests) == 1
    store.close()


def test_big_batches_go_in_several_requests(influxdb: InfluxServer) -> None:
    store = InfluxDBStore.from_url(influxdb.url_for())
    requests: list[httpx.Request] = []
    store._client.event_hooks["request"] = [requests.append]
    batch = [
        Reading(T0 + timedelta(seconds=i), "S", f"R{i % 40}", f"s{i % 40}", "f", co2_ppm=400 + i)
        for i in range(12_001)
    ]
    assert store.write(batch) == 12_001
    assert sum(r.url.path == "/write" for r in requests) == 3  # 5000 lines per request
    frame = store.range(None, T0, T0 + timedelta(days=1))
    assert len(frame) == 12_001
    assert frame["co2_ppm"].sum() == sum(400 + i for i in range(12_001))
    store.close()


def test_precision_seconds_truncates_and_keeps_the_first(influxdb: InfluxServer) -> None:
    seconds = open_store(influxdb.url_for(precision="s"), site=None)
    millis = open_store(influxdb.url_for(), site=None)
    batch = [
        Reading(T0 + timedelta(milliseconds=1500), "S", "R", "s", "f", co2_ppm=600),
        Reading(T0 + timedelta(milliseconds=1700), "S", "R", "s", "f", co2_ppm=601),
    ]
    assert seconds.write(batch) == 1
    assert millis.write(batch) == 2
    frame = seconds.range(None, T0, T0 + timedelta(minutes=1))
    assert list(frame["time"]) == [T0 + timedelta(seconds=1)]
    assert list(frame["co2_ppm"]) == [600]
    frame = millis.range(None, T0, T0 + timedelta(minutes=1))
    assert list(frame["time"]) == [T0 + timedelta(milliseconds=ms) for ms in (1500, 1700)]


# -- InfluxDB: names line protocol and InfluxQL must escape ---------------------------------

_ticks = itertools.count()
# Printable text with the characters line protocol and InfluxQL treat specially made likely.
NAMES = st.text(
    st.one_of(
        st.sampled_from(" ,=\"'\\#é漢🙂\u00a0"),
        st.characters(blacklist_categories=("Cc", "Cs")),
    ),
    min_size=1,
    max_size=24,
).filter(lambda s: not s.endswith("\\"))


@pytest.fixture(scope="module")
def names_store(influxdb: InfluxServer) -> Iterator[Store]:
    store = open_store(influxdb.url_for(), site=None)
    yield store
    store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=NAMES, room=NAMES, sensor=NAMES)
def test_any_printable_name_round_trips(
    names_store: Store, site: str, room: str, sensor: str
) -> None:
    # Each example writes one minute later than the one before, and reads from there on.
    t = T0 + timedelta(minutes=next(_ticks))
    assert names_store.write([Reading(t, site, room, sensor, "tasmota", co2_ppm=612.5)]) == 1
    frame = names_store.range([room], t, t + timedelta(seconds=1))
    assert frame[["site", "room", "sensor"]].values.tolist() == [[site, room, sensor]]
    latest = names_store.latest(t)
    assert list(latest) == [room]
    assert (latest[room].sensor, latest[room].co2_ppm, latest[room].time) == (sensor, 612.5, t)
    means = names_store.minute_means([room], t, t + timedelta(seconds=1))
    assert list(means["room"]) == [room]


@pytest.mark.parametrize("name", ["ends with \\", "", "tab\there", "new\nline"])
def test_names_line_protocol_cannot_carry_are_refused(influxdb: InfluxServer, name: str) -> None:
    store = open_store(influxdb.url_for(), site=None)
    good = reading(0, co2_ppm=600)
    with pytest.raises(StoreRejectedError, match="nothing of this batch was written"):
        store.write([good, reading(1, room=name, co2_ppm=600)])
    with pytest.raises(StoreRejectedError):
        store.write([good, reading(1, sensor=name, co2_ppm=600)])
    assert store.range(None, T0, T0 + timedelta(hours=1)).empty
    store.close()


# -- InfluxDB: failures raise, never vanish -------------------------------------------------


def test_server_down_open_succeeds_and_operations_raise() -> None:
    url = f"influxdb://127.0.0.1:{free_port()}/nowhere"  # nothing listens there
    store = open_store(url, site=None)  # ingest must be able to start (and spool)
    with pytest.raises(StoreUnavailableError, match="could not take the write"):
        store.write([reading(0, co2_ppm=600)])
    with pytest.raises(StoreUnavailableError):
        store.latest(T0)
    with pytest.raises(StoreUnavailableError):
        store.range(None, T0, T0 + timedelta(hours=1))
    with pytest.raises(StoreUnavailableError):
        store.minute_means(None, T0, T0 + timedelta(hours=1))
    with pytest.raises(StoreUnavailableError):
        InfluxDBStore.from_url(url).ping()
    assert store.write([]) == 0
    store.close()


def test_server_that_stops_answering_times_out() -> None:
    with socket.socket() as hole:  # accepts connections (backlog), never answers
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)
        url = f"influxdb://127.0.0.1:{hole.getsockname()[1]}/slow"
        store = InfluxDBStore.from_url(url, timeout=0.3)
        with pytest.raises(StoreUnavailableError, match="Timeout"):
            store.write([reading(0, co2_ppm=600)])
        with pytest.raises(StoreUnavailableError, match="Timeout"):
            store.latest(T0)
        store.close()


@pytest.mark.servers
def test_server_restart_keeps_data_and_writes_resume(tmp_path: Path) -> None:
    server = start_influxd(tmp_path / "influxd")
    try:
        store = open_store(server.url_for("restarting"), site=None)
        assert store.write([reading(0, co2_ppm=600)]) == 1
        server.stop()
        with pytest.raises(StoreUnavailableError):
            store.write([reading(1, co2_ppm=610)])
        later = open_store(
            server.url_for("created_later"), site=None
        )  # opened while the server is down
        server.start()
        assert store.write([reading(1, co2_ppm=610)]) == 1
        frame = store.range(None, T0, T0 + timedelta(hours=1))
        assert list(frame["co2_ppm"]) == [600, 610]
        assert later.write([reading(0, co2_ppm=700)]) == 1  # the database is created now
        assert later.latest(T0)["Room 1"].co2_ppm == 700
        store.close()
        later.close()
    finally:
        server.stop()


def test_field_type_conflict_is_rejected_with_the_servers_message(
    influxdb: InfluxServer,
) -> None:
    url = influxdb.url_for()
    store = open_store(url, site=None)
    ns = int(T0.timestamp()) * 10**9
    line = f'reading,family=f,room=R,sensor=x,site=S co2_ppm="high" {ns}'
    response = httpx.post(f"{influxdb.http}/write", params={"db": database_of(url)}, content=line)
    assert response.status_code == 204
    with pytest.raises(StoreRejectedError, match="field type conflict"):
        store.write([reading(0, co2_ppm=600)])
    store.close()


@pytest.mark.servers
def test_credentials(tmp_path: Path) -> None:
    server = start_influxd(tmp_path / "influxd", auth=True)
    password = "s3cr@t/:%"
    try:
        # Allowed without credentials while no user exists.
        created = server.query(f"CREATE USER admin WITH PASSWORD '{password}' WITH ALL PRIVILEGES")
        assert "error" not in created["results"][0], created
        anonymous = open_store(server.url_for("secured"), site=None)  # opening does not fail
        with pytest.raises(StoreUnavailableError, match=r"refused the credentials.*user:pass"):
            anonymous.write([reading(0, co2_ppm=600)])
        with pytest.raises(StoreUnavailableError, match="refused the credentials"):
            anonymous.latest(T0)
        wrong = open_store(f"influxdb://admin:nope@127.0.0.1:{server.port}/secured", site=None)
        with pytest.raises(StoreUnavailableError, match="refused the credentials") as info:
            wrong.write([reading(0, co2_ppm=600)])
        assert "nope" not in str(info.value)
        admin = open_store(
            f"influxdb://admin:{quote(password, safe='')}@127.0.0.1:{server.port}/secured",
            site=None,
        )
        assert admin.write([reading(0, co2_ppm=600)]) == 1
        assert admin.latest(T0)["Room 1"].co2_ppm == 600
        for store in (anonymous, wrong, admin):
            store.close()
    finally:
        server.stop()


def test_retention_policy(influxdb: InfluxServer) -> None:
    url = influxdb.url_for()
    default = open_store(url, site=None)  # creates the database
    created = influxdb.query(
        f'CREATE RETENTION POLICY "five_years" ON "{database_of(url)}" DURATION 260w REPLICATION 1'
    )
    assert "error" not in created["results"][0], created
    now = datetime.now(UTC).replace(microsecond=0)
    batch = [Reading(now, "S", "R", "s", "f", co2_ppm=600)]
    kept = open_store(f"{url}?rp=five_years", site=None)
    assert kept.write(batch) == 1
    hour = (now - timedelta(minutes=30), now + timedelta(minutes=30))
    assert list(kept.range(None, *hour)["co2_ppm"]) == [600]
    assert kept.latest(hour[0])["R"].co2_ppm == 600
    assert len(kept.minute_means(None, *hour)) == 1
    assert default.range(None, *hour).empty  # autogen, the default policy, has nothing
    missing = open_store(f"{url}?rp=nope", site=None)
    with pytest.raises(StoreUnavailableError, match="retention policy not found"):
        missing.write(batch)
    for store in (default, kept, missing):
        store.close()


# -- InfluxDB: URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("influxdb://127.0.0.1:8086/ventwatch", ("http://127.0.0.1:8086", "ventwatch", None, "ms")),
        ("influxdb://influxdb/ventwatch", ("http://influxdb:8086", "ventwatch", None, "ms")),
        ("influxdbs://db.example:8443/v?rp=1y", ("https://db.example:8443", "v", "1y", "ms")),
        ("influxdb://[::1]:8086/a%20db?precision=s", ("http://[::1]:8086", "a db", None, "s")),
    ],
)
def test_influxdb_urls(url: str, expected: tuple[str, str, str | None, str]) -> None:
    config = parse_influxdb_url(url, environ={})
    assert (config.base_url, config.database, config.rp, config.precision) == expected
    assert (config.username, config.password, config.token) == (None, None, None)


def test_influxdb_url_credentials() -> None:
    config = parse_influxdb_url("influxdb://ad%40min:p%40ss%3Aw%2F@h:8086/d", environ={})
    assert (config.username, config.password, config.token) == ("ad@min", "p@ss:w/", None)
    assert "p@ss" not in repr(config)
    config = parse_influxdb_url("influxdb://h:8086/d?token_env=TOK", environ={"TOK": "abc=="})
    assert (config.username, config.token_env, config.token) == (None, "TOK", "abc==")
    assert "abc==" not in repr(config)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("influxdb://h:8086", "give the database"),
        ("influxdb://h:8086/", "give the database"),
        ("influxdb://h:8086/a/b", "one database name"),
        ("influxdb:///ventwatch", "give the server"),
        ("influxdb://h:99999/d", "port"),
        ("influxdb://h:8086/d?precision=us", "unknown precision 'us' \\(supported: s, ms\\)"),
        ("influxdb://h:8086/d?precision=ns", "unknown precision"),
        ("influxdb://h:8086/d?rp=", "rp= needs a value"),
        ("influxdb://h:8086/d?rp=a&rp=b", "give rp once"),
        ("influxdb://h:8086/d?retention=x", "unknown parameter retention"),
        ("influxdb://h:8086/d?token_env=VENTWATCH_TEST_UNSET", "VENTWATCH_TEST_UNSET.*not set"),
        ("influxdb://u:secret@h:8086/d?token_env=HOME", "not both"),
        ("influxdb://u@h:8086/d", "not a user alone"),
    ],
)
def test_bad_influxdb_urls(url: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENTWATCH_TEST_UNSET", raising=False)
    monkeypatch.setenv("HOME", "/root")
    with pytest.raises(StoreURLError, match=message) as info:
        open_store(url, site=None)
    assert "secret" not in str(info.value)
