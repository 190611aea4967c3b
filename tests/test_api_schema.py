"""Schemathesis over the app's own OpenAPI schema: whatever a client sends to any documented
route, the answer is never a server error and matches what the schema promises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import PASSWORD
from ventwatch.accounts import ALL_SITES, Accounts, Role
from ventwatch.config import SiteConfig
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.routes import live
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
Span = tuple[datetime, int]  # a start near the seeded data, and minutes to the end
NEAR_NOW = st.datetimes(min_value=datetime(2026, 11, 10), max_value=datetime(2026, 11, 17, 10))
SITE = SiteConfig.model_validate(
    {
        "site": {"name": "Fuzz Academy", "timezone": "Europe/London"},
        "rooms": [{"name": "Room 1"}, {"name": "Room 2", "building": "Annex"}],
    }
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[schemathesis.BaseSchema, str]]:
    folder = tmp_path_factory.mktemp("schema")
    store = DuckDBStore(folder / "store.duckdb")
    store.write(
        [
            Reading(
                NOW - timedelta(minutes=m),
                "Fuzz Academy",
                room,
                f"sensor-{room[-1]}",
                "tasmota",
                co2_ppm=600.0 + 10 * m,
                temperature_c=20.0,
            )
            for m in range(0, 600, 5)
            for room in ("Room 1", "Room 2")
        ]
    )
    accounts = Accounts(folder / "accounts.sqlite")
    accounts.add_user("admin", Role.ADMIN, PASSWORD, [ALL_SITES])
    token = accounts.new_token("admin", "schemathesis")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live, "LIFETIME_S", 0.0)  # a live stream ends at once: status is checked
        app = create_app(SITE, store, accounts=accounts, clock=lambda: NOW)
        auth = {"Authorization": f"Bearer {token}"}
        yield schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=auth), token
    store.close()


def test_no_route_fails_on_any_input(api: tuple[schemathesis.BaseSchema, str]) -> None:
    schema, token = api
    # An operation the schema cannot describe comes back as an error value: fail on it here.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # The walk must not come back empty: that would pass whatever the routes do.
    assert {"/api/rooms", "/api/readings", "/api/analysis"} <= {op.path for op in operations}
    for operation in operations:

        @given(
            case=operation.as_strategy(),
            room=st.sampled_from([None, "Room 1", "Room 2"]),
            span=st.none() | st.tuples(NEAR_NOW, st.integers(-1440, 14 * 1440)),
        )
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case, room: str | None, span: Span | None) -> None:
            # Random room names are all unknown (404) and random dates mostly centuries away
            # (400): many cases name a real room and a range near the data instead, so that
            # the generated steps and ranges reach the store and the analysis.
            query = case.query if isinstance(case.query, dict) else {}
            for key in ("room", "name"):
                if room and key in query:
                    query[key] = room
            if span and "from" in query:
                start, minutes = span
                end = start + timedelta(minutes=minutes)
                as_date = "T" not in str(query["from"])
                query["from"] = (start.date() if as_date else start).isoformat()
                query["to"] = (end.date() if as_date else end).isoformat()
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
