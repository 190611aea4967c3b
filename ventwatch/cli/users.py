"""`ventwatch users ...`: accounts from the command line, the way a site's admin starts (there
is no sign-up page: every account is made by someone who may make it).

Passwords are asked for at a hidden prompt, or read from standard input with
`--password-stdin` for scripts; never taken as an argument, where `ps` and shell history
would show them. API tokens are listed and revoked by id: the token itself is printed once,
when it is made, and never again.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from ventwatch.accounts import ALL_SITES, AccountError, Accounts, Role
from ventwatch.config import SiteConfigError, load_site
from ventwatch.settings import SettingsError, resolve

users = typer.Typer(
    help="Manage the people who may sign in to the dashboard.", no_args_is_help=True
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The site file (names the accounts database).")
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _accounts(config: Path) -> tuple[Accounts, str]:
    from ventwatch.analysis.profiles import alert_rule_ids

    try:
        site = load_site(config, profiles=alert_rule_ids())
        settings = resolve(site, config)
    except (SiteConfigError, SettingsError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    return Accounts(settings.state_db), site.site.name


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _done(action: str) -> None:
    typer.echo(action)


def _failed(exc: AccountError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@users.command("add")
def add(
    config: ConfigOption,
    name: Annotated[str, typer.Argument(help="The name to sign in with.")],
    role: Annotated[Role, typer.Option(help="What the user is for.")],
    site: Annotated[
        list[str] | None,
        typer.Option(
            help=f"A site the user may see (repeat; {ALL_SITES!r}: all). Default: this one."
        ),
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user with a role, scoped to sites."""
    accounts, this_site = _accounts(config)
    try:
        accounts.add_user(name, role, _password(password_stdin), site or [this_site])
    except AccountError as exc:
        raise _failed(exc) from None
    _done(f"added {name} ({role.value})")
    for other in sorted(set(site or []) - {this_site, ALL_SITES}):
        # Sites are matched by name: a misspelt one gives a user who sees nothing of it.
        typer.echo(
            f"note: {other!r} is not the site of {config} ({this_site!r}): it must be spelt "
            "exactly as its own site file names it",
            err=True,
        )


@users.command("remove")
def remove(config: ConfigOption, name: str) -> None:
    """Remove a user, with their sessions and API tokens."""
    accounts, _ = _accounts(config)
    try:
        accounts.remove_user(name)
    except AccountError as exc:
        raise _failed(exc) from None
    _done(f"removed {name}")


@users.command("set-password")
def set_password(
    config: ConfigOption,
    name: str,
    password_stdin: PasswordStdin = False,
    revoke_tokens: Annotated[
        bool | None,
        typer.Option(
            "--revoke-tokens/--keep-tokens",
            help="Also revoke the user's API tokens (asked at a terminal; kept otherwise).",
        ),
    ] = None,
) -> None:
    """Give a user a new password (their open sessions end; their API tokens on request)."""
    accounts, _ = _accounts(config)
    password = _password(password_stdin)
    tokens = accounts.tokens(name)
    if revoke_tokens is None and tokens and sys.stdin.isatty():
        # A password changed because it leaked may have leaked with the tokens; one changed
        # because it was forgotten should not break the user's integrations. Only they know.
        revoke_tokens = typer.confirm(
            f"{name} has {_count(len(tokens), 'API token')}: revoke them too?", default=False
        )
    try:
        revoked = accounts.set_password(name, password, revoke_tokens=bool(revoke_tokens))
    except AccountError as exc:
        raise _failed(exc) from None
    _done(f"new password set for {name}")
    if revoked:
        _done(f"revoked {_count(revoked, 'API token')} of {name}")
    elif tokens:
        _done(
            f"kept {_count(len(tokens), 'API token')} of {name} (`ventwatch users tokens "
            f"{name}` lists them; `users revoke-token ID` or --revoke-tokens revokes them)"
        )


@users.command("list")
def list_(config: ConfigOption) -> None:
    """Every user: name, role, sites."""
    accounts, _ = _accounts(config)
    for user in accounts.users():
        typer.echo(f"{user.name}\t{user.role.value}\t{','.join(user.sites)}")


@users.command("token")
def token(
    config: ConfigOption,
    name: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "integration",
    expires_days: Annotated[
        int | None,
        typer.Option(min=1, help="Days until the token stops working (default: until revoked)."),
    ] = None,
) -> None:
    """Make an API token acting as the user; printed once, stored only as a hash.

    Only the token goes to standard output (`... > scraper.token` keeps it); its id, to
    list or revoke it by, goes to standard error."""
    accounts, _ = _accounts(config)
    now = datetime.now(UTC)
    expires = None if expires_days is None else now + timedelta(days=expires_days)
    try:
        secret, made = accounts.issue_token(name, label, expires, now)
    except AccountError as exc:
        raise _failed(exc) from None
    typer.echo(secret)
    typer.echo(
        f"token {made.id} ({made.label}) acts as {name}, expires {_when(made.expires)}; "
        "shown only now",
        err=True,
    )


@users.command("tokens")
def tokens(
    config: ConfigOption,
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
) -> None:
    """API tokens: id, label, user, created, expires, last used (never the token itself)."""
    accounts, _ = _accounts(config)
    if name is not None and accounts.user(name) is None:
        raise _failed(AccountError(f"no user {name!r}"))
    now = datetime.now(UTC)
    typer.echo("id\tlabel\tuser\tcreated\texpires\tlast used")
    for t in accounts.tokens(name):
        expires = _when(t.expires) + (" (expired)" if t.expired(now) else "")
        typer.echo(
            f"{t.id}\t{t.label}\t{t.user}\t{_when(t.created)}\t{expires}\t{_when(t.last_used)}"
        )


@users.command("revoke-token")
def revoke_token(
    config: ConfigOption,
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The id `users tokens` shows.")],
) -> None:
    """Revoke one API token: it stops working at once (within 5 s for a running dashboard)."""
    accounts, _ = _accounts(config)
    try:
        revoked = accounts.revoke_token(token_id)
    except AccountError as exc:
        raise _failed(exc) from None
    _done(f"revoked token {revoked.id} ({revoked.label}) of {revoked.user}")


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
