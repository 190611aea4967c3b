"""Exports within bounds, with the real dashboard served by uvicorn and the real Chromium:
16 staff exporting a PDF at once share one browser printing two pages at a time, those beyond
the line are told to come back (503), a user exporting too often is told to wait (429), and
the browser comes back after a crash and goes at shutdown.

Processes are counted from /proc: every Chromium descended from this test process (the
dashboard runs in it, so its browser does too), and the browsers among them (the processes
without `--type=`: zygotes, renderers and the GPU process all carry one).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import PASSWORD, MosquittoServer, free_port, ventwatch_run
from tests.report_week import seed
from ventwatch.accounts import ALL_SITES, Accounts, Role
from ventwatch.dashboard.app import create_app
from ventwatch.dashboard.export_limit import ExportLimit
from ventwatch.reports.pdf_format import PdfLimits, close_shared_printer, shared_printer
from ventwatch.store.duckdb import DuckDBStore

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # "last week" is the seeded 2026-W47
PAGES, QUEUE = 2, 4
STAFF = 16


# -- processes, from /proc --------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    name: str  # the kernel's short name (`comm`)
    cmdline: str
    rss_kib: int
    pss_kib: int  # its share of the memory it shares with others (Chromium's forks share much)


def processes() -> dict[int, Proc]:
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            # Chromium rewrites its command line as one string: NULs or spaces between words.
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = Path(f"/proc/{entry}/status").read_text()
            rollup = Path(f"/proc/{entry}/smaps_rollup").read_text()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid_text = stat[stat.rindex(")") + 2 :].split()[:2]
        if state == "Z" or not cmdline:  # exited or exiting: its memory and arguments gone
            continue
        ppid = int(ppid_text)
        rss = next((int(ln.split()[1]) for ln in status.splitlines() if ln[:6] == "VmRSS:"), 0)
        pss = next((int(ln.split()[1]) for ln in rollup.splitlines() if ln[:4] == "Pss:"), 0)
        found[int(entry)] = Proc(int(entry), ppid, name, cmdline, rss, pss)
    return found


def our_chromium() -> list[Proc]:
    """Every Chromium process descended from this one."""
    table = processes()
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    out, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if "chrom" in table[child].name:
                out.append(table[child])
    return out


def browsers(procs: list[Proc]) -> list[Proc]:
    """The browser processes: the root of each Chromium process tree."""
    return [p for p in procs if " --type=" not in f" {p.cmdline} "]


@dataclass
class Watch:
    """The most Chromium processes, browsers and memory (RSS, and PSS: shared pages counted
    once) seen while it ran."""

    most_processes: int = 0
    most_browsers: int = 0
    most_rss_kib: int = 0
    most_pss_kib: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            procs = our_chromium()
            self.most_processes = max(self.most_processes, len(procs))
            self.most_browsers = max(self.most_browsers, len(browsers(procs)))
            self.most_rss_kib = max(self.most_rss_kib, sum(p.rss_kib for p in procs))
            self.most_pss_kib = max(self.most_pss_kib, sum(p.pss_kib for p in procs))
            time.sleep(0.02)


# -- the served dashboard ---------------------------------------------------------------------


@dataclass
class Served:
    base: str
    accounts: Accounts
    app: FastAPI

    def token(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.accounts.new_token(name, 'exports')}"}


@pytest.fixture
def served(tmp_path: Path, accounts: Accounts, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("VENTWATCH_PDF", "chromium")
    monkeypatch.setenv("VENTWATCH_PDF_PAGES", str(PAGES))
    monkeypatch.setenv("VENTWATCH_PDF_QUEUE", str(QUEUE))
    close_shared_printer()  # a printer made with these limits, and no browser yet
    assert our_chromium() == []
    _, site = seed(tmp_path)
    store = DuckDBStore(tmp_path / "store.duckdb")
    for i in range(STAFF):
        accounts.add_user(f"staff{i}", Role.STAFF, PASSWORD, [ALL_SITES])
    app = create_app(site, store, accounts=accounts, clock=lambda: NOW)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="dashboard")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", accounts, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        close_shared_printer()
        store.close()


def export(served: Served, user: str, fmt: str = "pdf") -> httpx.Response:
    return httpx.get(
        f"{served.base}/export",
        params={"format": fmt, "week": "2026-W47"},
        headers=served.token(user),
        timeout=120,
    )


def is_pdf(answer: httpx.Response) -> bool:
    return (
        answer.status_code == 200
        and answer.headers["content-type"] == "application/pdf"
        and answer.content.startswith(b"%PDF-")
        and b"%%EOF" in answer.content[-64:]
    )


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.servers
def test_sixteen_staff_exporting_at_once_share_one_browser(served: Served) -> None:
    watch = Watch()
    watcher = threading.Thread(target=watch.run)
    watcher.start()
    start = threading.Barrier(STAFF)
    answers: dict[int, httpx.Response] = {}
    tokens = {i: served.token(f"staff{i}") for i in range(STAFF)}

    def one(i: int) -> None:
        with httpx.Client(base_url=served.base, headers=tokens[i], timeout=120) as client:
            start.wait()
            answers[i] = client.get("/export", params={"format": "pdf", "week": "2026-W47"})

    clients = [threading.Thread(target=one, args=(i,)) for i in range(STAFF)]
    try:
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=110)
    finally:
        watch.stop.set()
        watcher.join()
    statuses = sorted(a.status_code for a in answers.values())
    printed = [a for a in answers.values() if a.status_code == 200]
    busy = [a for a in answers.values() if a.status_code == 503]
    print(
        f"\n16 PDF exports at once: {len(printed)} printed, {len(busy)} told to come back; "
        f"at most {watch.most_browsers} browser, {watch.most_processes} Chromium processes, "
        f"{watch.most_rss_kib / 1024:.0f} MiB resident ({watch.most_pss_kib / 1024:.0f} MiB "
        "counting shared memory once); "
        f"at most {shared_printer().most_printing} pages printing at once"
    )
    assert len(answers) == STAFF
    assert set(statuses) <= {200, 503}, statuses
    assert all(is_pdf(a) for a in printed)
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=printed[0].content, capture_output=True, check=True
    ).stdout.decode()
    assert "Lab 1" in text  # the report itself, not an empty page
    assert len(printed) >= PAGES + QUEUE  # everyone admitted to the line got their report
    assert busy, "16 at once with room for 6 must turn some away"
    for answer in busy:
        assert answer.headers["retry-after"] == "60"
        assert "try again in a minute" in answer.text  # a page a person can read
    assert watch.most_browsers == 1  # one browser process tree, never one per export
    assert shared_printer().most_printing <= PAGES
    printer = shared_printer().chromium
    assert printer is not None
    assert printer.launches == 1


@pytest.mark.servers
def test_beyond_the_line_is_refused_before_any_work(served: Served) -> None:
    printer = shared_printer()
    places = [printer.admit() for _ in range(PAGES + QUEUE)]  # every place taken
    answer = export(served, "staff0")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "60"
    assert "<h1>Busy</h1>" in answer.text
    assert "try again in a minute" in answer.text
    assert our_chromium() == []  # refused before a browser was needed
    assert export(served, "staff1", "csv").status_code == 200  # other formats do not queue
    for place in places:
        with place:
            pass  # given back
    assert is_pdf(export(served, "staff0"))


def test_a_user_exporting_too_often_is_told_to_wait(served: Served) -> None:
    served.app.state.export_limit = ExportLimit(per_minute=3)
    assert [export(served, "staff0", "csv").status_code for _ in range(3)] == [200] * 3
    refused = export(served, "staff0", "pdf")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "<h1>Too many requests</h1>" in refused.text
    assert "You have asked for 3 reports in the last minute" in refused.text
    assert is_pdf(export(served, "staff1"))  # another user is not held up


def test_an_allowance_comes_back_after_a_minute() -> None:
    now = [0.0]
    limit = ExportLimit(per_minute=2, clock=lambda: now[0])
    assert (limit.take("a"), limit.take("a")) == (0.0, 0.0)
    now[0] = 20.0
    assert limit.take("a") == pytest.approx(40.0)  # the first of the two ages out at 60 s
    assert limit.take("b") == 0.0
    now[0] = 60.0
    assert limit.take("a") == 0.0


@pytest.mark.servers
def test_a_crashed_browser_is_started_again(served: Served) -> None:
    assert is_pdf(export(served, "staff0"))
    [browser] = browsers(our_chromium())
    os.kill(browser.pid, signal.SIGKILL)
    assert is_pdf(export(served, "staff1"))
    printer = shared_printer().chromium
    assert printer is not None
    assert printer.launches == 2
    assert len(browsers(our_chromium())) == 1


@pytest.mark.servers
def test_the_browser_is_closed_at_shutdown(served: Served) -> None:
    assert is_pdf(export(served, "staff0"))
    assert len(browsers(our_chromium())) == 1
    close_shared_printer()  # what happens at exit
    deadline = time.monotonic() + 10
    while our_chromium() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert our_chromium() == []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ventwatch_run_leaves_no_browser_behind(tmp_path: Path, mosquitto: MosquittoServer) -> None:
    """The real `ventwatch run`: its exports print in one browser, which is gone once Ctrl-C
    has stopped it (and stopping is not held up by the printer's thread)."""
    site_path, _ = seed(tmp_path)
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.add_user("staff", Role.STAFF, PASSWORD, [ALL_SITES])
    served = Served("", accounts, FastAPI())
    with ventwatch_run(site_path, tmp_path, mosquitto.url) as base:
        served.base = base
        assert all(is_pdf(export(served, "staff")) for _ in range(2))
        running = our_chromium()  # the run process is this one's child
        assert len(browsers(running)) == 1
    deadline = time.monotonic() + 10
    while any(alive(p.pid) for p in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in running if alive(p.pid)]


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"VENTWATCH_PDF_PAGES": "0"}, "VENTWATCH_PDF_PAGES='0': a whole number, 1 or more"),
        ({"VENTWATCH_PDF_QUEUE": "lots"}, "VENTWATCH_PDF_QUEUE='lots': a whole number, 0 or"),
    ],
)
def test_wrong_limits_are_named(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PdfLimits.from_env(env)
    assert PdfLimits.from_env({"VENTWATCH_PDF_QUEUE": "0"}) == PdfLimits(pages=2, queue=0)
    with pytest.raises(ValueError, match="VENTWATCH_EXPORTS_PER_MINUTE='0'"):
        ExportLimit.from_env({"VENTWATCH_EXPORTS_PER_MINUTE": "0"})
