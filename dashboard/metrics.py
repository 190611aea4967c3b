"""`/metrics` in Prometheus' text format (0.0.4): what a monitoring system needs to watch
ventwatch itself and the rooms, built from the same objects the pages show.

Written out by hand rather than with `prometheus_client`: these are values the dashboard has
already computed (the rooms now, ingest's counters, the sensors, alerts and deliveries), so a
registry of live metric objects would only copy them. The exposition format is small; what
needs care is escaping, since room and sensor names come from site files and sensors.

Names follow Prometheus' conventions: base units (seconds, celsius), `_total` for counters,
one `ventwatch_build_info` gauge of 1 carrying the version and profile as labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ventwatch.dashboard.rooms import RoomsNow
from ventwatch.dashboard.sensors import SensorsNow
from ventwatch.ingest.sensors import Health

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Kind = Literal["gauge", "counter"]
Labels = Mapping[str, str]


@dataclass
class Family:
    """One metric: its help text, its type and a sample per label set."""

    name: str
    kind: Kind
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))


def _label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _number(value: float) -> str:
    if value != value:  # NaN
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render(families: Iterable[Family]) -> str:
    """The exposition text. A family without samples is left out (its HELP alone would say
    nothing), so a dashboard without ingest has no ingest metrics rather than zeros."""
    lines = []
    for f in families:
        if not f.samples:
            continue
        help_text = f.help.replace("\\", r"\\").replace("\n", r"\n")
        lines += [f"# HELP {f.name} {help_text}", f"# TYPE {f.name} {f.kind}"]
        for labels, value in f.samples:
            pairs = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
            lines.append(f"{f.name}{{{pairs}}} {_number(value)}" if pairs else
                         f"{f.name} {_number(value)}")  # fmt: skip
    return "\n".join(lines) + "\n"


def room_families(rooms: RoomsNow, version: str) -> list[Family]:
    """The site's rooms now: each room's newest values and their age, rooms per band."""
    info = Family("ventwatch_build_info", "gauge", "The ventwatch version and guidance profile.")
    info.add(
        1,
        version=version,
        site=rooms.site,
        profile=rooms.profile.id,
        profile_version=rooms.profile.version,
    )
    bands = Family("ventwatch_rooms", "gauge", "Rooms in each band now (the dashboard's tiles).")
    for name, count in rooms.summary.items():
        bands.add(count, band=name)
    co2 = Family("ventwatch_room_co2_ppm", "gauge", "A room's newest CO2 reading (ppm).")
    temp = Family("ventwatch_room_temperature_celsius", "gauge", "A room's newest temperature.")
    humidity = Family("ventwatch_room_humidity_percent", "gauge", "A room's newest humidity.")
    age = Family(
        "ventwatch_room_reading_age_seconds",
        "gauge",
        "Seconds since a room's newest reading (absent: none in the look-back window).",
    )
    band = Family(
        "ventwatch_room_band",
        "gauge",
        "1 for each room's band now (good, act, poor, stale, no-data, no-co2).",
    )
    for r in rooms.rooms:
        where = {"room": r.room, "building": r.building}
        band.add(1, **where, band=r.band)
        for family, value in ((co2, r.co2_ppm), (temp, r.temperature_c),
                              (humidity, r.humidity_pct), (age, r.age_s)):  # fmt: skip
            if value is not None:
                family.add(value, **where)
    return [info, bands, band, co2, temp, humidity, age]


def ingest_families(stats: Mapping[str, Any]) -> list[Family]:
    """Ingest's counters and the store's state, as `/api/ingest` reports them."""
    messages = Family(
        "ventwatch_ingest_messages_total",
        "counter",
        "MQTT messages handled by ingest since it started, by outcome.",
    )
    for outcome, count in sorted(stats.get("counts", {}).items()):
        messages.add(count, outcome=outcome)
    evicted = Family(
        "ventwatch_ingest_evicted_total",
        "counter",
        "Entries ingest forgot from a bounded per-topic or per-device map, by map: a flood of "
        "made-up topics or devices (or a site bigger than the bounds).",
    )
    for name, count in sorted(stats.get("evicted", {}).items()):
        evicted.add(count, map=name)
    connected = Family("ventwatch_mqtt_connected", "gauge", "1 while ingest is connected.")
    if "connected" in stats:
        connected.add(1 if stats["connected"] else 0)
    session_families = _mqtt_session_families(stats.get("mqtt_session") or {})
    store = stats.get("store") or {}
    up = Family("ventwatch_store_up", "gauge", "1 while the store takes writes.")
    pending = Family(
        "ventwatch_spool_readings", "gauge", "Readings waiting in the spool for the store."
    )
    size = Family("ventwatch_spool_bytes", "gauge", "Bytes of the spool on disk.")
    last = Family(
        "ventwatch_store_last_write_timestamp_seconds",
        "gauge",
        "Unix time of the store's last successful write.",
    )
    if store:
        up.add(1 if store.get("ok") else 0)
        pending.add(store.get("spool_pending", 0))
        size.add(store.get("spool_bytes", 0))
        if store.get("last_write"):
            last.add(datetime.fromisoformat(store["last_write"]).timestamp())
    return [messages, evicted, connected, *session_families, up, pending, size, last]


def _mqtt_session_families(session: Mapping[str, Any]) -> list[Family]:
    """Ingest's broker session: whether another client seems to use its client id (and so
    takes the readings queued for it), and the counts behind that verdict."""
    suspected = Family(
        "ventwatch_mqtt_takeover_suspected",
        "gauge",
        "1 while another client seems to be using ingest's MQTT client id (recent evidence).",
    )
    counters = [
        ("connections", "ventwatch_mqtt_connections_total",
         "Connections the broker accepted since ingest started."),
        ("session_lost", "ventwatch_mqtt_session_lost_total",
         "Reconnects on which the broker had no session for ingest (its queue was gone)."),
        ("early_disconnects", "ventwatch_mqtt_early_disconnects_total",
         "Connections the broker ended within 60 s of accepting them."),
        ("taken_over", "ventwatch_mqtt_session_taken_over_total",
         "MQTT 5 disconnects by the broker saying the session was taken over."),
    ]  # fmt: skip
    families = [suspected]
    if session:
        suspected.add(1 if session.get("takeover_suspected") else 0)
    for key, name, help_text in counters:
        family = Family(name, "counter", help_text)
        if key in session:
            family.add(session[key])
        families.append(family)
    return families


def sensor_families(sensors: SensorsNow) -> list[Family]:
    """Sensors by health (every state listed) and each battery sensor's charge."""
    health = Family("ventwatch_sensors", "gauge", "Sensors in each health state.")
    counts = Counter(s.health for s in sensors.sensors)
    for state in Health:
        health.add(counts.get(state, 0), health=state.value)
    battery = Family(
        "ventwatch_sensor_battery_percent", "gauge", "A battery sensor's last reported charge."
    )
    for s in sensors.sensors:
        if s.battery_pct is not None:
            battery.add(s.battery_pct, family=s.family, device=s.device, room=s.room or "")
    return [health, battery]


def alert_families(
    unclosed: Mapping[tuple[str, str, str], int], deliveries: Mapping[str, int]
) -> list[Family]:
    """Alerts not yet closed, by (rule, severity, condition), and the outbox by status: a
    `failed` count above 0 is a message nobody received."""
    alerts = Family(
        "ventwatch_alerts_unclosed",
        "gauge",
        "Alerts not closed by a rep, by rule, severity and condition (active or recovered).",
    )
    for (rule, severity, condition), count in sorted(unclosed.items()):
        alerts.add(count, rule=rule, severity=severity, condition=condition)
    outbox = Family(
        "ventwatch_alert_deliveries", "gauge", "Alert messages in the outbox, by status."
    )
    for status, count in deliveries.items():
        outbox.add(count, status=status)
    return [alerts, outbox]
