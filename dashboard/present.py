"""How values look on a page: units, ages, band symbols and the building/floor layout.

Kept apart from the routes so that the HTML and the JSON the page script reads show the same
numbers the same way; `static/app.js` mirrors these few rules for its live updates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Final, Protocol, TypeVar

# Band -> (symbol, short title). Every band carries a word and a symbol besides its colour, so
# the page still reads in greyscale, to colour-blind people and to screen readers.
BAND_STYLE: Final[dict[str, tuple[str, str]]] = {
    "good": ("✓", "Good"),
    "act": ("▲", "Needs action"),
    "poor": ("✖", "Poor"),
    "stale": ("◷", "Stale"),
    "no-data": ("○", "No data"),
    "no-co2": ("?", "No CO2"),
}
DASH: Final = "–"

# The analysis engine's judgement of a range -> (symbol, word, the band class it is drawn
# with). Grey is "not enough data": drawn like stale, never like good.
STATUS_STYLE: Final[dict[str, tuple[str, str, str]]] = {
    "green": ("✓", "Green", "good"),
    "amber": ("▲", "Amber", "act"),
    "red": ("✖", "Red", "poor"),
    "grey": ("○", "Grey", "stale"),
}


def band_style(band: str) -> tuple[str, str]:
    """Symbol and title of a band; a band from a future profile still gets a readable title."""
    return BAND_STYLE.get(band, ("●", band.replace("-", " ").capitalize()))


def status_style(status: str) -> tuple[str, str, str]:
    return STATUS_STYLE.get(status, ("●", status.capitalize(), "stale"))


def quantity(value: float | None, unit: str, digits: int = 0) -> str:
    """'612 ppm': a no-break space keeps a value and its unit on one line in a narrow tile."""
    return DASH if value is None else f"{value:.{digits}f}\u00a0{unit}"


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
