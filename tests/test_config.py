"""The site file: the documented example is valid, and mistakes are reported with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ventwatch.config import SiteConfigError, load_site
from ventwatch.ingest.decoders import FAMILIES


def test_example_is_valid(example_site_path: Path) -> None:
    site = load_site(example_site_path, families=FAMILIES)
    assert site.site.timezone == "Europe/London"
    assert len(site.rooms) == 12
    assert all(s.room in {r.name for r in site.rooms} for s in site.sensors)


def broken(tmp_path: Path, example: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the example with one line changed, and that line's number."""
    lines = example.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if old in line)
    lines[number - 1] = lines[number - 1].replace(old, new)
    path = tmp_path / "site.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path, number


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("room: Library}", "room: Libary}", "unknown room 'Libary'"),
        (
            "family: zigbee2mqtt, device: Music CO2",
            "family: zigbe, device: Music CO2",
            "unknown family",
        ),
        ("timezone: Europe/London", "timezone: Europe/Lndn", "unknown time zone"),
        ("capacity: 40", "capacity: -4", "greater than or equal to 1"),
        (
            "ventilation: mixed}",
            "ventilation: windy}",
            "`windy` is not one of natural, mechanical or mixed",
        ),
        ('end: "15:15"', 'end: "07:00"', "is not after start"),
        (
            "client_id: ventwatch-hillside",
            "client_idd: ventwatch-hillside",
            "unknown key `client_idd` in `broker` — did you mean `client_id`?",
        ),
        (
            "username_env: VENTWATCH_MQTT_USERNAME",
            "username_env: not a var",
            "environment variable",
        ),
    ],
)
def test_error_names_file_and_line(
    tmp_path: Path, example_site_path: Path, old: str, new: str, message: str
) -> None:
    path, line = broken(tmp_path, example_site_path, old, new)
    with pytest.raises(SiteConfigError) as info:
        load_site(path, families=FAMILIES)
    text = str(info.value)
    assert f"{path}:{line}:" in text, text
    assert message in text


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("site:\n  name: x\nrooms: [\n  {name: a\n")
    with pytest.raises(SiteConfigError, match=r"site.yaml:\d+: not valid YAML"):
        load_site(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SiteConfigError, match="cannot read"):
        load_site(tmp_path / "nope.yaml")


def test_duplicate_room(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("site: {name: S}\nrooms:\n  - name: A\n  - name: A\n")
    with pytest.raises(
        SiteConfigError, match=r"site.yaml:4: rooms\[1\].name: room 'A' is listed twice"
    ):
        load_site(path)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "site: {name: S}\nrooms: [{name: A}]\nsensors:\n"
        "  - {family: tasmota, device: x, room: B}\n"
        "  - {family: nope, device: y, room: A}\n"
    )
    with pytest.raises(SiteConfigError) as info:
        load_site(path, families=FAMILIES)
    assert [(p.line, p.where) for p in info.value.problems] == [
        (4, "sensors[0].room"),
        (5, "sensors[1].family"),
    ]


STORE_REFUSES = "InfluxDB could never store it; rename it"


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "{name: Music, building: Arts",
            r"{name: 'Music\', building: Arts",
            "rooms[9].name",
            r"'Music\\' ends with a backslash",
        ),
        (
            "{name: Lab 3, building: Science,",
            r'{name: Lab 3, building: "Sci\tence",',
            "rooms[8].building",
            r"'Sci\tence' contains the control character '\t'",
        ),
        (
            "name: Hillside Academy ",
            r'name: "Hillside\x07Academy" ',
            "site.name",
            r"'Hillside\x07Academy' contains the control character '\x07'",
        ),
        (
            "device: room-4-co2,",
            r"device: 'room-4-co2\',",
            "sensors[3].device",
            r"'room-4-co2\\' ends with a backslash",
        ),
    ],
)
def test_a_name_line_protocol_cannot_carry_is_refused_with_its_line(
    tmp_path: Path, example_site_path: Path, old: str, new: str, where: str, message: str
) -> None:
    """Such a name would pass, then every reading filed under it would be refused by
    InfluxDB (docs/it.md "Storage"): `check-config` says so, whichever store the site uses."""
    path, line = broken(tmp_path, example_site_path, old, new)
    with pytest.raises(SiteConfigError) as info:
        load_site(path, families=FAMILIES)
    text = str(info.value)
    assert f"{path}:{line}: {where}: {message}" in text, text
    assert STORE_REFUSES in text


def test_a_name_of_spaces_is_refused(tmp_path: Path, example_site_path: Path) -> None:
    path, line = broken(tmp_path, example_site_path, "{name: Room 6,", '{name: "   ",')
    with pytest.raises(SiteConfigError, match=rf"site.yaml:{line}: rooms\[5\].name: .*at least 1"):
        load_site(path, families=FAMILIES)


def test_names_with_what_line_protocol_escapes_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "site: {name: 'St Mary''s, \"Upper\" = school'}\n"
        "rooms: [{name: 'Lab\\2', building: 'Bâtiment A,B'}]\n"
        "sensors: [{family: tasmota, device: 'a b=c,d', room: 'Lab\\2'}]\n"
    )
    site = load_site(path, families=FAMILIES)
    assert [r.name for r in site.rooms] == ["Lab\\2"]


def test_physical_effort_is_a_room_key_checked_with_its_line(tmp_path: Path) -> None:
    """ACoP L24's 13 °C applies where much of the work involves severe physical effort: the
    site file says which rooms (a sports hall); anything else is refused at its line."""
    path = tmp_path / "site.yaml"
    path.write_text(
        "site: {name: S}\nrooms:\n  - name: Room 1\n  - name: Sports Hall\n"
        "    physical_effort: severe\n"
    )
    rooms = load_site(path).rooms
    assert [r.physical_effort for r in rooms] == ["normal", "severe"]
    path.write_text(
        "site: {name: S}\nrooms:\n  - name: Room 1\n  - name: Sports Hall\n"
        "    physical_effort: heavy\n"
    )
    with pytest.raises(
        SiteConfigError,
        match=r"site.yaml:5: rooms\[1\].physical_effort: `heavy` is not one of normal or severe",
    ):
        load_site(path)
