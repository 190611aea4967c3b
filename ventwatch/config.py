"""The site file: rooms, sensors, occupied hours, broker and store, as validated models.

A site file is edited by hand by a site manager, so a mistake must be reported the way a
compiler would: file, line and what is wrong, all of them at once, before anything starts.
The YAML is read with ruamel.yaml because it keeps the line of every key; pydantic checks the
shapes (unknown keys are errors) and `load_site` adds the checks that span sections (a sensor
naming a room that does not exist).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from ventwatch.plain_errors import did_you_mean, dotted, one_of, plain_findings

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


def _storable(value: str) -> str:
    """Refuse a name InfluxDB's line protocol cannot carry as a tag (one ending in a backslash,
    or with a control character): it would pass here and then be refused with every reading
    (docs/it.md "Storage"), so the site file says so before anything starts, on either store."""
    from ventwatch.store.influxdb import tag_problem

    problem = tag_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} {problem}: InfluxDB could never store it; rename it")
    return value


# Names readings are filed under (site, room, sensor id, family: InfluxDB tags), and a
# room's building, held to the same rule so that no name in the file is left unchecked.
StoredName = Annotated[Name, AfterValidator(_storable)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class Strict(BaseModel):
    """Base of every section: unknown keys are errors, so a typo cannot be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock_text(value: Any) -> Any:
    """Refuse a number where a time of day goes: pydantic would read `start: 845` as 845
    seconds after midnight (00:14:05) where the writer meant 08:45."""
    if isinstance(value, int | float):
        raise PydanticCustomError("time_type", "Input should be a time of day")
    return value


# A local time of day, written "HH:MM" in the file.
ClockTime = Annotated[time, BeforeValidator(_clock_text)]


def _end_after_start(end: time, info: ValidationInfo) -> time:
    start = info.data.get("start")
    if start is not None and end <= start:
        raise ValueError(f"end {end:%H:%M} is not after start {start:%H:%M}")
    return end


class Interval(Strict):
    start: ClockTime
    end: ClockTime

    _ordered = field_validator("end")(_end_after_start)


class QuietHours(Strict):
    """Local hours when nothing is sent; may run past midnight (18:00 to 07:30)."""

    start: ClockTime
    end: ClockTime


