"""docs/web-apps.md shows the example apps as they are: every Python block on the page is a
verbatim excerpt of examples/webapp/ (or of the mock_sunmi test it quotes), so the page
cannot drift from the tested code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "web-apps.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def test_every_python_block_of_the_page_is_in_an_example_file() -> None:
    files = [*(ROOT / "examples" / "webapp").glob("*.py"), ROOT / "tests/fake/test_mock_sunmi.py"]
    sources = {p.name: p.read_text() for p in files}
    blocks = BLOCK.findall(PAGE.read_text())
    assert len(blocks) >= 6
    for block in blocks:
        homes = [name for name, text in sources.items() if block in text]
        assert homes, f"this block of {PAGE.name} is in no example file:\n{block}"


def test_the_page_is_in_the_site_navigation() -> None:
    assert "web-apps.md" in (ROOT / "mkdocs.yml").read_text()
