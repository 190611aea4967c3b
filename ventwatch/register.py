"""The room register of the joint union guide's step 2 (the workplace ventilation audit): per
room, its openable windows and their state, its mechanical plant, whether an air cleaner
runs there, and where its ventilation risk assessment stands (made when, to be reviewed
when, shown to staff where). The guide asks employers for that assessment, for a copy on the
staff noticeboard, and whether it "will be revised at regular intervals".

Two places keep it. The site file (`rooms[].register`) holds what the site reviewed and
keeps in version control. Site managers and admins change it on the dashboard, kept here in
the project's SQLite file (the accounts/state file, beside alerts and sensor assignments):
a dashboard value overrides the file's key by key, because the dashboard is where a
review's new date is recorded on the day, and a restart must not undo it. Each override
remembers who set it and when, every change is also appended to an audit table that is never
edited, and "back to the site file" drops a room's overrides (audited too).

A room's effective register (`RegisterEdits.effective`) is what pages, reports, the evidence
pack and the review reminders (`ventwatch.alerts.reviews`) show and act on.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import ValidationError

from ventwatch.config import Room, RoomRegisterEntry, SiteConfig
from ventwatch.state_database import StateConnection, StateLocation, open_state, state_exists

# How many days before a review falls due its reminder goes out (a project choice: two
# school weeks, time to book the review).
REMIND_BEFORE_DAYS: Final = 14
WINDOW_STATES: Final = ("working", "restricted", "painted_shut", "broken")
WINDOW_WORDS: Final = {
    "working": "open as designed",
    "restricted": "restricted",
    "painted_shut": "painted shut",
    "broken": "broken",
}
# Said next to the CO2 figures of a room with an air cleaner, on its page and in reports,
# after "Air cleaner in this room:".
AIR_CLEANER_CAVEAT: Final = (
    "air cleaning units do not reduce CO2 levels or improve ventilation (DfE, Using CO2 "
    "monitors and air cleaning units in education and care settings), and CO2 monitors are "
    "less useful where air cleaning units are in use (HSE advice, as summarised by the Labour "
    "Research Department). The CO2 figures still measure the outdoor air reaching the room, "
    "but not what the air cleaner removes: they give only part of the picture."
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS room_register (
    site TEXT NOT NULL,
    room TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,  -- JSON; null: "not recorded", whatever the site file says
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (site, room, key)
);
CREATE TABLE IF NOT EXISTS room_register_events (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    room TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,  -- changed: set on the dashboard; reset: back to the site file's
    key TEXT NOT NULL,
    old TEXT NOT NULL,  -- JSON, as the register said before
    new TEXT NOT NULL  -- JSON, as it says after
);
CREATE INDEX IF NOT EXISTS room_register_events_room ON room_register_events (site, room, id);
"""


@dataclass(frozen=True, slots=True)
class Change:
    """A key set on the dashboard: by whom, when, and what the site file says instead."""

    by: str
    at: datetime
    file_value: Any


@dataclass(frozen=True, slots=True)
class RoomRegister:
    """A room's register as one flat record, each key None when not recorded. The keys are
    the names of the rooms CSV's `register_*` columns and of the dashboard's form fields."""

    windows_working: int | None = None
    windows_restricted: int | None = None
    windows_painted_shut: int | None = None
    windows_broken: int | None = None
    mechanical: str | None = None  # "none", or what the plant is
    mechanical_working: bool | None = None
    air_cleaner: bool | None = None
    assessed_on: date | None = None  # the last ventilation risk assessment
    review_due: date | None = None
    shared_with_staff: bool | None = None
    shared_where: str | None = None
    notes: str | None = None
    # The keys whose value was set on the dashboard (the others are the site file's).
    changed: Mapping[str, Change] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in KEYS}

    @property
    def recorded(self) -> bool:
        """Whether anything at all is recorded for the room."""
        return any(v is not None for v in self.values().values())

    @property
    def windows(self) -> str | None:
        """'5 openable windows: 2 open as designed, 2 restricted, 1 painted shut'."""
        counts = {s: getattr(self, f"windows_{s}") for s in WINDOW_STATES}
        if all(n is None for n in counts.values()):
            return None
        total = sum(n or 0 for n in counts.values())
        if total == 0:
            return "no openable windows"
        parts = [f"{n} {WINDOW_WORDS[s]}" for s, n in counts.items() if n]
        return f"{total} openable window{'s' if total != 1 else ''}: {', '.join(parts)}"

    @property
    def plant(self) -> str | None:
        """'none', or 'extract fan (not working)'."""
        if self.mechanical is None:
            return None
        if self.mechanical == "none":
            return "none"
        state = {True: " (working)", False: " (not working)", None: ""}
        return self.mechanical + state[self.mechanical_working]

    def days_to_review(self, today: date) -> int | None:
        """Days until the review is due (negative: overdue by); None: no date recorded."""
        return None if self.review_due is None else (self.review_due - today).days

    def review_state(self, today: date) -> Literal["overdue", "due", "ok"] | None:
        """Overdue after its date; due within `REMIND_BEFORE_DAYS` of it, the day itself
        included; None without a review date."""
        days = self.days_to_review(today)
        if days is None:
            return None
        if days < 0:
            return "overdue"
        return "due" if days <= REMIND_BEFORE_DAYS else "ok"


