"""Lay out the package as it is installed, for mypy: build/typecheck/ventwatch/<stage>/...

The stage folders live at the top level of the repository but are installed as
`ventwatch.<stage>` (pyproject.toml's `[tool.setuptools] package-dir`). The editable install
maps them with an import hook that mypy cannot follow, so without this tree every
`ventwatch.<stage>` import would be unresolved. This writes a tree of symbolic links with the
installed layout (each stage folder linked whole, so files added to a stage are seen at once;
the entries of the root package linked one by one) and mypy reads the sources through it
(`mypy_path` and `files` in pyproject.toml). The mapping is read from pyproject.toml, so a
stage added there is type-checked without a change here. scripts/setup-venv and scripts/test
run it; run it again after adding a file to `ventwatch/` itself.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"


def package_dirs(pyproject: Path) -> dict[str, str]:
    """Package name -> folder (relative to the repository), as setuptools installs them."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return mapping


def links(root: Path) -> dict[Path, Path]:
    """Each link of the tree (relative to it) -> the file or folder it points to."""
    mapping = package_dirs(root / "pyproject.toml")
    # Packages mapped elsewhere are linked whole; the ones that are their own folder (the root
    # package) are real folders in the tree holding links to their entries, so that the
    # mapped stages can sit beside those entries.
    mapped = {name for name, folder in mapping.items() if name.replace(".", "/") != folder}
    found: dict[Path, Path] = {}
    for name, folder in mapping.items():
        if name in mapped:
            found[Path(*name.split("."))] = root / folder
            continue
        for entry in (root / folder).iterdir():
            if entry.name != "__pycache__" and f"{name}.{entry.name}" not in mapped:
                found[Path(folder) / entry.name] = entry
    return found


def build(root: Path = ROOT, tree: Path = TREE) -> None:
    """Bring the tree up to date: links to files or stages that are gone are dropped, and the
    links that stand are left alone (a mypy run reading the tree meanwhile is not disturbed).
    Links are relative, so the tree survives the repository being moved."""
    wanted = {
        tree / at: os.path.relpath(target, (tree / at).parent) for at, target in links(root).items()
    }
    for folder, dirs, files in os.walk(tree):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink() and os.readlink(path) != wanted.get(path):
                path.unlink()
    for at, target in wanted.items():
        if not at.is_symlink():
            at.parent.mkdir(parents=True, exist_ok=True)
            at.symlink_to(target)


if __name__ == "__main__":
    build()
