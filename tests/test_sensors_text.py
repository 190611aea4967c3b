"""Text a sensor names itself with never makes a page fail: ids that no page could show (lone
surrogates, control characters, over 200 characters) are refused where a decoder hands them
over, as `undecodable` with the reason; and the sensors page and `/api/sensors` render
whatever is stored all the same. Every family's id field, through the real pipeline."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ALL_SITES, PASSWORD, sign_in
from ventwatch.accounts import Accounts, Role
from ventwatch.assignments import Assignments
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.ingest.counters import Outcome
from ventwatch.ingest.decoders.types import MAX_ID_CHARS
from ventwatch.ingest.pipeline import Pipeline
from ventwatch.ingest.router import Message
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Hillside Academy", "timezone": "UTC"},
        "rooms": [{"name": "Room 4"}],
        "sensors": [{"family": "tasmota", "device": "room-4-co2", "room": "Room 4"}],
        "decoders": {
            "generic": [
                {
                    "name": "school-air",
                    "topic": "school/+/air",
                    "sensor_path": "$.device.id",
                    "values": {"co2_ppm": {"path": "$.co2"}},
                }
            ]
        },
    }
)
Messages = Callable[[str], list[tuple[str, bytes]]]


def js(data: object) -> bytes:
    """JSON as firmware sends it: ASCII, a lone surrogate written as `\\ud800`."""
    return json.dumps(data).encode()


# Every family's id field, filled with `text`: (topic, payload) messages, in order.
FAMILIES: dict[str, Messages] = {
    "tasmota topic": lambda t: [
        (f"tele/{t}/SENSOR", js({"Time": "2026-11-17T10:29:00", "SCD40": {"CarbonDioxide": 801}}))
    ],
    "tasmota LWT": lambda t: [(f"tele/{t}/LWT", b"Online")],
    "esphome node": lambda t: [(f"{t}/sensor/co2/state", b"802")],
    "esphome status": lambda t: [(f"{t}/status", b"online")],
    "zigbee2mqtt friendly name": lambda t: [(f"zigbee2mqtt/{t}", js({"co2": 803}))],
    "zigbee2mqtt availability": lambda t: [(f"zigbee2mqtt/{t}/availability", b"online")],
    "airgradient serial": lambda t: [(f"airgradient/readings/{t}", js({"rco2": 804}))],
    "ttn device_id": lambda t: [
        (
            "v3/school@ttn/devices/am319/up",
            js(
                {
                    "end_device_ids": {"device_id": t},
                    "uplink_message": {"decoded_payload": {"co2": 805}},
                }
            ),
        )
    ],
    "theengs id": lambda t: [("home/gw/BTtoMQTT/C41C9B000005", js({"id": t, "co2": 806}))],
    "statestream object id": lambda t: [
        (f"homeassistant/sensor/{t}/device_class", js("carbon_dioxide")),
        (f"homeassistant/sensor/{t}/state", b"807"),
    ],
    "generic sensor path": lambda t: [("school/t8/air", js({"device": {"id": t}, "co2": 808}))],
}
UNFIT = ["\ud800", "lab\udfff3", "a\x00b", "bell\x07", "line\nbreak", "c1\x85", "rtl\u202eevil"]
# Any character: hypothesis leaves surrogates out unless asked for them.
CHARS = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))
# Arbitrary text, and some of the worst on purpose.
TEXT = st.one_of(
    st.text(CHARS, max_size=30),
    st.text(CHARS, min_size=MAX_ID_CHARS - 5, max_size=260),
    st.sampled_from(UNFIT),
    st.builds(lambda a, b: a + b, st.sampled_from(UNFIT), st.text(max_size=10)),
)


def client_for(app, role: Role) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    sign_in(client, role.value)
    return client


BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def readable(text: str) -> bool:
    """The rule, written out apart from ingest's: not empty, at most 200 characters, and no
    control character, surrogate or bidi control."""
    return 0 < len(text) <= MAX_ID_CHARS and not any(
        unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS for c in text
    )


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("text", ["\ud800", "a\x07b", "x" * (MAX_ID_CHARS + 1)])
def test_an_unreadable_id_is_quarantined_as_undecodable(
    family: str, text: str, tmp_path: Path
) -> None:
    pipeline = Pipeline(SITE, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    messages = FAMILIES[family](text)
    pipeline.process([Message(topic, payload, NOW) for topic, payload in messages])
    snap = pipeline.outcomes()
    assert snap["counts"]["undecodable"] == 1, snap
    reason = snap["quarantine"][0]["reason"]
    assert "id" in reason
    assert "lone surrogate" in reason or "control character" in reason or "longer than" in reason
    assert pipeline.router.sensors.snapshot() == []  # not a sensor with that name
    assert not pipeline.router.presence


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pipeline, TestClient]:
    """One pipeline and dashboard for every example: text piles up in them as it would."""
    folder = tmp_path_factory.mktemp("text")
    accounts = Accounts(folder / "accounts.sqlite")
    accounts.add_user("admin", Role.ADMIN, PASSWORD, [ALL_SITES])
    pipeline = Pipeline(SITE, DuckDBStore(folder / "s.duckdb"), clock=lambda: NOW)
    app = create_app(
        SITE,
        pipeline.writer.store,
        accounts=accounts,
        sensors=pipeline.router.sensors,
        clock=lambda: NOW,
        ingest_stats=lambda: pipeline.outcomes(),
    )
    return pipeline, client_for(app, Role.ADMIN)


@given(family=st.sampled_from(sorted(FAMILIES)), text=TEXT)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_id_text_in_any_family_leaves_the_sensors_pages_answering(
    world: tuple[Pipeline, TestClient], family: str, text: str
) -> None:
    pipeline, admin = world
    pipeline.process([Message(t, p, NOW) for t, p in FAMILIES[family](text)])
    if not readable(text):  # (an empty id may fall back to one from the topic)
        assert text not in {s.device for s in pipeline.router.sensors.snapshot()}
        assert text not in {device for _, device in pipeline.router.presence}
    answer = admin.get("/api/sensors")
    assert answer.status_code == 200
    body = json.loads(answer.content.decode("utf-8"))  # strict UTF-8, valid JSON
    for sensor in body["sensors"]:
        assert readable(sensor["device"]), sensor["device"]
    assert admin.get("/sensors").status_code == 200
    assert admin.get("/api/ingest").status_code == 200


def test_pages_render_whatever_got_into_the_registry_or_assignments(
    tmp_path: Path, accounts: Accounts
) -> None:
    """Ingest refuses such ids now, but a registry filled another way, or an assignments
    file edited by hand, must still not make the pages fail."""
    pipeline = Pipeline(SITE, DuckDBStore(tmp_path / "s.duckdb"), clock=lambda: NOW)
    at = NOW - timedelta(seconds=30)
    pipeline.router.sensors.reading(
        "theengs", "x\ud800y", "t/\udc00", at, at, None, {"co2_ppm": 5}, None
    )
    pipeline.router.sensors.quarantined(
        "theengs", "x\ud800y", "t/\udc00", at, Outcome.UNDECODABLE, "\ud83d"
    )
    Assignments(accounts.path).assign(
        SITE.site.name, "tasmota", "bell\x07\n\x00", "Room 4", "ad\x1bmin", NOW
    )
    app = create_app(
        SITE,
        pipeline.writer.store,
        accounts=accounts,
        sensors=pipeline.router.sensors,
        clock=lambda: NOW,
    )
    admin = client_for(app, Role.ADMIN)
    page = admin.get("/sensors")
    assert page.status_code == 200
    assert "x\\ud800y" in page.text
    answer = admin.get("/api/sensors")
    assert answer.status_code == 200
    devices = {s["device"]: s for s in json.loads(answer.content.decode("utf-8"))["sensors"]}
    assert devices["x\\ud800y"]["last_topic"] == "t/\\udc00"
    assert devices["bell\x07\n\x00"]["assigned_by"] == "ad\x1bmin"
