"""The guidance file's worked examples (section 5), and estimates from synthetic rooms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.ventilation import (
    ach_from_decay,
    decay_fit,
    per_person_rate_lps,
    rebreathed_fraction,
    steady_state_ppm,
    ventilation,
)
from ventwatch.config import Room


@pytest.mark.parametrize(
    ("g", "c_in", "q"), [(0.0040, 1200, 5.128), (0.0035, 1500, 3.241), (0.0048, 1000, 8.276)]
)
def test_steady_state_cases_a_to_c(g: float, c_in: float, q: float) -> None:
    assert per_person_rate_lps(g, c_in, 420) == pytest.approx(q, abs=0.001)


def test_case_a_room_rate_and_ach() -> None:
    q = per_person_rate_lps(0.0040, 1200, 420)
    room_lps = 30 * q
    assert room_lps == pytest.approx(153.8, abs=0.1)
    assert room_lps * 3.6 / 180 == pytest.approx(3.08, abs=0.01)


def test_case_d_inverse() -> None:
    assert steady_state_ppm(0.0040, 8, 420) == pytest.approx(920)


@pytest.mark.parametrize(
    ("c1", "c2", "hours", "ach"), [(1600, 700, 1.0, 1.4385), (1400, 900, 0.5, 1.4275)]
)
def test_decay_cases_e_f(c1: float, c2: float, hours: float, ach: float) -> None:
    assert ach_from_decay(c1, c2, 420, hours) == pytest.approx(ach, abs=0.0001)


def test_decay_round_trip() -> None:
    ach, volume = 1.4385, 180
    assert 420 + (1600 - 420) * math.exp(-ach * 1) == pytest.approx(700.0, abs=0.1)
    assert ach * volume / 3.6 == pytest.approx(71.9, abs=0.05)


@pytest.mark.parametrize(("c_in", "f"), [(800, 0.0100), (1200, 0.0205), (1500, 0.0284)])
def test_rebreathed_fraction(c_in: float, f: float) -> None:
    assert rebreathed_fraction(c_in, 420, 38_000) == pytest.approx(f, abs=0.00005)


def test_decay_fit_recovers_ach() -> None:
    minutes = np.arange(40.0)
    co2 = 420 + 1180 * np.exp(-1.4385 * minutes / 60)
    ach, r2 = decay_fit(minutes, co2, 420)
    assert ach == pytest.approx(1.4385, abs=1e-6)
    assert r2 == pytest.approx(1.0)


def test_estimates_from_a_synthetic_day() -> None:
    profile = load_profile("joint-union")
    occupied = np.arange(180) < 60
    co2 = np.where(occupied, 1200.0, 420 + 780 * np.exp(-2.0 * (np.arange(180) - 60) / 60))
    room = Room(name="A", capacity=30, volume_m3=180)
    result = ventilation(co2, occupied, room, profile, "secondary")
    assert result.decays_used == 1
    assert result.decay_ach == pytest.approx(2.0, abs=0.01)
    assert result.decay_lps == pytest.approx(100.0, abs=0.5)
    assert result.lps_per_person == pytest.approx(0.0038e6 / 780, abs=0.01)
    assert result.rebreathed_fraction_mean == pytest.approx(780 / 38_000, abs=1e-4)


def test_no_estimate_without_a_clean_decay_says_why() -> None:
    profile = load_profile("joint-union")
    occupied = np.arange(80) < 60
    co2 = np.where(occupied, 450.0, np.nan)  # nothing after the room empties, no excess
    result = ventilation(co2, occupied, Room(name="A"), profile, "secondary")
    assert result.decay_ach is None
    assert "no clean decay" in result.decay_note
    assert result.lps_per_person is None
    assert "sensor error would dominate" in result.steady_state_note
