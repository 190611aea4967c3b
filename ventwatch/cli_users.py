"""`ventwatch users ...`: accounts from the command line, the way a site's admin starts (there
is no sign-up page: every account is made by someone who may make it).

Passwords are asked for at a hidden prompt, or read from standard input with
`--password-stdin` for scripts; never taken as an argument, where `ps` and shell history
would show them.
"""

from __future__ import annotations

import sys
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
    try:
        site = load_site(config)
        settings = resolve(site, config)
    except (SiteConfigError, SettingsError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    return Accounts(settings.accounts_db), site.site.name


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
def set_password(config: ConfigOption, name: str, password_stdin: PasswordStdin = False) -> None:
    """Give a user a new password (their open sessions end)."""
    accounts, _ = _accounts(config)
    try:
        accounts.set_password(name, _password(password_stdin))
    except AccountError as exc:
        raise _failed(exc) from None
    _done(f"new password set for {name}")


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
) -> None:
    """Make an API token acting as the user; printed once, stored only as a hash."""
    accounts, _ = _accounts(config)
    try:
        typer.echo(accounts.new_token(name, label))
    except AccountError as exc:
        raise _failed(exc) from None
