"""`analyse` and `profiles`: the site's rooms judged against a guidance profile over occupied
hours, and the shipped profiles listed with their figures and sources.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ventwatch.cli.inputs import ConfigOption, fail, open_site_store, read_site


def analyse(
    config: ConfigOption,
    from_: Annotated[str, typer.Option("--from", help="First local date, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last local date (inclusive), YYYY-MM-DD.")],
    room: Annotated[list[str] | None, typer.Option(help="Only this room (repeatable).")] = None,
    profile: Annotated[
        str | None, typer.Option(help="Guidance profile id (default: the site's).")
    ] = None,
    format_: Annotated[str, typer.Option("--format", help="json or table.")] = "table",
) -> None:
    """Judge each room against the guidance profile over occupied hours (a contract)."""
    import json

    from ventwatch.analysis.engine import analyse_site, to_json
    from ventwatch.analysis.occupancy import local_day_bounds
    from ventwatch.analysis.profiles import UnknownProfileError, load_profile
    from ventwatch.analysis.series import read_minutes
    from ventwatch.reports.period import BadPeriodError, parse_dates

    site = read_site(config)
    if format_ not in ("json", "table"):
        raise fail(f"error: --format {format_!r}: use json or table")
    try:
        first, last = parse_dates(from_, to)
    except BadPeriodError as exc:
        raise fail(f"error: {exc}") from None
    known = {r.name for r in site.rooms}
    unknown = [r for r in room or [] if r not in known]
    if unknown:
        raise fail(f"error: unknown room {unknown[0]!r} (rooms: {', '.join(sorted(known))})")
    try:
        guidance = load_profile(profile or site.guidance.profile)
    except UnknownProfileError as exc:
        raise fail(f"error: {exc}") from None
    store = open_site_store(site, config)
    try:
        start, end = local_day_bounds(first, last, site.tz)
        minutes = read_minutes(store, site, guidance, room or None, start, end)
    finally:
        store.close()
    result = analyse_site(minutes, site, guidance, first, last, room or None)
    if format_ == "json":
        typer.echo(json.dumps(to_json(result), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"{result.site}: {first} to {last}, profile {guidance.id} {guidance.version} "
        f"({guidance.title})"
    )
    header = (
        "room",
        "status",
        "consistently",
        "coverage%",
        "mean",
        ">800%",
        ">1500%",
        "max20",
        "run>1500",
        "temp min/mean",
    )
    rows = [header]
    for r in result.rooms:
        m, t = r.co2, r.temperature

        def num(v: float | None, digits: int = 0) -> str:
            return "-" if v is None else f"{v:.{digits}f}"

        rows.append(
            (
                r.room,
                m.status,
                r.consistently.status,
                num(m.coverage_pct),
                num(m.co2_mean_ppm),
                num(m.pct_time_above_800, 1),
                num(m.pct_time_above_1500, 1),
                num(m.max_20min_mean_ppm),
                f"{m.longest_above_1500_min} min",
                f"{num(t.min_c, 1)}/{num(t.mean_c, 1)} °C",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def profiles(
    markdown: Annotated[
        bool, typer.Option(help="The table of docs/guidance.md, in Markdown.")
    ] = False,
) -> None:
    """List the shipped guidance profiles with their figures and sources."""
    from ventwatch.analysis.profiles import available_profiles, load_profile, profiles_table

    if markdown:
        typer.echo(profiles_table(), nl=False)
        return
    for pid in available_profiles():
        p = load_profile(pid)
        typer.echo(f"{p.id} {p.version}: {p.title}")
