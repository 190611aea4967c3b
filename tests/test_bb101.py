"""BB101's daily criteria on exact synthetic days: the mode a room ran in (a hybrid room's
declared per month, else the profile's assumption, labelled), the building type, the whole
school day (breaks and lunch counted, unlike every other figure), the mechanical ceiling of
1500 ppm and the natural one of 2000, and the bb101-2018 profile's status from those days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ventwatch.analysis.engine import RoomAnalysis, analyse_site, to_json
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import minute_means
from ventwatch.config import SiteConfig, SiteConfigError, load_site

JOINT = load_profile("joint-union")
BB = load_profile("bb101-2018")
MONDAY = date(2026, 11, 16)  # GMT: local time = UTC
DECEMBER = date(2026, 12, 7)  # a Monday
# 09:00-11:00 with a break 10:00-10:30: 90 lesson minutes, a 120-minute school day.
HOURS = {"start": "09:00", "end": "11:00", "breaks": [{"start": "10:00", "end": "10:30"}]}


def site(*rooms: dict[str, Any]) -> SiteConfig:
    return SiteConfig.model_validate(
        {"site": {"name": "S"}, "occupied_hours": HOURS, "rooms": list(rooms)}
    )


def day_of(room: str, day: date, level: dict[int, float]) -> list[tuple[datetime, str, float]]:
    """A reading each minute from 09:00 to 11:00 of `day`; `level` maps a minute (0-119) to
    CO2, the rest read 600."""
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return [(start + timedelta(minutes=m), room, level.get(m, 600.0)) for m in range(120)]


def minutes_of(points: list[tuple[datetime, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime([t for t, _, _ in points], utc=True),
            "room": [r for _, r, _ in points],
            "co2_ppm": [c for _, _, c in points],
            "temperature_c": 20.0,
            "humidity_pct": 45.0,
        }
    )
    return minute_means(frame)


def analysed(cfg: SiteConfig, points: list[Any], first: date, last: date, profile=JOINT):  # type: ignore[no-untyped-def]
    result = analyse_site(minutes_of(points), cfg, profile, first, last)
    return {r.room: r for r in result.rooms}


def spread(minutes: range, ppm: float) -> dict[int, float]:
    return dict.fromkeys(minutes, ppm)


LESSONS = [*range(0, 60), *range(90, 120)]
BREAK = range(60, 90)


def test_breaks_count_in_bb101s_mean_and_not_in_the_lesson_figures() -> None:
    """Lessons at 1400 ppm, the break at 1900: the lesson mean is 1400, BB101's school-day
    mean (90 x 1400 + 30 x 1900) / 120 = 1525, over natural ventilation's 1500."""
    cfg = site({"name": "A", "ventilation": "natural", "building_type": "new"})
    level = {**spread(range(120), 1400.0), **spread(BREAK, 1900.0)}
    room = analysed(cfg, day_of("A", MONDAY, level), MONDAY, MONDAY)["A"]
    assert (room.co2.occupied_minutes, room.co2.co2_mean_ppm) == (90, 1400.0)
    assert room.co2.pct_time_above_1500 == 0.0  # the break is not a lesson minute
    [d] = room.bb101.days
    assert (d.mean_ppm, d.daily_mean_limit_ppm, d.coverage_pct) == (1525.0, 1500, 100.0)
    assert (d.over_mean, d.over_max, d.passes) == (True, False, False)
    assert d.assumed == []
    assert room.bb101.window == (
        "each school day from 09:00 to 11:00, breaks and lunch included (BB101's occupied period)"
    )
    # The same day without the break's air would have passed.
    calm = {**spread(range(120), 1400.0)}
    assert analysed(cfg, day_of("A", MONDAY, calm), MONDAY, MONDAY)["A"].bb101.days[0].passes


def test_a_run_over_the_ceiling_continues_through_a_break() -> None:
    """2100 ppm from 09:50 to 10:15: 25 minutes over natural ventilation's 2000 in the
    school day, but only 10 lesson minutes (the break cuts the lesson run)."""
    cfg = site({"name": "A", "ventilation": "natural"})
    room = analysed(cfg, day_of("A", MONDAY, spread(range(50, 75), 2100.0)), MONDAY, MONDAY)["A"]
    [d] = room.bb101.days
    assert (d.longest_above_max_min, d.max_ppm, d.over_max) == (25, 2000, True)
    assert d.assumed == ["building type not declared"]  # judged as new build, and says so
    lesson_run = max(
        (e.duration_min for e in room.co2.episodes if e.threshold_ppm == 1500), default=0
    )
    assert lesson_run == 10


