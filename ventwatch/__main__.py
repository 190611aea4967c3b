"""`python -m ventwatch`: the same command line as the `ventwatch` script."""

from ventwatch.cli import app

app(prog_name="ventwatch")
