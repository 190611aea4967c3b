"""Guidance profiles: the published figures as versioned data files under `profiles/`.

A profile is loaded once and never changed; every result computed with it carries its id and
version, so a page, an alert or a report can always say which guidance it applied.

Every rule says which part of it is a source's and which part is ventwatch's. The source's
part is a `Basis`: which source the figure comes from, the source's own words (a short
quotation) and how far they were checked (Verified, Secondary, Unverified: the labels of the
guidance notes). ventwatch's part (`ventwatch`) is what no source says: how long a run must
last, how many days make "consistently", what a band or a severity is called. Sources rarely
give a duration, and a page saying "HSE: 20 minutes" would credit HSE with ventwatch's choice;
so a figure without a source and a label is refused, and `Attribution` words both parts the
one way every page, alert message and report shows them.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

# The modes BB101 judges a room in: a hybrid ("mixed") room runs in one or the other.
Mode = Literal["natural", "mechanical"]
MODES: tuple[Mode, ...] = ("natural", "mechanical")
BuildingType = Literal["new", "refurbished"]
BUILDING_TYPES: tuple[BuildingType, ...] = ("new", "refurbished")
AgeGroup = Literal["primary", "secondary", "adult"]
# How far a figure was checked; "project choice" is a figure of ventwatch's own.
Checked = Literal["verified", "secondary", "unverified", "project choice"]
CHECKED: dict[Checked, str] = {
    "verified": "Verified",
    "secondary": "Secondary",
    "unverified": "Unverified",
    "project choice": "Project choice",
}
BUILDING_WORDS: dict[BuildingType, str] = {"new": "new build", "refurbished": "refurbished"}
# The source every BB101 figure cites (checked by `BB101`): rules judging BB101's daily
# criteria cite it without a basis of their own.
BB101_KEY = "BB101"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Frozen):
    key: str
    title: str
    publisher: str
    year: int | None
    url: str | None
    status: Checked = "verified"  # how the source itself was read


class Basis(Frozen):
    """The source's part of a rule: whose figure it is, in their words, and how far that was
    checked. A Secondary figure was read in someone else's quotation or summary (`via`)."""

    source: str
    status: Checked
    quote: str | None = Field(default=None, min_length=1)
    via: str | None = None
    caveat: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Basis:
        if self.status == "project choice":
            if self.quote is not None or self.via is not None:
                raise ValueError(f"{self.source}: a project choice quotes no source")
        elif self.quote is None:
            raise ValueError(f"{self.source}: a figure from a source needs its words (quote)")
        return self

    def overridden(self, old: float, new: float, unit: str) -> Basis:
        """This basis for a figure the site file changed: it says so, and what was replaced."""
        note = f"this site's file sets {new:g} {unit} here, in place of the profile's {old:g}"
        return self.model_copy(update={"caveat": f"{note}; {self.caveat}" if self.caveat else note})


class Rule(Frozen):
    """A figure with its source's part (`basis`) and ventwatch's part (`ventwatch`)."""

    basis: Basis
    ventwatch: str = Field(min_length=1)

    @property
    def source(self) -> str:
        return self.basis.source


class CO2Band(Rule):
    name: str
    below_ppm: float | None
    label: str
    advice: str


StatusKind = Literal["run", "bb101_ceiling", "bb101_mean"]
StatusName = Literal["green", "amber", "red", "grey"]  # the machine values CSV/JSON keep
# Colour names a person would not act on: a status's word must say what it means.
COLOUR_WORDS: frozenset[str] = frozenset({"green", "amber", "red", "grey", "gray"})


class StatusLook(Frozen):
    """How people are told one status, the same on every page, email, report and export:
    a plain word, a symbol and a colour. The word and the symbol carry it without the
    colour (greyscale print, colour-blind readers, screen readers)."""

    word: str = Field(min_length=1, max_length=30)
    symbol: str = Field(min_length=1, max_length=2)
    colour: str = Field(pattern=r"^#[0-9a-f]{6}$")  # lower-case hex, safe inside a style

    @property
    def text(self) -> str:
        """'✖ Poor': the symbol and word together, where one string is shown."""
        return f"{self.symbol}\u00a0{self.word}"


