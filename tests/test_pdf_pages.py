"""The PDF's summary never leaves a nearly blank page: the guidance follows the summary on
its last page, however many rooms the summary's table runs to. Read back from the PDF as
printed, page by page, with pdftotext."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import UTC, datetime

import pytest

from tests.report_week import WEEK, seed
from ventwatch.analysis.profiles import load_profile
from ventwatch.reports.inputs import load_report
from ventwatch.reports.model import Report
from ventwatch.reports.pdf_format import render_pdf
from ventwatch.reports.period import parse_week
from ventwatch.store.duckdb import DuckDBStore

# Fewer lines than this on a page of the summary reads as a blank page with a few rows.
FEWEST_LINES = 30
GUIDANCE = "What the figures mean"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    folder = tmp_path_factory.mktemp("pages")
    _, site = seed(folder)
    store = DuckDBStore(folder / "store.duckdb")
    try:
        return load_report(
            store,
            site,
            load_profile("joint-union"),
            parse_week(WEEK),
            datetime(2026, 11, 25, tzinfo=UTC),
            [],
        )
    finally:
        store.close()


def with_rooms(report: Report, count: int) -> Report:
    """The seeded report with `count` rooms: the five seeded, then copies under new names
    (the summary's table grows a row each)."""
    seeded = list(report.rooms)
    copies = [
        dataclasses.replace(
            seeded[i % len(seeded)],
            analysis=dataclasses.replace(seeded[i % len(seeded)].analysis, room=f"Room{i:03d}"),
        )
        for i in range(count - len(seeded))
    ]
    return dataclasses.replace(report, rooms=seeded + copies)


def summary_pages(pdf: bytes) -> list[list[str]]:
    """The non-blank lines of each page up to the one where the guidance starts."""
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    pages = []
    for page in text.split("\f"):
        lines = [line for line in page.splitlines() if line.strip()]
        pages.append(lines)
        if any(GUIDANCE in line for line in lines):
            return pages
    raise AssertionError(f"no page has {GUIDANCE!r}")


# 15 rooms ran the summary's table 11 lines onto a second page, 45 rooms 9 lines onto a
# third, each then left nearly blank by a page break before the guidance.
@pytest.mark.parametrize("rooms", [5, 15, 45])
@pytest.mark.parametrize(
    "printer", [pytest.param("chromium", marks=pytest.mark.servers), "weasyprint"]
)
def test_no_page_of_the_summary_is_nearly_blank(report: Report, rooms: int, printer: str) -> None:
    bigger = with_rooms(report, rooms)
    pages = summary_pages(render_pdf(bigger, use=printer))  # type: ignore[arg-type]
    counts = [len(lines) for lines in pages]
    assert min(counts) >= FEWEST_LINES, counts
    text = "\n".join("\n".join(lines) for lines in pages)
    assert all(f"Room{i:03d}" in text for i in range(rooms - 5))  # the table is all there
