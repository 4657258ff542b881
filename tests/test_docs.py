"""The README stays short and starts with its two commands; docs cite no file outside the repo."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))


def test_readme_is_at_most_200_lines() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_readme_starts_with_make_demo_then_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make demo", "make test"]


def test_readme_links_into_every_docs_page() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        page.relative_to(ROOT).as_posix()
        for page in PAGES
        if f"]({page.relative_to(ROOT).as_posix()})" not in text
    ]
    assert missing == []


def test_nothing_cites_a_file_outside_the_repository() -> None:
    assert PAGES, "docs/ has no pages"
    outside = re.compile(
        "|".join(["DESIGN" + r"\.md", "PROTOCOL" + r"\.md", "/wo" + "rk/", "shared" + "/spec"])
    )
    code = [
        path
        for folder in ("sunmi_face_async", "tests", "benchmarks", "examples")
        for path in sorted((ROOT / folder).rglob("*.py"))
    ]
    cited = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [README, *PAGES, *code]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert cited == []