def test_mechanical_ceiling_is_1500_and_natural_2000() -> None:
    cfg = site(
        {"name": "Mech", "ventilation": "mechanical"}, {"name": "Nat", "ventilation": "natural"}
    )
    level = spread(range(0, 25), 1600.0)  # 25 minutes over 1500, never over 2000
    points = day_of("Mech", MONDAY, level) + day_of("Nat", MONDAY, level)
    rooms = analysed(cfg, points, MONDAY, MONDAY)
    mech, nat = rooms["Mech"].bb101.days[0], rooms["Nat"].bb101.days[0]
    assert (mech.max_ppm, mech.longest_above_max_min, mech.over_max) == (1500, 25, True)
    assert (nat.max_ppm, nat.longest_above_max_min, nat.over_max) == (2000, 0, False)
    # Means: (25 x 1600 + 95 x 600) / 120 = 808.3 - under both daily means.
    assert mech.mean_ppm == nat.mean_ppm == 808.3
    assert (mech.daily_mean_limit_ppm, nat.daily_mean_limit_ppm) == (1000, 1500)
    assert not mech.over_mean


def test_a_hybrid_room_is_judged_in_the_mode_declared_for_the_month() -> None:
    """Declared mechanical in November, nothing for December: a November day at 1200 ppm is
    over mechanical's 1000; a December day at 1200 is judged natural (1500) and labelled."""
    cfg = site(
        {"name": "H", "ventilation": "mixed", "bb101_mode": {"mechanical": ["nov"]}},
        {"name": "Hall", "ventilation": "mixed"},
    )
    level = spread(range(120), 1200.0)
    points = [
        *day_of("H", MONDAY, level),
        *day_of("H", DECEMBER, level),
        *day_of("Hall", MONDAY, level),
    ]
    rooms = analysed(cfg, points, MONDAY, DECEMBER)
    nov, dec = [d for d in rooms["H"].bb101.days if d.mean_ppm is not None]
    assert (nov.date, nov.mode, nov.assumed, nov.daily_mean_limit_ppm, nov.passes) == (
        MONDAY, "mechanical", ["building type not declared"], 1000, False,
    )  # fmt: skip
    assert (dec.date, dec.mode, dec.daily_mean_limit_ppm, dec.passes) == (
        DECEMBER, "natural", 1500, True,
    )  # fmt: skip
    assert dec.assumed == ["operating mode not declared", "building type not declared"]
    # Two criteria in one range: each day says its own; the range has no single figure.
    assert rooms["H"].bb101.daily_mean_limit_ppm is None
    assert [c.mode for c in rooms["H"].bb101.criteria] == ["mechanical", "natural"]
    hall = rooms["Hall"].bb101
    assert (hall.daily_mean_limit_ppm, hall.days[0].mode) == (1500, "natural")
    assert hall.criteria[0].assumed == ["operating mode not declared", "building type not declared"]
    assert "operating mode not declared" in str(hall.criteria[0])


def test_one_mode_all_year_and_the_refurbished_figures() -> None:
    cfg = site(
        {"name": "M", "ventilation": "mixed", "bb101_mode": "mechanical"},
        {"name": "Old", "ventilation": "natural", "building_type": "refurbished"},
        {"name": "New", "ventilation": "natural", "building_type": "new"},
    )
    level = spread(range(120), 1600.0)
    points = [*day_of("M", DECEMBER, level), *day_of("Old", MONDAY, level)]
    points += day_of("New", MONDAY, level)
    rooms = analysed(cfg, points, MONDAY, DECEMBER)
    assert rooms["M"].bb101.days[0].mode == "mechanical"
    old, new = rooms["Old"].bb101.days[0], rooms["New"].bb101.days[0]
    # 1750 for refurbished (Unverified, said to be a 20-minute ceiling by its only source).
    assert (old.daily_mean_limit_ppm, old.passes, old.assumed) == (1750, True, [])
    assert (new.daily_mean_limit_ppm, new.passes) == (1500, False)
    words = rooms["Old"].bb101.criteria[0].source_part
    assert "natural ventilation, refurbished: daily mean under 1750 ppm" in words
    assert "Unverified" in words
    assert "20-minute ceiling, not as a daily mean" in words


def test_a_day_with_too_little_data_is_not_judged() -> None:
    cfg = site({"name": "A", "ventilation": "natural"})
    points = day_of("A", MONDAY, spread(range(120), 3000.0))[:40]
    [d] = analysed(cfg, points, MONDAY, MONDAY)["A"].bb101.days
    assert d.coverage_pct == pytest.approx(100 * 49 / 120, abs=0.01)  # 40 read, 9 held
    assert (d.passes, d.over_mean, d.over_max) == (None, None, None)


def rooms_under_bb101(level: dict[int, float], **room: Any) -> RoomAnalysis:
    cfg = site({"name": "A", **room})
    return analysed(cfg, day_of("A", MONDAY, level), MONDAY, MONDAY, BB)["A"]