class Statuses(Frozen):
    """The one definition of the status words. A live band takes the look of the status it
    stands for (`Profile.band_status`): a room whose newest reading is in the highest band
    is called what a room judged red over a week is called."""

    green: StatusLook
    amber: StatusLook
    red: StatusLook
    grey: StatusLook

    @model_validator(mode="after")
    def _distinct(self) -> Statuses:
        looks = [self.green, self.amber, self.red, self.grey]
        for what in ("word", "symbol", "colour"):
            values = [str(getattr(x, what)).casefold() for x in looks]
            if len(set(values)) != len(values):
                raise ValueError(f"statuses: each status needs a {what} of its own: {values}")
        for look in looks:
            if look.word.casefold() in COLOUR_WORDS:
                raise ValueError(f"statuses: {look.word!r} is a colour; say what it means")
        return self

    def of(self, status: StatusName) -> StatusLook:
        look: StatusLook = getattr(self, status)
        return look


class StatusRule(Frozen):
    """A room gets `status` over a period when its rule holds on some day of it. A `run` rule
    holds when `for_minutes` consecutive occupied minutes stay above `above_ppm`. The BB101
    kinds hold on a school day over BB101's own daily criteria (`bb101_ceiling`: above the
    20-minute ceiling for longer than it allows; `bb101_mean`: the day's mean over the daily
    mean), with the figures, and their sources, of the profile's `bb101` section for the mode
    and building the room was judged in that day."""

    status: Literal["red", "amber"]
    kind: StatusKind = "run"
    above_ppm: float | None = Field(default=None, gt=0)
    for_minutes: int | None = Field(default=None, ge=1)
    basis: Basis | None = None
    ventwatch: str = Field(min_length=1)
    meaning: str

    @model_validator(mode="after")
    def _figures(self) -> StatusRule:
        given = [k for k in ("above_ppm", "for_minutes", "basis") if getattr(self, k) is not None]
        if self.kind == "run" and len(given) < 3:
            raise ValueError(f"a {self.status} run rule needs above_ppm, for_minutes and basis")
        if self.kind != "run" and given:
            raise ValueError(
                f"a {self.kind} rule takes its figures from the bb101 section: no {given[0]}"
            )
        return self

    @property
    def source(self) -> str:
        """The key of the source its figure comes from (BB101 for the daily criteria)."""
        return self.basis.source if self.basis is not None else BB101_KEY


class Consistently(Rule):
    """The "consistently" reading of a period: red (amber) when the room was red (amber, or
    red) on at least `days` of any `of_days` consecutive school days it was in use."""

    days: int = Field(ge=1)
    of_days: int = Field(ge=1)

    @model_validator(mode="after")
    def _fits(self) -> Consistently:
        if self.days > self.of_days:
            raise ValueError(f"consistently: {self.days} days cannot fit in {self.of_days}")
        return self


class StatusSection(Frozen):
    min_coverage_pct: float = Field(ge=0, le=100)
    rules: list[StatusRule] = Field(min_length=1)
    episode_thresholds_ppm: list[float] = Field(min_length=1)
    consistently: Consistently

    @property
    def uses_bb101(self) -> bool:
        """Does a status rule judge BB101's daily criteria (so needs each day's BB101 result)?"""
        return any(r.kind != "run" for r in self.rules)


class BB101Criterion(Frozen):
    """BB101's two daily figures for one operating mode and building type, each with its own
    source and label: they were not all found in the same place, nor checked as far."""

    mode: Mode
    building: BuildingType
    daily_mean_below_ppm: float = Field(gt=0)
    mean: Basis
    ceiling_ppm: float = Field(gt=0)
    ceiling_minutes: int = Field(ge=1)
    ceiling: Basis

    @property
    def name(self) -> str:
        return f"{self.mode} ventilation, {BUILDING_WORDS[self.building]}"

    def mean_figure(self) -> str:
        return f"{self.name}: daily mean under {self.daily_mean_below_ppm:g} ppm"

    def ceiling_figure(self) -> str:
        return (
            f"{self.name}: not over {self.ceiling_ppm:g} ppm for more than "
            f"{self.ceiling_minutes} consecutive minutes a day"
        )


