"""How often each simulated sensor reports, in simulated time.

Real classroom sensors report at their firmware's cadence, not all at once every few seconds;
the minute series every verdict is computed on (`analysis/series.py`: a reading stands until
the next one, for at most the room's hold) is only exercised by the demo, the tests and the
benches if the simulator sends what a school's sensors send, when they send it.

A sensor's period, first match wins:

1. **The site file's declaration**: `report_interval_minutes` on the sensor, else on its room.
   A site that says how often a sensor reports gets exactly that; the example site's LoRaWAN
   room declares 15 minutes, so the analysis holds its readings for 23.
2. **One drifting clock per site**: the simulator gives the first Tasmota sensor that declares
   nothing (and is neither the silent nor the garbage one) `DRIFTING_PERIOD`, a TelePeriod of
   60 s on a clock that runs 0.8 % fast. Its readings slide across minute boundaries, so now
   and then two fall in one minute, as real ones do.
3. **The family's default** (`FAMILY_PERIOD`): what the firmware ships with, or what schools
   commonly set it to.

A table keyed by family, not a field of each sensor, because a firmware family shares its
cadence; the site file is the one place a real site states otherwise, so the simulator reads
it there too and nothing else needs a per-device setting.
"""

from __future__ import annotations

from datetime import timedelta

from ventwatch.config import Room, SensorEntry

FAMILY_PERIOD: dict[str, timedelta] = {
    # TelePeriod: the firmware's default is 300 s; schools monitoring CO2 set 60.
    "tasmota": timedelta(seconds=60),
    # A Zigbee CO2 sensor's reporting interval (devices differ: 2 minutes here).
    "zigbee2mqtt": timedelta(minutes=2),
    # AirGradient's firmware publishes its measures every minute.
    "airgradient": timedelta(minutes=1),
    # A sensor's `update_interval` defaults to 60 s.
    "esphome": timedelta(seconds=60),
    # The Aranet4 measures every 5 minutes by default; the gateway passes on each measurement.
    "theengs": timedelta(minutes=5),
    # Milesight's AM series report every 10 minutes out of the box.
    "ttn": timedelta(minutes=10),
}
DRIFTING_PERIOD = timedelta(seconds=59.5)


def declared(entry: SensorEntry, room: Room) -> timedelta | None:
    """The reporting interval the site file declares for this sensor, if it does."""
    minutes = entry.report_interval_minutes or room.report_interval_minutes
    return None if minutes is None else timedelta(minutes=minutes)
