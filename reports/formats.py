"""The formats a report can be written in, by the name the command line and the pages use.

Each renderer is imported only when used: the PDF one loads WeasyPrint (slow to import), the
XLSX one openpyxl, and a CSV export should cost neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ventwatch.reports.model import Report


def _pdf(report: Report) -> bytes:
    from ventwatch.reports.pdf_format import render_pdf

    return render_pdf(report)


def _html(report: Report) -> bytes:
    from ventwatch.reports.html_format import render_html

    return render_html(report).encode()


def _xlsx(report: Report) -> bytes:
    from ventwatch.reports.xlsx_format import render_xlsx

    return render_xlsx(report)


def _csv(report: Report) -> bytes:
    from ventwatch.reports.csv_format import render_csv

    return render_csv(report).encode()


def _daily_csv(report: Report) -> bytes:
    from ventwatch.reports.csv_format import render_daily_csv

    return render_daily_csv(report).encode()


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    suffix: str  # for a file name: report-2026-W47.pdf
    media_type: str
    render: Callable[[Report], bytes]


FORMATS: Final[dict[str, Format]] = {
    f.name: f
    for f in (
        Format("pdf", "pdf", "application/pdf", _pdf),
        Format("html", "html", "text/html; charset=utf-8", _html),
        Format(
            "xlsx",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _xlsx,
        ),
        Format("csv", "csv", "text/csv; charset=utf-8", _csv),
        Format("daily-csv", "daily.csv", "text/csv; charset=utf-8", _daily_csv),
    )
}
