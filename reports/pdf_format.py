"""The report as PDF: the HTML report (`html_format`) printed to A4, so the PDF and the HTML
cannot differ.

Two printers, chosen by what the machine has:
- **Headless Chromium** (Debian's `chromium`, driven through Playwright's library with the
  system browser: nothing downloaded) when it is installed: a 60-room week prints within
  the issue's 5 s goal (bench/report.py prints the time). JavaScript is off and every
  request is refused, so the page is printed exactly as written. Chromium draws the CSS page numbers
  but not the running title (CSS `string-set`), which its printer's footer adds instead.
- **WeasyPrint** (PyPI; needs only the system's Pango) otherwise: no browser on the server,
  but several times slower, so a 60-room week misses that goal (the figures:
  docs/development.md#benchmarks). It draws the inline SVG charts and the page-margin
  footer itself, and is given a fetcher that refuses everything.

`VENTWATCH_PDF=chromium|weasyprint` forces one; `VENTWATCH_CHROMIUM` names the browser when
it is not on the PATH as `chromium`.

**One printer per process** (`shared_printer`). A browser per export let 16 staff exports
start 64 Chromium processes (2.6 GB). Now a process has one Chromium, started at its first
PDF, started again if it crashed, and closed when the process exits; at most
`VENTWATCH_PDF_PAGES` reports (2) print at once, each in a fresh browser context (a tab of
its own, JavaScript off, nothing fetched), and the rest wait their turn. WeasyPrint prints
under the same bound: it is as heavy, in this process's own memory. The dashboard also asks
for a place in line (`PdfPrinter.admit`) before it builds a report: beyond the printing
pages, `VENTWATCH_PDF_QUEUE` requests (6) may wait; one more is refused at once
(`PrinterBusyError`, a 503 "try again in a minute") rather than piling up threads and memory.
The weekly email waits for a page like any export but never needs a place in line (it is
one thread, and nobody is waiting for it). `ventwatch report` is a process of its own, so it
prints with its own browser, started for that one report.
"""

from __future__ import annotations

import asyncio
import atexit
import html
import logging
import os
import shutil
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

from ventwatch.reports.html_format import render_html
from ventwatch.reports.model import Report

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright, Route

Printer = Literal["chromium", "weasyprint"]
T = TypeVar("T")
log = logging.getLogger(__name__)

# One report, from handing Chromium the page to having the PDF: a 60-room week takes ~3 s.
PRINT_TIMEOUT_S = 120.0
# What a refused export is told: by then a place in line has usually come free.
RETRY_AFTER_S = 60


def chromium_path() -> str | None:
    named = os.environ.get("VENTWATCH_CHROMIUM")
    if named:
        return named
    return next((p for name in ("chromium", "chromium-browser") if (p := shutil.which(name))), None)


def printer() -> Printer:
    forced = os.environ.get("VENTWATCH_PDF")
    if forced in ("chromium", "weasyprint"):
        return forced  # type: ignore[return-value]
    if forced:
        raise ValueError(f"VENTWATCH_PDF={forced!r}: use chromium or weasyprint")
    return "chromium" if chromium_path() else "weasyprint"


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"the report refers to {url!r}; it must be self-contained")


