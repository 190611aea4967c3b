"""The live status of each room: its band from the newest reading, or stale when silent.

Pure: the newest readings, the rooms of the site, the profile and the time `now` go in; a
status per room comes out. Silence is shown as stale, never as good (Home Assistant's
`expire_after`), and a room that has never reported says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ventwatch.analysis.profiles import Profile
from ventwatch.readings import RoomLatest, stands_at

Band = str  # a band name from the profile, or one of STALE / NO_DATA / NO_CO2
STALE: Literal["stale"] = "stale"
NO_DATA: Literal["no-data"] = "no-data"
NO_CO2: Literal["no-co2"] = "no-co2"


@dataclass(frozen=True, slots=True)
class RoomStatus:
    room: str
    band: Band
    label: str
    latest: RoomLatest | None
    age_s: float | None


def co2_band(co2_ppm: float, profile: Profile) -> tuple[Band, str]:
    """The profile band a CO2 value falls in, and its label."""
    for band in profile.co2_bands:
        if band.below_ppm is None or co2_ppm < band.below_ppm:
            return band.name, band.label
    raise AssertionError("a profile's last band is unbounded")  # guaranteed by Profile


def room_status(
    room: str, latest: RoomLatest | None, profile: Profile, now: datetime, hold: int
) -> RoomStatus:
    """`hold`: the room's hold (`analysis.series.holds`). Stale exactly when the room's
    minute series has a gap now: its newest reading no longer stands for the current
    minute."""
    if latest is None:
        return RoomStatus(room, NO_DATA, "No reading yet", None, None)
    age = (now - latest.time).total_seconds()
    if not stands_at(latest.time, now, hold):
        minutes = int(age // 60)
        return RoomStatus(room, STALE, f"No reading for {minutes} min", latest, age)
    if latest.co2_ppm is None:
        return RoomStatus(room, NO_CO2, "No CO2 value from this sensor", latest, age)
    band, label = co2_band(latest.co2_ppm, profile)
    return RoomStatus(room, band, label, latest, age)


def site_status(
    holds: Mapping[str, int], latest: Mapping[str, RoomLatest], profile: Profile, now: datetime
) -> list[RoomStatus]:
    """Each room of `holds` (room -> its hold, in the site file's order)."""
    return [room_status(room, latest.get(room), profile, now, hold) for room, hold in holds.items()]
