"""What every command reads before it starts anything: the site file, its settings and its
store, each failure one readable line and exit status 1, never a traceback; and the options
and logging every command shares.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from ventwatch.config import SiteConfig, SiteConfigError, load_site
from ventwatch.settings import Settings, SettingsError, resolve
from ventwatch.store import Store, StoreURLError, open_store

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The site file (see sensors.example.yaml).")
]
SitesOption = Annotated[
    Path | None,
    typer.Option(
        "--sites",
        help="A folder of site files (its *.yaml and *.yml, a site each): a trust's or a "
        "local authority's sites in one place. May be given with --config.",
        file_okay=False,
    ),
]
PortOption = Annotated[
    int | None, typer.Option("--port", help="Dashboard port (overrides VENTWATCH_HTTP's).")
]


def redacted(url: str) -> str:
    """A store URL fit for a terminal or log: no password, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=1)


def read_site(path: Path) -> SiteConfig:
    """The site file checked against the decoder families and guidance profiles this
    installation has (`load_site` leaves out a check whose names it is not given)."""
    from ventwatch.analysis.profiles import alert_rule_ids
    from ventwatch.ingest.decoders import FAMILIES

    try:
        return load_site(path, families=FAMILIES, profiles=alert_rule_ids())
    except SiteConfigError as exc:
        raise fail(str(exc)) from None


def site_files(config: list[Path] | None, sites: Path | None) -> list[Path]:
    """The site files `--config` names, then those of the `--sites` folder in name order:
    each read on its own, so one file's mistake is reported with its own name and line."""
    paths = list(config or [])
    if sites is not None:
        if not sites.is_dir():
            raise fail(f"error: --sites {sites}: not a folder")
        found = sorted(p for p in sites.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not found:
            raise fail(f"error: --sites {sites}: no site files (*.yaml, *.yml) in it")
        paths.extend(found)
    if not paths:
        raise fail("error: which sites? give --config FILE (once per site) or --sites DIR")
    return paths


def read_settings(site: SiteConfig, path: Path | None, port: int | None) -> Settings:
    try:
        return resolve(site, path, port=port)
    except SettingsError as exc:
        raise fail(f"error: {exc}") from None


def open_site_store(site: SiteConfig, config: Path) -> Store:
    settings = read_settings(site, config, None)
    try:
        return open_store(settings.store_url, settings.store_base, site=site.site.name)
    except StoreURLError as exc:
        raise fail(f"error: store: {exc}") from None


def log_to_terminal(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
