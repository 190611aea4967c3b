"""The evidence pack a rep hands the employer: one ZIP holding the PDF report, the raw
readings of the rooms and dates, the episodes, the action log and the guidance profile file,
with a manifest of SHA-256 checksums of every file.

Why checksums: the pack's point is that nobody edited the figures after ventwatch wrote
them. `MANIFEST.sha256` is in the format `sha256sum -c` reads, so anyone can check a copy
with standard tools; `manifest.json` says what the pack covers and how it was made.
The ZIP's member times are the report's generation time, not the moment of zipping.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files

import pandas as pd

from ventwatch.alerts.records import ActionRecord, AlertRecords, AuditEntry
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import Profile
from ventwatch.config import Room, SiteConfig
from ventwatch.register import KEYS, RegisterEdits, RegisterEvent, file_registers
from ventwatch.reports.csv_format import text_cell
from ventwatch.reports.formats import FORMATS
from ventwatch.reports.inputs import load_report
from ventwatch.reports.model import Report, ReportAction
from ventwatch.reports.period import Period
from ventwatch.store import FRAME_COLUMNS, Store

README = """\
ventwatch evidence pack

{site}, {label} ({first} to {last}), rooms: {rooms}.
Made by ventwatch {version} at {generated} (UTC), judged by the guidance profile
{profile_id} {profile_version} (its file is included).

Files:
  report.pdf      the ventilation report for these rooms and dates
  readings.csv    every stored reading (UTC times), as measured
  episodes.csv    runs of occupied minutes above the profile's thresholds
  actions.csv     what was done about each room, as the rep's action log recorded it
  alert-log.csv   every change to the rooms' alerts: who did what, when
  rooms.csv       each room as the site describes it, with its register (the guide's
                  step 2: windows, plant, air cleaner, risk assessment and its review)
  register-log.csv  every change made to those registers on the dashboard: who, what, when
  {profile_file}  the guidance profile: thresholds and their sources

To check that no file was changed since ventwatch wrote it:
  sha256sum -c MANIFEST.sha256
"""


@dataclass(frozen=True, slots=True)
class EvidenceInputs:
    """Everything the pack holds, read at the edge (`load_evidence`)."""

    report: Report
    readings: pd.DataFrame  # Store.range columns
    actions: list[ActionRecord]
    alert_log: list[AuditEntry]
    profile_file: str  # its name in the pack
    profile_bytes: bytes
    rooms: list[Room] = field(default_factory=list)  # the site file's entries of the rooms
    sensors: dict[str, list[str]] = field(default_factory=dict)  # room -> "family device"
    register_log: list[RegisterEvent] = field(default_factory=list)


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        # A spreadsheet takes a text cell starting with = + - @ as a formula: kept as text.
        writer.writerow([text_cell(v) if isinstance(v, str) else v for v in row])
    return out.getvalue().encode()


def _readings_csv(frame: pd.DataFrame) -> bytes:
    columns = [c for c in FRAME_COLUMNS if c in frame.columns]
    rows = (
        [
            value.isoformat()
            if isinstance(value, pd.Timestamp)
            else ("" if pd.isna(value) else value)
            for value in record
        ]
        for record in frame[columns].itertuples(index=False, name=None)
    )
    return _csv(columns, rows)


def _episodes_csv(report: Report) -> bytes:
    rows = (
        (r.room, e.threshold_ppm, e.start.isoformat(), e.end.isoformat(), e.duration_min,
         e.peak_ppm, e.mean_ppm)
        for r in report.rooms
        for e in r.analysis.co2.episodes
    )  # fmt: skip
    header = ("room", "above_ppm", "start_utc", "end_utc", "minutes", "peak_ppm", "mean_ppm")
    return _csv(header, rows)


def _actions_csv(actions: list[ActionRecord]) -> bytes:
    header = ("room", "taken_on", "step", "action", "note", "recorded_by", "recorded_at", "alert")
    rows = (
        (a.room, a.taken_on.isoformat(), a.step, a.action, a.note, a.recorded_by,
         a.recorded_at.isoformat(), a.alert_id)
        for a in actions
    )  # fmt: skip
    return _csv(header, rows)


def _alert_log_csv(entries: list[AuditEntry]) -> bytes:
    header = ("at", "alert", "who", "what", "details")
    rows = (
        (e.at.isoformat(), e.alert_id, e.actor, e.kind, json.dumps(e.details, sort_keys=True))
        for e in entries
    )
    return _csv(header, rows)


# `rooms.csv`: each room as the site file describes it, then its register, key by key.
ROOM_FILE_COLUMNS = (
    "room", "building", "floor", "ventilation_type", "capacity", "volume_m3", "age_group",
    "sensors", *(f"register_{key}" for key in KEYS), "register_changed_on_dashboard",
)  # fmt: skip


def _rooms_csv(inputs: EvidenceInputs) -> bytes:
    registers = {r.room: r.register for r in inputs.report.rooms}
    rows = []
    for room in inputs.rooms:
        register = registers[room.name]
        changed = "; ".join(
            f"{key} by {c.by} {c.at.isoformat()}" for key, c in sorted(register.changed.items())
        )
        values = [_cell(v) for v in register.values().values()]
        rows.append(
            (room.name, room.building, room.floor, room.ventilation, room.capacity,
             room.volume_m3, room.age_group, "; ".join(inputs.sensors.get(room.name, [])),
             *values, changed)
        )  # fmt: skip
    return _csv(ROOM_FILE_COLUMNS, rows)


def _register_log_csv(events: list[RegisterEvent]) -> bytes:
    header = ("at", "room", "who", "what", "key", "old", "new")
    rows = (
        (e.at.isoformat(), e.room, e.actor, e.kind, e.key, json.dumps(_plain(e.old)),
         json.dumps(_plain(e.new)))
        for e in events
    )  # fmt: skip
    return _csv(header, rows)


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _cell(value: object) -> object:
    """A register value in a CSV cell, written as the report's CSV writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _plain(value)


