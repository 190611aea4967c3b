"""Dates as the pages' language writes them: "30 Nov 2026", "Mon 30 Nov 2026, 14:05".

One place for every date a page shows (templates through the `day` and `moment` filters,
the routes, the Plotly axes), so a table, a heading and a chart's axis never disagree. The
pages are British English (`<html lang="en-GB">`); no site file names a locale, so en-GB is
the one written here. The names are spelled out rather than taken from `strftime`, whose
`%b` follows the process's C locale and would change with the server's environment.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, Final

LOCALE: Final = "en-GB"
DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
DASH: Final = "–"


def day(when: date, weekday: bool = False, year: bool = True, long: bool = False) -> str:
    """'30 Nov 2026'; 'Mon 30 Nov 2026' with the weekday; 'Mon 30 Nov' without the year (a
    table under a heading that already says the year); 'Monday 30 November 2026' long. Day
    before month, no leading zero, no comma: as en-GB writes it."""
    month = MONTHS[when.month - 1]
    text = f"{when.day} {month if long else month[:3]}"
    if year:
        text += f" {when.year}"
    if weekday:
        name = DAYS[when.weekday()]
        text = f"{name if long else name[:3]} {text}"
    return text


def moment(when: datetime | None, tz: tzinfo, weekday: bool = True) -> str:
    """'Mon 30 Nov 2026, 14:05' at the site (what staff compare with the clock on the wall);
    a dash for a moment that has not happened."""
    if when is None:
        return DASH
    local = when.astimezone(tz)
    return f"{day(local.date(), weekday=weekday)}, {local:%H:%M}"


# The same formats for Plotly.js, as its d3 date format strings (`%-d`: no leading zero),
# registered as a Plotly locale by static/room.js: Plotly then labels its date axes and
# hover headers "30 Nov 2026" while still choosing its own tick spacing.
PLOTLY_LOCALE: Final[dict[str, Any]] = {
    "moduleType": "locale",
    "name": LOCALE.lower(),
    "dictionary": {},
    "format": {
        "days": [DAYS[6], *DAYS[:6]],  # d3 counts from Sunday
        "shortDays": [name[:3] for name in (DAYS[6], *DAYS[:6])],
        "months": list(MONTHS),
        "shortMonths": [name[:3] for name in MONTHS],
        "date": "%d/%m/%Y",
        "year": "%Y",
        "month": "%b %Y",
        "dayMonth": "%-d %b",
        "dayMonthYear": "%-d %b %Y",
    },
}
# The unified hover's header: the moment, with its weekday (a week's chart spans five days).
PLOTLY_HOVER: Final = "%a %-d %b %Y, %H:%M"
