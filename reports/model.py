"""One report model for every format: a site's rooms over a period, judged by the analysis
engine against the site's guidance profile, with the previous period for comparison.

`build_report` is pure: minute means (the store's, covering the previous period and the
report's own), the site, the profile and the logged actions in; a `Report` out. The
formats only lay it out, so a CSV, a spreadsheet and a printed page cannot disagree.

What is in it, and why:
- the whole period's judgement of each room is the engine's (`analyse_site`): what
  `ventwatch analyse --from FIRST --to LAST` and the room page say of the same dates;
- each school day is the engine's judgement of that day alone (the week view's day cells);
- the previous period is judged the same way, so "better" or "worse" compares like with like;
- every threshold, band and meaning is read from the profile, and the header names it (id,
  version, sources): a printed report must say which guidance it applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Literal

import numpy as np
import pandas as pd

from ventwatch import __version__
from ventwatch.analysis.co2 import STATUS_ORDER, CO2Metrics, Status
from ventwatch.analysis.comfort import TemperatureResult
from ventwatch.analysis.engine import (
    RoomAnalysis,
    RoomCO2,
    SiteAnalysis,
    analyse_co2,
    analyse_days,
    analyse_site,
)
from ventwatch.analysis.lessons import Lesson
from ventwatch.analysis.occupancy import Schedule, local_day_bounds, occupied_mask
from ventwatch.analysis.profiles import BB101_KEY, Profile, Source, Statuses, TemperatureLabel
from ventwatch.analysis.series import lead, site_series
from ventwatch.config import SiteConfig
from ventwatch.register import RoomRegister, file_registers
from ventwatch.reports.period import Period

# A day's chart plots 5-minute means: fine enough to show a lesson's build-up and a break's
# airing, coarse enough that a 60-room report stays a small file (presentation choice).
CHART_STEP_MINUTES: Final = 5
# The stages `build_report` tells a progress bar of: the period, the previous period, the
# days, the charts.
BUILD_STEPS: Final = 4
# How many rooms the summary lists as the worst (presentation choice).
WORST_ROOMS: Final = 5
# Statuses from the most to the least pressing, the order summaries list them in.
STATUS_RANK: Final[tuple[Status, ...]] = ("red", "amber", "green", "grey")

Change = Literal["better", "worse", "same", "not comparable"]


@dataclass(frozen=True, slots=True)
class ReportAction:
    """Something done about a room, as the rep's action log recorded it."""

    room: str
    taken_on: date
    step: str  # the joint guide's step it belongs to
    action: str
    note: str
    recorded_by: str


@dataclass(frozen=True, slots=True)
class BandNote:
    """A CO2 band of the profile in plain words: what it means and what to do next, and
    which part of it is the source's and which ventwatch's (`Profile.attribution`)."""

    name: str
    from_ppm: float | None  # the band below's upper bound; None for the lowest band
    below_ppm: float | None  # None for the highest band
    label: str
    advice: str
    source: str
    source_part: str
    ventwatch_part: str
    status: Status  # the status it is shown as (`Profile.band_status`), in its words


@dataclass(frozen=True, slots=True)
class StatusNote:
    """What a room's status over the period means under the profile; the attribution's two
    parts are empty for green and grey, which no source defines."""

    status: Status
    meaning: str
    source: str | None
    source_part: str = ""
    ventwatch_part: str = ""


@dataclass(frozen=True, slots=True)
class BB101Note:
    """One of BB101's daily criteria (a mode and building type), or what is assumed where the
    site file is silent, with the source's part and ventwatch's."""

    name: str
    source: str
    source_part: str
    ventwatch_part: str


@dataclass(frozen=True, slots=True)
class TemperatureNote:
    """A temperature label of the profile (cold, cold where the work is of severe physical
    effort, below and above comfort), with its own source's part and ventwatch's."""

    label: str  # with its figure and source: "cold (below 16 °C, ACoP L24)"
    source: str
    source_part: str
    ventwatch_part: str


