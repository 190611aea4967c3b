"""The demo in a real browser (Debian's Chromium through Playwright): signed in as the union
rep the demo prints, every page carries the "Simulated school day" banner with the simulated
clock's weekday and time, not the wall clock's."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import free_port, interrupt, wait_for_port
from tests.test_browser import browser  # noqa: F401 (the Chromium fixture)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A running `ventwatch demo`: its URL, the rep's password and the simulated start day."""
    port = free_port()
    log_path = tmp_path / "demo.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ventwatch", "demo", "--history-days", "0", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30)
        deadline = time.monotonic() + 10
        while (found := re.search(r"rep / (\S+)", log_path.read_text())) is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        day = re.search(r"Simulated school day from (\w+day) ", log_path.read_text())
        assert day is not None, log_path.read_text()
        yield f"http://127.0.0.1:{port}", found.group(1), day.group(1)
    finally:
        interrupt(process, "ventwatch demo")
        log.close()


def test_the_demo_banner_shows_the_simulated_day(
    browser: Browser,  # noqa: F811 (the fixture imported above)
    demo: tuple[str, str, str],
) -> None:
    url, password, weekday = demo
    page = browser.new_context().new_page()
    page.goto(url + "/")
    banner = page.locator(".simulated-day")
    expect(banner).to_contain_text("Simulated school day — ")  # on the login page already
    page.get_by_label("Name").fill("rep")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(url + "/")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile(rf"^Simulated school day — {weekday} \d\d:\d\d$"))
    page.goto(url + "/alerts")  # a rep's page: the banner is on every page
    expect(page.locator(".simulated-day")).to_contain_text(weekday)