def _weasyprint(page: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes | None = HTML(string=page, url_fetcher=_no_fetching).write_pdf()
    assert pdf is not None  # write_pdf returns bytes when given no target
    return pdf


class PrinterBusyError(RuntimeError):
    """Every page is printing and the line behind them is full: ask again later."""

    retry_after_s = RETRY_AFTER_S


@dataclass(frozen=True, slots=True)
class PdfLimits:
    pages: int = 2  # reports printing at once: a Chromium tab (or a WeasyPrint run) each
    queue: int = 6  # dashboard exports waiting for a page beyond those; one more is refused

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PdfLimits:
        """`VENTWATCH_PDF_PAGES` (at least 1) and `VENTWATCH_PDF_QUEUE` (0 or more)."""
        values = {}
        for name, field, least in (("PAGES", "pages", 1), ("QUEUE", "queue", 0)):
            text = env.get(f"VENTWATCH_PDF_{name}")
            if text is None:
                continue
            if not text.strip().isdigit() or int(text) < least:
                raise ValueError(f"VENTWATCH_PDF_{name}={text!r}: a whole number, {least} or more")
            values[field] = int(text)
        return cls(**values)


class SharedChromium:
    """One headless Chromium, driven from a thread of its own on an asyncio loop.

    Why a thread: Playwright's sync API ties a browser to the thread that launched it, while
    the dashboard runs each export on whichever worker thread is free. Every caller hands the
    loop a page to print and waits for the PDF. The browser starts at the first print, and
    again when it has gone (crashed, killed): one print meeting a dead browser is retried once
    on a fresh one."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.launches = 0  # browsers started (more than one: it crashed), for the tests
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launching: asyncio.Lock | None = None

    def print(self, page: str, footer: str) -> bytes:
        return self._call(self._print_retrying(page, footer), PRINT_TIMEOUT_S)

    def close(self) -> None:
        """Close the browser and stop the thread; a later `print` starts them again."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()

    def _call(self, work: Coroutine[Any, Any, T], timeout_s: float) -> T:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                # A daemon: an unclosed printer must not keep the process alive at exit
                # (`close_shared_printer` closes the browser first, from `atexit`).
                thread = threading.Thread(target=loop.run_forever, name="pdf-chromium", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            loop = self._loop
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(work, timeout_s), loop)
        # `wait_for` ends the work on the loop; this bound frees the caller if the loop is stuck.
        return future.result(timeout=timeout_s + 30)

    async def _print_retrying(self, page: str, footer: str) -> bytes:
        browser = await self._browser_now()
        try:
            return await self._print(browser, page, footer)
        except Exception:
            if browser.is_connected():
                raise  # the page's fault, not the browser's
        return await self._print(await self._browser_now(), page, footer)

    async def _browser_now(self) -> Browser:
        """The running browser, launched (again) if there is none."""
        if self._launching is None:
            self._launching = asyncio.Lock()
        async with self._launching:  # two prints meeting no browser start one, not two
            if self._browser is None or not self._browser.is_connected():
                from playwright.async_api import async_playwright

                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                # Chromium's sandbox refuses to start as root (a container's usual user).
                args = ["--no-sandbox"] if os.geteuid() == 0 else []
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self.executable, args=args
                )
                self.launches += 1
                if self.launches > 1:
                    log.warning("the PDF printer's Chromium had gone: started it again")
            return self._browser

    @staticmethod
    async def _print(browser: Browser, page: str, footer: str) -> bytes:
        async def refuse(route: Route) -> None:
            await route.abort()

        context = await browser.new_context(java_script_enabled=False)
        try:
            await context.route("**/*", refuse)
            tab = await context.new_page()
            await tab.set_content(page, wait_until="load")
            return await tab.pdf(
                format="A4",
                prefer_css_page_size=True,
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                # Chromium draws the CSS page-margin boxes (page N of M) but not string-set, so
                # the running title at the bottom left comes from its own footer.
                footer_template=(
                    '<div style="font-size:7.5pt;color:#444;width:100%;padding:0 12mm;'
                    f'font-family:sans-serif">{html.escape(footer)}</div>'
                ),
            )
        finally:
            if browser.is_connected():
                await context.close()

    async def _shutdown(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        # The next print runs on a new loop: nothing of this one may be kept.
        self._browser = self._playwright = self._launching = None


class PlaceInLine:
    """A dashboard export's place in line for the printer, taken by `PdfPrinter.admit` and
    given back when its `with` block ends."""

    def __init__(self, leave: Callable[[], None]) -> None:
        self._leave = leave

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._leave()


class PdfPrinter:
    """At most `limits.pages` reports printing at once, in one shared Chromium (or through
    WeasyPrint), and a bounded line of dashboard exports waiting for them."""

    def __init__(self, limits: PdfLimits) -> None:
        self.limits = limits
        self.most_printing = 0  # the most reports printing at once so far, for the tests
        self._pages = threading.BoundedSemaphore(limits.pages)
        self._lock = threading.Lock()
        self._in_line = 0  # admitted exports: building their report, waiting, or printing
        self._printing = 0
        self._chromium: SharedChromium | None = None

    @property
    def chromium(self) -> SharedChromium | None:
        """The browser, once a report has been printed with it."""
        return self._chromium

    def admit(self) -> PlaceInLine:
        """A place in line for an export (held while its report is built and printed), or
        `PrinterBusyError` at once when every page and every place is taken."""
        with self._lock:
            if self._in_line >= self.limits.pages + self.limits.queue:
                raise PrinterBusyError(
                    f"{self._in_line} reports are being made; the printer takes "
                    f"{self.limits.pages} at once and {self.limits.queue} waiting"
                )
            self._in_line += 1
        return PlaceInLine(self._leave)

    def _leave(self) -> None:
        with self._lock:
            self._in_line -= 1

    def print(self, page: str, footer: str, use: Printer) -> bytes:
        """The PDF of `page`, once one of the pages is free (waiting as long as it takes:
        each print is bounded by `PRINT_TIMEOUT_S`, so the wait is too)."""
        with self._pages:
            with self._lock:
                self._printing += 1
                self.most_printing = max(self.most_printing, self._printing)
            try:
                if use == "weasyprint":
                    return _weasyprint(page)
                return self._browser().print(page, footer)
            finally:
                with self._lock:
                    self._printing -= 1

    def _browser(self) -> SharedChromium:
        with self._lock:
            if self._chromium is None:
                executable = chromium_path()
                if executable is None:
                    raise RuntimeError(
                        "no Chromium: install Debian's chromium or set VENTWATCH_CHROMIUM"
                    )
                self._chromium = SharedChromium(executable)
            return self._chromium

    def close(self) -> None:
        if self._chromium is not None:
            self._chromium.close()


_shared: PdfPrinter | None = None
_shared_lock = threading.Lock()


def shared_printer() -> PdfPrinter:
    """This process's printer, made at first use with the limits of the environment."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PdfPrinter(PdfLimits.from_env(os.environ))
        return _shared


@atexit.register
def close_shared_printer() -> None:
    """Close this process's browser: at exit (so no Chromium outlives ventwatch), or when a
    test wants other limits. The next PDF makes a new printer."""
    global _shared
    with _shared_lock:
        closing, _shared = _shared, None
    if closing is not None:
        closing.close()


def render_pdf(report: Report, use: Printer | None = None) -> bytes:
    page = render_html(report)
    footer = f"{report.header.site} · {report.header.period.label}"
    return shared_printer().print(page, footer, use or printer())