KEYS: Final = tuple(f.name for f in fields(RoomRegister) if f.name != "changed")
_DATES: Final = frozenset({"assessed_on", "review_due"})


class RegisterError(ValueError):
    """An edit the register's rules refuse: every problem, in words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def flat(entry: RoomRegisterEntry | None) -> dict[str, Any]:
    """A site file's entry as the register's flat keys (None: not recorded)."""
    out: dict[str, Any] = dict.fromkeys(KEYS)
    if entry is None:
        return out
    if entry.windows is not None:
        for state in WINDOW_STATES:
            out[f"windows_{state}"] = getattr(entry.windows, state)
    if entry.mechanical == "none":
        out["mechanical"] = "none"
    elif entry.mechanical is not None:
        out["mechanical"] = entry.mechanical.type
        out["mechanical_working"] = entry.mechanical.working
    out["air_cleaner"] = entry.air_cleaner
    if entry.risk_assessment is not None:
        ra = entry.risk_assessment
        out.update(
            assessed_on=ra.assessed_on,
            review_due=ra.review_due,
            shared_with_staff=ra.shared_with_staff,
            shared_where=ra.shared_where,
        )
    out["notes"] = entry.notes
    return out


def entry_of(values: Mapping[str, Any]) -> RoomRegisterEntry:
    """Flat keys as a site file's entry, checked by the same rules `check-config` applies:
    a dashboard edit can record nothing the site file could not. Raises RegisterError."""
    nested: dict[str, Any] = {}
    windows = {
        s: values[f"windows_{s}"] for s in WINDOW_STATES if values.get(f"windows_{s}") is not None
    }
    if windows:
        nested["windows"] = windows
    plant = values.get("mechanical")
    if isinstance(plant, str) and plant.strip().lower() == "none":
        nested["mechanical"] = "none"
        if values.get("mechanical_working") is not None:
            raise RegisterError(["mechanical_working: the room has no mechanical plant"])
    elif plant is not None:
        nested["mechanical"] = {"type": plant, "working": values.get("mechanical_working")}
    elif values.get("mechanical_working") is not None:
        raise RegisterError(["mechanical_working: say what the plant is (mechanical)"])
    risk = {
        key: values[key]
        for key in ("assessed_on", "review_due", "shared_with_staff", "shared_where")
        if values.get(key) is not None
    }
    if risk:
        nested["risk_assessment"] = risk
    for key in ("air_cleaner", "notes"):
        if values.get(key) is not None:
            nested[key] = values[key]
    try:
        return RoomRegisterEntry.model_validate(nested)
    except ValidationError as exc:
        raise RegisterError(
            [
                f"{_key_of(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors()
            ]
        ) from None


def _key_of(loc: tuple[int | str, ...]) -> str:
    """The flat key a problem of the nested entry is about, as the form names it."""
    if loc[0] == "windows" and len(loc) > 1:
        return f"windows_{loc[1]}"
    if loc[0] == "mechanical":
        return "mechanical_working" if loc[-1] == "working" else "mechanical"
    return str(loc[-1])


def _register(values: Mapping[str, Any], changed: Mapping[str, Change]) -> RoomRegister:
    """The record of `values`; a room whose windows are counted at all counts a state left
    out as none, as the site file does."""
    out = dict(values)
    if any(out[f"windows_{s}"] is not None for s in WINDOW_STATES):
        for state in WINDOW_STATES:
            out[f"windows_{state}"] = out[f"windows_{state}"] or 0
    return RoomRegister(**out, changed=dict(changed))


def file_registers(site: SiteConfig) -> dict[str, RoomRegister]:
    """Each room's register as the site file alone has it (no dashboard edits)."""
    return {room.name: _register(flat(room.register_entry), {}) for room in site.rooms}


def _dump(value: Any) -> str:
    return json.dumps(value.isoformat() if isinstance(value, date) else value)


def _load(key: str, text: str) -> Any:
    value = json.loads(text)
    return date.fromisoformat(value) if key in _DATES and value is not None else value


@dataclass(frozen=True, slots=True)
class RegisterEvent:
    """One change to a room's register: the audit a rep can show the employer."""

    id: int
    room: str
    at: datetime
    actor: str
    kind: str  # changed, or reset (back to the site file's value)
    key: str
    old: Any
    new: Any


