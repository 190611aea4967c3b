"""The type checker sees across stages: an import of `ventwatch.<stage>` is a real type to mypy.

The stages are installed from top-level folders (`package-dir`), which mypy cannot follow by
itself: it reads them through scripts/typecheck_tree.py's tree. Were that tree or its settings
lost, or `ignore_missing_imports` set for the whole project again, every name imported from
another stage would silently become `Any` and nothing would be checked between stages.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent


def stages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return sorted(name for name in config["tool"]["setuptools"]["package-dir"] if "." in name)


def reveal(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """mypy's `Revealed type is ...` lines for `source`, checked with the project's settings."""
    subprocess.run([sys.executable, "scripts/typecheck_tree.py"], cwd=ROOT, check=True)
    module = tmp_path / "probe.py"
    module.write_text(source, encoding="utf-8")
    monkeypatch.chdir(ROOT)  # the settings' paths are the repository's
    out, err, status = api.run(["--config-file", "pyproject.toml", str(module)])
    assert status == 0, out + err
    return [
        line.split("Revealed type is ", 1)[1] for line in out.splitlines() if "Revealed" in line
    ]


def test_a_cross_stage_import_has_its_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What dashboard/rooms.py imports from analysis: `Any` while mypy could not follow them.
    [revealed] = reveal(
        "from ventwatch.analysis.engine import analyse_site\nreveal_type(analyse_site)\n",
        tmp_path,
        monkeypatch,
    )
    assert revealed.startswith('"def ('), revealed
    assert "site: ventwatch.config.SiteConfig" in revealed, revealed
    assert revealed.endswith('-> ventwatch.analysis.engine.SiteAnalysis"'), revealed


def test_every_stage_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = stages()
    assert "ventwatch.analysis" in names
    source = "".join(f"import {name}\nreveal_type({name}.__file__)\n" for name in names)
    revealed = reveal(source, tmp_path, monkeypatch)
    assert len(revealed) == len(names), revealed
    assert all(r in ('"str"', '"builtins.str"') for r in revealed), dict(
        zip(names, revealed, strict=True)
    )
