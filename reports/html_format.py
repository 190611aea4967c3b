"""The report as one self-contained HTML page: styles inline, charts as inline SVG, fonts
from the reader's own system. It makes no request of its own (no script, no CDN, no web
font, no image file), so it opens the same offline, from an email or on a locked-down
school PC, and the PDF is this same page printed.

Printing is part of the design: A4 pages, each room on a page of its own, statuses carried
by a symbol and a word besides their colour, and the bands by fill patterns, so a report
photocopied in black and white for a noticeboard still reads. Every name from the site file
(rooms, buildings, the site) goes through Jinja's autoescaping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ventwatch.analysis.co2 import CO2Metrics
from ventwatch.register import AIR_CLEANER_CAVEAT, RoomRegister
from ventwatch.reports.model import STATUS_RANK, Report, RoomReport
from ventwatch.reports.svg import room_chart

DASH: Final = "–"
CHANGE_WORD: Final = {
    "better": "better",
    "worse": "worse",
    "same": "same status",
    "not comparable": "not comparable (not enough data)",
}


def number(value: float | None, digits: int = 0, unit: str = "") -> str:
    """'612 ppm'; a dash for no value. A no-break space keeps a value with its unit."""
    if value is None:
        return DASH
    text = f"{value:,.{digits}f}"
    return f"{text}\u00a0{unit}" if unit else text


def minutes(value: int | None) -> str:
    return DASH if value is None else f"{value}\u00a0min"


def local(when: datetime, report: Report) -> str:
    """A time as the site's clock shows it, with the zone named."""
    zone = report.header.timezone
    return f"{when.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


def longest(co2: CO2Metrics) -> str:
    """The longest run over 1500 ppm; a dash, not "0 min", when there was no reading."""
    return minutes(co2.longest_above_1500_min if co2.minutes_with_data else None)


def passes(value: bool | None) -> str:
    """A BB101 day: within both daily criteria, or over one of them (a dash: not judged)."""
    return DASH if value is None else ("meets" if value else "over")


def yesno(value: bool | None) -> str:
    return "not recorded" if value is None else ("yes" if value else "no")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ventwatch.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number, minutes=minutes, longest=longest, passes=passes, yesno=yesno)
    env.globals.update(
        STATUS_NAMES=STATUS_RANK,
        CHANGE_WORD=CHANGE_WORD,
        DASH=DASH,
        AIR_CLEANER_CAVEAT=AIR_CLEANER_CAVEAT,
    )
    return env


ENVIRONMENT: Final = _environment()


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    charts = {room.room: room_chart(room.days, report.bands, report.words) for room in report.rooms}
    sources = {s.key: s for s in report.header.sources}

    def cite(key: str | None) -> str:
        if key is None:
            return DASH
        source = sources.get(key)
        return f"{key}: {source.publisher}, {source.title}" if source else key

    def room_anchor(room: RoomReport) -> str:
        return f"room-{report.rooms.index(room) + 1}"

    made_on = report.header.generated_at.astimezone(ZoneInfo(report.header.timezone)).date()

    def review(register: RoomRegister) -> str:
        """The review date, and whether it had passed on the day the report was made."""
        if register.review_due is None:
            return "not recorded"
        state = {"overdue": " (overdue when this report was made)", "due": " (due soon)"}
        return f"{register.review_due:%d %b %Y}" + state.get(
            register.review_state(made_on) or "", ""
        )

    return ENVIRONMENT.get_template("report.html").render(
        report=report,
        h=report.header,
        s=report.summary,
        charts=charts,
        cite=cite,
        generated=local(report.header.generated_at, report),
        by_name={r.room: r for r in report.rooms},
        anchor=room_anchor,
        review=review,
    )