class OccupiedHours(Strict):
    """When rooms are in use; every guidance figure describes an occupied room."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    start: ClockTime = time(8, 45)
    end: ClockTime = time(15, 15)
    breaks: list[Interval] = Field(default_factory=list)
    # Breaks are when pupils leave the rooms: left out of occupied time unless told otherwise.
    exclude_breaks: bool = True

    _ordered = field_validator("end")(_end_after_start)


class DateRange(Strict):
    start: date
    end: date  # inclusive

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"end {end} is before start {start}")
        return end


class Calendar(Strict):
    """Term dates and closures. With no terms, every week counts; holidays are days (or
    ranges) inside terms when the school is closed: bank holidays, INSET days, closures."""

    terms: list[DateRange] = Field(default_factory=list)
    holidays: list[date | DateRange] = Field(default_factory=list)


def site_slug(name: str) -> str:
    """A site's name as a URL segment: `hillside-academy`, `ecole-saint-michel`. ASCII only
    (accents dropped), so it reads the same in every address bar; two sites whose slugs clash
    are refused where they would share one (`ventwatch run` with several site files)."""
    plain = unicodedata.normalize("NFKD", name.lower())
    words = re.split(r"[^a-z0-9]+", "".join(c for c in plain if c.isascii()))
    return "-".join(w for w in words if w) or "site"


# The room name an outdoor sensor's readings are filed under: no room may take it.
OUTDOOR_ROOM = "(outdoor air)"


class OutdoorSensor(Strict):
    """A sensor outside the building, read as the site's outdoor CO2 level: the ventilation
    estimates take it when a room's own unoccupied floor cannot be (`analysis.ventilation`).
    Its readings are filed under OUTDOOR_ROOM; it is never judged as a room."""

    family: StoredName
    device: StoredName


class Site(Strict):
    name: StoredName
    timezone: str = "Europe/London"
    outdoor_sensor: OutdoorSensor | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value


# Minutes between a sensor's reports, as its firmware is set up. Longer than an hour would
# leave a 20-minute judgement resting on one reading (a project choice).
ReportInterval = Annotated[float, Field(gt=0, le=60)]
# The modes BB101 judges a room in, and the months a hybrid room's mode is given for.
BB101Mode = Literal["natural", "mechanical"]
Month = Literal["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
MONTHS: tuple[Month, ...] = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
# How hard the work in a room is, as ACoP L24 sets its minimum temperature by it.
PhysicalEffort = Literal["normal", "severe"]


def _readable(value: str) -> str:
    """Refuse control characters (line breaks and tabs aside) in text a person wrote: they
    would reach pages, CSV cells and emails, where nobody can see what they are."""
    bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in "\n\t"), None)
    if bad is not None:
        raise ValueError(f"contains the control character {bad!r}")
    return value


# What a person writes about a room (a kind of plant, where an assessment is posted).
RegisterText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_readable),
]
RegisterNotes = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_readable),
]
WindowCount = Annotated[int, Field(ge=0, le=500)]


class RegisterWindows(Strict):
    """A room's openable windows, counted by their state: the guide's audit asks whether a
    room can be aired at all, and a window painted shut is not a way to air it. Given at all,
    a state left out counts none."""

    working: WindowCount = 0  # open as designed
    restricted: WindowCount = 0  # open only a little (restrictors, blinds, furniture)
    painted_shut: WindowCount = 0
    broken: WindowCount = 0


class MechanicalPlant(Strict):
    """Mechanical ventilation serving the room: what it is and whether it works."""

    type: RegisterText  # "extract fan", "MVHR unit"
    working: bool | None = None  # None: not known

    @field_validator("type")
    @classmethod
    def _not_none(cls, value: str) -> str:
        if value.lower() == "none":
            raise ValueError("for a room without plant write `mechanical: none`")
        return value


def _plant_kind(value: Any) -> str:
    return "none" if isinstance(value, str) else "plant"


# Chosen by shape, so that a mistake in the plant's keys is reported alone, not beside
# "should be 'none'".
Plant = Annotated[
    Annotated[Literal["none"], Tag("none")] | Annotated[MechanicalPlant, Tag("plant")],
    Discriminator(_plant_kind),
]


class RiskAssessment(Strict):
    """The room's ventilation risk assessment (the guide's step 2): when it was made, when it
    is to be reviewed, and whether staff were shown it (e.g. on the staff noticeboard)."""

    assessed_on: date | None = None
    review_due: date | None = None
    shared_with_staff: bool | None = None
    shared_where: RegisterText | None = None  # "staff-room noticeboard"

    @field_validator("review_due")
    @classmethod
    def _after_assessment(cls, value: date | None, info: ValidationInfo) -> date | None:
        made = info.data.get("assessed_on")
        if value is not None and made is not None and value < made:
            raise ValueError(f"review_due {value} is before assessed_on {made}")
        return value

    @field_validator("shared_where")
    @classmethod
    def _shared(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("shared_with_staff") is False:
            raise ValueError("shared_where names where it was shared: shared_with_staff is false")
        return value


class RoomRegisterEntry(Strict):
    """A room in the site's register (the guide's step 2, the ventilation audit): what the
    room has for ventilation and where its risk assessment stands. Every key may be left
    out: not recorded. Site managers may change it on the dashboard (`ventwatch.register`)."""

    windows: RegisterWindows | None = None
    # `none`, or the plant: {type: extract fan, working: false}.
    mechanical: Plant | None = None
    # An air cleaning unit in the room: CO2 readings then say less (HSE, DfE).
    air_cleaner: bool | None = None
    risk_assessment: RiskAssessment | None = None
    notes: RegisterNotes | None = None

    @field_validator("mechanical", mode="before")
    @classmethod
    def _plant(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "none":
            raise ValueError(
                f"{value!r}: write `none`, or the plant as {{type: {value}, working: true}}"
            )
        return value


class Room(Strict):
    # `register` in a file; `register_entry` too, as `model_dump()` writes it back.
    model_config = ConfigDict(populate_by_name=True)

    name: StoredName
    building: StoredName = "Main"
    floor: int | str = 0
    capacity: int = Field(default=30, ge=1, le=2000)
    volume_m3: float | None = Field(default=None, gt=0)
    ventilation: Literal["natural", "mechanical", "mixed"] = "natural"
    # Who is in the room: sets CO2 generation per person for ventilation estimates.
    age_group: Literal["primary", "secondary", "adult"] = "secondary"
    # A room used at other times (a hall in the evening) has its own hours.
    occupied_hours: OccupiedHours | None = None
    # How often its sensor reports, when that is longer than the profile's stale time (a
    # LoRaWAN device every 15 minutes): a reading then stands until the next one is due.
    report_interval_minutes: ReportInterval | None = None
    # The room's entry in the register of the guide's step 2 (windows, plant, air cleaner,
    # risk assessment); dashboard edits override it key by key. Named `register` in the
    # file; a field of that name would shadow pydantic's (ABCMeta's) `register`.
    register_entry: RoomRegisterEntry | None = Field(default=None, alias="register")
    # BB101 judges a hybrid (mixed) room by the mode it runs in: one mode all year, or the
    # months of each (`{mechanical: [nov, dec, jan, feb, mar], natural: [apr, ...]}`). Months
    # left out, or no key, are judged as the profile says and labelled "not declared".
    bb101_mode: BB101Mode | dict[BB101Mode, list[Month]] | None = None
    # BB101's figures differ for refurbished buildings; not given: as the profile says.
    building_type: Literal["new", "refurbished"] | None = None
    # ACoP L24's minimum is 16 °C, or 13 °C where much of the work involves severe physical
    # effort: `severe` for a sports hall, so that its cold (analysis and the cold alert) is
    # the profile's severe-effort figure. Only the site knows what a room is used for:
    # ventwatch never guesses it from a name.
    physical_effort: PhysicalEffort = "normal"

    @field_validator("bb101_mode")
    @classmethod
    def _hybrid_modes(
        cls, value: BB101Mode | dict[BB101Mode, list[Month]] | None, info: ValidationInfo
    ) -> BB101Mode | dict[BB101Mode, list[Month]] | None:
        ventilation = info.data.get("ventilation")
        if value is not None and ventilation is not None and ventilation != "mixed":
            raise ValueError(
                f"bb101_mode is for hybrid rooms (ventilation: mixed); this room is {ventilation}"
            )
        if isinstance(value, dict):
            seen: set[str] = set()
            for mode, months in value.items():
                if not months:
                    raise ValueError(f"{mode}: list its months, or leave the mode out")
                twice = sorted({m for m in months if m in seen or months.count(m) > 1})
                if twice:
                    raise ValueError(f"{', '.join(twice)} given more than once")
                seen.update(months)
        return value

    def bb101_mode_on(self, month: int) -> BB101Mode | None:
        """The mode BB101 judges the room in during `month` (1-12); None: not declared (a
        hybrid room the site file says nothing about for that month)."""
        if self.ventilation != "mixed":
            return self.ventilation
        if isinstance(self.bb101_mode, dict):
            name = MONTHS[month - 1]
            return next((m for m, months in self.bb101_mode.items() if name in months), None)
        return self.bb101_mode


JSON_PATH = re.compile(r"^\$(\.[^.\[\]]+|\[\d+\])+$")
QuantityKey = Literal["co2_ppm", "temperature_c", "humidity_pct", "pressure_hpa", "battery_pct"]


def _json_path(value: str | None) -> str | None:
    if value is not None and not JSON_PATH.match(value):
        raise ValueError(f"{value!r} is not a path like $.field.sub[0]")
    return value


class ValueSpec(Strict):
    path: str
    unit: str | None = None

    _path = field_validator("path")(_json_path)


class GenericDecoderSpec(Strict):
    """A JSON payload format described in the site file instead of in code."""

    name: StoredName  # the family of its readings
    topic: Name
    sensor_topic_level: int | None = Field(default=None, ge=0)
    sensor_path: str | None = None
    time_path: str | None = None
    values: dict[QuantityKey, ValueSpec] = Field(min_length=1)

    _paths = field_validator("sensor_path", "time_path")(_json_path)

    @field_validator("topic")
    @classmethod
    def _filter(cls, value: str) -> str:
        levels = value.split("/")
        if any(("#" in lv and lv != "#") or ("+" in lv and lv != "+") for lv in levels) or (
            "#" in levels[:-1]
        ):
            raise ValueError(f"{value!r} is not an MQTT topic filter")
        return value

    @field_validator("values")
    @classmethod
    def _has_source(cls, value: dict[str, ValueSpec], info: ValidationInfo) -> dict[str, ValueSpec]:
        if (info.data.get("sensor_topic_level") is None) == (info.data.get("sensor_path") is None):
            raise ValueError("give exactly one of sensor_topic_level and sensor_path")
        return value


class StatestreamOptions(Strict):
    base_topics: list[Name] = Field(default_factory=lambda: ["homeassistant"], min_length=1)


class Decoders(Strict):
    ha_statestream: StatestreamOptions = Field(default_factory=StatestreamOptions)
    generic: list[GenericDecoderSpec] = Field(default_factory=list)


def _env_name(value: str | None) -> str | None:
    if value is not None and not ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (A-Z, 0-9, _)")
    return value


class SensorEntry(Strict):
    family: StoredName
    device: StoredName
    room: Name  # a room's name, checked where the room is listed
    # As a room's: how often this sensor reports, when longer than the profile's stale time.
    report_interval_minutes: ReportInterval | None = None


def _topic_prefix(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(
            f"{value!r}: write the prefix's levels without a leading, trailing or double /"
        )
    if any(c in value for c in "+#\0") or value.startswith("$"):
        raise ValueError(
            f"{value!r}: a topic prefix has no wildcards (+, #) and does not start with $"
        )
    return value


class Broker(Strict):
    """The MQTT broker. Credentials are never in the file: only the names of the variables."""

    url: str = "mqtt://127.0.0.1:1883"
    username_env: str | None = None
    password_env: str | None = None
    client_id: str | None = None
    # The largest payload ingest parses: sensors send a few hundred bytes, and a bigger one is
    # quarantined (`too_large`) before it costs the memory and time of decoding.
    max_payload_kib: int = Field(default=64, ge=1)
    # Sites on one broker connection are told apart by their sensors; a site whose sensors
    # publish under a prefix of their own (a school's broker bridged in under `north`) is told
    # apart by it instead: its topics are `<prefix>/<the firmware's topic>`, and its sensor ids
    # may repeat another site's.
    topic_prefix: Name | None = None

    _env = field_validator("username_env", "password_env")(_env_name)
    _prefix = field_validator("topic_prefix")(_topic_prefix)


class StoreSection(Strict):
    url: str = "duckdb:///ventwatch.duckdb"
    # Where readings wait on disk while the store is down (relative: to the site file).
    spool: str = "ventwatch-spool"
    spool_max_mb: int = Field(default=512, ge=1)


class StateSection(Strict):
    # The state database: what the service keeps besides readings (users, sessions and API
    # tokens, alerts and their actions, the outbox, sensor assignments, register edits,
    # marks). SQLite; relative: to the site file. Never in git. The default keeps the file
    # name from when the section was `accounts`, so an install that never set it keeps its
    # state.
    database: str = "ventwatch-accounts.sqlite"


class RoomGuidance(Strict):
    """A room's own figures where the site departs from its profile (HSE: keep under 800 ppm
    where people sing, so a music room may want amber from 700)."""

    red_above_ppm: float | None = Field(default=None, gt=0)
    amber_above_ppm: float | None = Field(default=None, gt=0)


class Guidance(Strict):
    profile: Name = "joint-union"
    rooms: dict[str, RoomGuidance] = Field(default_factory=dict)


AlertSeverity = Literal["urgent", "advisory", "info"]
DEFAULT_SEVERITIES: tuple[AlertSeverity, ...] = ("urgent", "advisory")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _email(value: str | None) -> str | None:
    if value is not None and not EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


class Recipient(Strict):
    """Where a message goes: exactly one of an email address, a webhook URL (JSON POST,
    signed with the secret in `secret_env`), an MQTT topic on the site's broker, or an
    apprise URL (chat services) read from the variable `apprise_env`: such URLs carry tokens,
    which never go in this file."""

    name: Name
    email: str | None = None
    webhook: str | None = None
    secret_env: str | None = None
    mqtt_topic: str | None = None
    apprise_env: str | None = None

    _email = field_validator("email")(_email)
    _env = field_validator("secret_env", "apprise_env")(_env_name)

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s):// URL")
        return value

    @field_validator("mqtt_topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and (not value or "+" in value or "#" in value):
            raise ValueError(f"{value!r} is not an MQTT topic to publish to (no + or #)")
        return value

    @property
    def channel(self) -> str:
        return next(
            c for c in ("email", "webhook", "mqtt_topic", "apprise_env") if getattr(self, c)
        )

    @property
    def address(self) -> str:
        """The target as shown on pages and in logs: never a secret."""
        return str(getattr(self, self.channel))

    @model_validator(mode="after")
    def _one_target(self) -> Recipient:
        given = [c for c in ("email", "webhook", "mqtt_topic", "apprise_env") if getattr(self, c)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of email, webhook, mqtt_topic and apprise_env"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.secret_env and not self.webhook:
            raise ValueError("secret_env signs webhooks: it needs webhook")
        return self


class Subscription(Recipient):
    """Who gets which alerts: severities, and rooms or buildings (none listed: all),
    as they happen or in one daily digest."""

    severities: list[AlertSeverity] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITIES), min_length=1
    )
    rooms: list[Name] = Field(default_factory=list)
    buildings: list[Name] = Field(default_factory=list)
    delivery: Literal["instant", "digest"] = "instant"


class SmtpSection(Strict):
    """The mail relay. VENTWATCH_SMTP_URL overrides the whole section; the password is only
    ever read from the variable `password_env` names."""

    host: Name
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["plain", "starttls", "ssl"] = "plain"
    sender: str = Field(alias="from")
    username_env: str | None = None
    password_env: str | None = None

    _sender = field_validator("sender")(_email)
    _env = field_validator("username_env", "password_env")(_env_name)


class AlertRuleOverride(Strict):
    """A site's change to one of its profile's alert rules, for some rooms or all."""

    rule: Name
    rooms: list[Name] = Field(default_factory=list)  # none listed: every room
    enabled: bool = True
    threshold: float | None = None
    for_minutes: int | None = Field(default=None, ge=1)


class AlertsConfig(Strict):
    """Alerts: rules (the profile's, with the site's overrides), who is told, and when."""

    # Links in messages point here (the dashboard as users reach it, not its bind address).
    dashboard_url: str | None = None
    smtp: SmtpSection | None = None
    # No message leaves in these local hours; what falls due waits until they end.
    quiet_hours: QuietHours | None = None
    # A condition that comes back within this time of the last message is not sent again,
    # unless the rep was told it had recovered (`alerts.lifecycle`): then it always is.
    cooldown_minutes: int = Field(default=120, ge=0)
    digest_at: ClockTime = time(16, 0)  # local time of the daily digest
    # An alert still not closed after this many school days goes to the next rung.
    escalate_after_school_days: int = Field(default=3, ge=1)
    ladder: list[Recipient] = Field(default_factory=list)
    rules: list[AlertRuleOverride] = Field(default_factory=list)
    subscriptions: list[Subscription] = Field(default_factory=list)


ReportFormat = Literal["pdf", "xlsx", "html", "csv", "daily-csv"]
DEFAULT_ATTACH: tuple[ReportFormat, ...] = ("pdf", "xlsx")


class WeeklyReportEmail(Strict):
    """The last week's report, emailed on `day` at `at` (local time) to `recipients`: the
    HTML summary in the body, `attach` formats attached. Uses the alerts' mail relay."""

    day: Weekday = "mon"
    at: ClockTime = time(7, 0)
    recipients: list[Recipient] = Field(min_length=1)
    attach: list[ReportFormat] = Field(default_factory=lambda: list(DEFAULT_ATTACH), min_length=1)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, value: list[Recipient]) -> list[Recipient]:
        for recipient in value:
            if recipient.email is None:
                raise ValueError(f"{recipient.name}: a report is emailed; give an email")
        return value