@dataclass(frozen=True, slots=True)
class TemperatureRooms:
    """The rooms a temperature label applied to at some occupied minute of the period."""

    label: str
    rooms: list[str]


@dataclass(frozen=True, slots=True)
class ConsistentlyNote:
    """The "consistently" reading shown beside each room's status, and what it rests on."""

    rule: str
    source: str
    source_part: str
    ventwatch_part: str


@dataclass(frozen=True, slots=True)
class Header:
    site: str
    timezone: str
    period: Period
    school_days: list[date]  # the days with occupied minutes in any room reported
    profile_id: str
    profile_version: str
    profile_title: str
    profile_summary: str
    sources: list[Source]
    occupied_hours: str  # the site's; a room with its own hours says so in its section
    generated_at: datetime
    ventwatch_version: str


@dataclass(frozen=True, slots=True)
class DayChart:
    """A room's CO2 over one school day in steps of `step_minutes` from `start` (local time):
    each step's mean, None where there was no reading, and whether the step is occupied (the
    hours that count: breaks are not)."""

    start: datetime
    step_minutes: int
    co2_ppm: list[float | None]
    occupied: list[bool]


@dataclass(frozen=True, slots=True)
class RoomDay:
    """The engine's judgement of one room over one school day."""

    day: date
    co2: CO2Metrics
    bb101_passes: bool | None  # None: no data that day
    temperature: TemperatureResult  # that day alone
    chart: DayChart
    lessons: list[Lesson] = field(default_factory=list)  # that day's, with peak and end


@dataclass(frozen=True, slots=True)
class RoomReport:
    analysis: RoomAnalysis  # the whole period
    previous: CO2Metrics  # the previous period, judged the same way
    change: Change
    days: list[RoomDay]  # school days the room was in use
    actions: list[ReportAction]
    # The room's entry in the register of the guide's step 2, as of the report's making.
    register: RoomRegister = field(default_factory=RoomRegister)

    @property
    def room(self) -> str:
        return self.analysis.room

    @property
    def status(self) -> Status:
        return self.analysis.co2.status


@dataclass(frozen=True, slots=True)
class SiteSummary:
    counts: dict[Status, int]  # in STATUS_RANK order
    previous_counts: dict[Status, int]
    worst: list[str]  # red and amber rooms, worst first
    not_enough_data: list[str]
    better: list[str]
    worse: list[str]
    # Each temperature label, with the rooms it applied to at some occupied minute; a
    # label no room had is left out. A room is cold by its own minimum (severe effort).
    temperature: list[TemperatureRooms]


@dataclass(frozen=True, slots=True)
class Report:
    header: Header
    summary: SiteSummary
    bands: list[BandNote]
    statuses: list[StatusNote]
    # The profile's status words, symbols and colours: every format says a status with these.
    words: Statuses
    consistently: ConsistentlyNote
    bb101: list[BB101Note]
    temperature: list[TemperatureNote]
    rooms: list[RoomReport] = field(default_factory=list)


def band_notes(profile: Profile) -> list[BandNote]:
    notes = []
    lower: float | None = None
    for band in profile.co2_bands:
        words = profile.attribution(band)
        notes.append(
            BandNote(
                band.name,
                lower,
                band.below_ppm,
                band.label,
                band.advice,
                band.source,
                words.source_part,
                words.ventwatch_part,
                profile.band_status(band.name),
            )
        )
        lower = band.below_ppm
    return notes


def status_notes(profile: Profile) -> list[StatusNote]:
    """The meaning of each status, from the profile's rules; green and grey are worded from
    the same rules and the profile's coverage, so they cannot drift from what was applied."""
    notes = []
    rules = {r.status: r for r in profile.status.rules}
    for status in STATUS_RANK:
        if status in rules:
            rule = rules[status]
            words = profile.attribution(rule)
            notes.append(
                StatusNote(
                    status, rule.meaning, rule.source, words.source_part, words.ventwatch_part
                )
            )
    notes.append(StatusNote("green", profile.green_meaning(), None))
    notes.append(
        StatusNote(
            "grey",
            f"Not judged: fewer than {profile.status.min_coverage_pct:g}% of occupied minutes "
            "have a reading, or readings come less often than each one stands (a slow sensor "
            "whose interval the site file does not declare). A silent sensor is never taken "
            "as good air.",
            None,
        )
    )
    return notes


