"""The docs' screenshots, taken from the demo so that they show the dashboard as it is today.

Starts `ventwatch demo` on free loopback ports (as the tests do), waits for every room to be
live and for the simulated past week to be stored, signs in with the password the demo
prints, and has Debian's headless Chromium (through Playwright, as the browser tests and the
PDF reports use it) photograph the overview and a room page at desktop and phone widths.
Then it stops the demo with Ctrl-C, as a person would.

Run it as `scripts/screenshots [--out DIR]` (default: docs/img); it exits 1 with one line
saying what failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser, FloatRect, Page, ViewportSize, sync_playwright
from playwright.sync_api import Error as BrowserError

ROOT = Path(__file__).resolve().parent.parent
# The demo's poorly ventilated room: its week shows the bands being crossed.
ROOM = "Music"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SITE_TZ = ZoneInfo("Europe/London")  # sensors.example.yaml's, the demo's site
START_TIMEOUT_S = 60.0
# The demo stores a simulated week in the background; a week of 12 rooms takes under a minute.
HISTORY_TIMEOUT_S = 240.0
# Pages on a machine busy with other work (the tests) can take more than Playwright's 30 s.
BROWSER_TIMEOUT_MS = 90_000


class ScreenshotError(Exception):
    """A step failed; the message says which."""


@dataclass(frozen=True)
class Demo:
    url: str
    password: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, timeout: float, ready: Callable[[], bool]) -> None:
    """Poll `ready()` until it is true, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise ScreenshotError(f"{what}: not after {timeout:.0f} s")
        time.sleep(0.5)


@contextmanager
def demo(folder: Path) -> Iterator[Demo]:
    """`ventwatch demo` on a free port; its log in `folder`; stopped by Ctrl-C on the way out."""
    port = free_port()
    log_path = folder / "demo.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ventwatch", "demo", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            "the demo's sign-in line",
            START_TIMEOUT_S,
            lambda: "Sign in:" in log_path.read_text() or process.poll() is not None,
        )
        if process.poll() is not None:
            raise ScreenshotError(f"the demo stopped: {log_path.read_text()[-2000:]}")
        words = log_path.read_text().split("Sign in:")[1].split()
        yield Demo(f"http://127.0.0.1:{port}", words[2])
    finally:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_data(running: Demo) -> date:
    """Every room shown (live or visibly stale), and the simulated week stored up to the
    demo's simulated school day, so the room page's week has no hole where the backfill had
    not reached yet. Returns the demo's today: its clock is the simulated school day's."""
    with httpx.Client(base_url=running.url, timeout=30) as client:
        found = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        signed = client.post(
            "/login",
            data={"name": "demo", "password": running.password, "csrf": found and found[1]},
        )
        if client.get("/api/rooms").status_code != 200:
            raise ScreenshotError(f"cannot sign in to the demo ({signed.status_code})")

        def rooms_live() -> bool:
            rooms = client.get("/api/rooms").json()["rooms"]
            return bool(rooms) and all(r["band"] != "no-data" for r in rooms)

        wait_until("every room live", START_TIMEOUT_S, rooms_live)
        now = datetime.fromisoformat(client.get("/api/rooms").json()["generated_at"])

        def history_stored() -> bool:
            """Every hour of the room's last six days has readings (its sensor reports day
            and night), up to an hour before the demo's now: the backfill has reached the
            live readings."""
            end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
            series = client.get(
                "/api/readings",
                params={
                    "room": ROOM,
                    "from": (end - timedelta(days=6)).isoformat(),
                    "to": end.isoformat(),
                    "step_min": 60,
                },
            ).json()
            return bool(series["co2_ppm"]) and None not in series["co2_ppm"]

        wait_until("the simulated week stored", HISTORY_TIMEOUT_S, history_stored)
        return now.astimezone(SITE_TZ).date()


def sign_in(browser: Browser, running: Demo, **context: object) -> Page:
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(running.url + "/")
    page.get_by_label("Name").fill("demo")
    page.get_by_label("Password").fill(running.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(running.url + "/")
    return page


def bottom_of(page: Page, selector: str) -> float:
    """Where the last element matching `selector` ends, in page pixels."""
    box = page.locator(selector).last.bounding_box()
    if box is None:
        raise ScreenshotError(f"{selector} is not on {page.url}")
    return box["y"] + box["height"]


def top_down_to(page: Page, height: float, path: Path) -> None:
    """The page from its top down to `height`, at the viewport's width."""
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=path, full_page=True, clip=clip)


def photograph(browser: Browser, running: Demo, today: date, out: Path) -> list[Path]:
    """The overview's tiles and the room's last seven days (status and charts): at desktop
    width down to where they end; on a phone, the first screen and the charts."""
    room = (
        f"{running.url}/room?name={ROOM}&range=custom&from={today - timedelta(days=6)}&to={today}"
    )
    charts = "section[aria-labelledby=charts-heading]"
    written = []
    for phone in (False, True):
        suffix = "-phone" if phone else ""
        context = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True}
        page = sign_in(browser, running, **(context if phone else {"viewport": DESKTOP}))
        page.locator(".tile").first.wait_for()
        written.append(out / f"overview{suffix}.png")
        if phone:
            page.screenshot(path=written[-1])
        else:
            top_down_to(page, bottom_of(page, ".tile") + 24, written[-1])
        page.goto(room)
        for chart in ("#co2-chart", "#temperature-chart"):
            page.locator(f"{chart} .main-svg").first.wait_for()
        written.append(out / f"room{suffix}.png")
        if phone:
            page.locator(charts).screenshot(path=written[-1])
        else:
            top_down_to(page, bottom_of(page, charts) + 16, written[-1])
        page.context.close()
    return written


def chromium() -> str:
    found = os.environ.get("VENTWATCH_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise ScreenshotError("no Chromium: install Debian's chromium or set VENTWATCH_CHROMIUM")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    try:
        executable = chromium()
        with (
            tempfile.TemporaryDirectory(prefix="ventwatch-screenshots-") as folder,
            demo(Path(folder)) as running,
        ):
            today = wait_for_data(running)
            with sync_playwright() as playwright:
                # --no-sandbox: Chromium refuses to run as root with its sandbox.
                args = ["--no-sandbox"] if os.geteuid() == 0 else []
                browser = playwright.chromium.launch(executable_path=executable, args=args)
                try:
                    written = photograph(browser, running, today, out)
                finally:
                    browser.close()
    except ScreenshotError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    except BrowserError as exc:
        print(f"screenshots: the browser: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