class RegisterEdits:
    """The register as changed on the dashboard, for the site named `site`, in the state
    database at `path`."""

    def __init__(self, path: StateLocation, site: str) -> None:
        self._file = open_state(path, _SCHEMA)
        self.site = site

    def _overrides(self) -> dict[str, dict[str, tuple[Any, str, datetime]]]:
        """room -> key -> (value, by, at)."""
        with self._file.transaction() as db:
            rows = db.execute(
                "SELECT room, key, value, changed_by, changed_at FROM room_register WHERE site = ?",
                (self.site,),
            ).fetchall()
        out: dict[str, dict[str, tuple[Any, str, datetime]]] = {}
        for room, key, value, by, at in rows:
            if key in KEYS:  # a key a later version dropped is left alone, not shown
                out.setdefault(room, {})[key] = (_load(key, value), by, datetime.fromisoformat(at))
        return out

    def effective(self, site: SiteConfig) -> dict[str, RoomRegister]:
        """Each room's register (in site-file order): the site file's, with the keys changed
        on the dashboard in their place. Edits for a room the file no longer lists are kept
        but not shown."""
        overrides = self._overrides()
        out = {}
        for room in site.rooms:
            values = flat(room.register_entry)
            changed = {}
            for key, (value, by, at) in overrides.get(room.name, {}).items():
                changed[key] = Change(by, at, values[key])
                values[key] = value
            out[room.name] = _register(values, changed)
        return out

    def change(
        self, room: Room, site: SiteConfig, values: Mapping[str, Any], by: str, at: datetime
    ) -> list[str]:
        """Set the keys of `values` whose value differs from the room's register now (None:
        not recorded); returns the keys changed. The register they make must pass the site
        file's rules (RegisterError otherwise, and nothing is changed)."""
        now = self.effective(site)[room.name].values()
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise RegisterError([f"{key}: not a key of the register" for key in unknown])
        # As the site file would have it: text stripped, uncounted window states none.
        after = flat(entry_of({**now, **values}))
        changed = [key for key in KEYS if after[key] != now[key]]
        with self._file.transaction() as db:
            for key in changed:
                db.execute(
                    "INSERT INTO room_register VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (site, room, key) DO UPDATE SET value = excluded.value,"
                    " changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                    (self.site, room.name, key, _dump(after[key]), by, at.isoformat()),
                )
                self._log(db, room.name, at, by, "changed", key, now[key], after[key])
        return changed

    def reset(self, room: Room, by: str, at: datetime) -> list[str]:
        """Drop the room's dashboard values: the site file's stand again. Returns the keys."""
        file_values = flat(room.register_entry)
        with self._file.transaction() as db:
            rows = db.execute(
                "SELECT key, value FROM room_register WHERE site = ? AND room = ? ORDER BY key",
                (self.site, room.name),
            ).fetchall()
            db.execute(
                "DELETE FROM room_register WHERE site = ? AND room = ?", (self.site, room.name)
            )
            for key, value in rows:
                old = _load(key, value)
                self._log(db, room.name, at, by, "reset", key, old, file_values.get(key))
        return [key for key, _ in rows]

    def _log(
        self,
        db: StateConnection,
        room: str,
        at: datetime,
        actor: str,
        kind: str,
        key: str,
        old: Any,
        new: Any,
    ) -> None:
        db.execute(
            "INSERT INTO room_register_events (site, room, at, actor, kind, key, old, new)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.site, room, at.isoformat(), actor, kind, key, _dump(old), _dump(new)),
        )

    def log(self, rooms: Collection[str] | None = None, limit: int = 10_000) -> list[RegisterEvent]:
        """The audit of register changes, oldest first: the rooms named, or all the site's
        (the newest `limit`)."""
        with self._file.transaction() as db:
            rows = db.execute(
                "SELECT id, room, at, actor, kind, key, old, new FROM room_register_events"
                " WHERE site = ? ORDER BY id",
                (self.site,),
            ).fetchall()
        wanted = None if rooms is None else set(rooms)
        events = [
            RegisterEvent(i, room, datetime.fromisoformat(at), actor, kind, key,
                          _load(key, old), _load(key, new))
            for i, room, at, actor, kind, key, old, new in rows
            if wanted is None or room in wanted
        ]  # fmt: skip
        return events[-limit:]


def room_registers(path: StateLocation, site: SiteConfig) -> dict[str, RoomRegister]:
    """Each room's effective register, read without creating the state file: no file yet,
    nothing was changed on the dashboard (what a report made from the command line uses)."""
    if not state_exists(path):
        return file_registers(site)
    return RegisterEdits(path, site.site.name).effective(site)