class UndeclaredMode(Rule):
    """How a hybrid room whose site file declares no operating mode is judged, and labelled."""

    mode: Mode
    label: str


class UndeclaredBuilding(Rule):
    """How a room whose site file declares no building type is judged, and labelled."""

    building: BuildingType
    label: str


class BB101(Rule):
    """BB101's daily criteria. `basis` is that of the window (the occupied period, breaks
    and lunch included); the figures are the criteria's, one per mode and building type."""

    note: str
    undeclared_mode: UndeclaredMode
    undeclared_building: UndeclaredBuilding
    criteria: list[BB101Criterion]

    @model_validator(mode="after")
    def _every_case(self) -> BB101:
        bases = [self.basis, *(b for c in self.criteria for b in (c.mean, c.ceiling))]
        if any(b.source != BB101_KEY for b in bases):
            raise ValueError(f"the bb101 window and criteria cite {BB101_KEY}")
        cases = [(c.mode, c.building) for c in self.criteria]
        for mode in MODES:
            for building in BUILDING_TYPES:
                if cases.count((mode, building)) != 1:
                    raise ValueError(
                        f"bb101 needs exactly one criterion for {mode} ventilation, {building}"
                    )
        return self

    def criterion(self, mode: Mode, building: BuildingType) -> BB101Criterion:
        return next(c for c in self.criteria if (c.mode, c.building) == (mode, building))


class TemperatureLabel(Rule):
    """One thing a temperature can be called, with its own figure and source: ACoP L24's
    minimum makes a room "cold", NEU's range "below comfort" or "above comfort". Each label
    carries its source, because the two differ in kind (an Approved Code of Practice, a
    union's position) and a page calling 17 °C "cold" would credit L24 with NEU's figure."""

    label: str = Field(min_length=1)  # "cold", "below comfort"
    cited_as: str = Field(min_length=1)  # the source as the label names it: "ACoP L24"

    @property
    @abstractmethod
    def figure_c(self) -> float:
        """The label's figure in °C."""

    @property
    @abstractmethod
    def figure(self) -> str:
        """'below 16 °C', 'over 26 °C'."""

    @property
    def words(self) -> str:
        """The label with its figure and source, the one way pages and reports say it:
        'cold (below 16 °C, ACoP L24)'."""
        return f"{self.label} ({self.figure}, {self.cited_as})"


class BelowLabel(TemperatureLabel):
    """A label for minutes under `below_c` (at `below_c` is not under it: L24's "at least")."""

    below_c: float

    @property
    def figure_c(self) -> float:
        return self.below_c

    @property
    def figure(self) -> str:
        return f"below {self.below_c:g} °C"


class AboveLabel(TemperatureLabel):
    """A label for minutes over `above_c`."""

    above_c: float

    @property
    def figure_c(self) -> float:
        return self.above_c

    @property
    def figure(self) -> str:
        return f"over {self.above_c:g} °C"


class Temperature(Frozen):
    """The temperature labels. `cold` is ACoP L24's workroom minimum; `cold_severe_effort`
    its minimum where much of the work involves severe physical effort, applied to the rooms
    a site file marks so (`physical_effort: severe`); `below_comfort` and `above_comfort`
    are NEU's classroom range. The labels overlap: 15 °C is cold and below comfort."""

    cold: BelowLabel
    cold_severe_effort: BelowLabel
    below_comfort: BelowLabel
    above_comfort: AboveLabel

    @model_validator(mode="after")
    def _ordered(self) -> Temperature:
        figures = [
            self.cold_severe_effort.below_c,
            self.cold.below_c,
            self.below_comfort.below_c,
            self.above_comfort.above_c,
        ]
        if figures != sorted(figures) or figures[2] == figures[3]:
            raise ValueError(
                "temperature: cold_severe_effort <= cold <= below_comfort < above_comfort"
            )
        return self

    def cold_for(self, severe_effort: bool) -> BelowLabel:
        """A room's "cold": L24's severe-effort minimum where the site file says much of
        the work there involves severe physical effort, else its workroom minimum."""
        return self.cold_severe_effort if severe_effort else self.cold


