"""The weekly report of a 60-room site whose sensors report at real cadences (bench/analyse.py's
mix: every 1, 2, 5, 10 and 15 minutes), as XLSX and as PDF, against the analysis alone of the
same report, in the same run.

Goal (reports issue): the report at most 2x the analysis time, and the PDF under 5 s.

- The analysis alone is the report's own: the store's minute means of the week and of the
  week before (a report compares them), then the engine's judgement of the week, of the week
  before and of each school day (`reports.model.judge`): every figure a report shows.
- The report is all of that plus what only a report does (the day charts, the model) and
  its rendering: `render_xlsx(load_report(...))`, and the same with `render_pdf`.
- ratio = XLSX report / the analysis alone: what laying the figures out costs on top of
  working them out. The PDF has its own goal in seconds.
- Also printed, for comparison: `ventwatch analyse` of the week (one week read and judged,
  no comparison, no days), and the XLSX report against it (`vs_analyse`). A report reads
  and judges twice what that does, so this figure cannot reach 2.

The renderers' imports (WeasyPrint takes about a second) and one untimed run of each
happen before the clock starts. The analysis and the XLSX report are timed in turns, and
each figure is the fastest of --repeat runs: on a shared machine the same run varies by half
(seen here), and what is slower than the fastest measures the neighbours, not the code.

The data are bench/analyse.py's week, copied to the week before, so the comparison has data.

    .venv/bin/python -m bench.report [--rooms 60] [--keep DIR] [--repeat 7]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench.analyse import MONDAY, SUNDAY, fill, site
from ventwatch.analysis.engine import SiteAnalysis, analyse_site
from ventwatch.analysis.occupancy import local_day_bounds
from ventwatch.analysis.profiles import load_profile
from ventwatch.analysis.series import read_minutes
from ventwatch.reports.inputs import load_report, read_report_minutes
from ventwatch.reports.model import Report, Verdicts, judge, split
from ventwatch.reports.pdf_format import printer, render_pdf
from ventwatch.reports.period import parse_week
from ventwatch.reports.xlsx_format import render_xlsx
from ventwatch.store.duckdb import DuckDBStore


def timed(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def seeded(rooms: int, keep: Path | None) -> Path:
    folder = keep or Path(tempfile.mkdtemp(prefix="ventwatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report-{rooms}.duckdb"
    if not path.exists():
        began = time.perf_counter()
        fill(path, rooms)
        con = duckdb.connect(str(path))
        con.execute(
            "INSERT INTO readings SELECT time - INTERVAL 7 day, site, room, sensor, family, "
            "co2_ppm, temperature_c, humidity_pct, pressure_hpa, battery_pct FROM readings"
        )
        count = con.execute("SELECT count(*) FROM readings").fetchall()[0][0]
        con.close()
        print(f"generated {count:,} readings (two weeks) in {time.perf_counter() - began:.1f} s")
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=60)
    parser.add_argument("--keep", type=Path, help="reuse/keep the store in this folder")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each (fastest)")
    args = parser.parse_args()
    path = seeded(args.rooms, args.keep)
    cfg = site(args.rooms)
    profile = load_profile("joint-union")
    period = parse_week(f"{MONDAY.isocalendar().year}-W{MONDAY.isocalendar().week:02d}")
    rooms = [r.name for r in cfg.rooms]
    store = DuckDBStore(path)

    def analysis() -> Verdicts:
        now, before = split(read_report_minutes(store, cfg, profile, period), cfg, profile, period)
        return judge(now, before, cfg, profile, period, rooms)

    def analyse_week() -> SiteAnalysis:
        start, end = local_day_bounds(MONDAY, SUNDAY, cfg.tz)
        minutes = read_minutes(store, cfg, profile, None, start, end)
        return analyse_site(minutes, cfg, profile, MONDAY, SUNDAY)

    def report() -> Report:
        return load_report(store, cfg, profile, period, datetime.now(UTC), [])

    # One run of each that is not counted: DuckDB's first query and the renderers' first use
    # are start-up, not a report's cost.
    result = analyse_week()
    analysis()
    render_xlsx(report())
    render_pdf(report())
    times: dict[str, list[float]] = {"analysis": [], "xlsx": [], "week": []}
    for _ in range(args.repeat):
        times["analysis"].append(timed(analysis))
        times["xlsx"].append(timed(lambda: render_xlsx(report())))
        times["week"].append(timed(analyse_week))
    pdf_s = min(timed(lambda: render_pdf(report())) for _ in range(args.repeat))
    build_s = min(timed(report) for _ in range(args.repeat))
    analysis_s, xlsx_s, week_s = (min(times[k]) for k in ("analysis", "xlsx", "week"))
    built = report()
    store.close()
    xlsx, pdf = render_xlsx(built), render_pdf(built)

    pdf_path = path.with_suffix(".pdf")
    pdf_path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, text=True).stdout
    pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages")), "?")
    statuses = Counter(r.co2.status for r in result.rooms)
    print(f"rooms {len(cfg.rooms)}  statuses {dict(statuses)}  PDF {pages} pages, "
          f"{len(pdf) / 1e6:.1f} MB ({pdf_path}); XLSX {len(xlsx) / 1e3:.0f} kB")  # fmt: skip
    print(f"the report's analysis alone (two weeks read and judged, days)  {analysis_s:6.2f} s")
    print(f"report model (the analysis, charts, summary)                   {build_s:6.2f} s")
    print(f"XLSX report (model + openpyxl)                                 {xlsx_s:6.2f} s")
    print(f"PDF report (model + HTML + {printer()})                   {pdf_s:6.2f} s")
    print(f"`ventwatch analyse` of the week alone                          {week_s:6.2f} s")
    print(f"XLSX report {xlsx_s:.2f} s = {xlsx_s / analysis_s:.2f}x the analysis (goal <= 2x); "
          f"{xlsx_s / week_s:.2f}x a one-week `ventwatch analyse`")  # fmt: skip
    print(f"PDF report  {pdf_s:.2f} s (goal < 5 s)")
    print(
        f"RESULT report ratio={xlsx_s / analysis_s:.2f} goal=2 pdf_s={pdf_s:.2f} pdf_goal_s=5 "
        f"xlsx_s={xlsx_s:.2f} analysis_s={analysis_s:.2f} build_s={build_s:.2f} "
        f"week_analyse_s={week_s:.2f} vs_analyse={xlsx_s / week_s:.2f} "
        f"rooms={len(cfg.rooms)} pages={pages}"
    )


if __name__ == "__main__":
    main()
