"""Run-time settings: the site file's broker, store and HTTP address, overridden by the
environment as deployments expect, and validated before anything starts.

| variable               | form                                   | default               |
|------------------------|----------------------------------------|-----------------------|
| VENTWATCH_BROKER_URL   | mqtt://[user:pass@]host:port           | the site file's       |
| VENTWATCH_STORE_URL    | duckdb:///path/to/file.duckdb          | the site file's       |
| VENTWATCH_HTTP         | host:port                              | 127.0.0.1:8000        |
| VENTWATCH_SPOOL_DIR    | a folder                               | the site file's       |
| VENTWATCH_ACCOUNTS_DB  | a file (SQLite)                        | the site file's       |

Broker credentials may also come from the variables the site file names (`username_env`,
`password_env`); a user and password inside VENTWATCH_BROKER_URL win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ventwatch.config import SiteConfig


class SettingsError(ValueError):
    """A setting that cannot work, named with where it came from."""


@dataclass(frozen=True)
class BrokerURL:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        """The URL without its password, for logs and pages."""
        user = f"{self.username}@" if self.username else ""
        return f"mqtt://{user}{self.host}:{self.port}"


@dataclass(frozen=True)
class HTTPAddress:
    host: str
    port: int


@dataclass(frozen=True)
class Settings:
    broker: BrokerURL
    client_id: str
    store_url: str
    store_base: Path | None
    http: HTTPAddress
    spool_dir: Path
    spool_max_bytes: int
    accounts_db: Path


def parse_broker_url(url: str, origin: str = "broker URL") -> BrokerURL:
    parts = urlsplit(url)
    if parts.scheme != "mqtt":
        raise SettingsError(f"{origin}: {url!r} must start with mqtt:// (mqtt://host:port)")
    if not parts.hostname:
        raise SettingsError(f"{origin}: {url!r} has no host")
    try:
        port = parts.port or 1883
    except ValueError as exc:
        raise SettingsError(f"{origin}: {url!r}: {exc}") from None
    return BrokerURL(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def parse_http(value: str, origin: str = "VENTWATCH_HTTP") -> HTTPAddress:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{origin}: {value!r} is not host:port (e.g. 127.0.0.1:8000)")
    return HTTPAddress(host=host.strip("[]"), port=int(port))


def resolve(
    site: SiteConfig,
    site_file: Path | None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Settings:
    """The settings in force: the site file, then the environment, then command-line flags."""
    env = os.environ if env is None else env
    broker_origin = "VENTWATCH_BROKER_URL" if "VENTWATCH_BROKER_URL" in env else "broker.url"
    broker = parse_broker_url(env.get("VENTWATCH_BROKER_URL", site.broker.url), broker_origin)
    if broker.username is None and site.broker.username_env:
        broker = BrokerURL(
            broker.host,
            broker.port,
            env.get(site.broker.username_env),
            env.get(site.broker.password_env or "", None),
        )
    http = parse_http(env.get("VENTWATCH_HTTP", "127.0.0.1:8000"))
    if port is not None:
        http = HTTPAddress(http.host, port)
    store_url = env.get("VENTWATCH_STORE_URL", site.store.url)
    slug = "".join(c if c.isalnum() else "-" for c in site.site.name.lower()).strip("-")
    return Settings(
        broker=broker,
        client_id=site.broker.client_id or f"ventwatch-{slug}",
        store_url=store_url,
        # A relative path in the site file is relative to the file; from the environment, to
        # the working directory, as any other command-line path.
        store_base=(
            site_file.parent if site_file and "VENTWATCH_STORE_URL" not in env else Path.cwd()
        ),
        http=http,
        spool_dir=(
            Path(env["VENTWATCH_SPOOL_DIR"])
            if "VENTWATCH_SPOOL_DIR" in env
            else (site_file.parent if site_file else Path.cwd()) / site.store.spool
        ),
        spool_max_bytes=site.store.spool_max_mb * 1024 * 1024,
        accounts_db=(
            Path(env["VENTWATCH_ACCOUNTS_DB"])
            if "VENTWATCH_ACCOUNTS_DB" in env
            else (site_file.parent if site_file else Path.cwd()) / site.accounts.database
        ),
    )
