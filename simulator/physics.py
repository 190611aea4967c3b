"""The air of one classroom: a well-mixed box with people breathing out CO2 and warmth, and
outdoor air coming in at a ventilation rate.

CO2 follows the mass balance dC/dt = (N·G·1e6 − Q·(C − C_out)) / V (C in ppm, G in m³/s per
person, Q in m³/s, V in m³). Over a step where N and Q are constant its exact solution is an
exponential approach to the steady state C_ss = C_out + N·G·1e6/Q, so steps of any length are
stable and a one-hour decay with no one in the room gives the textbook figure
ln((C0 − C_out)/(C1 − C_out)) = ACH.

Temperature is a first-order model of the same kind: heating pulls the room towards its set
point, air through open windows towards the outdoor temperature, and each person adds about
100 W. The design airflow (vents, fans) is not counted as cooling: heating is sized for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

OUTDOOR_CO2_PPM = 420.0
OUTDOOR_TEMPERATURE_C = 8.0  # a November day
HEATING_SETPOINT_C = 20.5
# How quickly heating closes the gap to its set point (1/s): a time constant of 20 minutes.
HEATING_RATE = 1.0 / 1200.0
# The share of the window air's cooling that reaches the room air (the rest is taken up by
# walls, radiators and the air's mixing with the fabric).
WINDOW_COOLING_SHARE = 0.3
# CO2 a seated secondary pupil breathes out: about 0.004 L/s (BB101 / CIBSE TM21 figures).
CO2_PER_PERSON_M3_S = 0.004 / 1000.0
# Warming per person, in K·m³/s: about 1.5 K for a class of 30 in 180 m³ against the heating.
WARMING_PER_PERSON = 0.0075


@dataclass(slots=True)
class RoomAir:
    """The state of one room's air; `advance` moves it on in time."""

    co2_ppm: float
    temperature_c: float

    def advance(
        self,
        seconds: float,
        people: float,
        airflow_m3_s: float,
        volume_m3: float,
        window_m3_s: float = 0.0,
    ) -> None:
        """Move the state on by `seconds` with `people` in the room and `airflow_m3_s` of
        outdoor air coming in (of which `window_m3_s` through open windows), all constant
        over the step."""
        rate = airflow_m3_s / volume_m3  # air changes per second
        steady = steady_state_ppm(people, airflow_m3_s)
        self.co2_ppm = steady + (self.co2_ppm - steady) * math.exp(-rate * seconds)

        cooling = WINDOW_COOLING_SHARE * window_m3_s / volume_m3
        pull = HEATING_RATE + cooling
        target = (
            HEATING_RATE * HEATING_SETPOINT_C
            + cooling * OUTDOOR_TEMPERATURE_C
            + people * WARMING_PER_PERSON / volume_m3
        ) / pull
        self.temperature_c = target + (self.temperature_c - target) * math.exp(-pull * seconds)


def steady_state_ppm(people: float, airflow_m3_s: float) -> float:
    """The CO2 a room settles at: what ventilation per person a band needs, in one line."""
    return OUTDOOR_CO2_PPM + people * CO2_PER_PERSON_M3_S * 1e6 / airflow_m3_s


def relative_humidity(co2_ppm: float, temperature_c: float) -> float:
    """A plausible relative humidity: people add moisture as they add CO2; warmer air holds
    more. Not a moisture balance, only enough for the humidity column to move sensibly."""
    rh = 38.0 + (co2_ppm - OUTDOOR_CO2_PPM) / 120.0 - 1.5 * (temperature_c - 20.0)
    return min(75.0, max(20.0, rh))