class ReportsConfig(Strict):
    weekly_email: WeeklyReportEmail | None = None


class SiteConfig(Strict):
    site: Site
    occupied_hours: OccupiedHours = Field(default_factory=OccupiedHours)
    calendar: Calendar = Field(default_factory=Calendar)
    guidance: Guidance = Field(default_factory=Guidance)
    broker: Broker = Field(default_factory=Broker)
    store: StoreSection = Field(default_factory=StoreSection)
    state: StateSection = Field(default_factory=StateSection)
    # `state`'s old name, still read: `settings.deprecated_names` says so at start and in
    # check-config. A file gives one or the other (`_cross_checks`).
    accounts: StateSection | None = None
    rooms: list[Room] = Field(min_length=1)
    sensors: list[SensorEntry] = Field(default_factory=list)
    decoders: Decoders = Field(default_factory=Decoders)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)

    @property
    def state_database(self) -> str:
        """The state database the file names, under `state` or its old name `accounts`."""
        return self.state.database if self.accounts is None else self.accounts.database

    def room_of(self) -> dict[tuple[str, str], str]:
        """(family, device id) -> room name: the lookup ingest makes for every message. The
        site's outdoor sensor files its readings under OUTDOOR_ROOM."""
        rooms = {(s.family, s.device): s.room for s in self.sensors}
        outdoor = self.site.outdoor_sensor
        if outdoor is not None:
            rooms[(outdoor.family, outdoor.device)] = OUTDOOR_ROOM
        return rooms


