"""Guidance profiles: the published figures as versioned data files under `profiles/`.

A profile is loaded once and never changed; every result computed with it carries its id and
version, so a page, an alert or a report can always say which guidance it applied. Every rule
names the source it comes from (a key of `sources`); a project choice cites the `ventwatch`
source, which says so.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Ventilation = Literal["natural", "mechanical", "mixed"]
AgeGroup = Literal["primary", "secondary", "adult"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Frozen):
    key: str
    title: str
    publisher: str
    year: int | None
    url: str | None
    status: Literal["verified", "secondary", "unverified", "project choice"] = "verified"


class Cited(Frozen):
    """A rule: it must say where its figures come from."""

    source: str


class CO2Band(Cited):
    name: str
    below_ppm: float | None
    label: str
    advice: str


class StatusRule(Cited):
    """A room gets `status` when a run of `for_minutes` consecutive occupied minutes stays
    above `above_ppm` (a figure per ventilation type where the guidance differs by type)."""

    status: Literal["red", "amber"]
    above_ppm: float | dict[Ventilation, float]
    for_minutes: int = Field(ge=1)
    meaning: str

    def threshold(self, ventilation: Ventilation) -> float:
        if isinstance(self.above_ppm, dict):
            return self.above_ppm[ventilation]
        return self.above_ppm


class StatusSection(Frozen):
    min_coverage_pct: float = Field(ge=0, le=100)
    rules: list[StatusRule] = Field(min_length=1)
    episode_thresholds_ppm: list[float] = Field(min_length=1)


class BB101(Cited):
    daily_mean_max_ppm: dict[Ventilation, float]
    max_20min_ppm: dict[Ventilation, float]
    note: str


class Temperature(Cited):
    minimum_c: float
    comfort_min_c: float
    comfort_max_c: float
    comfort_source: str


class Humidity(Cited):
    min_pct: float
    max_pct: float


class VentilationSection(Cited):
    outdoor_ppm: float = Field(gt=0)
    exhaled_co2_ppm: float = Field(gt=0)  # CO2 added to exhaled breath (Rudnick & Milton)
    met: float
    generation_lps: dict[AgeGroup, float]  # CO2 per person, L/s, at `met`
    min_decay_minutes: int = Field(ge=5)
    min_excess_ppm: float  # below this C_in - C_out, sensor error dominates


class Health(Cited):
    flat_line_minutes: int
    low_floor_ppm: float
    high_floor_ppm: float


AlertKind = Literal["co2_above", "temperature_below", "offline", "drift", "bb101_daily"]
Severity = Literal["urgent", "advisory", "info"]
SEVERITIES: tuple[Severity, ...] = ("urgent", "advisory", "info")


class AlertRule(Cited):
    """When to tell a rep. A streaming rule (`co2_above`, `temperature_below`) holds after
    `for_minutes` consecutive occupied minutes past `threshold`, and clears after
    `clear_minutes` back past `threshold` minus (or, for `temperature_below`, plus)
    `clear_margin`: the margin keeps a value hovering at the figure from opening and closing
    the alert every minute. `offline` holds after `for_minutes` occupied minutes without a
    reading; `drift` and `bb101_daily` are judged once a school day, after it ends."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: AlertKind
    severity: Severity
    threshold: float | None = None
    for_minutes: int = Field(default=0, ge=0)
    clear_margin: float = Field(default=0, ge=0)
    clear_minutes: int = Field(default=0, ge=0)
    meaning: str

    @model_validator(mode="after")
    def _complete(self) -> AlertRule:
        streaming = self.kind in ("co2_above", "temperature_below")
        if streaming and self.threshold is None:
            raise ValueError(f"alert rule {self.id!r} ({self.kind}) needs a threshold")
        if self.kind in ("co2_above", "temperature_below", "offline") and self.for_minutes < 1:
            raise ValueError(f"alert rule {self.id!r} ({self.kind}) needs for_minutes >= 1")
        return self


class AlertsSection(Frozen):
    rules: list[AlertRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> AlertsSection:
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError(f"alert rule ids repeat: {ids}")
        return self


class Profile(Frozen):
    id: str
    version: str
    title: str
    summary: str
    sources: list[Source] = Field(min_length=1)
    co2_bands: list[CO2Band] = Field(min_length=2)
    stale_after_minutes: float = Field(gt=0)
    status: StatusSection
    bb101: BB101
    temperature: Temperature
    humidity: Humidity
    ventilation: VentilationSection
    health: Health
    alerts: AlertsSection

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        keys = {s.key for s in self.sources}
        cited = [
            *self.co2_bands,
            *self.status.rules,
            self.bb101,
            self.temperature,
            self.humidity,
            self.ventilation,
            self.health,
            *self.alerts.rules,
        ]
        for rule in cited:
            if rule.source not in keys:
                raise ValueError(f"{type(rule).__name__} cites unknown source {rule.source!r}")
        if self.temperature.comfort_source not in keys:
            raise ValueError(
                f"comfort range cites unknown source {self.temperature.comfort_source!r}"
            )
        limits = [b.below_ppm for b in self.co2_bands]
        if limits[-1] is not None or None in limits[:-1]:
            raise ValueError("every band but the last needs below_ppm; the last has none")
        bounded = [x for x in limits if x is not None]
        if bounded != sorted(bounded):
            raise ValueError("co2_bands must go from the lowest threshold up")
        return self

    def source(self, key: str) -> Source:
        return next(s for s in self.sources if s.key == key)

    def with_status_rules(self, rules: list[StatusRule]) -> Profile:
        """The same profile with a room's own status rules (a site-file override)."""
        return self.model_copy(update={"status": self.status.model_copy(update={"rules": rules})})


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


def _rule_text(rule: StatusRule) -> str:
    if isinstance(rule.above_ppm, dict):
        figure = " / ".join(f"{kind} {ppm:g}" for kind, ppm in rule.above_ppm.items())
    else:
        figure = f"{rule.above_ppm:g}"
    return f"> {figure} ppm for {rule.for_minutes} min ({rule.source})"


def profiles_table() -> str:
    """The shipped profiles as a Markdown table (the README's, kept in step by a test)."""
    lines = [
        "| id | version | title | red | amber | sources |",
        "|---|---|---|---|---|---|",
    ]
    for pid in available_profiles():
        p = load_profile(pid)
        rules = {r.status: _rule_text(r) for r in p.status.rules}
        keys = ", ".join(s.key for s in p.sources)
        lines.append(
            f"| `{p.id}` | {p.version} | {p.title} | {rules.get('red', '-')} "
            f"| {rules.get('amber', '-')} | {keys} |"
        )
    return "\n".join(lines) + "\n"
