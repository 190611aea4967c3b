"""The overview's tiles from `TileCache`: a tile rendered for an earlier second is reused only
when it shows the same, so a warm cache gives the very bytes a render from scratch gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ventwatch.analysis.profiles import load_profile
from ventwatch.dashboard.app import _status_words, _templates
from ventwatch.dashboard.rooms import ProfileRef, RoomNow, RoomsNow
from ventwatch.dashboard.tiles import AGE_MARK, TileCache

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
TEMPLATES = _templates("/sites/x", site_pages=True)
_status_words(TEMPLATES, load_profile("joint-union"))
NAMES = ["Room 1", "Room 2", "<b>Lab</b>", "Hall"]

room_states = st.fixed_dictionaries(
    {
        "band": st.sampled_from(["good", "act", "poor", "stale", "no-data"]),
        "co2_ppm": st.none() | st.floats(300, 5000),
        "temperature_c": st.none() | st.sampled_from([18.5, 21.0]),
        "age_s": st.none() | st.floats(0, 200_000),
        "today": st.sampled_from(
            ["Today: no occupied time yet", "Today: Needs action - <over 800>"]
        ),
    }
)


def snapshot(states: list[dict[str, object]]) -> RoomsNow:
    rooms = [
        RoomNow(
            room=name,
            building="Main" if i < 2 else "Science",
            floor=i % 2,
            label=f"label of {state['band']}",
            humidity_pct=None,
            time=None if state["age_s"] is None else NOW - timedelta(seconds=1),
            sensor="s",
            today_status="green",
            **state,  # type: ignore[arg-type]
        )
        for i, (name, state) in enumerate(zip(NAMES, states, strict=True))
    ]
    return RoomsNow(
        site="Site",
        profile=ProfileRef(id="joint-union", version="1.0"),
        generated_at=NOW,
        rooms=rooms,
        summary={},
    )


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(room_states, min_size=4, max_size=4),
    after=st.lists(room_states, min_size=4, max_size=4),
)
def test_a_warm_cache_gives_the_same_tiles_as_a_cold_one(
    before: list[dict[str, object]], after: list[dict[str, object]]
) -> None:
    warm = TileCache()
    warm.render(TEMPLATES, snapshot(before))
    assert warm.render(TEMPLATES, snapshot(after)) == TileCache().render(TEMPLATES, snapshot(after))


def test_each_second_only_the_ages_change() -> None:
    cache = TileCache()
    state = {"band": "good", "co2_ppm": 600.0, "temperature_c": 21.0, "today": "Today"}
    first = cache.render(TEMPLATES, snapshot([{**state, "age_s": 12.0}] * 4)).raw
    second = cache.render(TEMPLATES, snapshot([{**state, "age_s": 75.0}] * 4)).raw
    assert first.count(b">12 s ago</time>") == 4
    assert second.count(b">1 min ago</time>") == 4
    assert first.replace(b"12 s ago", b"1 min ago") == second
    assert AGE_MARK.encode() not in second
    # Names from the site file stay text, links stay under the site's base.
    assert b"&lt;b&gt;Lab&lt;/b&gt;" in second
    assert b'href="/sites/x/room?name=%3Cb%3ELab%3C%2Fb%3E"' in second