def evidence_pack(inputs: EvidenceInputs) -> bytes:
    """The ZIP, as bytes."""
    report = inputs.report
    header = report.header
    rooms = [r.room for r in report.rooms]
    contents: dict[str, bytes] = {
        "report.pdf": FORMATS["pdf"].render(report),
        "readings.csv": _readings_csv(inputs.readings),
        "episodes.csv": _episodes_csv(report),
        "actions.csv": _actions_csv(inputs.actions),
        "alert-log.csv": _alert_log_csv(inputs.alert_log),
        "rooms.csv": _rooms_csv(inputs),
        "register-log.csv": _register_log_csv(inputs.register_log),
        inputs.profile_file: inputs.profile_bytes,
    }
    generated = header.generated_at
    contents["README.txt"] = README.format(
        site=header.site, label=header.period.label, first=header.period.first,
        last=header.period.last, rooms=", ".join(rooms), version=header.ventwatch_version,
        generated=generated.strftime("%Y-%m-%d %H:%M"), profile_id=header.profile_id,
        profile_version=header.profile_version, profile_file=inputs.profile_file,
    ).encode()  # fmt: skip
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    manifest = {
        "site": header.site,
        "period": {
            "label": header.period.label,
            "first": header.period.first.isoformat(),
            "last": header.period.last.isoformat(),
        },
        "rooms": rooms,
        "profile": {"id": header.profile_id, "version": header.profile_version},
        "generated_at": generated.isoformat(),
        "ventwatch": header.ventwatch_version,
        "readings": len(inputs.readings),
        # Each room's register as the pack was made (the guide's step 2).
        "register": {
            r.room: {key: _plain(value) for key, value in r.register.values().items()}
            for r in report.rooms
        },
        "files": [
            {"name": name, "bytes": len(data), "sha256": digests[name]}
            for name, data in contents.items()
        ],
    }
    contents["manifest.json"] = json.dumps(manifest, indent=2).encode()
    digests["manifest.json"] = hashlib.sha256(contents["manifest.json"]).hexdigest()
    contents["MANIFEST.sha256"] = "".join(
        f"{digest}  {name}\n" for name, digest in digests.items()
    ).encode()
    out = io.BytesIO()
    stamp = generated.timetuple()[:6]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for name, data in contents.items():
            info = zipfile.ZipInfo(name, date_time=(max(stamp[0], 1980), *stamp[1:]))
            info.compress_type = zipfile.ZIP_DEFLATED
            pack.writestr(info, data)
    return out.getvalue()


def load_evidence(
    store: Store,
    site: SiteConfig,
    profile: Profile,
    period: Period,
    generated_at: datetime,
    records: AlertRecords | None,
    rooms: list[str] | None = None,
    register: RegisterEdits | None = None,
) -> EvidenceInputs:
    """Read what the pack holds: the report, the raw readings, and the action log and alert
    history of the chosen rooms over the period (`records`: None when the site has no
    alerts file yet), and their registers with every change made to them on the dashboard
    (`register`: None, the site file's registers alone)."""
    chosen = set(rooms) if rooms is not None else {r.name for r in site.rooms}
    start, end = local_day_bounds(period.first, period.last, site.tz)
    actions = [a for a in records.actions() if a.room in chosen] if records else []
    report_actions = [
        ReportAction(a.room, a.taken_on, a.step, a.action, a.note, a.recorded_by) for a in actions
    ]
    registers = register.effective(site) if register is not None else file_registers(site)
    report = load_report(
        store, site, profile, period, generated_at, report_actions, rooms, registers=registers
    )
    readings = store.range(sorted(chosen), start, end)
    alert_log: list[AuditEntry] = []
    if records is not None:
        for alert in records.alerts(limit=1_000_000):
            overlaps = alert.opened_at < end and (
                alert.closed_at is None or alert.closed_at >= start
            )
            if alert.room in chosen and overlaps and alert.id is not None:
                alert_log += records.audit(alert.id, limit=1_000_000)
        alert_log.sort(key=lambda e: e.id)
    resource = files("ventwatch.analysis") / "profiles" / f"{profile.id}.yaml"
    sensors: dict[str, list[str]] = {}
    for sensor in site.sensors:
        sensors.setdefault(sensor.room, []).append(f"{sensor.family} {sensor.device}")
    return EvidenceInputs(
        report,
        readings,
        actions,
        alert_log,
        f"profile-{profile.id}.yaml",
        resource.read_bytes(),
        rooms=[room for room in site.rooms if room.name in chosen],
        sensors=sensors,
        register_log=register.log(chosen) if register is not None else [],
    )
