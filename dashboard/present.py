"""How values look on a page: units, ages, band symbols and the building/floor layout.

Kept apart from the routes so that the HTML and the JSON the page script reads show the same
numbers the same way; `static/app.js` mirrors these few rules for its live updates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Final, Protocol, TypeVar, cast

from ventwatch.analysis.profiles import Profile, StatusName

# The live states that are no band of the profile, and how they are said: how fresh the newest
# reading is. Kept apart from a period's grey ("not enough data" over a day or a week): these
# say the room is silent now, in plain words (never "stale"). Each carries a symbol besides
# its colour, so the page still reads in greyscale, to colour-blind people and to screen readers.
FRESHNESS: Final[dict[str, tuple[str, str]]] = {
    "stale": ("◷", "No recent reading"),
    "no-data": ("○", "No reading yet"),
    "no-co2": ("?", "No CO2 reading"),
}
DASH: Final = "–"

# Status -> the band class it is drawn with (style.css). Grey is drawn like a silent room,
# never like good.
STATUS_CLASS: Final[dict[str, str]] = {
    "green": "good",
    "amber": "act",
    "red": "poor",
    "grey": "stale",
}


def band_styles(profile: Profile) -> dict[str, tuple[str, str]]:
    """Band -> (symbol, word): each band of the profile in the look of the status it stands
    for (the profile's `statuses`, the one definition), then the freshness states. The page
    scripts get this too, so a tile they update says what the server would."""
    looks = {b.name: profile.statuses.of(profile.band_status(b.name)) for b in profile.co2_bands}
    return {**{name: (x.symbol, x.word) for name, x in looks.items()}, **FRESHNESS}


def band_style(profile: Profile, band: str) -> tuple[str, str]:
    """Symbol and word of a band; a band from a future profile still gets a readable word."""
    return band_styles(profile).get(band, ("●", band.replace("-", " ").capitalize()))


def status_style(profile: Profile, status: str) -> tuple[str, str, str]:
    """Symbol, word and band class of a period's status (green, amber, red, grey)."""
    if status not in STATUS_CLASS:
        return ("●", status.capitalize(), "stale")
    look = profile.statuses.of(cast(StatusName, status))
    return (look.symbol, look.word, STATUS_CLASS[status])


def quantity(value: float | None, unit: str, digits: int = 0) -> str:
    """'612 ppm': a no-break space keeps a value and its unit on one line in a narrow tile."""
    return DASH if value is None else f"{value:.{digits}f}\u00a0{unit}"


def counted(age_s: float | None, stale: bool) -> str:
    """When a site list's line was counted (`sites.SiteSummary`), and whether that is too
    long ago to go by; `static/sites.js` says the same."""
    if age_s is None:
        return "not counted yet"
    return ("stale: " if stale else "") + f"counted {ago(age_s)}"


def ago(age_s: float | None) -> str:
    """'12 s ago', '5 min ago': coarse on purpose, a tile is read at a glance."""
    if age_s is None:
        return "never"
    s = max(0, int(age_s))  # a sensor clock slightly ahead must not say "-3 s ago"
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 48 * 3600:
        return f"{s // 3600} h ago"
    return f"{s // 86400} days ago"


def clock_time(when: datetime | str | None, tz: tzinfo) -> str:
    """Wall-clock time at the site, which is what staff compare with the clock on the wall."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return DASH if when is None else when.astimezone(tz).strftime("%H:%M:%S")


def store_text(store: Mapping[str, Any], tz: tzinfo) -> str:
    """The path to the store in one line: is it writing, and what waits in the spool. The
    page script (`storeText` in overview.js) says the same in the same words."""
    last = clock_time(store.get("last_write"), tz) if store.get("last_write") else "none yet"
    if store.get("ok"):
        text = f"writing (last write {last})"
    else:
        text = f"NOT WRITING: {store.get('error')} (last write {last})"
    if store.get("spool_pending"):
        mb = store.get("spool_bytes", 0) / 1048576
        text += f"; {store['spool_pending']} readings spooled on disk ({mb:.1f} MB)"
    if store.get("spool_full"):
        text += "; SPOOL FULL: new messages are held at the broker"
    return text


def floor_name(floor: int | str) -> str:
    if isinstance(floor, int):
        return "Ground floor" if floor == 0 else f"Floor {floor}"
    return floor


class Placed(Protocol):
    @property
    def building(self) -> str: ...
    @property
    def floor(self) -> int | str: ...


T = TypeVar("T", bound=Placed)


def by_building_and_floor(rooms: Sequence[T]) -> list[tuple[str, list[tuple[str, list[T]]]]]:
    """Rooms grouped by building (in site-file order), then floor (numbered floors upwards,
    named floors after them in site-file order), each room keeping its site-file order."""
    buildings: dict[str, dict[int | str, list[T]]] = {}
    for room in rooms:
        buildings.setdefault(room.building, {}).setdefault(room.floor, []).append(room)

    def floor_key(item: tuple[int, int | str]) -> tuple[int, int]:
        index, floor = item
        return (0, floor) if isinstance(floor, int) else (1, index)

    return [
        (
            building,
            [
                (floor_name(floor), floors[floor])
                for _, floor in sorted(enumerate(floors), key=floor_key)
            ],
        )
        for building, floors in buildings.items()
    ]


def truncate(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
