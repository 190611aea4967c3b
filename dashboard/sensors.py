"""Every sensor now: the shape of `/api/sensors`, which the sensors page renders too.

Joins three sources that each know part of the story: the site file (which sensors should
exist, and their rooms), the rooms admins assigned from the dashboard, and what ingest has
heard (`SensorRegistry`). The site file wins over an assignment, as it does in ingest.

Ingest refuses sensor ids no page could show (`ingest.decoders.types.check_readable`), but this
renders whatever it is given all the same (`Shown`): text from an older release, a registry
filled by other means or an assignments file edited by hand must never make the page fail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel

from ventwatch.assignments import Assignment, Assignments
from ventwatch.config import SiteConfig
from ventwatch.ingest.counters import NOT_STORED
from ventwatch.ingest.sensors import READINGS, Health, SensorKey, SensorRegistry, SensorSeen, health

# Health -> (symbol, the band class it is drawn with): a word and a symbol besides the
# colour, as for the rooms' bands, so the table reads in greyscale and to screen readers.
HEALTH_STYLE: Final[dict[str, tuple[str, str]]] = {
    Health.OK: ("✓", "good"),
    Health.LOW_BATTERY: ("▲", "act"),
    Health.ERRORS: ("▲", "act"),
    Health.OFFLINE: ("✖", "poor"),
    Health.SILENT: ("◷", "stale"),
    Health.UNASSIGNED: ("?", "no-data"),
    Health.NEVER_SEEN: ("○", "no-data"),
}
QUARANTINE_REASONS: Final = tuple(sorted(o.value for o in NOT_STORED))
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _shown(text: str) -> str:
    """Text every page and JSON answer can encode: a lone surrogate (which UTF-8 cannot carry,
    so the whole answer would fail) is shown escaped, as `\\ud800`. Control characters need
    nothing: JSON escapes them, and a browser shows them harmlessly."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# Text about a sensor that came from outside the site file: a sensor's own id and topic,
# reasons quoting its payload, names typed into the dashboard.
Shown = Annotated[str, AfterValidator(_shown)]


class SignalNow(BaseModel):
    value: float
    unit: Literal["dBm", "lqi"]  # an RSSI, or Zigbee link quality 0-255: never converted


class SensorNow(BaseModel):
    family: Shown
    device: Shown
    room: Shown | None  # None: unassigned (neither in the site file nor assigned)
    room_source: Literal["site file", "dashboard"] | None
    assigned_by: Shown | None = None  # for a room assigned from the dashboard
    assigned_at: datetime | None = None
    hold_minutes: int  # how long its readings stand (its room's hold): silent after that
    health: Health
    health_reason: Shown
    # How often it has really reported lately (the median gap between its latest readings).
    typical_interval_min: float | None = None
    # What ingest heard; all empty for a sensor not heard since ingest started.
    first_seen: datetime | None = None
    last_message: datetime | None = None
    last_message_age_s: float | None = None
    last_topic: Shown | None = None
    last_reading: datetime | None = None
    values: dict[str, float] = {}  # its last reading's values
    filed_under: Shown | None = None  # the room its last reading went to (None: quarantined)
    battery_pct: float | None = None
    signal: SignalNow | None = None
    presence: Literal["online", "offline"] | None = None
    counts: dict[str, int] = {READINGS: 0}  # readings, duplicate, presence, quarantine reasons
    quarantined: int = 0  # the quarantine reasons' sum
    last_fault: Shown | None = None
    last_fault_at: datetime | None = None


class SensorsNow(BaseModel):
    site: str
    generated_at: datetime
    # When ingest in this process started (what "never seen" is counted from); None when the
    # dashboard runs without ingest and knows only the site file and the assignments.
    tracking_since: datetime | None
    # A sensor is silent once its last reading no longer stands: after the profile's stale
    # time, or its room's longer hold (`SensorNow.hold_minutes`).
    silent_after_minutes: float
    sensors: list[SensorNow]  # the site file's, in its order, then the others by family and id


def sensors_now(
    site: SiteConfig,
    registry: SensorRegistry | None,
    assignments: Assignments,
    holds: Mapping[str, int],
    default_hold: int,
    now: datetime,
) -> SensorsNow:
    """`holds`: each room's hold (`analysis.series.holds`): a sensor's readings stand as long
    as its room's do; `default_hold` for a sensor without a room."""
    seen = {(s.family, s.device): s for s in registry.snapshot()} if registry else {}
    assigned = {
        (a.family, a.device): a for a in assignments.for_site(site.site.name) if a.room in holds
    }
    in_file = site.room_of()
    others = sorted((seen.keys() | assigned.keys()) - in_file.keys())
    sensors = []
    for key in [*in_file, *others]:
        file_room, assignment = in_file.get(key), assigned.get(key)
        by_dashboard = assignment if file_room is None else None
        room = file_room or (by_dashboard.room if by_dashboard else None)
        hold = holds.get(room, default_hold) if room else default_hold
        sensors.append(_sensor(key, room, file_room, by_dashboard, seen.get(key), hold, now))
    return SensorsNow(
        site=site.site.name,
        generated_at=now,
        tracking_since=registry.started if registry else None,
        silent_after_minutes=default_hold,
        sensors=sensors,
    )


def _sensor(
    key: SensorKey,
    room: str | None,
    file_room: str | None,
    by_dashboard: Assignment | None,
    seen: SensorSeen | None,
    hold: int,
    now: datetime,
) -> SensorNow:
    state, reason = health(seen, room, now, hold)
    heard: dict[str, Any] = {}
    if seen is not None:
        if seen.last_reading is not None and room is not None and seen.room != room:
            # Assigned since its last reading: ingest files it there from the next one.
            reason = "; ".join(filter(None, [reason, f"readings go to {room} from its next one"]))
        counts = {READINGS: 0, **seen.counts}
        heard = {
            "first_seen": seen.first_seen,
            "last_message": seen.last_message,
            "last_message_age_s": round((now - seen.last_message).total_seconds(), 1),
            "last_topic": seen.last_topic,
            "last_reading": seen.last_reading,
            "values": seen.values,
            "filed_under": seen.room,
            "battery_pct": seen.battery_pct,
            "signal": seen.signal and {"value": seen.signal.value, "unit": seen.signal.unit},
            "presence": seen.presence and seen.presence[0],
            "counts": counts,
            "quarantined": sum(counts.get(r, 0) for r in QUARANTINE_REASONS),
            "last_fault": seen.last_fault,
            "last_fault_at": seen.last_fault_at,
            "typical_interval_min": (
                None if seen.typical_interval_s is None else round(seen.typical_interval_s / 60, 1)
            ),
        }
    return SensorNow(
        family=key[0],
        device=key[1],
        hold_minutes=hold,
        room=room,
        room_source="site file" if file_room else ("dashboard" if by_dashboard else None),
        assigned_by=by_dashboard.assigned_by if by_dashboard else None,
        assigned_at=by_dashboard.assigned_at if by_dashboard else None,
        health=state,
        health_reason=reason,
        **heard,
    )
