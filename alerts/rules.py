"""Each room's alert rules: the profile's, changed by the site file's overrides.

The profile holds the figures (data, with their sources); a site may lower a figure for a
music room or switch a rule off, and every alert keeps the rule it was opened under so that
its messages cite the figure and the source actually applied.
"""

from __future__ import annotations

from ventwatch.analysis.profiles import AlertRule, Profile
from ventwatch.config import SiteConfig


def room_rules(site: SiteConfig, profile: Profile) -> dict[str, list[AlertRule]]:
    """Room name -> the rules that apply to it, overrides applied in file order."""
    out: dict[str, list[AlertRule]] = {}
    for room in site.rooms:
        rules = []
        for rule in profile.alerts.rules:
            enabled = True
            for override in site.alerts.rules:
                if override.rule != rule.id or (override.rooms and room.name not in override.rooms):
                    continue
                enabled = override.enabled
                changes = {
                    key: value
                    for key, value in (
                        ("threshold", override.threshold),
                        ("for_minutes", override.for_minutes),
                    )
                    if value is not None
                }
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
    if rule.kind == "offline":
        return f"no reading for {rule.for_minutes} occupied minutes"
    if rule.kind == "drift":
        return "sensor drift suspected (judged after each school day)"
    return "BB101 daily mean criterion (judged after each school day)"
