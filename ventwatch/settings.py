"""Run-time settings: the site file's broker, store and HTTP address, overridden by the
environment as deployments expect, and validated before anything starts.

| variable               | form                                   | default               |
|------------------------|----------------------------------------|-----------------------|
| VENTWATCH_BROKER_URL   | mqtt://[user:pass@]host:port           | the site file's       |
| VENTWATCH_STORE_URL    | duckdb:///path/to/file.duckdb          | the site file's       |
| VENTWATCH_HTTP         | host:port                              | 127.0.0.1:8000        |
| VENTWATCH_SPOOL_DIR    | a folder                               | the site file's       |
| VENTWATCH_STATE_DB     | a file (SQLite)                        | the site file's       |
| VENTWATCH_STATE_URL    | postgresql://[user[:pass]@]host[:port]/db | none: the file     |
| VENTWATCH_SMTP_URL     | smtp[s]://[user:pass@]host:port?from=ADDRESS[&starttls=1] | alerts.smtp |
| VENTWATCH_TRUSTED_PROXIES | IPs and CIDR networks, comma-separated: 10.0.0.5,10.1.0.0/16 | none |

VENTWATCH_STATE_DB is the state database: users, sessions, alerts, the outbox, marks.
VENTWATCH_STATE_URL puts it in PostgreSQL instead, for processes on several machines
(`state_database`); set, it wins over the file. The file's
old name, VENTWATCH_ACCOUNTS_DB, is still read, as is the site file's old `accounts` section
for `state`; `deprecated_names` says which are in use, logged once at start and printed by
`check-config`.

Broker credentials may also come from the variables the site file names (`username_env`,
`password_env`); a user and password inside VENTWATCH_BROKER_URL win.

VENTWATCH_TRUSTED_PROXIES names the reverse proxies whose X-Forwarded-For and
X-Forwarded-Proto are believed: a client's address is what the login throttle counts, and a
header anyone may send would let a guesser be a new client at every attempt. Unset or empty,
no one is believed, not even 127.0.0.1 (uvicorn's default).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from ventwatch.config import SiteConfig
from ventwatch.state_database import StateLocation, parse_state_url

log = logging.getLogger(__name__)

# The notes `resolve` has logged: each once per process, however many commands, sites or
# tests resolve settings.
_noted: set[str] = set()


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
class SmtpSettings:
    host: str
    port: int
    security: Literal["plain", "starttls", "ssl"]
    sender: str
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        """The relay without its password, for logs and pages."""
        user = f"{self.username}@" if self.username else ""
        scheme = "smtps" if self.security == "ssl" else "smtp"
        tls = "&starttls=1" if self.security == "starttls" else ""
        return f"{scheme}://{user}{self.host}:{self.port}?from={self.sender}{tls}"


@dataclass(frozen=True)
class Settings:
    broker: BrokerURL
    client_id: str
    store_url: str
    store_base: Path | None
    http: HTTPAddress
    spool_dir: Path
    spool_max_bytes: int
    # The state database (a SQLite file, or PostgreSQL): everything kept besides readings.
    state_db: StateLocation
    smtp: SmtpSettings | None = None
    dashboard_url: str = "http://127.0.0.1:8000"
    # Reverse proxies whose forwarded headers name the client (VENTWATCH_TRUSTED_PROXIES).
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def parse_trusted_proxies(
    value: str, origin: str = "VENTWATCH_TRUSTED_PROXIES"
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated IP addresses and networks (CIDR): `10.0.0.5, 10.1.0.0/16, ::1`. Host
    names are refused (trust must not hang on DNS), and so is `*`: believing everyone is what
    this setting exists to prevent."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if item == "*":
            raise SettingsError(
                f"{origin}: '*' would let every client name its own address; name the "
                "proxies' addresses (e.g. 127.0.0.1 or 10.0.0.0/8)"
            )
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError:
            try:
                loose = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{origin}: {item!r} is not an IP address or network (CIDR, e.g. "
                    "10.0.0.0/8); proxies are named by address, comma-separated"
                ) from None
            raise SettingsError(
                f"{origin}: {item!r} has host bits set: did you mean {loose}?"
            ) from None
    return tuple(networks)


def parse_smtp_url(url: str, origin: str = "VENTWATCH_SMTP_URL") -> SmtpSettings:
    """The contract: smtp[s]://[user:pass@]host:port?from=ADDRESS[&starttls=1]. smtps is SSL
    from the first byte (port 465); smtp with starttls=1 upgrades (587); plain smtp is for a
    relay on the same host or network."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise SettingsError(
            f"{origin}: must be smtp[s]://[user:pass@]host:port?from=ADDRESS[&starttls=1]"
        )
    if not parts.hostname:
        raise SettingsError(f"{origin}: no host")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as exc:
        raise SettingsError(f"{origin}: {exc}") from None
    query = parse_qs(parts.query)
    sender = query.get("from", [""])[0]
    if "@" not in sender:
        raise SettingsError(f"{origin}: needs ?from=ADDRESS (the sender's email address)")
    unknown = set(query) - {"from", "starttls"}
    if unknown:
        raise SettingsError(f"{origin}: unknown parameter(s) {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", ["0"])[0]
    if starttls not in ("0", "1"):
        raise SettingsError(f"{origin}: starttls must be 0 or 1")
    if parts.scheme == "smtps" and starttls == "1":
        raise SettingsError(f"{origin}: smtps is SSL already; starttls=1 is for smtp://")
    security: Literal["plain", "starttls", "ssl"] = (
        "ssl" if parts.scheme == "smtps" else "starttls" if starttls == "1" else "plain"
    )
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        security=security,
        sender=sender,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _smtp(site: SiteConfig, env: Mapping[str, str]) -> SmtpSettings | None:
    if "VENTWATCH_SMTP_URL" in env:
        return parse_smtp_url(env["VENTWATCH_SMTP_URL"])
    section = site.alerts.smtp
    if section is None:
        return None
    return SmtpSettings(
        host=section.host,
        port=section.port,
        security=section.security,
        sender=section.sender,
        username=env.get(section.username_env) if section.username_env else None,
        password=env.get(section.password_env) if section.password_env else None,
    )


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


