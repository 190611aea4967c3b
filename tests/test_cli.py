"""The command line's contracts: command names, output formats and exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

VENTWATCH = [sys.executable, "-m", "ventwatch"]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VENTWATCH, *args], input=stdin, capture_output=True, text=True)


def test_help_lists_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("run", "demo", "simulate", "check-config", "decode", "import", "analyse"):
        assert command in out.stdout


def test_help_lists_commands_in_the_order_a_user_meets_them() -> None:
    """Try the demo, run a site, check its file, add its users, bring in readings, judge,
    report, alert; integrators' tools after. Every command has its place in that order."""
    import typer.main
    from typer.core import TyperGroup

    from ventwatch.cli import COMMAND_ORDER, app

    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    registered = set(group.commands)
    assert registered == set(COMMAND_ORDER), "give each new command its place in COMMAND_ORDER"
    out = subprocess.run(
        [*VENTWATCH, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
    )
    assert out.returncode == 0, out.stderr
    panel = out.stdout.split("Commands")[1]
    # A command's first line is "│ name   help"; its help's further lines start with spaces.
    listed = re.findall(r"^│ (\S+)", panel, flags=re.MULTILINE)
    assert listed[:8] == [
        "demo",
        "run",
        "check-config",
        "users",
        "import",
        "analyse",
        "report",
        "alerts",
    ]
    assert listed == list(COMMAND_ORDER)


def test_check_config(example_site_path: Path, tmp_path: Path) -> None:
    assert run("check-config", str(example_site_path)).returncode == 0
    broken = tmp_path / "site.yaml"
    broken.write_text(example_site_path.read_text().replace("room: Library}", "room: Attic}"))
    out = run("check-config", str(broken))
    assert out.returncode == 1
    assert f"{broken}:" in out.stderr
    assert "unknown room 'Attic'" in out.stderr
    assert "Traceback" not in out.stderr


def test_decode_prints_one_json_line_per_reading() -> None:
    payload = json.dumps(
        {
            "Time": "2026-11-17T10:15:00",
            "SCD40": {"CarbonDioxide": 812, "Temperature": 21.3, "Humidity": 44.1},
            "TempUnit": "C",
        }
    )
    out = run("decode", "--topic", "tele/room-14-co2/SENSOR", stdin=payload)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "sensor": "room-14-co2",
            "time": "2026-11-17T10:15:00+00:00",
            "values": {"co2_ppm": 812.0, "temperature_c": 21.3, "humidity_pct": 44.1},
        }
    ]


def test_decode_reads_a_file_and_null_time(tmp_path: Path) -> None:
    file = tmp_path / "p.json"
    file.write_text('{"rco2": 689, "atmpCompensated": 21.9}')
    out = run("decode", "--topic", "airgradient/readings/84fce612a3b4", str(file))
    assert json.loads(out.stdout) == {
        "sensor": "84fce612a3b4",
        "time": None,
        "values": {"co2_ppm": 689.0, "temperature_c": 21.9},
    }


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tele/x/SENSOR", '{"SCD40": {"CarbonDioxide": 7', "not JSON"),
        ("weather/outside", "12", "no decoder claims"),
        ("x/sensor/co2/state", "nan", "no value"),
        ("tele/x/SENSOR", '{"SCD40": {"CarbonDioxide": 65000}}', "no usable value"),
        ("tele/x/LWT", "Offline", "no reading in this message"),
    ],
)
def test_decode_failures_exit_1_with_one_line(topic: str, payload: str, reason: str) -> None:
    out = run("decode", "--topic", topic, "-", stdin=payload)
    assert out.returncode == 1
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1
    assert reason in out.stderr


def test_decode_uses_the_site_generic_decoders(tmp_path: Path) -> None:
    site = Path(__file__).parent / "testdata" / "sites" / "all-families.yaml"
    out = run("decode", "--config", str(site), "--topic", "school/t8/air", stdin='{"co2": 808}')
    assert json.loads(out.stdout)["values"] == {"co2_ppm": 808.0}
