"""The live band of a room: profile thresholds, staleness, and rooms that never reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ventwatch.analysis.live import NO_CO2, NO_DATA, STALE, co2_band, room_status
from ventwatch.analysis.profiles import UnknownProfileError, available_profiles, load_profile
from ventwatch.readings import RoomLatest

NOW = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
PROFILE = load_profile("joint-union")
HOLD = 10  # the profile's stale time: a reading stands for its minute and the 9 after it


def latest(co2: float | None, age: timedelta = timedelta(seconds=30)) -> RoomLatest:
    return RoomLatest("Room 1", NOW - age, "s1", co2, 20.0, 45.0)


@pytest.mark.parametrize(
    ("co2", "band"),
    [(420, "good"), (799.9, "good"), (800, "act"), (1499, "act"), (1500, "poor"), (4000, "poor")],
)
def test_bands_follow_profile(co2: float, band: str) -> None:
    assert room_status("Room 1", latest(co2), PROFILE, NOW, HOLD).band == band


def test_thresholds_come_from_the_profile_file() -> None:
    assert [b.below_ppm for b in PROFILE.co2_bands] == [800, 1500, None]
    assert PROFILE.id == "joint-union"
    assert PROFILE.version
    assert "joint-union" in available_profiles()


def test_stale_is_never_good() -> None:
    status = room_status("Room 1", latest(500, timedelta(minutes=11)), PROFILE, NOW, HOLD)
    assert status.band == STALE
    assert "11 min" in status.label


def test_stale_exactly_when_the_reading_no_longer_stands() -> None:
    # NOW is 10:30:00. A reading at 10:21:00 stands for 10:21 to 10:30; one at 10:20:59
    # stands for 10:20 to 10:29: the minute series has a gap at 10:30, so the room is stale.
    live = room_status("Room 1", latest(500, timedelta(minutes=9)), PROFILE, NOW, HOLD)
    stale = room_status("Room 1", latest(500, timedelta(minutes=9, seconds=1)), PROFILE, NOW, HOLD)
    assert (live.band, stale.band) == ("good", STALE)
    # A room whose sensor declares 15 minutes between reports has a hold of 23.
    late = latest(500, timedelta(minutes=20))
    assert room_status("Room 1", late, PROFILE, NOW, 23).band == "good"


def test_no_data_and_no_co2() -> None:
    assert room_status("Room 1", None, PROFILE, NOW, HOLD).band == NO_DATA
    assert room_status("Room 1", latest(None), PROFILE, NOW, HOLD).band == NO_CO2


def test_unknown_profile() -> None:
    with pytest.raises(UnknownProfileError, match=r"shipped: .*joint-union"):
        load_profile("no-such-guide")


@given(a=st.floats(0, 10_000), b=st.floats(0, 10_000))
def test_band_is_monotone_in_co2(a: float, b: float) -> None:
    order = [band.name for band in PROFILE.co2_bands]
    low, high = sorted((a, b))
    assert order.index(co2_band(low, PROFILE)[0]) <= order.index(co2_band(high, PROFILE)[0])