def test_bb101_profile_status_follows_the_daily_criteria() -> None:
    """Red for a day over the 20-minute ceiling, amber for a day's mean over the daily mean;
    a 20-minute run over the mean figure alone is not amber (that was the old rule)."""
    red = rooms_under_bb101(spread(range(50, 75), 2100.0), ventilation="natural")
    assert red.co2.status == "red"
    assert red.co2.status_source == "BB101"
    assert red.co2.status_reason == (
        "1 school day over BB101's 20-minute ceiling (worst Mon 16 Nov: 25 consecutive minutes"
        " above 2000 ppm; natural ventilation, new build; building type not declared)"
    )
    words = red.co2.status_attribution
    assert words is not None
    assert words.figures[0].startswith(
        "natural ventilation, new build: not over 2000 ppm for more than 20 consecutive minutes"
        " a day: ESFA / DfE (BB101; Secondary, read in CIBSEJ)"
    )
    assert words.ventwatch_part.startswith("ventwatch's choice: BB101 sets daily design criteria")
    amber = rooms_under_bb101(
        {**spread(range(120), 1400.0), **spread(BREAK, 1900.0)}, ventilation="natural"
    )
    assert amber.co2.status == "amber"
    assert "1525 ppm against 1500 ppm" in amber.co2.status_reason
    # 30 minutes at 1600 in a mechanical room: a mean of 850, under its 1000, but over its
    # 1500 ceiling for more than 20 minutes: red. At 1100 instead: green.
    mech = rooms_under_bb101(spread(range(30), 1600.0), ventilation="mechanical")
    assert (mech.co2.status, mech.bb101.days[0].mean_ppm) == ("red", 850.0)
    green = rooms_under_bb101(spread(range(30), 1100.0), ventilation="mechanical")
    assert (green.co2.status, green.bb101.days[0].mean_ppm) == ("green", 725.0)


def test_the_json_document_only_gains_keys() -> None:
    cfg = site({"name": "A", "ventilation": "mixed"})
    result = analyse_site(
        minutes_of(day_of("A", MONDAY, spread(range(120), 1200.0))), cfg, BB, MONDAY, MONDAY
    )
    bb101 = to_json(result)["rooms"][0]["bb101"]
    old = {"daily_mean_limit_ppm", "max_ppm", "days", "days_failing", "max_20min_mean_ppm"}
    assert old | {"note", "source", "window", "criteria"} <= set(bb101)
    assert {"date", "mean_ppm", "longest_above_max_min", "passes"} <= set(bb101["days"][0])
    assert bb101["days"][0]["assumed"] == [
        "operating mode not declared",
        "building type not declared",
    ]


# -- the site file ------------------------------------------------------------------------


def load(tmp_path: Path, rooms: str) -> SiteConfig:
    path = tmp_path / "site.yaml"
    path.write_text(f"site: {{name: S}}\nrooms:\n{rooms}")
    return load_site(path)


@pytest.mark.parametrize(
    ("rooms", "line", "message"),
    [
        (
            "  - name: A\n    ventilation: natural\n    bb101_mode: mechanical\n",
            5,
            "rooms[0].bb101_mode: bb101_mode is for hybrid rooms (ventilation: mixed); this room"
            " is natural",
        ),
        (
            "  - name: A\n    ventilation: mixed\n    bb101_mode:\n"
            "      mechanical: [nov, dec]\n      natural: [dec, jan]\n",
            5,
            "rooms[0].bb101_mode: dec given more than once",
        ),
        (
            "  - name: A\n    ventilation: mixed\n    bb101_mode: {natural: [june]}\n",
            5,
            "rooms[0].bb101_mode",
        ),
        (
            "  - name: A\n    ventilation: mixed\n    bb101_mode: {fans: [jan]}\n",
            5,
            "rooms[0].bb101_mode",
        ),
        (
            "  - name: A\n    building_type: old\n",
            4,
            "rooms[0].building_type: `old` is not one of new or refurbished",
        ),
    ],
)
def test_site_file_mistakes_are_reported_with_their_line(
    tmp_path: Path, rooms: str, line: int, message: str
) -> None:
    with pytest.raises(SiteConfigError) as caught:
        load(tmp_path, rooms)
    assert f"site.yaml:{line}: {message}" in str(caught.value)


def test_site_file_declares_modes_per_month(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        "  - name: A\n    ventilation: mixed\n    building_type: refurbished\n"
        "    bb101_mode: {mechanical: [nov, dec, jan, feb], natural: [may, jun]}\n",
    )
    room = cfg.rooms[0]
    assert [room.bb101_mode_on(m) for m in (1, 3, 5, 11)] == [
        "mechanical", None, "natural", "mechanical",
    ]  # fmt: skip
    assert room.building_type == "refurbished"
    natural = load(tmp_path, "  - name: B\n    ventilation: natural\n").rooms[0]
    assert natural.bb101_mode_on(1) == "natural"
