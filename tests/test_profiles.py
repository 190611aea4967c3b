"""Guidance profiles are data that cite their sources; the README's table comes from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from ventwatch.analysis.profiles import Profile, available_profiles, load_profile, profiles_table

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("joint-union", "hse", "dfe", "bb101-2018")


def test_shipped_profiles() -> None:
    assert set(SHIPPED) <= set(available_profiles())
    for pid in available_profiles():
        profile = load_profile(pid)
        assert profile.id == pid
        assert profile.version
        assert profile.sources
        for source in profile.sources:
            assert source.url or source.status in ("project choice", "secondary"), source.key


def raw(pid: str = "joint-union") -> dict:
    return yaml.safe_load((ROOT / "analysis" / "profiles" / f"{pid}.yaml").read_text())


def test_a_rule_without_citation_is_refused() -> None:
    data = raw()
    del data["status"]["rules"][0]["source"]
    with pytest.raises(ValidationError, match="source"):
        Profile.model_validate(data)


def test_a_rule_citing_an_unknown_source_is_refused() -> None:
    data = raw()
    data["bb101"]["source"] = "NOPE"
    with pytest.raises(ValidationError, match="unknown source 'NOPE'"):
        Profile.model_validate(data)


def test_a_profile_without_sources_is_refused() -> None:
    data = raw()
    data["sources"] = []
    with pytest.raises(ValidationError):
        Profile.model_validate(data)


def test_readme_table_is_generated_from_the_files() -> None:
    readme = (ROOT / "README.md").read_text()
    begin, end = "<!-- profiles-table:begin -->", "<!-- profiles-table:end -->"
    shown = readme.split(begin)[1].split(end)[0].strip()
    assert shown == profiles_table().strip(), "run: ventwatch profiles --markdown"