@dataclass(frozen=True)
class ConfigProblem:
    line: int  # 1-based; 0 when the file has no line for it
    where: str  # dotted path such as rooms[2].capacity
    message: str


class SiteConfigError(Exception):
    """Every problem found in one site file, each with its line."""

    def __init__(self, path: Path, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(
            f"{self.path}:{p.line}: {p.where + ': ' if p.where else ''}{p.message}"
            for p in self.problems
        )


def _unknown(what: str, name: str, known: Sequence[str], plural: str | None = None) -> str:
    """ "unknown room 'Rom 1' — did you mean `Room 1`? (rooms: ...)": the value repeated
    back, the closest valid one, and every valid one in full."""
    listed = one_of(list(known)) if known else "none"
    return f"unknown {what} {name!r}{did_you_mean(name, known)} ({plural or what + 's'}: {listed})"


def _line_of(doc: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest part of `loc` that exists in the parsed YAML."""
    line = 0
    node = doc
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
        else:
            break
        node = node[part]
    if line == 0 and isinstance(doc, CommentedMap):
        line = doc.lc.line + 1
    return line


def _cross_checks(
    cfg: SiteConfig,
    families: Collection[str] | None,
    profiles: Mapping[str, Sequence[str]] | None,
) -> list[tuple[tuple[Any, ...], str]]:
    """Checks that span sections, which pydantic's per-field validation cannot see."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    if cfg.accounts is not None and "state" in cfg.model_fields_set:
        problems.append((("accounts",), "`accounts` is the old name of `state`: give only `state`"))
    rooms: set[str] = set()
    room_names = list(dict.fromkeys(room.name for room in cfg.rooms))  # as the file lists them
    for i, room in enumerate(cfg.rooms):
        if room.name in rooms:
            problems.append((("rooms", i, "name"), f"room {room.name!r} is listed twice"))
        rooms.add(room.name)
    for name in cfg.guidance.rooms:
        if name not in rooms:
            problems.append((("guidance", "rooms", name), _unknown("room", name, room_names)))
    buildings = list(dict.fromkeys(room.building for room in cfg.rooms))
    for i, sub in enumerate(cfg.alerts.subscriptions):
        for j, name in enumerate(sub.rooms):
            if name not in rooms:
                problems.append(
                    (("alerts", "subscriptions", i, "rooms", j), _unknown("room", name, room_names))
                )
        for j, name in enumerate(sub.buildings):
            if name not in buildings:
                problems.append(
                    (
                        ("alerts", "subscriptions", i, "buildings", j),
                        _unknown("building", name, buildings),
                    )
                )
    rule_ids = None if profiles is None else profiles.get(cfg.guidance.profile)
    if profiles is not None and rule_ids is None:
        problems.append(
            (
                ("guidance", "profile"),
                _unknown("guidance profile", cfg.guidance.profile, list(profiles), "profiles"),
            )
        )
    for i, override in enumerate(cfg.alerts.rules):
        if rule_ids is not None and override.rule not in rule_ids:
            problems.append(
                (
                    ("alerts", "rules", i, "rule"),
                    f"no alert rule {override.rule!r} in profile {cfg.guidance.profile!r}"
                    f"{did_you_mean(override.rule, rule_ids)} (rules: {one_of(rule_ids)})",
                )
            )
        for j, name in enumerate(override.rooms):
            if name not in rooms:
                problems.append(
                    (("alerts", "rules", i, "rooms", j), _unknown("room", name, room_names))
                )
    generic = [d.name for d in cfg.decoders.generic]
    for i, name in enumerate(generic):
        if name in generic[:i] or (families is not None and name in families):
            loc = ("decoders", "generic", i, "name")
            problems.append((loc, f"decoder name {name!r} is already taken"))
    known = set(families or ()) | set(generic)
    seen: set[tuple[str, str]] = set()
    for i, sensor in enumerate(cfg.sensors):
        if sensor.room not in rooms:
            problems.append((("sensors", i, "room"), _unknown("room", sensor.room, room_names)))
        if families is not None and sensor.family not in known:
            problems.append(
                (
                    ("sensors", i, "family"),
                    _unknown("family", sensor.family, sorted(known), "families"),
                )
            )
        key = (sensor.family, sensor.device)
        if key in seen:
            problems.append((("sensors", i, "device"), f"sensor {sensor.device!r} listed twice"))
        seen.add(key)
    problems.extend(_outdoor_checks(cfg, known if families is not None else None, seen))
    return problems


def _outdoor_checks(
    cfg: SiteConfig, known: set[str] | None, listed: set[tuple[str, str]]
) -> list[tuple[tuple[Any, ...], str]]:
    """The outdoor sensor is one sensor, outside: not also a room's, and no room has its name."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, room in enumerate(cfg.rooms):
        if room.name == OUTDOOR_ROOM:
            problems.append(
                (("rooms", i, "name"), f"{OUTDOOR_ROOM!r} is kept for the site's outdoor sensor")
            )
    outdoor = cfg.site.outdoor_sensor
    if outdoor is None:
        return problems
    if (outdoor.family, outdoor.device) in listed:
        problems.append(
            (
                ("site", "outdoor_sensor", "device"),
                f"sensor {outdoor.device!r} is listed under sensors too: an outdoor sensor is "
                "in no room",
            )
        )
    if known is not None and outdoor.family not in known:
        problems.append(
            (
                ("site", "outdoor_sensor", "family"),
                _unknown("family", outdoor.family, sorted(known), "families"),
            )
        )
    return problems


def load_site(
    path: str | Path,
    families: Collection[str] | None = None,
    profiles: Mapping[str, Sequence[str]] | None = None,
) -> SiteConfig:
    """Read and validate a site file; raise SiteConfigError naming every problem and its line.

    `families` are the decoder families ingest knows, and `profiles` the guidance profiles
    analysis ships (each id with its alert rule ids). The core package imports no stage (data
    flows one way: tests/test_import_order.py), so the caller that has the registries passes
    their names; a check whose names are not given is left out.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SiteConfigError(path, [ConfigProblem(0, "", f"cannot read: {exc.strerror}")]) from exc
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise SiteConfigError(
            path, [ConfigProblem(line, "", f"not valid YAML: {exc.problem}")]
        ) from exc
    if not isinstance(doc, CommentedMap):
        raise SiteConfigError(path, [ConfigProblem(1, "", "the file must be a YAML mapping")])
    try:
        cfg = SiteConfig.model_validate(_plain(doc))
    except ValidationError as exc:
        problems = [
            ConfigProblem(_line_of(doc, found.loc), found.where, found.message)
            for found in plain_findings(SiteConfig, exc.errors())
        ]
        raise SiteConfigError(path, problems) from None
    cross = _cross_checks(cfg, families, profiles)
    if cross:
        raise SiteConfigError(
            path, [ConfigProblem(_line_of(doc, loc), dotted(loc), msg) for loc, msg in cross]
        )
    return cfg


def sensors_of_two_sites(files: Sequence[tuple[Path, SiteConfig]]) -> list[str]:
    """What stops site files sharing one broker connection, each problem naming both files
    and lines: a sensor id listed by two sites whose topics are not told apart by a prefix
    (`broker.topic_prefix`), whose readings could be filed under neither with certainty; and
    a prefix inside another site's (`north` and `north/annex`), whose topics would match
    both."""
    problems = []
    docs: dict[Path, Any] = {}  # each file read again once, for the lines of its clashes

    def line(path: Path, loc: tuple[Any, ...]) -> int:
        if path not in docs:
            try:
                docs[path] = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
            except (OSError, MarkedYAMLError):
                docs[path] = None  # gone or changed since it was read: no line to give
        return _line_of(docs[path], loc)

    claimed: dict[tuple[str, str, str], tuple[Path, tuple[Any, ...]]] = {}
    for path, cfg in files:
        prefix = cfg.broker.topic_prefix or ""
        listed: list[tuple[tuple[Any, ...], tuple[str, str]]] = [
            (("sensors", i, "device"), (s.family, s.device)) for i, s in enumerate(cfg.sensors)
        ]
        if cfg.site.outdoor_sensor is not None:
            outdoor = cfg.site.outdoor_sensor
            listed.append((("site", "outdoor_sensor", "device"), (outdoor.family, outdoor.device)))
        for loc, (family, device) in listed:
            first = claimed.setdefault((prefix, family, device), (path, loc))
            if first[0] != path:
                problems.append(
                    f"{path}:{line(path, loc)}: {dotted(loc)}: {family} sensor {device!r} "
                    f"is listed by {first[0]}:{line(*first)} ({dotted(first[1])}) too: a "
                    "sensor is one site's, unless the sites set each its own broker.topic_prefix"
                )
    prefixes = [(cfg.broker.topic_prefix, path) for path, cfg in files if cfg.broker.topic_prefix]
    for outer, outer_path in prefixes:
        for inner, inner_path in prefixes:
            if inner.startswith(outer + "/"):
                problems.append(
                    f"{inner_path}: broker.topic_prefix {inner!r} is inside {outer_path}'s "
                    f"{outer!r}: their topics would match both"
                )
    return problems


def _plain(node: Any) -> Any:
    """ruamel's round-trip types -> plain dicts/lists, so pydantic sees ordinary data."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
