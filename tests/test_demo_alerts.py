"""The issue's finish line: `ventwatch demo --smtp-debug` emails an alert for a poorly
ventilated simulated room, then its recovery, through a real SMTP server (aiosmtpd) that the
demo starts. The school day runs at 60x so the test takes about two minutes."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import free_port, interrupt

pytestmark = pytest.mark.servers


def mails(folder: Path) -> list[EmailMessage]:
    out = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        out.append(message)
    return out


@pytest.mark.timeout(240)
def test_demo_emails_one_alert_and_its_recovery(tmp_path: Path) -> None:
    log_path = tmp_path / "demo.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ventwatch", "demo", "--smtp-debug", "--speed", "60",
         "--history-days", "0", "--port", str(free_port())],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    room = None
    received: list[EmailMessage] = []
    try:
        deadline = time.monotonic() + 30
        while (found := re.search(r"kept in (\S+)\)", log_path.read_text())) is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        folder = Path(found.group(1))
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline:
            received = mails(folder)
            alerts = [m for m in received if m["Subject"].startswith("URGENT — ")]
            if alerts:
                room = alerts[0]["Subject"].removeprefix("URGENT — ").split(": ")[0]
                if any(m["Subject"].startswith(f"Recovered — {room}: ") for m in received):
                    break
            time.sleep(1)
    finally:
        interrupt(process, "ventwatch demo")
        log.close()
    output = log_path.read_text()
    assert process.returncode == 0, output
    assert room is not None, output
    about_room = [m for m in received if f" — {room}: " in m["Subject"]]
    subjects = [m["Subject"] for m in about_room]
    assert subjects[0] == f"URGENT — {room}: CO2 over 1500 ppm for 20 min of lessons", subjects
    assert subjects[1].startswith(
        f"Recovered — {room}: CO2 over 1500 ppm for 20 min of lessons (lasted "
    ), subjects
    alert, recovery = about_room[:2]
    assert alert["To"] == "rep@demo.invalid"
    text = alert.get_body(preferencelist=("plain",)).get_content()
    assert "Rule: CO2 above 1500 ppm for 20 occupied minutes [urgent]" in text
    assert "profile joint-union 1.2" in text
    assert "/room?name=" in text
    assert alert.get_body(preferencelist=("html",)) is not None
    assert "Recovered:" in recovery.get_body(preferencelist=("plain",)).get_content()
    # The demo prints what it received, as the README says.
    assert f"Subject: URGENT — {room}" in output