class Humidity(Rule):
    min_pct: float
    max_pct: float


class FreshAirRate(Rule):
    """The outdoor air per person every L/s-per-person estimate is shown against: the ACoP's
    "should not normally fall below 5 to 8 litres per second, per occupant"."""

    low_lps: float = Field(gt=0)
    high_lps: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> FreshAirRate:
        if self.low_lps > self.high_lps:
            raise ValueError("fresh_air_per_person: low_lps is above high_lps")
        return self


class VentilationSection(Rule):
    # C_out when neither the room's unoccupied floor nor an outdoor sensor gives one.
    outdoor_ppm: float = Field(gt=0)
    # The range outdoor air can plausibly read: a room's floor or an outdoor sensor's level
    # outside it is not taken as outdoor air.
    outdoor_min_ppm: float = Field(gt=0)
    outdoor_max_ppm: float = Field(gt=0)
    exhaled_co2_ppm: float = Field(gt=0)  # CO2 added to exhaled breath (Rudnick & Milton)
    met: float
    generation_lps: dict[AgeGroup, float]  # CO2 per person, L/s, at `met`
    min_decay_minutes: int = Field(ge=5)
    min_excess_ppm: float  # below this C_in - C_out, sensor error dominates
    fresh_air_per_person: FreshAirRate

    @model_validator(mode="after")
    def _outdoor_range(self) -> VentilationSection:
        if not self.outdoor_min_ppm <= self.outdoor_ppm <= self.outdoor_max_ppm:
            raise ValueError("ventilation: outdoor_ppm is outside outdoor_min_ppm-outdoor_max_ppm")
        return self


class Health(Rule):
    flat_line_minutes: int
    low_floor_ppm: float
    high_floor_ppm: float


AlertKind = Literal[
    "co2_above", "temperature_below", "temperature_above", "offline", "drift", "bb101_daily"
]
# The rules judged on the newest minutes, each past its threshold in one direction.
STREAMING_KINDS: tuple[AlertKind, ...] = ("co2_above", "temperature_below", "temperature_above")
# The unit of each kind's threshold (the others have none).
ALERT_UNITS: dict[str, str] = {
    "co2_above": "ppm",
    "temperature_below": "°C",
    "temperature_above": "°C",
}
Severity = Literal["urgent", "advisory", "info"]
SEVERITIES: tuple[Severity, ...] = ("urgent", "advisory", "info")


