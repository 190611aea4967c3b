"""Dates as the pages write them (en-GB): day before month, no leading zero, no comma before
the year, read back to the same day; the same formats handed to Plotly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ventwatch.dashboard.dates import DASH, PLOTLY_LOCALE, day, moment

LONDON = ZoneInfo("Europe/London")


def test_the_issue_s_examples() -> None:
    assert day(date(2026, 11, 30)) == "30 Nov 2026"
    assert day(date(2026, 11, 3), weekday=True) == "Tue 3 Nov 2026"
    assert day(date(2026, 11, 3), weekday=True, year=False) == "Tue 3 Nov"
    assert day(date(2026, 11, 30), weekday=True, long=True) == "Monday 30 November 2026"
    # Site time: 23:30 UTC on 30 June is already 1 July in London (BST).
    assert moment(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), LONDON) == "Wed 1 Jul 2026, 00:30"
    assert moment(None, LONDON) == DASH


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31)))
def test_every_day_reads_back_as_itself(when: date) -> None:
    text = day(when, weekday=True)
    assert datetime.strptime(text, "%a %d %b %Y").date() == when  # C locale names: English
    number = text.split()[1]
    assert number == str(when.day)  # no leading zero
    assert "," not in text


def test_plotly_gets_the_same_names_starting_on_sunday() -> None:
    formats = PLOTLY_LOCALE["format"]
    assert formats["dayMonthYear"] == "%-d %b %Y"
    assert formats["shortDays"][0] == "Sun"
    assert formats["shortMonths"][10] == day(date(2026, 11, 1)).split()[1]
