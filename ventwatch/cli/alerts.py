"""`ventwatch alerts ...`: check that messages get through, and see what is open, from the
command line (a site's admin setting up a relay; a script polling for open alerts).

`alerts test` sends straight through the channel, not through the outbox, so the answer is
immediate: exit 0 when every channel took the message, 1 when one refused it (each line
says which and why), 2 when the command itself is wrong.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from ventwatch.config import Recipient, SiteConfig, SiteConfigError, load_site
from ventwatch.settings import BrokerURL, Settings, SettingsError, parse_broker_url, resolve

alerts = typer.Typer(
    help="Alert messages: test the channels, list open alerts.", no_args_is_help=True
)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The site file.")]
# `--to` with an apprise URL: the URL is handed to the channel through this variable, as a
# site file's apprise_env would.
APPRISE_FROM_COMMAND_LINE = "VENTWATCH_ALERTS_TEST_APPRISE_URL"


def _load(config: Path) -> tuple[SiteConfig, Settings]:
    from ventwatch.analysis.profiles import alert_rule_ids

    try:
        site = load_site(config, profiles=alert_rule_ids())
        return site, resolve(site, config)
    except (SiteConfigError, SettingsError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def recipient_of(to: str, secret_env: str | None) -> tuple[Recipient, BrokerURL | None]:
    """`--to` as a recipient: an email address, an http(s) URL (webhook), mqtt://host:port/topic
    (that broker), or any other URL (an apprise URL: slack://, tgram://, json://, ...)."""
    if "://" not in to:
        return Recipient(name=to, email=to), None
    scheme = urlsplit(to).scheme
    if scheme in ("http", "https"):
        return Recipient(name="webhook", webhook=to, secret_env=secret_env), None
    if scheme == "mqtt":
        parts = urlsplit(to)
        topic = parts.path.lstrip("/")
        broker = parse_broker_url(parts._replace(path="").geturl(), "--to")
        return Recipient(name="mqtt", mqtt_topic=topic), broker
    return Recipient(name=scheme, apprise_env=APPRISE_FROM_COMMAND_LINE), None


@alerts.command("test")
def send_test(
    config: ConfigOption,
    to: Annotated[
        str | None,
        typer.Option(help="EMAIL or URL (http[s]://, mqtt://host:port/topic, apprise URL)."),
    ] = None,
    secret_env: Annotated[
        str | None, typer.Option(help="With an http(s) --to: the variable holding its secret.")
    ] = None,
) -> None:
    """Send a test message through each channel (every subscription and escalation contact
    of the site file), or only to --to."""
    from ventwatch.alerts.messages import test_notice
    from ventwatch.notify.channels import Channels, DeliveryError

    site, settings = _load(config)
    broker: BrokerURL | None = settings.broker
    env = dict(os.environ)
    if to is not None:
        try:
            recipient, other_broker = recipient_of(to, secret_env)
        except (ValueError, SettingsError) as exc:
            typer.echo(f"error: --to {to!r}: {exc}", err=True)
            raise typer.Exit(2) from None
        broker = other_broker or broker
        env[APPRISE_FROM_COMMAND_LINE] = to
        recipients = [recipient]
    else:
        seen: set[tuple[str, str]] = set()
        recipients = []
        for r in [*site.alerts.subscriptions, *site.alerts.ladder]:
            if (r.channel, r.address) not in seen:
                seen.add((r.channel, r.address))
                recipients.append(r)
        if not recipients:
            typer.echo(
                "no recipients: the site file has no alerts.subscriptions or alerts.ladder"
                " (or give --to EMAIL|URL)",
                err=True,
            )
            raise typer.Exit(2)
    channels = Channels(settings.smtp, broker, env=env)
    notice = test_notice(site.site.name, settings.dashboard_url, datetime.now(UTC))
    failed = 0
    for recipient in recipients:
        label = f"{recipient.channel.removesuffix('_env').removesuffix('_topic')} {recipient.name}"
        try:
            channels.send(recipient, notice)
        except DeliveryError as exc:
            failed += 1
            typer.echo(f"FAILED {label}: {exc}")
        else:
            typer.echo(f"sent   {label} ({recipient.address})")
    raise typer.Exit(1 if failed else 0)


@alerts.command("list")
def list_(
    config: ConfigOption,
    all_: Annotated[bool, typer.Option("--all", help="Closed alerts too.")] = False,
    format_: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Print open (not yet closed) alerts, newest first."""
    from ventwatch.alerts.records import AlertRecords

    if format_ not in ("table", "json"):
        typer.echo("error: --format is table or json", err=True)
        raise typer.Exit(2)
    site, settings = _load(config)
    records = AlertRecords(settings.state_db, site.site.name)
    found = records.alerts(unclosed=not all_)
    if format_ == "json":
        rows = [
            {
                "id": a.id,
                "room": a.room,
                "rule": a.rule,
                "severity": a.severity,
                "condition": a.condition,
                "workflow": a.workflow,
                "opened_at": a.opened_at.isoformat(),
                "occurrences": a.occurrences,
                "escalation_level": a.escalation_level,
                "assigned_to": a.assigned_to,
                "value": a.value,
                "worst": a.worst,
            }
            for a in found
        ]
        typer.echo(json.dumps({"site": site.site.name, "alerts": rows}, indent=2))
        return
    if not found:
        typer.echo("no open alerts" if not all_ else "no alerts")
        return
    tz = site.tz
    typer.echo(
        f"{'id':>5}  {'opened':16}  {'room':20} {'rule':14} {'severity':9} "
        f"{'condition':10} {'workflow':12} {'times':>5} {'rung':>4}"
    )
    for a in found:
        typer.echo(
            f"{a.id:>5}  {a.opened_at.astimezone(tz):%Y-%m-%d %H:%M}  {a.room[:20]:20} "
            f"{a.rule[:14]:14} {a.severity:9} {a.condition:10} {a.workflow:12} "
            f"{a.occurrences:>5} {a.escalation_level:>4}"
        )