def bb101_notes(profile: Profile) -> list[BB101Note]:
    """BB101's criteria, each with its figures' sources and labels, then the assumptions."""
    section = profile.bb101
    notes = []
    for criterion in section.criteria:
        words = profile.criterion_attribution(criterion)
        notes.append(BB101Note(criterion.name, BB101_KEY, words.source_part, words.ventwatch_part))
    for assumption in (section.undeclared_mode, section.undeclared_building):
        words = profile.attribution(assumption)
        notes.append(
            BB101Note(assumption.label, assumption.source, words.source_part, words.ventwatch_part)
        )
    return notes


def temperature_notes(profile: Profile) -> list[TemperatureNote]:
    """Each temperature label, in the order rooms are summarised: cold, cold where the work
    is of severe physical effort, below comfort, above comfort."""
    notes = []
    for label in _temperature_labels(profile):
        words = profile.attribution(label)
        notes.append(
            TemperatureNote(label.words, label.source, words.source_part, words.ventwatch_part)
        )
    return notes


def _temperature_labels(profile: Profile) -> list[TemperatureLabel]:
    t = profile.temperature
    return [t.cold, t.cold_severe_effort, t.below_comfort, t.above_comfort]


def consistently_note(profile: Profile) -> ConsistentlyNote:
    rule = profile.status.consistently
    words = profile.attribution(rule)
    return ConsistentlyNote(
        profile.consistently_rule(), rule.source, words.source_part, words.ventwatch_part
    )


def change_between(previous: Status, now: Status) -> Change:
    """Better or worse by status only: a figure that moves within a status is shown as
    numbers, not judged. A period without enough data cannot be compared."""
    if "grey" in (previous, now):
        return "not comparable"
    before, after = STATUS_ORDER.index(previous), STATUS_ORDER.index(now)
    if after == before:
        return "same"
    return "worse" if after > before else "better"


def _worst_first(room: RoomReport) -> tuple[int, int, float, float]:
    m = room.analysis.co2
    return (
        STATUS_RANK.index(m.status),
        -m.longest_above_1500_min,
        -(m.pct_time_above_800 or 0.0),
        -(m.max_20min_mean_ppm or 0.0),
    )


def _counts(statuses: Iterable[Status]) -> dict[Status, int]:
    counts = dict.fromkeys(STATUS_RANK, 0)
    for s in statuses:
        counts[s] += 1
    return counts


def summarise(rooms: Sequence[RoomReport], profile: Profile) -> SiteSummary:
    worst = sorted((r for r in rooms if r.status in ("red", "amber")), key=_worst_first)
    return SiteSummary(
        counts=_counts(r.status for r in rooms),
        previous_counts=_counts(r.previous.status for r in rooms),
        worst=[r.room for r in worst[:WORST_ROOMS]],
        not_enough_data=[r.room for r in rooms if r.status == "grey"],
        better=[r.room for r in rooms if r.change == "better"],
        worse=[r.room for r in rooms if r.change == "worse"],
        temperature=_temperature_rooms(rooms, profile),
    )


def _temperature_rooms(rooms: Sequence[RoomReport], profile: Profile) -> list[TemperatureRooms]:
    """Each label with the rooms it applied to, in the profile's order; a room is listed
    under its own "cold" (L24's severe-effort figure where the site file says so)."""
    by_label: dict[str, list[str]] = {label.words: [] for label in _temperature_labels(profile)}
    for r in rooms:
        for label in r.analysis.temperature.labels:
            if label.minutes:
                by_label[label.label].append(r.room)
    return [TemperatureRooms(label, names) for label, names in by_label.items() if names]


def _ns(when: datetime) -> int:
    return int(pd.Timestamp(when).as_unit("ns").value)


