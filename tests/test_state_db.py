"""The state database's names: the site file's `state: {database: ...}` and
VENTWATCH_STATE_DB, and their old names, `accounts: {database: ...}` and
VENTWATCH_ACCOUNTS_DB, still read (an install from before the rename keeps its users, alerts
and outbox) with a note logged once at start and printed by `check-config`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ventwatch import settings as settings_module
from ventwatch.config import SiteConfig, SiteConfigError, load_site
from ventwatch.settings import deprecated_names, resolve

SITE = """\
site:
  name: Small School
  timezone: Europe/London
rooms:
  - name: Room 1
    building: Main
"""


def site_file(tmp_path: Path, section: str = "") -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(SITE + section)
    return path


def site_at(path: Path) -> SiteConfig:
    return load_site(path, families=[])


@pytest.fixture(autouse=True)
def nothing_noted_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh process would: no note logged yet."""
    monkeypatch.setattr(settings_module, "_noted", set())


def test_the_state_section_names_the_file(tmp_path: Path) -> None:
    path = site_file(tmp_path, "state: {database: data/state.sqlite}\n")
    site = site_at(path)
    assert resolve(site, path, env={}).state_db == tmp_path / "data" / "state.sqlite"
    assert deprecated_names(site, {}, path) == []


def test_the_old_accounts_section_is_still_read_and_noted(tmp_path: Path) -> None:
    path = site_file(tmp_path, "accounts: {database: data/old.sqlite}\n")
    site = site_at(path)
    assert resolve(site, path, env={}).state_db == tmp_path / "data" / "old.sqlite"
    [note] = deprecated_names(site, {}, path)
    assert str(path) in note
    assert "`accounts` section is now `state`" in note


def test_without_either_the_file_keeps_its_name_from_before(tmp_path: Path) -> None:
    """An install that never named the file must find the one it has been writing."""
    path = site_file(tmp_path)
    assert resolve(site_at(path), path, env={}).state_db == tmp_path / "ventwatch-accounts.sqlite"


def test_a_file_gives_one_name_not_both(tmp_path: Path) -> None:
    path = site_file(tmp_path, "state: {database: new.sqlite}\naccounts: {database: old.sqlite}\n")
    with pytest.raises(SiteConfigError) as caught:
        site_at(path)
    [problem] = caught.value.problems
    assert problem.line == 8
    assert problem.where == "accounts"
    assert "give only `state`" in problem.message


def test_the_environment_names_it_by_either_name(tmp_path: Path) -> None:
    path = site_file(tmp_path)
    site = site_at(path)
    new, old = str(tmp_path / "new.sqlite"), str(tmp_path / "old.sqlite")
    assert resolve(site, path, env={"VENTWATCH_STATE_DB": new}).state_db == Path(new)
    assert resolve(site, path, env={"VENTWATCH_ACCOUNTS_DB": old}).state_db == Path(old)
    both = {"VENTWATCH_STATE_DB": new, "VENTWATCH_ACCOUNTS_DB": old}
    assert resolve(site, path, env=both).state_db == Path(new)
    assert deprecated_names(site, {"VENTWATCH_STATE_DB": new}) == []
    [alone] = deprecated_names(site, {"VENTWATCH_ACCOUNTS_DB": old})
    assert "VENTWATCH_ACCOUNTS_DB is now VENTWATCH_STATE_DB" in alone
    [ignored] = deprecated_names(site, both)
    assert "VENTWATCH_ACCOUNTS_DB is ignored" in ignored


def test_each_note_is_logged_once_however_often_settings_are_resolved(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = site_file(tmp_path, "accounts: {database: old.sqlite}\n")
    site = site_at(path)
    env = {"VENTWATCH_ACCOUNTS_DB": str(tmp_path / "old.sqlite")}
    with caplog.at_level(logging.WARNING, logger="ventwatch.settings"):
        for _ in range(3):
            resolve(site, path, env=env)
    assert sorted(r.getMessage() for r in caplog.records) == sorted(
        deprecated_names(site, env, path)
    )
    assert len(caplog.records) == 2


def check_config(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VENTWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "ventwatch", "check-config", str(path)],
        capture_output=True,
        text=True,
        env={**clean, **env},
    )


def test_check_config_says_an_old_name_is_in_use(tmp_path: Path) -> None:
    path = site_file(tmp_path, "accounts: {database: old.sqlite}\n")
    answer = check_config(path, VENTWATCH_ACCOUNTS_DB=str(tmp_path / "old.sqlite"))
    assert answer.returncode == 0, answer.stderr
    assert f"{path}: ok:" in answer.stdout
    notes = answer.stderr.splitlines()
    assert any("`accounts` section is now `state`" in n for n in notes), notes
    assert any("VENTWATCH_ACCOUNTS_DB is now VENTWATCH_STATE_DB" in n for n in notes), notes


def test_check_config_is_quiet_about_the_new_names(tmp_path: Path) -> None:
    path = site_file(tmp_path, "state: {database: state.sqlite}\n")
    answer = check_config(path, VENTWATCH_STATE_DB=str(tmp_path / "state.sqlite"))
    assert answer.returncode == 0, answer.stderr
    assert "note:" not in answer.stderr
