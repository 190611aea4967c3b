"""Each room's alert rules: the profile's, changed by the site file's overrides.

The profile holds the figures (data, with their sources); a site may lower a figure for a
music room or switch a rule off, and every alert keeps the rule it was opened under so that
its messages cite the figure and the source actually applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ventwatch.analysis.profiles import ALERT_UNITS, AlertRule, Attribution, Profile
from ventwatch.config import SiteConfig

UNITS = ALERT_UNITS  # a threshold's unit, by rule kind


def severe_effort_rule(rule: AlertRule, profile: Profile) -> AlertRule:
    """A `temperature_below` rule (at the profile's "cold", checked by `Profile`) as it
    applies to a room the site file marks `physical_effort: severe`: L24's severe-effort
    figure, with that figure's own basis, meaning and ventwatch's part."""
    cold = profile.temperature.cold_severe_effort
    return rule.model_copy(
        update={
            "threshold": cold.below_c,
            "basis": cold.basis,
            "meaning": (
                f"Below {cold.below_c:g} °C for {rule.for_minutes} minutes of lesson time: "
                f"{cold.words}."
            ),
            "ventwatch": f"{rule.ventwatch} {cold.ventwatch}",
        }
    )


def room_rules(site: SiteConfig, profile: Profile) -> dict[str, list[AlertRule]]:
    """Room name -> the rules that apply to it: a room's own "cold" first (severe physical
    effort), then the site file's overrides in file order."""
    out: dict[str, list[AlertRule]] = {}
    for room in site.rooms:
        rules = []
        for rule in profile.alerts.rules:
            if rule.kind == "temperature_below" and room.physical_effort == "severe":
                rule = severe_effort_rule(rule, profile)
            enabled = True
            for override in site.alerts.rules:
                if override.rule != rule.id or (override.rooms and room.name not in override.rooms):
                    continue
                enabled = override.enabled
                changes: dict[str, Any] = {
                    key: value
                    for key, value in (
                        ("threshold", override.threshold),
                        ("for_minutes", override.for_minutes),
                    )
                    if value is not None
                }
                new = changes.get("threshold")
                if new is not None and rule.basis is not None and rule.threshold is not None:
                    # The figure is now the site's: its basis says so beside the source's.
                    unit = UNITS.get(rule.kind, "")
                    changes["basis"] = rule.basis.overridden(rule.threshold, new, unit)
                if changes:
                    rule = rule.model_copy(update=changes)
            if enabled:
                rules.append(rule)
        out[room.name] = rules
    return out


def describe(rule: AlertRule) -> str:
    """The rule in a line, for messages and pages: what was checked, not what it means."""
    if rule.kind == "co2_above":
        return f"CO2 above {rule.threshold:g} ppm for {rule.for_minutes} occupied minutes"
    if rule.kind == "temperature_below":
        return f"temperature below {rule.threshold:g} °C for {rule.for_minutes} occupied minutes"
    if rule.kind == "temperature_above":
        return f"temperature above {rule.threshold:g} °C for {rule.for_minutes} occupied minutes"
    if rule.kind == "offline":
        return f"no reading for {rule.for_minutes} occupied minutes"
    if rule.kind == "drift":
        return "sensor drift suspected (judged after each school day)"
    return "BB101 daily mean criterion (judged after each school day)"


def snapshot(rule: AlertRule, profile: Profile) -> dict[str, Any]:
    """The rule as an alert keeps it from the moment it opens: its figures, the line that
    describes it, and its attribution as worded then, so every message about the alert says
    the same, even after the profile changes."""
    words = profile.attribution(rule)
    return {
        **rule.model_dump(),
        "source": rule.source,
        "described": describe(rule),
        "attribution": {
            "figures": list(words.figures),
            "ventwatch": words.ventwatch,
            "keys": list(words.keys),
        },
    }


def attribution_of(rule: Mapping[str, Any], profile: Profile) -> Attribution | None:
    """An alert's attribution from its snapshot; for an alert opened before snapshots kept
    one, the profile's rule of the same id, if it still has it (else None)."""
    kept = rule.get("attribution")
    if kept is not None:
        return Attribution(tuple(kept["figures"]), kept["ventwatch"], tuple(kept["keys"]))
    current = next((r for r in profile.alerts.rules if r.id == rule.get("id")), None)
    return profile.attribution(current) if current is not None else None
