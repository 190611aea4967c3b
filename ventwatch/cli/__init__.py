"""The `ventwatch` command: one typer app, a command per job.

Every command validates its site file and settings before it starts anything, and reports a
problem as one readable message (file, line, what is wrong) with a non-zero exit status,
never a traceback.

Each group of commands is a module of this package; this one makes the typer app, lists the
commands in the order people meet them and registers each module's commands.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ventwatch import __version__
from ventwatch.cli import analyse, check, demo, imports, serve
from ventwatch.cli.alerts import alerts
from ventwatch.cli.report import report
from ventwatch.cli.users import users

# `ventwatch --help` lists commands in the order a user meets them: try the demo, run a site
# (its file checked, its first admin added), bring in old readings, judge and report, alert;
# then the tools for integrators. A command missing here is listed last.
COMMAND_ORDER = (
    "demo",
    "run",
    "check-config",
    "users",
    "import",
    "analyse",
    "report",
    "alerts",
    "profiles",
    "ingest",
    "serve",
    "monitor",
    "simulate",
    "decode",
)


class _InOrderUsersMeetThem(TyperGroup):
    """Typer lists commands in the order the code defines them; people need another order."""

    def list_commands(self, ctx: Any) -> list[str]:  # typer's vendored click Context
        def place(name: str) -> int:
            return COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER)

        return sorted(super().list_commands(ctx), key=place)


app = typer.Typer(
    cls=_InOrderUsersMeetThem,
    help="ventwatch: ventilation monitoring for schools and colleges.",
    no_args_is_help=True,
    add_completion=False,
)

app.add_typer(users, name="users")
app.add_typer(alerts, name="alerts")
app.command("report")(report)
app.command("check-config")(check.check_config)
app.command("decode")(check.decode)
app.command("import")(imports.import_)
app.command("analyse")(analyse.analyse)
app.command("profiles")(analyse.profiles)
app.command("run")(serve.run)
app.command("ingest")(serve.ingest)
app.command("serve")(serve.serve)
app.command("monitor")(serve.monitor)
app.command("demo")(demo.demo)
app.command("simulate")(demo.simulate)


@app.callback(invoke_without_command=True)
def _version(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(f"ventwatch {__version__}")
        raise typer.Exit()
