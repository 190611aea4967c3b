"""Guidance profiles are data that cite their sources, figure by figure, and say what is
ventwatch's; the table in docs/guidance.md comes from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from ventwatch.analysis.profiles import (
    Profile,
    available_profiles,
    load_profile,
    profiles_table,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("joint-union", "hse", "dfe", "bb101-2018")
LABELS = {"verified", "secondary", "unverified", "project choice"}


def test_shipped_profiles() -> None:
    assert set(SHIPPED) <= set(available_profiles())
    for pid in available_profiles():
        profile = load_profile(pid)
        assert profile.id == pid
        assert profile.version
        assert profile.sources
        for source in profile.sources:
            assert source.url or source.status in ("project choice", "secondary"), source.key


def test_changed_profiles_have_new_versions() -> None:
    """Results cite a profile's id and version: a changed profile is a new version."""
    versions = {pid: load_profile(pid).version for pid in SHIPPED}
    assert versions == {"joint-union": "1.2", "hse": "1.2", "dfe": "1.2", "bb101-2018": "2.1"}


@pytest.mark.parametrize("pid", SHIPPED)
def test_every_figure_names_a_source_and_a_label(pid: str) -> None:
    profile = load_profile(pid)
    keys = {s.key for s in profile.sources}
    cited = list(profile.cited_figures())
    # Bands, status rules, consistently, BB101 (window, two assumptions, 4 x 2 figures),
    # temperature (cold, cold for severe effort, below and above comfort), humidity,
    # ventilation (2), health and the alert rules with a figure.
    expected = 3 + 2 + 1 + 1 + 2 + 8 + 4 + 1 + 2 + 1 + 6
    assert len(cited) == expected - 2 * (pid == "bb101-2018")  # its status rules are BB101's
    for where, basis in cited:
        assert basis.source in keys, where
        assert basis.status in LABELS, where
        if basis.status != "project choice":
            assert basis.quote, where
            assert profile.source(basis.source).status != "project choice", where


def raw(pid: str = "joint-union") -> dict[str, Any]:
    return yaml.safe_load((ROOT / "analysis" / "profiles" / f"{pid}.yaml").read_text())


