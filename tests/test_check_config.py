"""`check-config` in plain English: an unknown key with the key it was probably meant to be,
every valid value in full (rooms, profiles, ventilation types), the bad value repeated back,
an example of how times are written; `--config FILE` as every other command takes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ventwatch.analysis.profiles import alert_rule_ids, available_profiles
from ventwatch.config import SiteConfigError, load_site

SITE = """\
site:
  name: Small School
  timezone: Europe/London
occupied_hours:
  days: [mon, tue, wed, thu, fri]
  start: "08:45"
  end: "15:15"
broker:
  url: mqtt://127.0.0.1:1883
  client_id: ventwatch-small
store:
  url: duckdb:///./small.duckdb
rooms:
  - name: Room 1
    building: Main
    capacity: 30
    ventilation: natural
  - name: Music
    building: Arts
    capacity: 25
    ventilation: mechanical
  - name: Lab 3
    building: Science
sensors:
  - {family: tasmota, device: room-1-co2, room: Room 1}
"""


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ventwatch", "check-config", *args], capture_output=True, text=True
    )


def site_file(tmp_path: Path, old: str = "", new: str = "") -> Path:
    assert old in SITE
    path = tmp_path / "site.yaml"
    path.write_text(SITE.replace(old, new, 1))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SiteConfigError) as info:
        load_site(path, profiles=alert_rule_ids())
    return str(info.value).splitlines()


def test_config_option_and_positional_file_both_work(tmp_path: Path) -> None:
    path = site_file(tmp_path)
    for args in (["--config", str(path)], ["-c", str(path)], [str(path)]):
        out = check(*args)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"{path}: ok: site 'Small School', 3 rooms")
    broken = site_file(tmp_path, "timezone:", "timezon:")
    out = check("--config", str(broken))
    assert out.returncode == 1
    assert out.stderr == (
        f"{broken}:3: unknown key `timezon` in `site` — did you mean `timezone`?\n"
    )


def test_no_file_or_two_files_is_said_in_words(tmp_path: Path) -> None:
    path = site_file(tmp_path)
    out = check()
    assert (out.returncode, out.stderr) == (
        1, "error: which sites? give --config FILE (once per site) or --sites DIR\n"
    )  # fmt: skip
    out = check("--config", str(path), str(path))
    assert out.returncode == 1
    assert "give the site file once" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_sensor_listed_by_two_site_files_names_both_files_and_lines(tmp_path: Path) -> None:
    """Sites of one folder share a broker connection, and a message is filed by its sensor:
    one listed by two files could be either's. A topic prefix per site tells them apart."""
    folder = tmp_path / "trust"
    folder.mkdir()
    north = SITE
    south = SITE.replace("Small School", "South").replace(
        "  - {family: tasmota, device: room-1-co2, room: Room 1}\n",
        "  - {family: tasmota, device: music-co2, room: Music}\n"
        "  - {family: tasmota, device: room-1-co2, room: Room 1}\n",
    )
    (folder / "north.yaml").write_text(north)
    (folder / "south.yaml").write_text(south)
    out = check("--sites", str(folder))
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"{folder / 'south.yaml'}:26: sensors[1].device: tasmota sensor 'room-1-co2' is listed "
        f"by {folder / 'north.yaml'}:25 (sensors[0].device) too: a sensor is one site's, unless "
        "the sites set each its own broker.topic_prefix",
        "these site files cannot run together (see above)",
    ]
    # Told apart by topic: south's sensors publish under south/ (a bridged school broker).
    (folder / "south.yaml").write_text(
        south.replace("  client_id: ventwatch-small\n", "  client_id: s\n  topic_prefix: south\n")
    )
    assert check("--sites", str(folder)).returncode == 0
    (folder / "north.yaml").write_text(
        north.replace("  client_id: ventwatch-small\n", "  topic_prefix: south/annex\n")
    )
    out = check("--sites", str(folder))
    assert out.returncode == 1
    assert "broker.topic_prefix 'south/annex' is inside" in out.stderr


def test_a_folder_of_site_files_is_checked_file_by_file(tmp_path: Path) -> None:
    """`--sites DIR`: each file said ok or its problems with its own name and line; exit 1
    when any has a problem, after checking all of them."""
    folder = tmp_path / "trust"
    folder.mkdir()
    good = site_file(tmp_path)
    (folder / "a-north.yaml").write_text(good.read_text())
    (folder / "b-south.yml").write_text(good.read_text().replace("timezone:", "timezon:"))
    east = good.read_text().replace("Small School", "East").replace("room-1-co2", "east-1")
    (folder / "c-east.yaml").write_text(east)
    (folder / "notes.txt").write_text("not a site")
    out = check("--sites", str(folder))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        f"{folder / 'a-north.yaml'}: ok: site 'Small School', 3 rooms, 1 sensors, "
        "profile joint-union",
        f"{folder / 'c-east.yaml'}: ok: site 'East', 3 rooms, 1 sensors, profile joint-union",
    ]
    assert out.stderr == (
        f"{folder / 'b-south.yml'}:3: unknown key `timezon` in `site` — did you mean "
        "`timezone`?\n1 of 3 site files have problems\n"
    )
    (folder / "b-south.yml").unlink()
    assert check("--sites", str(folder)).returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    out = check("--sites", str(empty))
    assert (out.returncode, out.stderr) == (
        1, f"error: --sites {empty}: no site files (*.yaml, *.yml) in it\n"
    )  # fmt: skip


