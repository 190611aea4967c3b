"""What the wheel carries: an installed ventwatch reads its data files (the example site the
demo runs, templates, profiles, static files) from its own package, so each must be listed in
pyproject.toml's package-data, and the packaged example site must stay the one the README
shows at the top of the repository. scripts/check-wheel proves it on a built wheel."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

from ventwatch.cli.demo import EXAMPLE_SITE

ROOT = Path(__file__).resolve().parent.parent


def test_packaged_example_site_is_the_documented_one() -> None:
    packaged = files("ventwatch") / "sensors.example.yaml"
    assert packaged.read_bytes() == (ROOT / "sensors.example.yaml").read_bytes(), (
        "ventwatch/sensors.example.yaml differs from the top-level sensors.example.yaml: "
        "copy the one you changed over the other"
    )


def test_demo_defaults_to_the_packaged_example_site() -> None:
    assert Path(str(files("ventwatch") / "sensors.example.yaml")) == EXAMPLE_SITE
    assert EXAMPLE_SITE.is_file()


def package_folder(package: str, package_dir: dict[str, str]) -> Path:
    """The source folder of `package`, through the longest package-dir mapping above it, as
    setuptools finds it."""
    parent = max((p for p in package_dir if package == p or package.startswith(f"{p}.")), key=len)
    return ROOT / package_dir[parent] / package.removeprefix(parent).lstrip(".").replace(".", "/")


def test_every_data_file_is_in_package_data() -> None:
    """A template or static file that no package-data pattern names works from the source
    tree and is missing from the wheel."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    package_dir: dict[str, str] = setuptools["package-dir"]
    packaged = {
        path.relative_to(ROOT)
        for package, patterns in setuptools["package-data"].items()
        for pattern in patterns
        for path in package_folder(package, package_dir).glob(pattern)
    }
    data = {
        path.relative_to(ROOT)
        for folder in package_dir.values()
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    }
    missing = sorted(
        str(path)
        for path in data - packaged
        if not any(part == "__pycache__" or part.startswith(".") for part in path.parts)
    )
    assert not missing, f"in no package-data pattern of pyproject.toml: {missing}"
