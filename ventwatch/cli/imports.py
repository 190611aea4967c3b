"""`ventwatch import`: readings from a CSV file (ventwatch's own or an Aranet4 app export) into
the site's store, bad rows listed and skipped, with exit statuses scripts rely on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ventwatch.cli.inputs import ConfigOption, fail, read_settings, read_site, redacted
from ventwatch.config import SiteConfig
from ventwatch.ingest.importer import (
    DateOrder,
    ImportFormatError,
    ImportUsageError,
    RowError,
    Tally,
    read_import,
)
from ventwatch.readings import Reading
from ventwatch.store import Store, StoreURLError, open_store


def _import_store(site: SiteConfig, config: Path, file: Path) -> Store:
    """The site's store for `import`: any failure to open it (a DuckDB file that the
    running service holds, say) is one line, not a traceback."""
    settings = read_settings(site, config, None)
    try:
        return open_store(settings.store_url, settings.store_base, site=site.site.name)
    except StoreURLError as exc:
        raise fail(f"{file}: error: store: {exc}") from None
    except Exception as exc:
        raise fail(f"{file}: error: store {redacted(settings.store_url)}: {exc}") from None


def import_(
    config: ConfigOption,
    file: Annotated[
        Path,
        typer.Argument(
            help="ventwatch CSV (time,room,co2_ppm,temperature_c[,...]) or an Aranet4 app export."
        ),
    ],
    room: Annotated[
        str | None, typer.Option(help="The room an Aranet4 export's monitor was in.")
    ] = None,
    date_order: Annotated[
        DateOrder | None,
        typer.Option(
            "--date-order",
            help="dmy or mdy: how an Aranet4 export's dates read, when neither its header "
            "nor its dates say.",
        ),
    ] = None,
) -> None:
    """Load readings from a CSV file into the site's store; bad rows are listed and skipped.

    Exit 0 when readings were stored; 1 when nothing was (the file unreadable, every row
    skipped or already stored) or the store failed; 2 when the command must change (--room,
    --date-order)."""
    import sys

    site = read_site(config)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise fail(f"{file}: error: cannot read it: {exc.strerror}") from None
    try:
        imported = read_import(data, site, filename=file.name, room=room, date_order=date_order)
    except ImportUsageError as exc:
        typer.echo(f"{file}:{exc.line}: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except ImportFormatError as exc:
        raise fail(f"{file}:{exc.line}: error: {exc}") from None
    typer.echo(f"{file}: {imported.form}")
    for note in imported.notes:
        typer.echo(f"{file}: note: {note}")
    store = _import_store(site, config, file)
    tally = Tally(imported.rows_read)
    batch: list[Reading] = []
    line = 0
    try:
        with typer.progressbar(
            imported.rows,
            length=imported.rows_read,
            label="importing",
            hidden=not sys.stderr.isatty(),  # a bar only for a person watching
            update_min_steps=1000,
            file=sys.stderr,
        ) as rows:
            for line, row in rows:
                if isinstance(row, RowError):
                    if tally.add(row):
                        what = "skipped" if row.skipped else "kept the rest"
                        typer.echo(f"{file}:{line}: {what}: {row.reason}: {row.message}", err=True)
                    continue
                batch.append(row)
                if len(batch) >= 50_000:
                    _store_batch(store, batch, tally, f"{file}:{line}")
        _store_batch(store, batch, tally, f"{file}:{line}")
    except typer.Exit:
        raise
    except Exception as exc:  # a bug in reading rows: still one line, not a traceback
        raise fail(
            f"{file}:{line}: error: reading the row after this one failed "
            f"({type(exc).__name__}: {exc}): please report it"
        ) from None
    finally:
        store.close()
    for summary in tally.summary():
        typer.echo(f"{file}: {summary}")
    if tally.stored == 0:
        why = (
            f"all {tally.readings} readings were already stored"
            if tally.readings
            else "no row could be read"
        )
        raise fail(f"{file}: nothing stored: {why}")


def _store_batch(store: Store, batch: list[Reading], tally: Tally, where: str) -> None:
    """Write `batch` and count it; a store that fails (down, refusing, DuckDB's own
    errors) ends the import with one line saying how far it got."""
    try:
        tally.stored += store.write(batch)
    except Exception as exc:
        raise fail(
            f"{where}: error: store: {type(exc).__name__}: {exc} "
            f"({tally.stored} readings stored before it)"
        ) from None
    tally.readings += len(batch)
    batch.clear()
