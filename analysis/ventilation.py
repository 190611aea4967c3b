"""Ventilation estimates from CO2: air changes from the decay after a room empties, L/s per
person from lessons that reached a plateau, and the rebreathed-air fraction, each shown
against the ACoP's 5 to 8 L/s per person.

Each estimate says when it could not be made and why: a wrong number presented as a fact is
worse than none, and the wrong numbers these methods make flatter the worst-ventilated rooms.
Formulas and worked examples: shared guidance section 5 (single well-mixed room; Batterman
2017). Everything rests on the mass balance of CO2 in the room's air,

    V·dC/dt = N·G − Q·(C − C_out)

(V volume, N occupants each breathing out G, Q outdoor air, C_out the outdoor level):

- **Outdoor level.** Every estimate divides by, or takes a logarithm of, C − C_out, so a
  C_out 20 ppm off moves a decay ACH by 5 to 10 % while the fit still looks perfect. Many
  sensors calibrate themselves to read about 400 ppm at their lowest, so the level a room's own
  sensor reads when the room has aired out (its unoccupied floor) is C_out on that sensor's
  scale: the sensor's offset cancels. `outdoor_level` takes that floor, else a site outdoor
  sensor's median, else the profile's `outdoor_ppm`, and says which.
- **Lessons (steady state).** q = G·1e6 / (C − C_out) is the mass balance with dC/dt = 0. In a
  room that has not levelled off, the share of the occupants' CO2 still accumulating in its
  air, τ = V·(dC/dt) / (N·G), is not 0 and the formula overstates q by τ / (1 − τ): a
  50-minute lesson at 0.5 ACH gives 2.7 L/s where the truth is 0.8. `lesson_levels` measures
  τ over the last minutes of each lesson and accepts only lessons with |τ| <= MAX_TRANSIENT
  (see there); a lesson that did not level off gives only an upper bound.
- **Decay.** After the room empties N = 0, and C − C_out falls as exp(−ACH·t): ACH·V / 3.6 is
  the room's outdoor air in L/s, per person / N. It describes the room as left after lessons
  (windows, plant), Batterman's caveat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

import numpy as np

from ventwatch.analysis.profiles import AgeGroup, FreshAirRate, Profile, VentilationSection
from ventwatch.analysis.runs import runs
from ventwatch.config import Room

MIN_DECAY_FIT_R2 = 0.95  # a clean exponential decay (project choice)
MAX_DECAY_MINUTES = 90
# The plateau test (project choices): the last PLATEAU_WINDOW_MINUTES of each lesson, leaving
# out its last LESSON_END_MARGIN_MINUTES (people leaving early would read as ventilation),
# must hold |τ| <= MAX_TRANSIENT. For a lesson that starts at outdoor air τ = exp(−ACH·t), so
# 0.2 means ln 5 = 1.6 time constants have passed; the window's level is then corrected by
# the mass balance, so that what remains (at most a fifth) is a correction, not a guess.
PLATEAU_WINDOW_MINUTES = 20
WINDOW_END_MINUTES = 5  # each end of the window is the mean of this many minutes
LESSON_END_MARGIN_MINUTES = 5
MAX_TRANSIENT = 0.2
# A room's unoccupied floor (project choices): the 5th percentile of its unoccupied minutes,
# taken as outdoor air only when at least an hour of them lies within 20 ppm above it (the
# room settled there, not the tail of a decay) and it is within the profile's plausible range.
FLOOR_PERCENTILE = 5
FLOOR_BAND_PPM = 20
FLOOR_SETTLED_MINUTES = 60
OUTDOOR_SENSOR_MIN_MINUTES = 60  # an outdoor sensor's median needs an hour of its minutes
# 1 L/s of CO2 is 0.06 m³ a minute: in a room of V m³ it raises C by 6e4 / V ppm a minute.
PPM_M3_PER_MINUTE_PER_LPS = 6e4

OutdoorSource = Literal["room's unoccupied floor", "outdoor sensor", "profile default"]
Method = Literal["lesson plateau", "decay after lessons", "lessons, upper bound"]
# The formulas take one value or an array of them (every lesson of a room at once).
Values = TypeVar("Values", float, np.ndarray)


def per_person_rate_lps(generation_lps: float, c_in: Values, c_out: float) -> Values:
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


def transient_share(
    volume_m3: float, slope_ppm_per_min: Values, occupants: int, generation_lps: float
) -> Values:
    """τ = V·dC/dt / (N·G): the share of the occupants' CO2 still accumulating in the room's
    air rather than carried out by ventilation. 0 at a plateau; 1 in a sealed room."""
    return volume_m3 * slope_ppm_per_min / (occupants * generation_lps * PPM_M3_PER_MINUTE_PER_LPS)


def per_person_rate_mass_balance(
    generation_lps: float, excess_ppm: Values, transient: Values
) -> Values:
    """q = G·1e6·(1 − τ) / (C − C_out): the mass balance solved for the outdoor air per person
    at one moment; the steady-state formula when τ = 0."""
    rate: Values = generation_lps * 1e6 * (1 - transient) / excess_ppm
    return rate


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


def acop_verdict(lps: float | None, band: FreshAirRate) -> str | None:
    """An L/s-per-person estimate against the ACoP's "should not normally fall below 5 to 8
    litres per second, per occupant" (HSE's quotation): below its lower figure, within the
    range, or at or above its upper figure."""
    if lps is None:
        return None
    if lps < band.low_lps:
        return f"below the ACoP's {band.low_lps:g} L/s per person"
    if lps < band.high_lps:
        return f"within the ACoP's {band.low_lps:g} to {band.high_lps:g} L/s per person"
    return f"at or above the ACoP's {band.high_lps:g} L/s per person"


@dataclass(frozen=True, slots=True)
class Outdoor:
    ppm: float
    source: OutdoorSource
    note: str


def outdoor_sensor_level(co2: np.ndarray) -> float | None:
    """An outdoor sensor's level over a range: the median of its minutes (a passing bus or a
    bonfire moves it little), when it has at least OUTDOOR_SENSOR_MIN_MINUTES of them."""
    values = co2[~np.isnan(co2)]
    if len(values) < OUTDOOR_SENSOR_MIN_MINUTES:
        return None
    return round(float(np.median(values)), 1)


def outdoor_level(
    co2: np.ndarray, occupied: np.ndarray, v: VentilationSection, sensor_ppm: float | None
) -> Outdoor:
    """C_out for a room: its own unoccupied floor (self-consistent with its sensor's
    calibration), else the site's outdoor sensor (`sensor_ppm`, for a room that never airs
    out or has no unoccupied data in the range), else the profile's figure. A floor or an
    outdoor level outside the profile's plausible range is not outdoor air: a floor above it
    is a room that never aired out (or a sensor reading high), which would flatter every
    estimate; one below it a sensor reading low."""
    low, high = v.outdoor_min_ppm, v.outdoor_max_ppm
    unoccupied = co2[~occupied]
    unoccupied = unoccupied[~np.isnan(unoccupied)]
    if len(unoccupied):
        floor = float(np.percentile(unoccupied, FLOOR_PERCENTILE))
        settled = int(np.count_nonzero(unoccupied <= floor + FLOOR_BAND_PPM))
        if settled < FLOOR_SETTLED_MINUTES:
            why = (
                f"the room's unoccupied minutes never settled (fewer than "
                f"{FLOOR_SETTLED_MINUTES} within {FLOOR_BAND_PPM} ppm of their lowest)"
            )
        elif not low <= floor <= high:
            why = (
                f"the room's unoccupied floor, {floor:.0f} ppm, is outside the {low:g}-{high:g} "
                "ppm outdoor air can be (never aired out, or the sensor reads "
                f"{'high' if floor > high else 'low'})"
            )
        else:
            return Outdoor(
                round(floor, 1),
                "room's unoccupied floor",
                f"the room's own level when empty ({FLOOR_PERCENTILE}th percentile of "
                f"{len(unoccupied)} unoccupied minutes), on its sensor's own calibration",
            )
    else:
        why = "no unoccupied minutes with data in the range"
    if sensor_ppm is not None:
        if low <= sensor_ppm <= high:
            return Outdoor(
                sensor_ppm, "outdoor sensor", f"the site's outdoor sensor (its median), as {why}"
            )
        why += f"; the outdoor sensor's median, {sensor_ppm:.0f} ppm, is outside {low:g}-{high:g}"
    return Outdoor(v.outdoor_ppm, "profile default", f"the profile's figure, as {why}")


@dataclass(frozen=True, slots=True)
class LessonLevels:
    """The end of each lesson long enough to judge, against the plateau test."""

    checked: int  # lessons with a complete window
    excess_ppm: np.ndarray  # C − C_out over each window (mean), lessons far enough above
    transient: np.ndarray | None  # τ of each (None: no volume to compute it)


def _span_weights(w: int, k: int) -> np.ndarray:
    """Minute weights that integrate C over the span from a minute of the window's first k to
    one of its last k, averaged over all such pairs (trapezoid rule): the mean chance that a
    minute lies between the two, less half of each end (`lesson_levels`)."""
    j = np.arange(w)
    weights = np.minimum(j + 1, k) / k * np.minimum(w - j, k) / k
    weights[:k] -= 0.5 / k
    weights[-k:] -= 0.5 / k
    return weights


def lesson_levels(
    co2: np.ndarray,
    occupied: np.ndarray,
    c_out: float,
    min_excess_ppm: float,
    volume_m3: float | None,
    occupants: int,
    generation_lps: float,
) -> LessonLevels:
    """The window of PLATEAU_WINDOW_MINUTES ending LESSON_END_MARGIN_MINUTES before each
    lesson (a run of occupied minutes) ends, with the mass balance integrated over it:

        V·(C_end − C_start) = N·G·S − Q·∫(C − C_out) dt

    from the mean of its first WINDOW_END_MINUTES to the mean of its last (S minutes apart,
    the integral averaged likewise), so that one noisy minute does not decide and a room
    made by the mass balance gives its own answer, however steep the window. The window's
    mean excess is ∫(C − C_out) dt / S, its rise (C_end − C_start) / S per minute. A window with
    a gap in its data is not judged, nor one within `min_excess_ppm` of outdoor air."""
    w, k = PLATEAU_WINDOW_MINUTES, WINDOW_END_MINUTES
    edges = np.diff(occupied.astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    first = ends - LESSON_END_MARGIN_MINUTES - w
    first = first[first >= starts]
    windows = co2[first[:, None] + np.arange(w)]
    windows = windows[~np.isnan(windows).any(axis=1)] - c_out
    span = w - k
    excess = windows @ _span_weights(w, k) / span
    high = excess >= min_excess_ppm
    windows, excess = windows[high], excess[high]
    if volume_m3 is None:
        return LessonLevels(len(high), excess, None)
    rise = (windows[:, -k:].mean(axis=1) - windows[:, :k].mean(axis=1)) / span
    return LessonLevels(
        len(high), excess, transient_share(volume_m3, rise, occupants, generation_lps)
    )


@dataclass(frozen=True, slots=True)
class VentilationResult:
    decay_ach: float | None
    decay_fit_r2: float | None
    decays_used: int
    decay_lps: float | None  # whole room, when its volume is known
    decay_note: str
    # The plateau the lessons that levelled off settle at (median, by the mass balance).
    steady_state_ppm: float | None
    # The faithful estimate: from lessons at a plateau; else the decay per person, or the
    # lessons' upper bound when that is lower (see `lps_method`).
    lps_per_person: float | None
    occupants_assumed: int
    generation_lps: float
    steady_state_note: str
    rebreathed_fraction_mean: float | None
    rebreathed_fraction_peak: float | None
    outdoor_ppm: float  # the C_out every figure here used
    outdoor_source: OutdoorSource
    outdoor_note: str
    lessons_checked: int  # lessons with a complete window at their end
    lessons_at_plateau: int
    lessons_lps_per_person: float | None  # median over lessons at a plateau
    # Lessons that had not levelled off: the steady-state formula at their end (median), which
    # overstates, so the lesson-time air per person was at most this.
    lessons_lps_upper_bound: float | None
    decay_lps_per_person: float | None  # decay ACH·V / 3.6 / occupants_assumed
    lps_method: Method | None
    lps_note: str
    acop_lps_per_person: tuple[float, float]  # the ACoP's 5 to 8
    acop_source: str
    lps_verdict: str | None
    lessons_lps_verdict: str | None
    decay_lps_verdict: str | None


def _decays(
    co2: np.ndarray, occupied: np.ndarray, profile: Profile, c_out: float
) -> list[tuple[float, float]]:
    """Fits of each clean decay that starts where occupancy ends. `co2` is every minute of
    the range in order (a regular grid), so positions are minutes."""
    v = profile.ventilation
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


class LessonsEstimate(NamedTuple):
    """What the lessons say of the air per person (`_lessons_estimate`)."""

    note: str
    lps: float | None = None  # from lessons at a plateau (median)
    plateau_excess: float | None = None  # the plateau they settle at, above outdoor air
    upper: float | None = None  # from lessons still rising: the air was at most this
    at_plateau: int = 0


def _lessons_estimate(
    levels: LessonLevels, room: Room, profile: Profile, age_group: AgeGroup
) -> LessonsEstimate:
    """The lessons' windows against the plateau test: those within MAX_TRANSIENT give the
    mass balance's air per person; those still rising only an upper bound."""
    v = profile.ventilation
    generation = v.generation_lps[age_group]
    w, margin = PLATEAU_WINDOW_MINUTES, LESSON_END_MARGIN_MINUTES
    if levels.checked == 0:
        return LessonsEstimate(
            f"no lesson of at least {w + margin} minutes with data through its last {w + margin}"
        )
    if not len(levels.excess_ppm):
        return LessonsEstimate(
            f"the end of every lesson is within {v.min_excess_ppm:g} ppm of outdoor air: "
            "sensor error would dominate"
        )
    if levels.transient is None:
        # Without V the rise cannot be weighed against what the occupants breathe out: a flat
        # level and a slow rise look alike.
        return LessonsEstimate("give the room's volume_m3: the plateau test needs it")
    transient = levels.transient
    at = np.abs(transient) <= MAX_TRANSIENT
    # Still rising: the steady-state formula overstates each of these lessons.
    rising = levels.excess_ppm[transient > MAX_TRANSIENT]
    upper = (
        round(float(np.median(per_person_rate_lps(generation, rising, 0.0))), 2)
        if len(rising)
        else None
    )
    assumes = (
        f"assumes {room.capacity} occupants ({age_group}, {generation} L/s each at {v.met} met)"
    )
    if not at.any():
        judged = (
            "the one lesson judged had not"
            if len(at) == 1
            else f"none of the {len(at)} lessons judged had"
        )
        return LessonsEstimate(
            f"not at steady state: {judged} levelled off (in the {w} minutes before the end the "
            f"level still moved by more than {MAX_TRANSIENT:.0%} of what the occupants breathe "
            f"out), so the steady-state formula would overstate the air; {assumes}",
            upper=upper,
        )
    excess, transient = levels.excess_ppm[at], transient[at]
    rates = per_person_rate_mass_balance(generation, excess, transient)
    return LessonsEstimate(
        f"{int(at.sum())} of {len(at)} lessons judged had levelled off (median of their mass "
        f"balances; {assumes})",
        lps=round(float(np.median(rates)), 2),
        plateau_excess=float(np.median(excess / (1 - transient))),
        at_plateau=int(at.sum()),
    )