class AlertRule(Frozen):
    """When to tell a rep. A streaming rule (`co2_above`, `temperature_below`,
    `temperature_above`) holds after `for_minutes` consecutive occupied minutes past
    `threshold`, and clears after `clear_minutes` back past `threshold` minus (or, for
    `temperature_below`, plus) `clear_margin`: the margin keeps a value hovering at the
    figure from opening and closing the alert every minute. A temperature rule alerts on a
    label of the temperature section, at its figure (`Profile` checks they agree); a
    `temperature_below` rule follows a room's own "cold" (L24's severe-effort figure in a
    room the site file marks so). `offline` holds after `for_minutes` occupied minutes without a
    reading; `drift` and `bb101_daily` are judged once a school day, after it ends.

    `basis` is the threshold's source (`bb101_daily` takes its figures, and their sources,
    from the bb101 section). `duration_reason` says why a CO2 alert waits longer or shorter
    than the status rule with the same figure: a room must not be amber on a page for a
    reason the alert would contradict without saying why."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: AlertKind
    severity: Severity
    threshold: float | None = None
    for_minutes: int = Field(default=0, ge=0)
    clear_margin: float = Field(default=0, ge=0)
    clear_minutes: int = Field(default=0, ge=0)
    basis: Basis | None = None
    ventwatch: str = Field(min_length=1)
    duration_reason: str | None = Field(default=None, min_length=1)
    meaning: str

    @model_validator(mode="after")
    def _complete(self) -> AlertRule:
        streaming = self.kind in STREAMING_KINDS
        if streaming and self.threshold is None:
            raise ValueError(f"alert rule {self.id!r} ({self.kind}) needs a threshold")
        if (streaming or self.kind == "offline") and self.for_minutes < 1:
            raise ValueError(f"alert rule {self.id!r} ({self.kind}) needs for_minutes >= 1")
        if (self.basis is None) != (self.kind == "bb101_daily"):
            raise ValueError(
                f"alert rule {self.id!r}: a bb101_daily rule takes its figures from the bb101"
                " section; every other rule needs a basis"
            )
        return self

    @property
    def source(self) -> str:
        """The key of the source its figure comes from ("BB101" for the daily criteria)."""
        return self.basis.source if self.basis is not None else BB101_KEY


CO2_KINDS: tuple[AlertKind, ...] = ("co2_above",)  # what a first step is for, unless it says


class FirstStep(Frozen):
    """One of the first practical steps an alert message lists, so a rep can act from the
    email: what to do, in ventwatch's words, and the part of the source it comes from. The
    guidance is read in summaries and paraphrase, so `where` names the part of the source and
    never poses as a quotation; `status` says how far that was checked, `caveat` what was not."""

    do: str = Field(min_length=1)
    source: str  # a key of the profile's sources
    where: str = Field(min_length=1)  # "step 4, practical steps to improve ventilation"
    status: Checked
    caveat: str | None = Field(default=None, min_length=1)
    kinds: list[AlertKind] = Field(default_factory=lambda: list(CO2_KINDS), min_length=1)


class AlertsSection(Frozen):
    rules: list[AlertRule] = Field(min_length=1)
    # What an alert's message says to do first, for the rule kinds each names.
    first_steps: list[FirstStep] = Field(default_factory=list)

    def steps_for(self, kind: str) -> list[FirstStep]:
        return [step for step in self.first_steps if kind in step.kinds]

    @model_validator(mode="after")
    def _unique(self) -> AlertsSection:
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError(f"alert rule ids repeat: {ids}")
        return self


@dataclass(frozen=True, slots=True)
class Attribution:
    """A rule in words, the one way pages, alert messages and reports say it: what its
    sources say (`figures`, one line per figure: the figure, whose it is, their words, how far
    that was checked) and what ventwatch chose (`ventwatch`)."""

    figures: tuple[str, ...]
    ventwatch: str
    keys: tuple[str, ...]  # the sources cited, in order, without repeats

    @property
    def source_part(self) -> str:
        return " ".join(self.figures)

    @property
    def ventwatch_part(self) -> str:
        return f"ventwatch's choice: {self.ventwatch}"

    @property
    def text(self) -> str:
        return f"{self.source_part} {self.ventwatch_part}"


Attributed = (
    CO2Band
    | StatusRule
    | AlertRule
    | Consistently
    | UndeclaredMode
    | UndeclaredBuilding
    | TemperatureLabel
)


class Profile(Frozen):
    id: str
    version: str
    title: str
    summary: str
    sources: list[Source] = Field(min_length=1)
    co2_bands: list[CO2Band] = Field(min_length=2)
    stale_after_minutes: float = Field(gt=0)
    status: StatusSection
    statuses: Statuses
    bb101: BB101
    temperature: Temperature
    humidity: Humidity
    ventilation: VentilationSection
    health: Health
    alerts: AlertsSection

    def cited_figures(self) -> Iterator[tuple[str, Basis]]:
        """Every figure's basis, with where it is: what validation checks one by one (and
        names in its errors)."""
        for band in self.co2_bands:
            yield f"co2_bands {band.name}", band.basis
        for rule in self.status.rules:
            if rule.basis is not None:
                yield f"status rule {rule.status}", rule.basis
        yield "status consistently", self.status.consistently.basis
        yield "bb101 window", self.bb101.basis
        yield "bb101 undeclared_mode", self.bb101.undeclared_mode.basis
        yield "bb101 undeclared_building", self.bb101.undeclared_building.basis
        for c in self.bb101.criteria:
            yield f"bb101 {c.name} mean", c.mean
            yield f"bb101 {c.name} ceiling", c.ceiling
        t = self.temperature
        yield "temperature cold", t.cold.basis
        yield "temperature cold_severe_effort", t.cold_severe_effort.basis
        yield "temperature below_comfort", t.below_comfort.basis
        yield "temperature above_comfort", t.above_comfort.basis
        yield "humidity", self.humidity.basis
        yield "ventilation", self.ventilation.basis
        yield "ventilation fresh_air_per_person", self.ventilation.fresh_air_per_person.basis
        yield "health", self.health.basis
        for alert in self.alerts.rules:
            if alert.basis is not None:
                yield f"alert rule {alert.id}", alert.basis

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        sources = {s.key: s for s in self.sources}
        for where, basis in self.cited_figures():
            for key in (basis.source, basis.via):
                if key is not None and key not in sources:
                    raise ValueError(f"{where} cites unknown source {key!r}")
            own = sources[basis.source].status == "project choice"
            if own != (basis.status == "project choice"):
                raise ValueError(
                    f"{where}: only ventwatch's own source is a project choice"
                    f" ({basis.source} is labelled {basis.status!r})"
                )
        for step in self.alerts.first_steps:
            if step.source not in sources:
                raise ValueError(f"alerts first_steps cite unknown source {step.source!r}")
        limits = [b.below_ppm for b in self.co2_bands]
        if limits[-1] is not None or None in limits[:-1]:
            raise ValueError("every band but the last needs below_ppm; the last has none")
        bounded = [x for x in limits if x is not None]
        if bounded != sorted(bounded):
            raise ValueError("co2_bands must go from the lowest threshold up")
        self._durations_explained()
        self._temperatures_agree()
        return self

    def _durations_explained(self) -> None:
        """A CO2 alert at a status rule's figure but another duration must say why; one that
        agrees with the status rules must not carry a reason that would go stale."""
        runs = {r.above_ppm: r for r in self.status.rules if r.kind == "run"}
        for alert in self.alerts.rules:
            if alert.kind != "co2_above":
                continue
            status = runs.get(alert.threshold)
            if status is None or status.for_minutes == alert.for_minutes:
                if alert.duration_reason is not None:
                    raise ValueError(
                        f"alert rule {alert.id!r} agrees with the status rules: no duration_reason"
                    )
            elif alert.duration_reason is None:
                raise ValueError(
                    f"alert rule {alert.id!r} holds after {alert.for_minutes} minutes where the"
                    f" {status.status} status needs {status.for_minutes}: say why"
                    " (duration_reason)"
                )

    def _temperatures_agree(self) -> None:
        """A temperature alert is the temperature section's label with a duration: the same
        figure from the same source, so an alert never calls a room cold (or hot) that the
        room page does not, nor cites another source for it."""
        labels = {
            "temperature_below": self.temperature.cold,
            "temperature_above": self.temperature.above_comfort,
        }
        for alert in self.alerts.rules:
            label = labels.get(alert.kind)
            if label is None:
                continue
            assert alert.basis is not None  # checked by AlertRule
            if alert.threshold != label.figure_c or alert.basis.source != label.source:
                raise ValueError(
                    f"alert rule {alert.id!r} ({alert.kind}) is at {alert.threshold:g} °C from"
                    f" {alert.basis.source}; the temperature section's {label.label!r} is"
                    f" {label.figure_c:g} °C from {label.source}: they must agree"
                )

    def source(self, key: str) -> Source:
        return next(s for s in self.sources if s.key == key)

    def with_status_rules(self, rules: list[StatusRule]) -> Profile:
        """The same profile with a room's own status rules (a site-file override)."""
        return self.model_copy(update={"status": self.status.model_copy(update={"rules": rules})})

    def said(self, figure: str, basis: Basis) -> str:
        """One figure and the source's part of it, in the words every page uses."""
        if basis.status == "project choice":
            line = f"{figure}: ventwatch's own figure, not from a published source."
        else:
            source = self.source(basis.source)
            read = f", read in {basis.via}" if basis.via else ""
            line = (
                f"{figure}: {source.publisher} ({basis.source}; {CHECKED[basis.status]}{read}):"
                f" \u201c{basis.quote}\u201d"
            )
        return f"{line} Caveat: {basis.caveat}." if basis.caveat else line

    def attribution(self, item: Attributed, criterion: BB101Criterion | None = None) -> Attribution:
        """The source's part and ventwatch's part of a band, a rule or an assumption; for a
        BB101 status rule judged by one `criterion` (a room's), that criterion's figure only."""
        if isinstance(item, StatusRule) and item.kind != "run" and criterion is not None:
            ceiling = item.kind == "bb101_ceiling"
            figure = (
                (criterion.ceiling_figure(), criterion.ceiling)
                if ceiling
                else (criterion.mean_figure(), criterion.mean)
            )
            return self._attribution([figure, ("the day judged", self.bb101.basis)], item.ventwatch)
        return self._attribution(self._figures(item), item.ventwatch)

    def criterion_attribution(self, criterion: BB101Criterion) -> Attribution:
        """BB101's two figures for one mode and building, and the daily window they use."""
        figures = [
            (criterion.mean_figure(), criterion.mean),
            (criterion.ceiling_figure(), criterion.ceiling),
            ("the day judged", self.bb101.basis),
        ]
        return self._attribution(figures, self.bb101.ventwatch)

    def _attribution(self, figures: list[tuple[str, Basis]], ventwatch: str) -> Attribution:
        keys = dict.fromkeys(b.source for _, b in figures)
        return Attribution(tuple(self.said(f, b) for f, b in figures), ventwatch, tuple(keys))

    def _figures(self, item: Attributed) -> list[tuple[str, Basis]]:
        criteria = self.bb101.criteria
        if isinstance(item, CO2Band):
            return [(self.band_range(item), item.basis)]
        if isinstance(item, StatusRule):
            if item.kind == "bb101_ceiling":
                return [(c.ceiling_figure(), c.ceiling) for c in criteria]
            if item.kind == "bb101_mean":
                return [(c.mean_figure(), c.mean) for c in criteria]
            assert item.basis is not None  # a run rule's, checked by StatusRule
            return [(f"{item.above_ppm:g} ppm", item.basis)]
        if isinstance(item, AlertRule):
            if item.basis is None:  # bb101_daily
                return [
                    *((c.mean_figure(), c.mean) for c in criteria),
                    *((c.ceiling_figure(), c.ceiling) for c in criteria),
                ]
            unit = ALERT_UNITS.get(item.kind)
            figure = f"{item.threshold:g} {unit}" if unit else "the rule"
            return [(figure, item.basis)]
        if isinstance(item, Consistently):
            return [("\u201cconsistently\u201d", item.basis)]
        if isinstance(item, TemperatureLabel):
            return [(item.figure, item.basis)]
        return [(item.label, item.basis)]

    def band_range(self, band: CO2Band) -> str:
        """'under 800 ppm', '800 to 1500 ppm', 'over 1500 ppm'."""
        index = self.co2_bands.index(band)
        lower = self.co2_bands[index - 1].below_ppm if index else None
        if lower is None:
            return f"under {band.below_ppm:g} ppm"
        if band.below_ppm is None:
            return f"over {lower:g} ppm"
        return f"{lower:g} to {band.below_ppm:g} ppm"

    def band_status(self, band: str) -> StatusName:
        """The status a live band stands for, by its place: the lowest band green, the
        highest red, any between amber (as the report's charts tint them)."""
        names = [b.name for b in self.co2_bands]
        index = names.index(band)
        return "green" if index == 0 else "red" if index == len(names) - 1 else "amber"

    def consistently_rule(self) -> str:
        """The "consistently" rule in the status words: '"Poor" ("Needs action" or worse) on
        at least 3 of any 5 consecutive school days, ...'."""
        c, words = self.status.consistently, self.statuses
        return (
            f"\u201c{words.red.word}\u201d (\u201c{words.amber.word}\u201d or worse) on at"
            f" least {c.days} of any {c.of_days} consecutive school days, each day judged by"
            " the status rules"
        )

    def green_meaning(self) -> str:
        """What green means under these rules: none of them held (worded from the rules)."""
        runs = [r for r in self.status.rules if r.kind == "run"]
        if runs:
            mildest = runs[-1]
            return (
                f"No run of {mildest.for_minutes} consecutive occupied minutes above "
                f"{mildest.above_ppm:g} ppm."
            )
        return "No school day over BB101's daily mean or its 20-minute ceiling."


