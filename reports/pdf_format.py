"""The report as PDF: the HTML report (`html_format`) printed to A4, so the PDF and the HTML
cannot differ.

Two printers, chosen by what the machine has:
- **Headless Chromium** (Debian's `chromium`, driven through Playwright's library with the
  system browser: nothing downloaded) when it is installed: a 60-room week prints in about
  3 s (bench/report.py), under the issue's 5 s goal. JavaScript is off and every request is
  refused, so the page is printed exactly as written. Chromium draws the CSS page numbers
  but not the running title (CSS `string-set`), which its printer's footer adds instead.
- **WeasyPrint** (PyPI; needs only the system's Pango) otherwise: no browser on the server,
  but about 2.5 pages a second, so a 60-room week takes some 20 s. It draws the inline SVG
  charts and the page-margin footer itself, and is given a fetcher that refuses everything.

`VENTWATCH_PDF=chromium|weasyprint` forces one; `VENTWATCH_CHROMIUM` names the browser when
it is not on the PATH as `chromium`.
"""

from __future__ import annotations

import html
import os
import shutil
from typing import Any, Literal, NoReturn

from ventwatch.reports.html_format import render_html
from ventwatch.reports.model import Report

Printer = Literal["chromium", "weasyprint"]


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

    pdf = HTML(string=page, url_fetcher=_no_fetching).write_pdf()
    assert pdf is not None  # write_pdf returns bytes when given no target
    return pdf


def _chromium(page: str, footer: str) -> bytes:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no Chromium: install Debian's chromium or set VENTWATCH_CHROMIUM")
    # Chromium's sandbox refuses to start as root (a container's usual user).
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            context = browser.new_context(java_script_enabled=False)
            context.route("**/*", lambda route: route.abort())
            tab = context.new_page()
            tab.set_content(page, wait_until="load")
            return tab.pdf(
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
            browser.close()


def render_pdf(report: Report, use: Printer | None = None) -> bytes:
    page = render_html(report)
    if (use or printer()) == "chromium":
        footer = f"{report.header.site} · {report.header.period.label}"
        return _chromium(page, footer)
    return _weasyprint(page)
