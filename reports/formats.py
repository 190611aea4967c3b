"""The formats a report can be written in, by the name the command line and the pages use:
one line each in `FORMATS`.

Each renderer is named, not imported, and imported only when used: the PDF one loads
WeasyPrint (slow to import), the XLSX one openpyxl, and a CSV export should cost neither.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast

from ventwatch.reports.model import Report


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    suffix: str  # for a file name: report-2026-W47.pdf
    media_type: str
    label: str  # in the export form's list
    # "module:function", a function of the `Report` alone (so every format shows the same
    # figures) that returns the file as text or bytes.
    renderer: str

    def render(self, report: Report) -> bytes:
        module, _, function = self.renderer.partition(":")
        render = cast(
            Callable[[Report], str | bytes],
            getattr(importlib.import_module(module), function),
        )
        out = render(report)
        return out.encode() if isinstance(out, str) else out


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CSV = "text/csv; charset=utf-8"
_AT = "ventwatch.reports."

FORMATS: Final[dict[str, Format]] = {
    f.name: f
    for f in (
        Format("pdf", "pdf", "application/pdf", "PDF (to print)", _AT + "pdf_format:render_pdf"),
        Format(
            "html", "html", "text/html; charset=utf-8", "HTML page", _AT + "html_format:render_html"
        ),
        Format("xlsx", "xlsx", _XLSX, "Spreadsheet (XLSX)", _AT + "xlsx_format:render_xlsx"),
        Format("csv", "csv", _CSV, "CSV, a row per room", _AT + "csv_format:render_csv"),
        Format(
            "daily-csv",
            "daily.csv",
            _CSV,
            "CSV, a row per room and day",
            _AT + "csv_format:render_daily_csv",
        ),
    )
}
