"""`ventwatch report`: a site's weekly (or any range's) ventilation report as a file, for
staff to print and reps to take to a meeting.

Exit status is a contract for scripts (a cron job mailing the PDF): 0 written; 1 a runtime
problem (the site file, the store, the output file), with one line saying what; 2 a wrong
command (a week that does not exist, --week with --from, an unknown format or room).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from ventwatch.config import SiteConfig, SiteConfigError, load_site
from ventwatch.settings import Settings, SettingsError, resolve
from ventwatch.state_database import state_exists
from ventwatch.store import StoreError, StoreURLError, open_store, redact_url

T = TypeVar("T")
Step = Callable[[int, int], None]


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"
    xlsx = "xlsx"
    csv = "csv"
    daily_csv = "daily-csv"
    evidence = "evidence"  # a rep's evidence pack: ZIP with a SHA-256 manifest


def _usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _runtime(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _load(config: Path) -> tuple[SiteConfig, Settings]:
    from ventwatch.analysis.profiles import alert_rule_ids

    try:
        site = load_site(config, profiles=alert_rule_ids())
        return site, resolve(site, config)
    except SiteConfigError as exc:
        raise _runtime(str(exc)) from None
    except SettingsError as exc:
        raise _runtime(str(exc)) from None


def report(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The site file (see sensors.example.yaml).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="File to write (- for standard output).")
    ],
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47: Monday to Sunday in the site's time zone."),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First date YYYY-MM-DD (instead of --week).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Last date YYYY-MM-DD, inclusive.")] = None,
    format_: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="pdf, html, xlsx, csv (a row per room), daily-csv, or evidence (a rep's ZIP).",
        ),
    ] = ReportFormat.pdf,
    room: Annotated[list[str] | None, typer.Option(help="Only this room (repeatable).")] = None,
) -> None:
    """Write the ventilation report of a week (or --from/--to) for the site's rooms: each
    room judged against the site's guidance profile over occupied hours, with the previous
    period for comparison."""
    from ventwatch.alerts.records import AlertRecords
    from ventwatch.analysis.profiles import UnknownProfileError, load_profile
    from ventwatch.register import RegisterEdits, room_registers
    from ventwatch.reports.evidence import evidence_pack, load_evidence
    from ventwatch.reports.formats import FORMATS
    from ventwatch.reports.inputs import load_report, logged_actions
    from ventwatch.reports.period import BadPeriodError, parse_range, parse_week

    try:
        if week is not None and (from_ is not None or to is not None):
            raise _usage("give --week or --from/--to, not both")
        if week is not None:
            period = parse_week(week)
        elif from_ is not None and to is not None:
            period = parse_range(from_, to)
        else:
            raise _usage("give --week 2026-W47, or --from YYYY-MM-DD and --to YYYY-MM-DD")
    except BadPeriodError as exc:
        raise _usage(str(exc)) from None
    site, settings = _load(config)
    known = [r.name for r in site.rooms]
    unknown = [r for r in room or [] if r not in known]
    if unknown:
        raise _usage(f"unknown room {unknown[0]!r} (rooms: {', '.join(known)})")
    try:
        profile = load_profile(site.guidance.profile)
    except UnknownProfileError as exc:
        raise _runtime(str(exc)) from None
    actions = logged_actions(settings.state_db, site.site.name)
    registers = room_registers(settings.state_db, site)
    try:
        store = open_store(settings.store_url, settings.store_base, site=site.site.name)
    except StoreURLError as exc:
        raise _runtime(f"store: {exc}") from None
    except Exception as exc:  # e.g. a DuckDB file that another process holds open
        raise _runtime(f"store {redact_url(settings.store_url)}: cannot open: {exc}") from None
    try:
        if format_ is ReportFormat.evidence:
            exists = state_exists(settings.state_db)
            records = AlertRecords(settings.state_db, site.site.name) if exists else None
            register = RegisterEdits(settings.state_db, site.site.name) if exists else None
            inputs = load_evidence(
                store, site, profile, period, datetime.now(UTC), records, room or None, register
            )
            built, data = inputs.report, evidence_pack(inputs)
        else:
            built = _with_progress(
                period.days > 7,
                lambda step: load_report(
                    store,
                    site,
                    profile,
                    period,
                    datetime.now(UTC),
                    actions,
                    room or None,
                    step,
                    registers=registers,
                ),
            )
            data = FORMATS[format_.value].render(built)
    except StoreError as exc:
        raise _runtime(f"store {redact_url(settings.store_url)}: {exc}") from None
    finally:
        store.close()
    try:
        if str(out) == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            out.write_bytes(data)
    except OSError as exc:
        raise _runtime(f"cannot write {out}: {exc.strerror}") from None
    counts = ", ".join(f"{n} {status}" for status, n in built.summary.counts.items() if n)
    typer.echo(
        f"{out}: {format_.value} report of {period.label}, {len(built.rooms)} rooms ({counts})",
        err=True,
    )


def _with_progress(shown: bool, work: Callable[[Step | None], T]) -> T:
    """Run `work`, showing its steps (store reads, days judged) as a progress bar on
    standard error when `shown`: a term's report takes a while, a week's does not."""
    if not shown:
        return work(None)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("reading and judging", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return work(step)
