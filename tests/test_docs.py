"""The README and docs/ point where they say: every relative link (and image) names a file
that exists, and every `#anchor` a heading of that file, as GitHub renders it. The docs are
split by audience and cross-link a lot; a moved section must not leave a dead link behind."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)


def prose(text: str) -> str:
    """The page without its fenced code blocks: a `# comment` in a shell block is no heading,
    and a `[x](y)` in code is no link."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, code marks and punctuation
    dropped, spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.lower().replace("`", "")
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(page.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        found.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return found


def relative_links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(page.read_text()))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def test_the_docs_are_there() -> None:
    names = {p.name for p in PAGES}
    for page in ("site-managers", "reps", "staff", "it", "sensors", "guidance"):
        assert f"{page}.md" in names
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("./scripts/")]
    assert [c.split()[0] for c in commands[:2]] == ["./scripts/demo", "./scripts/test"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, broken


def test_slugs_match_github_on_the_docs_own_headings() -> None:
    assert slug("The room register (the guide's step 2)") == "the-room-register-the-guides-step-2"
    assert (
        slug("Judging rooms: guidance profiles and `analyse`")
        == "judging-rooms-guidance-profiles-and-analyse"
    )
    assert slug("Tasmota (`tasmota`)") == "tasmota-tasmota"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_a_slug_is_always_a_usable_anchor(heading: str) -> None:
    """Whatever a heading says, its anchor has no spaces, capitals or punctuation but - and _."""
    anchor = slug(heading)
    assert anchor == anchor.lower()
    assert all(c.isalnum() or c in "-_" for c in anchor)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.servers
@pytest.mark.timeout(400)
def test_screenshots_script_photographs_the_demo(tmp_path: Path) -> None:
    """scripts/screenshots runs the real demo and Chromium and writes the docs' four images:
    desktop at 1280 px, phone at 390 px twice over (a 2x screen)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=380,
    )
    assert out.returncode == 0, out.stderr
    sizes = {p.name: png_size(p) for p in tmp_path.glob("*.png")}
    assert set(sizes) == {"overview.png", "room.png", "overview-phone.png", "room-phone.png"}
    assert sizes["overview.png"][0] == sizes["room.png"][0] == 1280
    assert sizes["overview-phone.png"][0] == 780
    assert sizes["room-phone.png"][0] <= 780
    # Tiles and charts, not an empty page or a login form.
    assert sizes["overview.png"][1] > 900
    assert sizes["room.png"][1] > 900


def test_the_docs_show_each_screenshot_the_script_takes() -> None:
    shown = {Path(t).name for page in PAGES for t in relative_links(page) if "img/" in t}
    assert {"overview.png", "room.png", "overview-phone.png", "room-phone.png"} <= shown