class UnknownProfileError(LookupError):
    pass


def available_profiles() -> list[str]:
    folder = files("ventwatch.analysis") / "profiles"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


@cache
def load_profile(profile_id: str) -> Profile:
    resource = files("ventwatch.analysis") / "profiles" / f"{profile_id}.yaml"
    if not resource.is_file():
        known = ", ".join(available_profiles())
        raise UnknownProfileError(f"no guidance profile {profile_id!r} (shipped: {known})")
    return Profile.model_validate(yaml.safe_load(resource.read_text(encoding="utf-8")))


def alert_rule_ids() -> dict[str, list[str]]:
    """Each shipped profile's id with its alert rules' ids: what a site file may name in
    `guidance.profile` and `alerts.rules`. The core's `load_site` checks a site file against
    them when given them (`profiles=`), since the core imports no stage."""
    return {
        pid: [rule.id for rule in load_profile(pid).alerts.rules] for pid in available_profiles()
    }


def _rule_text(rule: StatusRule, profile: Profile) -> str:
    """A status rule in a table cell: each figure with its source and label, and what
    ventwatch added."""
    if rule.kind == "run":
        assert rule.basis is not None  # checked by StatusRule
        label = CHECKED[rule.basis.status]
        return (
            f"> {rule.above_ppm:g} ppm ({rule.basis.source}, {label}) "
            f"for {rule.for_minutes} min (ventwatch)"
        )
    if rule.kind == "bb101_ceiling":
        what = "a day over the 20-min ceiling"
        figures = [(c, c.ceiling_ppm, c.ceiling) for c in profile.bb101.criteria]
    else:
        what = "a day's mean over the daily mean"
        figures = [(c, c.daily_mean_below_ppm, c.mean) for c in profile.bb101.criteria]
    listed = ", ".join(
        f"{c.mode} {BUILDING_WORDS[c.building]} {ppm:g} ({CHECKED[b.status]})"
        for c, ppm, b in figures
    )
    return f"{what} ({profile.bb101.basis.source}): {listed}"


def profiles_table() -> str:
    """The shipped profiles as a Markdown table (docs/guidance.md's, kept in step by a test)."""
    lines = [
        "| id | version | title | red | amber | consistently | sources |",
        "|---|---|---|---|---|---|---|",
    ]
    for pid in available_profiles():
        p = load_profile(pid)
        rules = {r.status: _rule_text(r, p) for r in p.status.rules}
        c = p.status.consistently
        cited = (
            "ventwatch"
            if c.basis.status == "project choice"
            else f"{c.basis.source}, {CHECKED[c.basis.status]}; the numbers: ventwatch"
        )
        consistently = f"{c.days} of {c.of_days} school days ({cited})"
        keys = ", ".join(s.key for s in p.sources)
        lines.append(
            f"| `{p.id}` | {p.version} | {p.title} | {rules.get('red', '-')} "
            f"| {rules.get('amber', '-')} | {consistently} | {keys} |"
        )
    return "\n".join(lines) + "\n"