def _client_slug(name: str) -> str:
    """The site's part of the default MQTT client id, as since the first release: a new id
    would start a new broker session and leave the old one's queued messages behind."""
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def deprecated_names(
    site: SiteConfig, env: Mapping[str, str], site_file: Path | None = None
) -> list[str]:
    """A note per old setting name in use, saying its new name: each still works, and an
    operator should hear so before a release stops reading it."""
    notes = []
    if site.accounts is not None:
        where = f"{site_file}: " if site_file else ""
        notes.append(
            f"{where}the `accounts` section is now `state` (state: {{database: ...}}): the old"
            " name still works for now; rename it"
        )
    if "VENTWATCH_ACCOUNTS_DB" in env:
        notes.append(
            "VENTWATCH_ACCOUNTS_DB is ignored: VENTWATCH_STATE_DB, its new name, is set too;"
            " unset the old one"
            if "VENTWATCH_STATE_DB" in env
            else "VENTWATCH_ACCOUNTS_DB is now VENTWATCH_STATE_DB: the old name still works"
            " for now; rename it"
        )
    return notes


def _state_db(site: SiteConfig, site_file: Path | None, env: Mapping[str, str]) -> StateLocation:
    """VENTWATCH_STATE_URL (PostgreSQL), else VENTWATCH_STATE_DB, else its old name
    VENTWATCH_ACCOUNTS_DB, else the site file's (relative to the file)."""
    if env.get("VENTWATCH_STATE_URL"):
        try:
            return parse_state_url(env["VENTWATCH_STATE_URL"])
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    for name in ("VENTWATCH_STATE_DB", "VENTWATCH_ACCOUNTS_DB"):
        if name in env:
            return Path(env[name])
    return (site_file.parent if site_file else Path.cwd()) / site.state_database


def resolve(
    site: SiteConfig,
    site_file: Path | None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Settings:
    """The settings in force: the site file, then the environment, then command-line flags.
    An old setting name in use is logged once (`deprecated_names`)."""
    env = os.environ if env is None else env
    for note in deprecated_names(site, env, site_file):
        if note not in _noted:
            _noted.add(note)
            log.warning("%s", note)
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
    return Settings(
        broker=broker,
        client_id=site.broker.client_id or f"ventwatch-{_client_slug(site.site.name)}",
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
        state_db=_state_db(site, site_file, env),
        smtp=_smtp(site, env),
        dashboard_url=(site.alerts.dashboard_url or f"http://{http.host}:{http.port}").rstrip("/"),
        trusted_proxies=parse_trusted_proxies(env.get("VENTWATCH_TRUSTED_PROXIES", "")),
    )
