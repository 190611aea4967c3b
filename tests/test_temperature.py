"""Temperature's labels, each with its own source, on exact synthetic days: "cold" is below
ACoP L24's 16 °C (13 °C in a room of severe physical effort), "below comfort" below NEU's
18 °C, "above comfort" over NEU's 26 °C; and "possibly windows opened", which a class
leaving at the end of a lesson is not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from ventwatch.analysis.comfort import LEAVING_MINUTES, TemperatureResult
from ventwatch.analysis.engine import RoomAnalysis, analyse_site, to_json
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import minute_means
from ventwatch.config import SiteConfig

PROFILE = load_profile("joint-union")
MONDAY = date(2026, 11, 16)  # GMT: local time = UTC
NINE = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
COLD = "cold (below 16 °C, ACoP L24)"
COLD_SEVERE = "cold (below 13 °C, ACoP L24, severe physical effort)"
BELOW = "below comfort (below 18 °C, NEU)"
ABOVE = "above comfort (over 26 °C, NEU)"


def site(
    effort: str = "normal", end: str = "10:00", breaks: list[dict[str, str]] | None = None
) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"name": "S", "timezone": "Europe/London"},
            "occupied_hours": {"start": "09:00", "end": end, "breaks": breaks or []},
            "rooms": [{"name": "A", "physical_effort": effort}],
        }
    )


def readings(co2: list[float], temp: list[float]) -> pd.DataFrame:
    """Room A's readings, one a minute from 09:00."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime([NINE + timedelta(minutes=i) for i in range(len(co2))]),
            "room": "A",
            "co2_ppm": co2,
            "temperature_c": temp,
            "humidity_pct": 45.0,
        }
    )


def analyse(co2: list[float], temp: list[float], cfg: SiteConfig | None = None) -> RoomAnalysis:
    cfg = cfg or site()
    return analyse_site(minute_means(readings(co2, temp)), cfg, PROFILE, MONDAY, MONDAY).rooms[0]


def hour_at(celsius: float, cfg: SiteConfig | None = None) -> TemperatureResult:
    """A 60-minute lesson at a steady temperature and 600 ppm."""
    return analyse([600.0] * 60, [celsius] * 60, cfg).temperature


def minutes(t: TemperatureResult) -> dict[str, tuple[str, int]]:
    return {x.key: (x.label, x.minutes) for x in t.labels}


def test_17_degrees_is_below_comfort_but_not_cold() -> None:
    t = hour_at(17.0)
    assert minutes(t) == {
        "cold": (COLD, 0),
        "below_comfort": (BELOW, 60),
        "above_comfort": (ABOVE, 0),
    }
    assert (t.minutes_below_minimum, t.minutes_below_comfort, t.minutes_outside_comfort) == (
        0,
        60,
        60,
    )


def test_15_degrees_is_cold_and_below_comfort() -> None:
    t = hour_at(15.0)
    assert minutes(t) == {
        "cold": (COLD, 60),
        "below_comfort": (BELOW, 60),
        "above_comfort": (ABOVE, 0),
    }
    assert (t.minimum_c, t.source, t.physical_effort) == (16.0, "L24", "normal")


def test_at_the_figure_is_not_past_it() -> None:
    """L24: "at least 16"; NEU: a minimum of 18, a maximum of 26."""
    assert [x.minutes for x in hour_at(16.0).labels] == [0, 60, 0]
    assert [x.minutes for x in hour_at(18.0).labels] == [0, 0, 0]
    assert [x.minutes for x in hour_at(26.0).labels] == [0, 0, 0]


def test_a_severe_effort_room_at_14_is_below_comfort_not_cold() -> None:
    t = hour_at(14.0, site("severe"))
    assert minutes(t) == {
        "cold": (COLD_SEVERE, 0),
        "below_comfort": (BELOW, 60),
        "above_comfort": (ABOVE, 0),
    }
    assert (t.minimum_c, t.physical_effort) == (13.0, "severe")
    assert [x.minutes for x in hour_at(12.5, site("severe")).labels] == [60, 60, 0]
    # The same 14 °C in an ordinary room is cold.
    assert hour_at(14.0).label("cold").minutes == 60


def test_27_degrees_is_above_comfort() -> None:
    t = hour_at(27.0)
    assert minutes(t) == {
        "cold": (COLD, 0),
        "below_comfort": (BELOW, 0),
        "above_comfort": (ABOVE, 60),
    }
    assert (t.max_c, t.minutes_above_comfort, t.minutes_outside_comfort) == (27.0, 60, 60)


def test_each_label_carries_its_own_source_and_ventwatchs_part() -> None:
    t = hour_at(17.0, site("severe"))
    cold, below, above = t.labels
    assert (cold.source, cold.checked, below.source, below.checked) == (
        "L24",
        "Secondary",
        "NEU-VT",
        "Verified",
    )
    assert (above.source, above.checked) == ("NEU-HOT", "Verified")
    assert cold.attribution == PROFILE.attribution(PROFILE.temperature.cold_severe_effort)
    assert "at least 13 degrees Celsius" in cold.attribution.source_part
    assert "sports hall" in cold.attribution.ventwatch_part
    assert "argued for a minimum of 18 degrees C" in below.attribution.source_part
    assert "'below comfort', not 'cold'" in below.attribution.ventwatch_part
    assert "26°C is appropriate" in above.attribution.source_part


