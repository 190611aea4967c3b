"""`check-config` and `decode`: a site file and a sensor's payload checked, with nothing
started, as a site manager or an integrator tries them first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ventwatch.cli.inputs import SitesOption, fail, read_site, site_files
from ventwatch.config import SiteConfig, sensors_of_two_sites
from ventwatch.settings import deprecated_names


def check_config(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The site file to check (see sensors.example.yaml)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Argument(help="The site file, as --config gives it.", show_default=False)
    ] = None,
    sites: SitesOption = None,
) -> None:
    """Validate a site file (or every file of a --sites folder); print every problem with its
    file and line, in words, and a note for each old setting name in use (in the file or the
    environment); and a sensor listed by two files of the folder, naming both. Exit 1 when
    any file has a problem."""
    if config is not None and file is not None:
        raise fail("error: give the site file once: ventwatch check-config --config FILE")
    single = config or file
    paths = site_files([single] if single is not None else None, sites)
    failed = 0
    read: list[tuple[Path, SiteConfig]] = []
    for path in paths:
        try:
            site = read_site(path)
        except typer.Exit:  # its problems are printed: go on to the next file
            failed += 1
            continue
        read.append((path, site))
        typer.echo(
            f"{path}: ok: site {site.site.name!r}, {len(site.rooms)} rooms, "
            f"{len(site.sensors)} sensors, profile {site.guidance.profile}"
        )
        for note in deprecated_names(site, os.environ, path):
            typer.echo(f"note: {note}", err=True)
    # Sites of one folder share a broker: a sensor is one site's, unless a prefix tells.
    between = sensors_of_two_sites(read)
    for problem in between:
        typer.echo(problem, err=True)
    if failed and len(paths) > 1:
        typer.echo(f"{failed} of {len(paths)} site files have problems", err=True)
    if between:
        typer.echo("these site files cannot run together (see above)", err=True)
    if failed or between:
        raise typer.Exit(code=1)


def decode(
    topic: Annotated[str, typer.Option("--topic", "-t", help="The MQTT topic it arrived on.")],
    file: Annotated[
        str, typer.Argument(help="File holding one raw payload; - or nothing: standard input.")
    ] = "-",
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Site file: its generic decoders and time zone."),
    ] = None,
) -> None:
    """Decode one raw payload and print its readings as JSON lines (a contract, for scripts).

    Each line: {"sensor": ..., "time": ISO 8601 or null, "values": {"co2_ppm": ...}}.
    Exit 1 with one line on stderr when no decoder claims the topic, the payload is
    malformed, or nothing usable remains.
    """
    import json
    import sys
    from zoneinfo import ZoneInfo

    from ventwatch.ingest.decoders import DecodeContext, DecodeError, decoder_for, decoders_for_site
    from ventwatch.readings import QUANTITIES

    site = read_site(config) if config else None
    decoders = decoders_for_site(site)
    try:
        payload = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise fail(f"error: cannot read {file}: {exc.strerror}") from None
    decoder = decoder_for(topic, decoders)
    if decoder is None:
        raise fail(f"error: no decoder claims the topic {topic!r}")
    ctx = DecodeContext(timezone=site.tz if site else ZoneInfo("Europe/London"))
    try:
        decoded = decoder.decode(topic, payload, ctx)
    except DecodeError as exc:
        raise fail(f"error: {decoder.family}: {exc}") from None
    if not decoded.readings:
        what = (
            f"presence: {decoded.presence[0]} is {decoded.presence[1]}"
            if decoded.presence
            else "metadata for another topic"
        )
        raise fail(f"error: {decoder.family}: no reading in this message ({what})")
    for reading in decoded.readings:
        line = {
            "sensor": reading.sensor,
            "time": reading.time.isoformat() if reading.time else None,
            "values": {k: reading.values[k] for k in QUANTITIES if k in reading.values},
        }
        typer.echo(json.dumps(line, ensure_ascii=False))
