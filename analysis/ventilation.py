"""Ventilation estimates from CO2: air changes from the decay after a room empties, L/s per
person from the lesson-time plateau, and the rebreathed-air fraction.

Each estimate says when it could not be made and why: a wrong number presented as a fact is
worse than none. Formulas and worked examples: shared guidance section 5 (single well-mixed
room; Batterman 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ventwatch.analysis.profiles import AgeGroup, Profile
from ventwatch.analysis.runs import runs
from ventwatch.config import Room

MIN_DECAY_FIT_R2 = 0.95  # a clean exponential decay (project choice)
MAX_DECAY_MINUTES = 90


def per_person_rate_lps(generation_lps: float, c_in: float, c_out: float) -> float:
    """q = G·1e6 / (C_in − C_out): outdoor air per person at a steady state (L/s)."""
    return generation_lps * 1e6 / (c_in - c_out)


def steady_state_ppm(generation_lps: float, rate_lps: float, c_out: float) -> float:
    """The inverse: the plateau C_in = C_out + G·1e6 / q."""
    return c_out + generation_lps * 1e6 / rate_lps


def ach_from_decay(c1: float, c2: float, c_out: float, hours: float) -> float:
    """ACH = ln((C1 − C_out) / (C2 − C_out)) / Δt."""
    return math.log((c1 - c_out) / (c2 - c_out)) / hours


def rebreathed_fraction(c_in: float, c_out: float, exhaled_ppm: float) -> float:
    """f = (C_in − C_out) / C_a (Rudnick and Milton 2003)."""
    return (c_in - c_out) / exhaled_ppm


def decay_fit(minutes: np.ndarray, co2: np.ndarray, c_out: float) -> tuple[float, float]:
    """Least-squares fit of ln(C − C_out) against time: (ACH per hour, R²)."""
    y = np.log(co2 - c_out)
    t = minutes / 60.0
    t_mean, y_mean = t.mean(), y.mean()
    slope = float(((t - t_mean) * (y - y_mean)).sum() / ((t - t_mean) ** 2).sum())
    fitted = y_mean + slope * (t - t_mean)
    ss_res = float(((y - fitted) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return -float(slope), (1.0 - ss_res / ss_tot) if ss_tot > 0 else 0.0


@dataclass(frozen=True, slots=True)
class VentilationResult:
    decay_ach: float | None
    decay_fit_r2: float | None
    decays_used: int
    decay_lps: float | None  # whole room, when its volume is known
    decay_note: str
    steady_state_ppm: float | None
    lps_per_person: float | None
    occupants_assumed: int
    generation_lps: float
    steady_state_note: str
    rebreathed_fraction_mean: float | None
    rebreathed_fraction_peak: float | None


def _decays(co2: np.ndarray, occupied: np.ndarray, profile: Profile) -> list[tuple[float, float]]:
    """Fits of each clean decay that starts where occupancy ends. `co2` is every minute of
    the range in order (a regular grid), so positions are minutes."""
    v = profile.ventilation
    c_out = v.outdoor_ppm
    # A minute can be part of a decay: unoccupied, with data, still clearly above outdoor air.
    usable = ~occupied & (np.nan_to_num(co2, nan=-np.inf) - c_out >= v.min_excess_ppm / 2)
    whole = np.zeros(len(co2), dtype=np.int64)  # one segment: the grid is regular
    starts, ends = runs(usable, whole)
    run_end = dict(zip(starts.tolist(), ends.tolist(), strict=True))
    fits = []
    for start in (np.flatnonzero(occupied[:-1] & ~occupied[1:]) + 1).tolist():
        end = min(run_end.get(start, start), start + MAX_DECAY_MINUTES)
        if end - start < v.min_decay_minutes or co2[start] - c_out < 2 * v.min_excess_ppm:
            continue
        ach, r2 = decay_fit(np.arange(end - start, dtype=float), co2[start:end], c_out)
        if ach > 0 and r2 >= MIN_DECAY_FIT_R2:
            fits.append((ach, r2))
    return fits


def ventilation(
    co2: np.ndarray, occupied: np.ndarray, room: Room, profile: Profile, age_group: AgeGroup
) -> VentilationResult:
    """`co2` is every minute of the range in order (NaN: no data), `occupied` its mask."""
    v = profile.ventilation
    c_out = v.outdoor_ppm
    fits = _decays(co2, occupied, profile) if len(co2) > 1 else []
    ach: float | None = None
    r2: float | None = None
    decay_lps: float | None = None
    if fits:
        ach = float(np.median([a for a, _ in fits]))
        r2 = float(np.median([r for _, r in fits]))
        decay_lps = ach * room.volume_m3 / 3.6 if room.volume_m3 else None
        note = (
            f"median of {len(fits)} clean decays after the room emptied; describes the room as "
            "left (windows and plant) after occupancy, not necessarily during lessons"
        )
        if decay_lps is None:
            note += "; give the room's volume_m3 for L/s"
    else:
        note = (
            f"no clean decay of at least {v.min_decay_minutes} minutes after the room emptied "
            f"(needs data after occupancy, starting at least {2 * v.min_excess_ppm:g} ppm "
            "above outdoor air, fitting an exponential)"
        )
    occupied_co2 = co2[occupied]
    occupied_co2 = occupied_co2[~np.isnan(occupied_co2)]
    generation = v.generation_lps[age_group]
    plateau = lps = None
    mean_f = peak_f = None
    if len(occupied_co2):
        # The level CO2 settles at late in lessons: the 90th percentile of occupied minutes.
        plateau = float(np.percentile(occupied_co2, 90))
        mean_f = round(rebreathed_fraction(float(occupied_co2.mean()), c_out, v.exhaled_co2_ppm), 4)
        peak_f = round(rebreathed_fraction(float(occupied_co2.max()), c_out, v.exhaled_co2_ppm), 4)
        if plateau - c_out >= v.min_excess_ppm:
            lps = round(per_person_rate_lps(generation, plateau, c_out), 2)
            ss_note = (
                f"assumes {room.capacity} occupants ({age_group}, {generation} L/s each at "
                f"{v.met} met) at the lesson-time plateau (90th percentile of occupied minutes)"
            )
        else:
            ss_note = (
                f"plateau {plateau:.0f} ppm is within {v.min_excess_ppm:g} ppm of outdoor air: "
                "sensor error would dominate"
            )
    else:
        ss_note = "no occupied minutes with data"
    return VentilationResult(
        decay_ach=round(ach, 2) if ach is not None else None,
        decay_fit_r2=round(r2, 3) if r2 is not None else None,
        decays_used=len(fits),
        decay_lps=round(decay_lps, 1) if decay_lps is not None else None,
        decay_note=note,
        steady_state_ppm=round(plateau, 1) if plateau is not None else None,
        lps_per_person=lps,
        occupants_assumed=room.capacity,
        generation_lps=generation,
        steady_state_note=ss_note,
        rebreathed_fraction_mean=mean_f,
        rebreathed_fraction_peak=peak_f,
    )
