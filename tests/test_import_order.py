"""Imports go one way, from the top down to the core, never back:

    core <- ingest <- analysis <- notify <- alerts <- reports <- dashboard
         <- simulator, wiring <- cli (and bench, scripts)

The core (`ventwatch/`: config, readings, store, clock, state files) is what every stage
shares, so it imports none; a stage imports only the core and the stages before it. An edge
the other way makes a layer drag in everything above it (the core loading the guidance model
to check a site file) and lets a change above break what sits below. Delivery (`notify`)
comes before `alerts` because alerts and reports both hand it messages and it needs neither.

The simulator and the wiring (the service that runs the stages, the demo's broker and mail)
sit above every stage and beside each other: the simulator stands in for the sensors, outside
the data flow, and no stage may depend on it. The command line, the benchmarks and the
scripts are the top: nothing in the package imports them.

The imports are read from each module's syntax tree, everywhere in it: inside functions (an
import made lazily for start-up time is still a dependency) and under `TYPE_CHECKING` (a type
is a dependency too).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Groups of modules, lowest first. A module may import its own group and the groups of lower
# layers; groups that share a layer sit side by side and import neither each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("ingest",),
    ("analysis",),
    ("notify",),
    ("alerts",),
    ("reports",),
    ("dashboard",),
    ("simulator", "wiring"),
    ("cli", "bench", "scripts"),
)
RANK = {group: rank for rank, groups in enumerate(LAYERS) for group in groups}
# Packages inside `ventwatch/` that sit above the stages; every other module there is core.
TOP_OF_CORE_FOLDER = ("cli", "wiring")
# `python -m ventwatch` must find `ventwatch/__main__.py`: it is the command line.
COMMAND_LINE_ENTRY = "ventwatch.__main__"
# Outside the installed package: walked as the top-level modules they run as.
OUTSIDE = {"bench": "bench", "scripts": "scripts"}


@dataclass(frozen=True)
class Edge:
    where: str  # path:line
    module: str
    imported: str

    def __str__(self) -> str:
        return (
            f"{self.where}: {self.module} ({group_of(self.module)}) imports "
            f"{self.imported} ({group_of(self.imported)})"
        )


def package_folders() -> dict[str, str]:
    """Installed package -> its folder, as pyproject.toml maps them."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped: dict[str, str] = setuptools["package-dir"]
    return mapped


STAGES = {package for package in package_folders() if package != "ventwatch"}


def group_of(module: str) -> str | None:
    """The group a dotted module name belongs to; None for one outside ventwatch."""
    parts = module.split(".")
    if parts[0] in OUTSIDE:
        return OUTSIDE[parts[0]]
    if parts[0] != "ventwatch":
        return None
    if module == COMMAND_LINE_ENTRY:
        return "cli"
    if len(parts) > 1 and (parts[1] in TOP_OF_CORE_FOLDER or f"ventwatch.{parts[1]}" in STAGES):
        return parts[1]
    return "core"


def modules() -> Iterator[tuple[str, Path]]:
    """Every module walked: (dotted name, file)."""
    folders = {**package_folders(), **OUTSIDE}
    for package, folder in folders.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([package, *parts]), path


def imports_of(
    module: str, source: str, is_package: bool, known: set[str]
) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import statement anywhere in `source`: at the top,
    inside functions and under `if TYPE_CHECKING:`. `from a import b` counts as importing
    `a.b` when that is a module (`known`), else `a`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join([*here, base] if base else here)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in known else base


def against_the_order(module: str, imported: str) -> bool:
    mine, theirs = group_of(module), group_of(imported)
    if mine is None or theirs is None or mine == theirs:
        return False
    return RANK[theirs] >= RANK[mine]


def edges_against_the_order() -> list[Edge]:
    found = list(modules())
    known = {name for name, _ in found}
    edges: dict[Edge, None] = {}  # once each, though one statement imports several names
    for module, path in found:
        source = path.read_text(encoding="utf-8")
        for line, imported in imports_of(module, source, path.name == "__init__.py", known):
            if against_the_order(module, imported):
                edges[Edge(f"{path.relative_to(ROOT)}:{line}", module, imported)] = None
    return list(edges)


def test_every_package_has_a_layer() -> None:
    """A new stage must be given its place in the order before its imports can be judged."""
    groups = {group_of(package) for package in package_folders()}
    groups |= {group_of(f"ventwatch.{name}") for name in TOP_OF_CORE_FOLDER}
    assert groups <= set(RANK), groups - set(RANK)
    for name in TOP_OF_CORE_FOLDER:
        assert (ROOT / "ventwatch" / name / "__init__.py").is_file(), name


def test_imports_go_one_way() -> None:
    edges = edges_against_the_order()
    assert not edges, "imports against core <- ... <- cli:\n" + "\n".join(map(str, edges))


@pytest.mark.parametrize(
    "source",
    [
        "from ventwatch.analysis.profiles import load_profile\n",
        "def check():\n    from ventwatch.analysis.profiles import load_profile\n",
        "if TYPE_CHECKING:\n    import ventwatch.analysis.engine\n",
        "from .analysis import profiles\n",
    ],
)
def test_the_walk_sees_every_kind_of_import(source: str) -> None:
    """At the top, lazily inside a function, for types only, relatively: each is an edge."""
    known = {"ventwatch.analysis.profiles", "ventwatch.analysis.engine"}
    [(_, imported)] = imports_of("ventwatch.config", source, False, known)
    assert group_of(imported) == "analysis"
    assert against_the_order("ventwatch.config", imported)


def test_the_order() -> None:
    assert against_the_order("ventwatch.notify.outbox", "ventwatch.alerts.monitor")
    assert against_the_order("ventwatch.wiring.service", "ventwatch.simulator")  # side by side
    assert against_the_order("ventwatch.dashboard.app", "ventwatch.cli")
    assert not against_the_order("ventwatch.cli.demo", "ventwatch.wiring.service")
    assert not against_the_order("ventwatch.reports.model", "ventwatch")  # __version__
    assert not against_the_order("ventwatch.config", "pydantic")
    assert group_of("ventwatch.store.duckdb") == "core"
