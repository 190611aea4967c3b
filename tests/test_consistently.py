"""The "consistently" reading beside the single-run status: red (amber) when a room was red
(amber or red) on at least N of any M consecutive school days, N and M from the profile."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ventwatch.analysis.co2 import Status, consistently
from ventwatch.analysis.engine import analyse_site, to_json
from ventwatch.analysis.profiles import Profile, load_profile
from ventwatch.analysis.series import minute_means
from ventwatch.config import SiteConfig
from ventwatch.dashboard.week import IsoWeek, week_view

PROFILE = load_profile("joint-union")
MONDAY = date(2026, 11, 16)
STATUSES: tuple[Status, ...] = ("red", "amber", "green", "grey")


def with_rule(days: int, of_days: int) -> Profile:
    rule = PROFILE.status.consistently.model_copy(update={"days": days, "of_days": of_days})
    return PROFILE.model_copy(
        update={"status": PROFILE.status.model_copy(update={"consistently": rule})}
    )


def oracle(statuses: list[Status], n: int, m: int) -> Status:
    """The rule as worded: some M consecutive school days (fewer, when the period has fewer)
    hold N red ones, else N amber-or-red ones; fewer than N days judged at all is grey."""
    if sum(s != "grey" for s in statuses) < n:
        return "grey"
    windows = [statuses[i : i + m] for i in range(len(statuses))]
    if any(w.count("red") >= n for w in windows):
        return "red"
    if any(w.count("red") + w.count("amber") >= n for w in windows):
        return "amber"
    return "green"


@settings(max_examples=300, deadline=None)
@given(
    statuses=st.lists(st.sampled_from(STATUSES), max_size=15),
    n=st.integers(1, 5),
    extra=st.integers(0, 4),
)
def test_n_of_m_school_days(statuses: list[Status], n: int, extra: int) -> None:
    m = n + extra
    verdict = consistently(statuses, with_rule(n, m))
    assert verdict.status == oracle(statuses, n, m)
    assert verdict.days_red == statuses.count("red")
    assert verdict.days_amber == statuses.count("amber")
    assert verdict.school_days == len(statuses)
    assert verdict.rule == (  # in the profile's status words, never "red" or "amber"
        f"\u201cPoor\u201d (\u201cNeeds action\u201d or worse) on at least {n} of any {m}"
        " consecutive school days, each day judged by the status rules"
    )


@settings(max_examples=100, deadline=None)
@given(statuses=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=12))
def test_one_more_red_day_never_makes_it_better(statuses: list[Status]) -> None:
    order = ("grey", "green", "amber", "red")
    before = consistently(statuses, PROFILE).status
    after = consistently([*statuses, "red"], PROFILE).status
    if before != "grey":
        assert order.index(after) >= order.index(before)


def test_the_shipped_rule_is_3_of_5() -> None:
    for pid in ("joint-union", "hse", "dfe", "bb101-2018"):
        rule = load_profile(pid).status.consistently
        assert (rule.days, rule.of_days) == (3, 5)
    spaced = consistently(["red", "green", "green", "green", "red", "green", "red"], PROFILE)
    assert spaced.status == "green"  # never 3 red (or amber) days within 5 consecutive ones
    assert consistently(["red", "green", "red", "green", "red"], PROFILE).status == "red"
    assert consistently(["red", "amber", "green", "amber"], PROFILE).status == "amber"


SITE = SiteConfig.model_validate(
    {
        "site": {"name": "S"},
        "occupied_hours": {"start": "09:00", "end": "10:00"},
        "rooms": [{"name": "A"}, {"name": "B"}],
    }
)


def week_of(levels: dict[str, list[float]]) -> pd.DataFrame:
    """Each room at one level for the whole lesson of each weekday."""
    rows = [
        (datetime(2026, 11, 16 + day, 9, tzinfo=UTC) + timedelta(minutes=m), room, level)
        for room, by_day in levels.items()
        for day, level in enumerate(by_day)
        for m in range(60)
    ]
    frame = pd.DataFrame(rows, columns=["time", "room", "co2_ppm"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return minute_means(frame.assign(temperature_c=20.0, humidity_pct=45.0))


def test_the_engine_and_the_week_view_give_the_same_reading() -> None:
    """A: red on Mon, Wed, Fri (3 of 5): consistently red. B: red on Mon only, amber Tue and
    Thu: consistently amber. Both rooms are red for the week by the single-run status."""
    levels = {
        "A": [1600.0, 600.0, 1600.0, 600.0, 1600.0],
        "B": [1600.0, 900.0, 600.0, 900.0, 600.0],
    }
    minutes = week_of(levels)
    friday = MONDAY + timedelta(days=4)
    rooms = {r.room: r for r in analyse_site(minutes, SITE, PROFILE, MONDAY, friday).rooms}
    assert [rooms[x].co2.status for x in "AB"] == ["red", "red"]
    a, b = rooms["A"].consistently, rooms["B"].consistently
    assert (a.status, a.days_red, a.days_amber, a.school_days) == ("red", 3, 0, 5)
    assert a.reason == "\u201cPoor\u201d on 3 of 5 consecutive school days (needs 3 of 5)"
    assert (b.status, b.days_red, b.days_amber) == ("amber", 1, 2)
    assert b.source == "HSE-CO2"
    view = week_view(minutes, SITE, PROFILE, IsoWeek(2026, 47), datetime(2026, 11, 23, tzinfo=UTC))
    for room in view.rooms:
        engine = rooms[room.room].consistently
        assert room.consistently.model_dump() == {
            "status": engine.status,
            "days_red": engine.days_red,
            "days_amber": engine.days_amber,
            "school_days": engine.school_days,
            "rule": engine.rule,
            "reason": engine.reason,
            "source": engine.source,
        }
    doc = to_json(analyse_site(minutes, SITE, PROFILE, MONDAY, friday))
    assert doc["rooms"][0]["status"] == "red"  # the contract's status: the single-run rule
    assert doc["rooms"][0]["consistently"]["status"] == "red"