def test_an_unknown_key_without_a_near_one_lists_every_key(tmp_path: Path) -> None:
    [problem] = problems_of(site_file(tmp_path, "  client_id:", "  colour:"))
    assert problem.endswith(
        ":10: unknown key `colour` in `broker` (it takes url, username_env, password_env, "
        "client_id, max_payload_kib and topic_prefix)"
    )
    [problem] = problems_of(site_file(tmp_path, "sensors:", "sensor:"))
    assert problem.endswith(
        ":24: unknown key `sensor` at the top of the file — did you mean `sensors`?"
    )


def test_an_unknown_room_lists_every_room(tmp_path: Path) -> None:
    [problem] = problems_of(site_file(tmp_path, "room: Room 1}", "room: Musik}"))
    assert problem.endswith(
        ":25: sensors[0].room: unknown room 'Musik' — did you mean `Music`? "
        "(rooms: Room 1, Music and Lab 3)"
    )
    [problem] = problems_of(site_file(tmp_path, "room: Room 1}", "room: Attic}"))
    assert problem.endswith("unknown room 'Attic' (rooms: Room 1, Music and Lab 3)")


def test_an_unknown_profile_lists_every_profile(tmp_path: Path) -> None:
    path = site_file(tmp_path, "broker:", "guidance:\n  profile: joint-unoin\nbroker:")
    [problem] = problems_of(path)
    profiles = available_profiles()
    assert len(profiles) >= 4
    listed = ", ".join(profiles[:-1]) + " and " + profiles[-1]
    assert problem.endswith(
        f":9: guidance.profile: unknown guidance profile 'joint-unoin' — did you mean "
        f"`joint-union`? (profiles: {listed})"
    )


def test_a_wrong_ventilation_type_is_repeated_with_every_type(tmp_path: Path) -> None:
    [problem] = problems_of(site_file(tmp_path, "ventilation: mechanical", "ventilation: mech"))
    assert problem.endswith(
        ":21: rooms[1].ventilation: `mech` is not one of natural, mechanical or mixed"
    )
    [problem] = problems_of(site_file(tmp_path, "ventilation: natural", "ventilation: natral"))
    assert problem.endswith(
        "`natral` is not one of natural, mechanical or mixed — did you mean `natural`?"
    )


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ('"8.45"', "8.45"),
        ('"25:00"', "25:00"),
        ("845", "845"),
        ('"quarter to nine"', "quarter to nine"),
    ],
)
def test_a_bad_time_is_repeated_with_an_example(tmp_path: Path, written: str, shown: str) -> None:
    """A number is refused too: pydantic would take `start: 845` as 00:14:05."""
    [problem] = problems_of(site_file(tmp_path, 'start: "08:45"', f"start: {written}"))
    assert problem.endswith(
        f":6: occupied_hours.start: `{shown}` is not a time: write it as HH:MM (24-hour clock) "
        'in quotes, e.g. start: "08:45"'
    )


# Keys of the file above, by section ("": the top of the file).
KEYS = [
    ("", "site"), ("", "occupied_hours"), ("", "broker"), ("", "store"), ("", "rooms"),
    ("", "sensors"), ("site", "name"), ("site", "timezone"), ("occupied_hours", "days"),
    ("occupied_hours", "start"), ("broker", "client_id"), ("rooms[0]", "name"),
    ("rooms[0]", "building"), ("rooms[0]", "capacity"), ("rooms[0]", "ventilation"),
]  # fmt: skip


def line_of(section: str, key: str) -> int:
    """The line of `key` in `section` of SITE (1-based)."""
    lines = SITE.splitlines()
    first = lines.index(section.split("[")[0] + ":") if section else -1
    return next(i for i in range(first + 1, len(lines)) if f"{key}:" in lines[i]) + 1


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(KEYS),
    at=st.integers(min_value=0, max_value=20),
    how=st.sampled_from(["double", "drop", "swap"]),
)
def test_a_mistyped_key_is_named_with_its_section_line_and_the_key_meant(
    tmp_path: Path, key: tuple[int, str, str], at: int, how: str
) -> None:
    """One slip of a finger in any key: the key as typed, its section, its line, and the
    key it was meant to be (keys of four letters or more; a shorter one may be nearer another)."""
    section, name = key
    number = line_of(section, name)
    i = at % len(name)
    typo = {
        "double": name[:i] + name[i] + name[i:],
        "drop": name[:i] + name[i + 1 :],
        "swap": name[:i] + name[i + 1 : i + 2] + name[i] + name[i + 2 :],
    }[how]
    if typo == name or len(name) < 4:
        return
    lines = SITE.splitlines()
    lines[number - 1] = lines[number - 1].replace(f"{name}:", f"{typo}:", 1)
    path = tmp_path / "typo.yaml"
    path.write_text("\n".join(lines) + "\n")
    problems = problems_of(path)
    place = f"in `{section}`" if section else "at the top of the file"
    expected = f"{path}:{number}: unknown key `{typo}` {place} — did you mean `{name}`?"
    assert expected in problems, problems
