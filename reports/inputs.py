"""The edge of reporting: read what a report needs from the store and the action log, then
build it. Everything past this module is pure.

Used by `ventwatch report`; the dashboard's export and the weekly email call `load_report`
the same way, so a report is the same whichever way it was asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

import pandas as pd

from ventwatch.analysis import series
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import Profile
from ventwatch.config import SiteConfig
from ventwatch.register import RoomRegister
from ventwatch.reports.model import BUILD_STEPS, Report, ReportAction, build_report
from ventwatch.reports.period import Period
from ventwatch.state_database import StateLocation, state_exists
from ventwatch.store import Store

# The store is read a week at a time, so a term's report shows progress and never holds
# one huge query (a project choice).
CHUNK_DAYS = 7


def _chunks(first: date, last: date) -> list[tuple[date, date]]:
    out = []
    while first <= last:
        end = min(first + timedelta(days=CHUNK_DAYS - 1), last)
        out.append((first, end))
        first = end + timedelta(days=1)
    return out


def logged_actions(state_db: StateLocation, site: str) -> list[ReportAction]:
    """Every action the rep's action log holds for the site (`ventwatch.alerts`), in the
    guide's words. No accounts file yet: no actions (and none is created)."""
    if not state_exists(state_db):
        return []
    from ventwatch.alerts.actions import ACTIONS, STEPS
    from ventwatch.alerts.records import AlertRecords

    return [
        ReportAction(
            room=a.room,
            taken_on=a.taken_on,
            step=STEPS.get(a.step, a.step),
            action=ACTIONS[a.action][0] if a.action in ACTIONS else a.action,
            note=a.note,
            recorded_by=a.recorded_by,
        )
        for a in AlertRecords(state_db, site).actions()
    ]


def read_report_minutes(
    store: Store,
    site: SiteConfig,
    profile: Profile,
    period: Period,
    rooms: list[str] | None = None,
    on_read: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """The store's minute means from one hold before the previous period to the end of
    `period`, what `build_report` takes; `on_read(done, total)` after each week read."""
    chunks = _chunks(period.previous().first, period.last)
    frames = []
    for i, (first, last) in enumerate(chunks, start=1):
        start, end = local_day_bounds(first, last, site.tz)
        if i == 1:  # the first week's minutes, from a hold before it (`analysis.series`)
            frames.append(series.read_minutes(store, site, profile, rooms, start, end))
        else:
            frames.append(store.minute_means(rooms, start, end))
        if on_read is not None:
            on_read(i, len(chunks))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def load_report(
    store: Store,
    site: SiteConfig,
    profile: Profile,
    period: Period,
    generated_at: datetime,
    actions: list[ReportAction],
    rooms: list[str] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    registers: Mapping[str, RoomRegister] | None = None,
) -> Report:
    """Read the minute means of the period and the one before it, and build the report.
    `on_step(done, total)` counts store reads and the build's stages, for a progress bar;
    `registers` are the rooms' registers with the dashboard's edits
    (`register.room_registers`; None: the site file's alone). Store errors (`StoreError`)
    propagate: the caller says what went wrong."""
    reads = len(_chunks(period.previous().first, period.last))
    total = reads + BUILD_STEPS

    def read(done: int, _: int) -> None:
        if on_step is not None:
            on_step(done, total)

    def step(done: int, _: int) -> None:
        if on_step is not None:
            on_step(reads + done, total)

    minutes = read_report_minutes(store, site, profile, period, rooms, read)
    return build_report(
        minutes, site, profile, period, generated_at, actions, rooms, on_step=step,
        registers=registers,
    )  # fmt: skip