def test_the_json_document_adds_the_labels_and_keeps_its_keys() -> None:
    doc = to_json(
        analyse_site(
            minute_means(readings([600.0] * 60, [17.0] * 60)), site(), PROFILE, MONDAY, MONDAY
        )
    )
    temperature: dict[str, Any] = doc["rooms"][0]["temperature"]
    old = {
        "minutes_with_data", "min_c", "mean_c", "max_c", "minutes_below_minimum",
        "minutes_outside_comfort", "minutes_cold_and_high_co2",
        "minutes_cold_after_windows_opened", "cold_and_high_co2",
        "cold_because_windows_opened", "minimum_c", "comfort_c", "source",
    }  # fmt: skip
    added = {"physical_effort", "minutes_below_comfort", "minutes_above_comfort", "labels"}
    assert set(temperature) == old | added
    assert (temperature["minimum_c"], temperature["comfort_c"]) == (16.0, [18.0, 26.0])
    cold, below, above = temperature["labels"]
    assert (cold["key"], cold["label"], cold["minutes"], cold["figure_c"]) == (
        "cold",
        COLD,
        0,
        16.0,
    )
    assert (below["label"], below["minutes"], below["source"], below["checked"]) == (
        BELOW,
        60,
        "NEU-VT",
        "Verified",
    )
    words = PROFILE.attribution(PROFILE.temperature.below_comfort)
    assert below["attribution"] == {
        "source": words.source_part,
        "ventwatch": words.ventwatch_part,
        "keys": ["NEU-VT"],
    }
    assert above["label"] == ABOVE


# -- possibly windows opened ---------------------------------------------------------------


def test_a_sharp_mid_lesson_fall_with_the_temperature_is_possibly_windows_opened() -> None:
    # 1500 ppm and 19 °C, then from 09:20 CO2 falls 40 ppm a minute and the temperature
    # 0.15 °C a minute, to 900 ppm and 16.75 °C: below comfort for the rest of the lesson.
    co2 = [1500.0] * 20 + [1500.0 - 40 * i for i in range(1, 16)] + [900.0] * 25
    temp = [19.0] * 20 + [19.0 - 0.15 * i for i in range(1, 16)] + [16.75] * 25
    t = analyse(co2, temp).temperature
    assert t.cold_because_windows_opened
    assert t.minutes_cold_after_windows_opened == 34  # 09:26 (17.95 °C) to 10:00
    assert t.windows_note is not None
    assert t.windows_note.startswith(f"34 occupied minutes {BELOW} began as CO2 fell sharply")
    assert "windows were possibly opened" in t.windows_note
    assert "not an observation" in t.windows_note


def test_a_class_leaving_at_a_lesson_change_is_not_windows_opened() -> None:
    """Two lessons, 09:00-10:00 and 10:15-11:15. The class packs up and leaves in the last
    eight minutes of the first: CO2 falls 60 ppm a minute as the room empties and the room
    loses a little warmth (0.1 °C a minute, 18.4 to 17.6 °C). The next lesson starts
    below comfort, its CO2 rising again: nobody opened a window."""
    cfg = site(end="11:15", breaks=[{"start": "10:00", "end": "10:15"}])
    first_co2 = [1400.0] * 52 + [1400.0 - 60 * i for i in range(1, 9)]
    first_temp = [18.4] * 52 + [round(18.4 - 0.1 * i, 2) for i in range(1, 9)]
    gap = [600.0] * 15  # the break: not occupied
    second_co2 = [500.0 + 10 * i for i in range(60)]
    second_temp = [17.6] * 60
    room = analyse(first_co2 + gap + second_co2, first_temp + [17.6] * 15 + second_temp, cfg)
    t = room.temperature
    assert t.minutes_below_comfort == 4 + 60  # the last minutes of the first lesson, the second
    assert (t.minutes_cold_after_windows_opened, t.cold_because_windows_opened) == (0, False)
    assert t.windows_note is None
    assert LEAVING_MINUTES >= 8  # the fall lies within the lesson's leaving minutes


def test_the_same_fall_mid_lesson_is_possibly_windows_opened() -> None:
    """The leaving pattern of the last test, 20 minutes before the end of a lesson: the
    room stays below comfort with the class in it, so it may have been windows."""
    co2 = [1400.0] * 32 + [1400.0 - 60 * i for i in range(1, 9)] + [920.0] * 20
    temp = [18.4] * 32 + [round(18.4 - 0.1 * i, 2) for i in range(1, 9)] + [17.6] * 20
    t = analyse(co2, temp).temperature
    assert t.cold_because_windows_opened
    assert t.minutes_cold_after_windows_opened == 24  # 09:36 (17.9 °C) to 10:00


def test_below_comfort_with_high_co2_is_worded_with_its_label() -> None:
    t = analyse([1200.0] * 60, [17.0] * 60).temperature
    assert (t.cold_and_high_co2, t.minutes_cold_and_high_co2) == (True, 60)
    assert t.stuffy_note is not None
    assert t.stuffy_note.startswith(f"60 occupied minutes were both {BELOW} and over the amber")
    assert t.label("cold").minutes == 0  # stuffy below comfort, never called cold