def refused(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        Profile.model_validate(data)


def test_a_rule_without_a_basis_is_refused() -> None:
    data = raw()
    del data["status"]["rules"][0]["basis"]
    refused(data, "run rule needs above_ppm, for_minutes and basis")
    data = raw()
    del data["co2_bands"][1]["basis"]
    refused(data, "basis")
    data = raw()
    del data["alerts"]["rules"][0]["basis"]
    refused(data, "every other rule needs a basis")


def test_a_figure_without_a_label_or_the_sources_words_is_refused() -> None:
    data = raw()
    del data["status"]["rules"][0]["basis"]["status"]
    refused(data, "status")
    data = raw()
    data["bb101"]["criteria"][0]["ceiling"]["status"] = "probably"
    refused(data, "status")
    data = raw()
    del data["co2_bands"][0]["basis"]["quote"]
    refused(data, "needs its words")


def test_ventwatch_part_is_required() -> None:
    data = raw()
    del data["status"]["rules"][1]["ventwatch"]
    refused(data, "ventwatch")
    data = raw()
    data["alerts"]["rules"][1]["ventwatch"] = ""
    refused(data, "ventwatch")


def test_a_rule_citing_an_unknown_source_is_refused() -> None:
    data = raw()
    data["co2_bands"][0]["basis"]["source"] = "NOPE"
    refused(data, "unknown source 'NOPE'")
    data = raw()
    data["bb101"]["criteria"][2]["mean"]["source"] = "CIBSEJ"
    refused(data, "the bb101 window and criteria cite BB101")
    data = raw()
    data["status"]["rules"][0]["basis"]["via"] = "NOWHERE"
    refused(data, "unknown source 'NOWHERE'")


def test_project_choices_are_ventwatchs_alone() -> None:
    """A published figure cannot be passed off as ventwatch's, nor the reverse."""
    data = raw()
    data["status"]["rules"][0]["basis"] = {"source": "HSE-CO2", "status": "project choice"}
    refused(data, "only ventwatch's own source is a project choice")
    data = raw()
    data["health"]["basis"] = {"source": "ventwatch", "status": "verified", "quote": "x"}
    refused(data, "only ventwatch's own source is a project choice")
    data = raw()
    data["health"]["basis"]["quote"] = "made up"
    refused(data, "a project choice quotes no source")


def test_bb101_needs_a_criterion_for_every_mode_and_building() -> None:
    data = raw()
    data["bb101"]["criteria"] = data["bb101"]["criteria"][:3]
    refused(data, "exactly one criterion for natural ventilation, refurbished")


def test_a_bb101_status_rule_takes_no_figure_of_its_own() -> None:
    data = raw("bb101-2018")
    data["status"]["rules"][0]["above_ppm"] = 2000
    refused(data, "takes its figures from the bb101 section")


def test_an_alert_and_a_status_at_one_figure_agree_or_say_why() -> None:
    data = raw()
    del data["alerts"]["rules"][1]["duration_reason"]
    refused(data, "holds after 30 minutes where the amber status needs 20: say why")
    data = raw()
    data["alerts"]["rules"][0]["duration_reason"] = "no reason"
    refused(data, "agrees with the status rules: no duration_reason")


def test_a_profile_without_sources_is_refused() -> None:
    data = raw()
    data["sources"] = []
    refused(data, "sources")


@pytest.mark.parametrize("pid", SHIPPED)
def test_no_source_is_credited_with_ventwatchs_durations(pid: str) -> None:
    """The durations of status and alert rules are ventwatch's: its part names them, and no
    source's words are quoted for them."""
    profile = load_profile(pid)
    for rule in profile.status.rules:
        if rule.kind == "run":
            assert rule.basis is not None
            assert f"{rule.for_minutes} consecutive occupied minutes" in rule.ventwatch
            assert "minute" not in (rule.basis.quote or "")
    for alert in profile.alerts.rules:
        if alert.kind == "co2_above":
            assert f"{alert.for_minutes}" in alert.ventwatch, alert.id
            assert alert.severity in alert.ventwatch or "'urgent'" in alert.ventwatch, alert.id


def test_bb101_figures_carry_the_research_labels() -> None:
    """The labels of the guidance research: mechanical mean Secondary (a verbatim
    quotation), mechanical 1500 for 20 minutes Unverified, natural mean and 2000 for 20
    minutes Secondary (its tie to natural mode Unverified), refurbished 1750 Unverified and
    said to be a 20-minute ceiling in its only source."""
    for pid in SHIPPED:
        bb = load_profile(pid).bb101
        mech, nat = bb.criterion("mechanical", "new"), bb.criterion("natural", "new")
        assert (mech.daily_mean_below_ppm, mech.mean.status, mech.mean.via) == (
            1000,
            "secondary",
            "L2",
        )
        assert (mech.ceiling_ppm, mech.ceiling_minutes, mech.ceiling.status) == (
            1500,
            20,
            "unverified",
        )
        assert (nat.daily_mean_below_ppm, nat.mean.status) == (1500, "secondary")
        assert (nat.ceiling_ppm, nat.ceiling_minutes, nat.ceiling.status) == (2000, 20, "secondary")
        assert "natural ventilation is Unverified" in (nat.ceiling.caveat or "")
        refurbished = bb.criterion("natural", "refurbished")
        assert (refurbished.daily_mean_below_ppm, refurbished.mean.status) == (1750, "unverified")
        assert "20-minute ceiling, not as a daily mean" in (refurbished.mean.caveat or "")
        for c in bb.criteria:
            if c.building == "refurbished":  # nothing refurbished was verified
                assert "unverified" in (c.mean.status, c.ceiling.status)


def test_dfe_cites_dfe_and_says_1500_is_the_point_to_act() -> None:
    dfe = load_profile("dfe")
    cited = [*dfe.co2_bands, *dfe.status.rules, dfe.status.consistently]
    cited += [a for a in dfe.alerts.rules if a.kind == "co2_above"]
    assert {item.source for item in cited} == {"DFE-CO2"}  # never HSE
    poor = dfe.co2_bands[-1]
    assert poor.basis.via == "HTU"
    assert "consistently higher than 1500ppm" in (poor.basis.quote or "")
    assert "There is no need to stop using the room." in (poor.basis.quote or "")
    assert "the point to act, not a level to aim for" in poor.advice
    assert "the point to act, not a level to aim for" in dfe.summary
    red = dfe.status.rules[0]
    assert "the point to act, not a level to aim for" in red.ventwatch
    # DfE's 800 ppm is only UNISON's paraphrase, and says so.
    amber = dfe.status.rules[1].basis
    assert amber is not None
    assert "paraphrase" in (amber.caveat or "")


def test_attribution_words_the_sources_part_and_ventwatchs() -> None:
    profile = load_profile("joint-union")
    red, amber = profile.status.rules
    words = profile.attribution(red)
    assert words.figures == (
        "1500 ppm: HSE (HSE-CO2; Secondary, read in LRD-2021): \u201cEmployers need to take"
        " action to improve ventilation where CO2 readings are consistently higher than"
        " 1500ppm.\u201d Caveat: LRD cites these figures to HSE's COVID-era page and does not"
        " make clear whether they are HSE's own words; HSE's current page could not be read"
        " that far.",
    )
    assert words.ventwatch_part.startswith("ventwatch's choice: HSE says 'consistently'")
    assert words.keys == ("HSE-CO2",)
    neu = profile.attribution(amber)
    assert neu.source_part == (
        "800 ppm: NEU (NEU-CO2; Verified): \u201cif your monitor reading exceeds 800ppm your"
        " employer must act!\u201d"
    )
    assert "single reading" in neu.ventwatch_part
    offline = profile.attribution(next(a for a in profile.alerts.rules if a.id == "offline"))
    assert offline.source_part == "the rule: ventwatch's own figure, not from a published source."


def test_a_bb101_rule_is_attributed_figure_by_figure() -> None:
    profile = load_profile("bb101-2018")
    red = profile.status.rules[0]
    every = profile.attribution(red)
    assert len(every.figures) == 4  # one ceiling per mode and building, each with its label
    assert "natural ventilation, refurbished: not over 2000 ppm" in every.figures[3]
    one = profile.attribution(red, profile.bb101.criterion("mechanical", "new"))
    assert one.figures[0].startswith(
        "mechanical ventilation, new build: not over 1500 ppm for more than 20 consecutive"
        " minutes a day: ESFA / DfE (BB101; Unverified, read in GIBBONS)"
    )
    assert one.figures[1].startswith("the day judged: ESFA / DfE (BB101; Secondary, read in SAV)")


def test_docs_table_is_generated_from_the_files() -> None:
    readme = (ROOT / "docs" / "guidance.md").read_text()
    begin, end = "<!-- profiles-table:begin -->", "<!-- profiles-table:end -->"
    shown = readme.split(begin)[1].split(end)[0].strip()
    assert shown == profiles_table().strip(), "run: ventwatch profiles --markdown"


def test_each_temperature_label_has_its_own_figure_and_source() -> None:
    for pid in SHIPPED:
        t = load_profile(pid).temperature
        assert (t.cold.words, t.cold.source) == ("cold (below 16 °C, ACoP L24)", "L24")
        assert t.cold_severe_effort.words == "cold (below 13 °C, ACoP L24, severe physical effort)"
        assert t.cold_severe_effort.source == "L24"
        assert (t.below_comfort.words, t.below_comfort.source) == (
            "below comfort (below 18 °C, NEU)",
            "NEU-VT",
        )
        assert (t.above_comfort.words, t.above_comfort.source) == (
            "above comfort (over 26 °C, NEU)",
            "NEU-HOT",
        )
        assert (t.cold.basis.status, t.below_comfort.basis.status) == ("secondary", "verified")
        assert "rigorous" in (t.cold.basis.caveat or "")


def test_temperature_labels_must_be_in_order() -> None:
    data = raw()
    data["temperature"]["below_comfort"]["below_c"] = 15
    refused(data, "cold_severe_effort <= cold <= below_comfort < above_comfort")
    data = raw()
    data["temperature"]["above_comfort"]["above_c"] = 18
    refused(data, "cold_severe_effort <= cold <= below_comfort < above_comfort")
    data = raw()
    del data["temperature"]["cold"]["basis"]
    refused(data, "basis")


def test_a_temperature_alert_and_its_label_agree() -> None:
    """The cold alert is L24's "cold" and the hot alert NEU's "above comfort", with a
    duration: one figure, one source, on every page and in every message."""
    data = raw()
    hot = next(r for r in data["alerts"]["rules"] if r["id"] == "hot")
    hot["threshold"] = 27
    refused(
        data, "'hot' \\(temperature_above\\) is at 27 °C from NEU-HOT; .* 'above comfort' is 26"
    )
    data = raw()
    cold = next(r for r in data["alerts"]["rules"] if r["id"] == "cold")
    cold["threshold"] = 18
    cold["basis"] = data["temperature"]["below_comfort"]["basis"]
    refused(data, "'cold' \\(temperature_below\\) is at 18 °C from NEU-VT; .* 'cold' is 16 °C")