def ventilation(
    co2: np.ndarray,
    occupied: np.ndarray,
    room: Room,
    profile: Profile,
    age_group: AgeGroup,
    outdoor_sensor_ppm: float | None = None,
) -> VentilationResult:
    """`co2` is every minute of the range in order (NaN: no data), `occupied` its mask;
    `outdoor_sensor_ppm` the site's outdoor sensor over the range, if it has one."""
    v = profile.ventilation
    outdoor = outdoor_level(co2, occupied, v, outdoor_sensor_ppm)
    c_out = outdoor.ppm
    fits = _decays(co2, occupied, profile, c_out) if len(co2) > 1 else []
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
    generation = v.generation_lps[age_group]
    levels = lesson_levels(
        co2, occupied, c_out, v.min_excess_ppm, room.volume_m3, room.capacity, generation
    )
    lessons = _lessons_estimate(levels, room, profile, age_group)
    decay_pp = round(decay_lps / room.capacity, 2) if decay_lps is not None else None
    lps, method, lps_note = _choose(lessons.lps, decay_pp, lessons.upper)
    occupied_co2 = co2[occupied]
    occupied_co2 = occupied_co2[~np.isnan(occupied_co2)]
    mean_f = peak_f = None
    if len(occupied_co2):
        mean_f = round(rebreathed_fraction(float(occupied_co2.mean()), c_out, v.exhaled_co2_ppm), 4)
        peak_f = round(rebreathed_fraction(float(occupied_co2.max()), c_out, v.exhaled_co2_ppm), 4)
    band = v.fresh_air_per_person
    return VentilationResult(
        decay_ach=round(ach, 2) if ach is not None else None,
        decay_fit_r2=round(r2, 3) if r2 is not None else None,
        decays_used=len(fits),
        decay_lps=round(decay_lps, 1) if decay_lps is not None else None,
        decay_note=note,
        steady_state_ppm=(
            round(c_out + lessons.plateau_excess, 1) if lessons.plateau_excess is not None else None
        ),
        lps_per_person=lps,
        occupants_assumed=room.capacity,
        generation_lps=generation,
        steady_state_note=lessons.note,
        rebreathed_fraction_mean=mean_f,
        rebreathed_fraction_peak=peak_f,
        outdoor_ppm=c_out,
        outdoor_source=outdoor.source,
        outdoor_note=outdoor.note,
        lessons_checked=levels.checked,
        lessons_at_plateau=lessons.at_plateau,
        lessons_lps_per_person=lessons.lps,
        lessons_lps_upper_bound=lessons.upper,
        decay_lps_per_person=decay_pp,
        lps_method=method,
        lps_note=lps_note,
        acop_lps_per_person=(band.low_lps, band.high_lps),
        acop_source=band.source,
        lps_verdict=acop_verdict(lps, band),
        lessons_lps_verdict=acop_verdict(lessons.lps, band),
        decay_lps_verdict=acop_verdict(decay_pp, band),
    )


def _choose(
    lessons_lps: float | None, decay_pp: float | None, upper: float | None
) -> tuple[float | None, Method | None, str]:
    """The one L/s per person to show. Lessons at a plateau measure the air the occupants
    had; the decay describes the room as left after them, so it stands in only when no lesson
    levelled off, and then never above the lessons' upper bound (windows opened as everyone
    leaves would otherwise credit the lessons with air they did not have)."""
    if lessons_lps is not None:
        return lessons_lps, "lesson plateau", "lessons that levelled off give the air they had"
    if decay_pp is None:
        return (
            None,
            None,
            "cannot estimate: neither a lesson at a plateau nor a decay with a volume",
        )
    if upper is not None and upper < decay_pp:
        return (
            upper,
            "lessons, upper bound",
            (
                f"no lesson levelled off, so the air in lessons was at most this; the decay after "
                f"lessons ({decay_pp:g} L/s per person) describes the room as left, with more air"
            ),
        )
    return (
        decay_pp,
        "decay after lessons",
        (
            "no lesson levelled off; the decay describes the room as left after lessons, per "
            "assumed occupant"
        ),
    )