def _charts(
    minutes: pd.DataFrame,
    period: Period,
    site: SiteConfig,
    profile: Profile,
    days: dict[str, list[date]],
) -> dict[tuple[str, date], DayChart]:
    """The chart of each room's school days in `days`: 5-minute means of its minute series
    (the one every verdict is computed on) over its occupied hours' span (breaks included,
    drawn as not occupied). The period's series is built once; a day's chart is a slice of
    it, cut in steps counted from the local midnight, so a day with a clock change stays
    aligned."""
    tz = site.tz
    start, end = local_day_bounds(period.first, period.last, tz)
    series = site_series(minutes, site, profile, start, end, list(days), quantities=("co2_ppm",))
    index = series.index
    co2 = {s.room.name: s.values["co2_ppm"] for s in series.rooms}
    step = CHART_STEP_MINUTES
    minute_ns = 60_000_000_000
    by_room = {r.name: r for r in site.rooms}
    # A schedule's span and occupied steps on a day, shared by the rooms that keep it.
    spans: dict[tuple[int, date], tuple[int, int, datetime, list[bool]]] = {}
    out = {}
    for name, room_days in days.items():
        hours = by_room[name].occupied_hours or site.occupied_hours
        values = co2.get(name)
        for day in room_days:
            if (id(hours), day) not in spans:
                midnight, _ = local_day_bounds(day, day, tz)
                since = (_ns(midnight) - _ns(start)) // minute_ns  # where the day begins
                opens = (_ns(datetime.combine(day, hours.start, tz)) - _ns(midnight)) // minute_ns
                closes = (_ns(datetime.combine(day, hours.end, tz)) - _ns(midnight)) // minute_ns
                first = since + opens // step * step  # the step holding the start
                last = since - (-closes // step) * step  # the end of the step holding the end
                steps = index[first:last:step]
                occupied = occupied_mask(steps, Schedule(hours, site.calendar, tz))
                begins = steps[0].to_pydatetime().astimezone(tz)
                spans[id(hours), day] = (first, last, begins, [bool(x) for x in occupied])
            first, last, begins, occupied_steps = spans[id(hours), day]
            # A row of minutes per step; a room with no data is all NaN, drawn as a gap.
            span = np.full(last - first, np.nan) if values is None else values[first:last]
            rows = span.reshape(-1, step)
            counts = (~np.isnan(rows)).sum(axis=1)
            sums = np.nansum(rows, axis=1)
            means = np.divide(sums, counts, out=np.full(len(counts), np.nan), where=counts > 0)
            out[name, day] = DayChart(
                start=begins,
                step_minutes=step,
                co2_ppm=[None if v != v else round(v, 1) for v in means.tolist()],  # NaN: None
                occupied=occupied_steps,
            )
    return out


@dataclass(frozen=True, slots=True)
class Verdicts:
    """The engine's verdicts a report shows, before any layout: the whole period (the rooms
    in the site file's order), the previous period's CO2, and each room's school days.
    `bench/report.py` times reading the minutes and this alone against the whole report."""

    period: SiteAnalysis
    previous: dict[str, CO2Metrics]
    days: dict[str, dict[date, RoomCO2]]


def split(
    minutes: pd.DataFrame, site: SiteConfig, profile: Profile, period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the period's rows, the previous period's rows) of minute means covering both, each
    from one hold before its start (`series.read_minutes`). Each analysis gets only its own
    rows: the engine's cost grows with the rows it is given."""
    stamps = minutes["minute"].dt.as_unit("ns").astype("int64").to_numpy()
    ahead = lead(site, profile)

    def between(first: date, last: date) -> pd.DataFrame:
        start, end = local_day_bounds(first, last, site.tz)
        rows: pd.DataFrame = minutes[(stamps >= _ns(start - ahead)) & (stamps < _ns(end))]
        return rows

    previous = period.previous()
    return between(period.first, period.last), between(previous.first, previous.last)


def judge(
    now: pd.DataFrame,
    before: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    period: Period,
    rooms: list[str],
    step: Callable[[], None] = lambda: None,
) -> Verdicts:
    """The engine's judgement of `rooms` over `period` (from `now`, its minute means), of
    the previous period (from `before`) and of each day. `step()` after each of the three."""
    whole = analyse_site(now, site, profile, period.first, period.last, rooms)
    step()
    # The previous period is only compared by status: its CO2 judgement is all it needs.
    previous = period.previous()
    judged = analyse_co2(before, site, profile, previous.first, previous.last, rooms)
    step()
    days = analyse_days(now, site, profile, period.first, period.last, rooms)
    step()
    return Verdicts(whole, {name: r.co2 for name, r in judged.items()}, days)


def build_report(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    period: Period,
    generated_at: datetime,
    actions: Iterable[ReportAction] = (),
    rooms: list[str] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    version: str = __version__,
    registers: Mapping[str, RoomRegister] | None = None,
) -> Report:
    """The report of `period`. `minutes` are the store's minute means from one hold before
    the start of `period.previous()` to the end of `period` (`inputs.read_report_minutes`); `rooms`
    limits the report to those rooms (in the site file's order). `on_step(done, total)` is
    told as each stage ends, for a progress bar. `registers`: each room's register with the
    dashboard's edits (`register.room_registers`); None: the site file's alone."""
    wanted = [r.name for r in site.rooms if rooms is None or r.name in rooms]
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if on_step is not None:
            on_step(done, BUILD_STEPS)

    now, before = split(minutes, site, profile, period)
    judged = judge(now, before, site, profile, period, wanted, step)
    whole = judged.period
    # A school day: any room reported was occupied then (weekends and holidays drop out).
    school_days = sorted({day for by_day in judged.days.values() for day in by_day})
    charts = _charts(now, period, site, profile, {name: list(d) for name, d in judged.days.items()})
    step()
    # A day's BB101 result is the period's for that day (judged over that day alone).
    bb101_by_day = {(r.room, d.date): d.passes for r in whole.rooms for d in r.bb101.days}
    lessons: dict[tuple[str, date], list[Lesson]] = {}
    for r in whole.rooms:
        for lesson in r.lessons:
            lessons.setdefault((r.room, lesson.date), []).append(lesson)
    days = {
        name: [
            RoomDay(
                day=day,
                co2=r.co2,
                bb101_passes=bb101_by_day.get((name, day)),
                temperature=r.temperature,
                chart=charts[name, day],
                lessons=lessons.get((name, day), []),
            )
            for day, r in by_day.items()
        ]
        for name, by_day in judged.days.items()
    }
    logged: dict[str, list[ReportAction]] = {name: [] for name in wanted}
    for action in sorted(actions, key=lambda a: (a.taken_on, a.room)):
        if action.room in logged and period.first <= action.taken_on <= period.last:
            logged[action.room].append(action)
    if registers is None:
        registers = file_registers(site)
    reports = []
    for r in whole.rooms:
        prev = judged.previous[r.room]
        reports.append(
            RoomReport(
                analysis=r,
                previous=prev,
                change=change_between(prev.status, r.co2.status),
                days=days[r.room],
                actions=logged[r.room],
                register=registers.get(r.room, RoomRegister()),
            )
        )
    header = Header(
        site=site.site.name,
        timezone=site.tz.key,
        period=period,
        school_days=school_days,
        profile_id=profile.id,
        profile_version=profile.version,
        profile_title=profile.title,
        profile_summary=profile.summary,
        sources=list(profile.sources),
        occupied_hours=Schedule(site.occupied_hours, site.calendar, site.tz).describe(),
        generated_at=generated_at,
        ventwatch_version=version,
    )
    return Report(
        header=header,
        summary=summarise(reports, profile),
        bands=band_notes(profile),
        statuses=status_notes(profile),
        words=profile.statuses,
        consistently=consistently_note(profile),
        bb101=bb101_notes(profile),
        temperature=temperature_notes(profile),
        rooms=reports,
    )
