"""The overview's tiles, each rendered again only when what it shows changes.

Rendering a thousand tiles every second took Jinja time (bench/dashboard.py; the figures:
docs/development.md#benchmarks), all of it holding the GIL every request needs. Yet in any
second only the rooms with a new reading change; what changes for every room is its age
("12 s ago"). So each tile is rendered once for what it shows, with a mark where its age
goes, and each second only the ages are spliced in.
"""

from __future__ import annotations

from operator import attrgetter

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ventwatch.dashboard import present
from ventwatch.dashboard.compression import Segment, segment
from ventwatch.dashboard.rooms import RoomNow, RoomsNow

# Template text, never data: autoescaped data cannot contain "<".
AGE_MARK = "<!-- the age -->"
# What a tile shows, but for its age: a tile is rendered again when one of these changes.
SHOWN = attrgetter(*(name for name in RoomNow.model_fields if name != "age_s"))


class TileCache:
    """One site's tiles. `render` runs in one thread at a time (under `rooms.NowCache`)."""

    def __init__(self) -> None:
        # What a tile shows -> its markup before and after the age.
        self._parts: dict[tuple[object, ...], tuple[str, str]] = {}

    def render(self, templates: Jinja2Templates, rooms: RoomsNow) -> Segment:
        """Every room's tile by building and floor (`_tiles.html`), as the same page bytes a
        render of every tile from scratch gives."""
        macro = templates.get_template("_tile.html").module.tile  # type: ignore[attr-defined]
        kept: dict[tuple[object, ...], tuple[str, str]] = {}

        def tiles_of(floor: list[RoomNow]) -> Markup:
            """A floor's tiles, joined as text and marked safe once (Markup's own + would
            escape each part again)."""
            out: list[str] = []
            for room in floor:
                shown = SHOWN(room)
                parts = self._parts.get(shown)
                if parts is None:
                    head, _, tail = str(macro(room, Markup(AGE_MARK))).partition(AGE_MARK)  # noqa: S704
                    parts = (head, tail)
                kept[shown] = parts
                out += (parts[0], str(escape(present.ago(room.age_s))), parts[1])
            return Markup("".join(out))  # noqa: S704

        groups = present.by_building_and_floor(rooms.rooms)
        html = templates.get_template("_tiles.html").render(groups=groups, tiles_of=tiles_of)
        self._parts = kept  # only what this render showed: a room's older tiles go
        return segment(html.encode())
