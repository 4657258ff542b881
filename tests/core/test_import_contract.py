"""The import contract: outer packages use the core's public names, and nothing imports upward.

The core is ``sunmi_face_async`` itself (its top-level modules and ``resources``); the outer
packages are ``bulk``, ``cli``, ``testing`` and ``webhook``. Every import statement of every
module is read with :mod:`ast` (those inside functions and ``TYPE_CHECKING`` blocks too), and
relative imports are resolved against the module's own package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sunmi_face_async

PACKAGE = "sunmi_face_async"
OUTER = ("bulk", "cli", "testing", "webhook")
ROOT = Path(sunmi_face_async.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every module (or module attribute) ``tree`` imports."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.append((node.lineno, source))
            found.extend((node.lineno, f"{source}.{alias.name}") for alias in node.names)
    return found


def _layer(dotted: str) -> str | None:
    """``"outer"``, ``"private"`` (a private core module), ``"core"``, or None (not ours)."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE or len(parts) == 1:
        return None if parts[0] != PACKAGE else "core"
    head = parts[1]
    if head in OUTER:
        return "outer"
    if head.startswith("_") and not (head.startswith("__") and head.endswith("__")):
        return "private"
    return "core"


def _foreign_private(module: str, dotted: str) -> bool:
    """True when ``dotted`` is a private module of an outer package other than ``module``'s."""
    parts, own = dotted.split("."), module.split(".")
    if len(parts) < 3 or parts[0] != PACKAGE or parts[1] not in OUTER or parts[1] == own[1]:
        return False
    return any(part.startswith("_") and not part.startswith("__") for part in parts[2:-1]) or (
        parts[2].startswith("_") and not parts[2].startswith("__")
    )


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """What breaks the contract in one module's source, as ``module:line: problem``."""
    own = _layer(module)
    problems: dict[int, str] = {}
    for line, dotted in _imported(ast.parse(source), module, is_package):
        layer = _layer(dotted)
        if own == "outer" and layer == "private":
            problems.setdefault(line, f"{module}:{line}: imports the core's private {dotted}")
        elif own == "outer" and _foreign_private(module, dotted):
            problems.setdefault(
                line, f"{module}:{line}: imports another package's private {dotted}"
            )
        elif own in ("core", "private") and layer == "outer":
            problems.setdefault(
                line, f"{module}:{line}: the core imports the outer package {dotted}"
            )
    return [problems[line] for line in sorted(problems)]


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_the_package_has_modules_in_every_layer() -> None:
    names = {_module_name(path) for path in _modules()}
    for outer in OUTER:
        assert f"{PACKAGE}.{outer}" in names
    assert f"{PACKAGE}._transport" in names


def test_every_outer_package_is_a_package() -> None:
    for outer in OUTER:
        assert (ROOT / outer / "__init__.py").is_file(), outer
    assert sorted(path.name for path in ROOT.glob("*webhook*")) == ["webhook"]


def test_no_package_imports_another_s_private_module_and_the_core_imports_no_outer_one() -> None:
    problems: list[str] = []
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        problems += violations(source, _module_name(path), path.name == "__init__.py")
    assert problems == []


@pytest.mark.parametrize(
    ("source", "module", "problem"),
    [
        (
            "from .._convert import to_dict",
            "sunmi_face_async.bulk.export",
            "sunmi_face_async._convert",
        ),
        ("from ... import _signing", "sunmi_face_async.cli.sub.x", "sunmi_face_async._signing"),
        (
            "import sunmi_face_async._files",
            "sunmi_face_async.testing.fake",
            "sunmi_face_async._files",
        ),
        (
            "def f():\n    from sunmi_face_async._paging import PageWalk\n",
            "sunmi_face_async.webhook._asgi",
            "sunmi_face_async._paging",
        ),
        ("from .bulk import enroll", "sunmi_face_async._client", "sunmi_face_async.bulk"),
        ("from . import testing", "sunmi_face_async.models", "sunmi_face_async.testing"),
        ("import sunmi_face_async.cli", "sunmi_face_async.resources.faces", "sunmi_face_async.cli"),
        (
            "from ..webhook import ReplayCache",
            "sunmi_face_async.resources.hooks",
            "sunmi_face_async.webhook",
        ),
        (
            "from ..bulk._check import check_unknown",
            "sunmi_face_async.cli._journal",
            "sunmi_face_async.bulk._check",
        ),
        ("import sunmi_face_async.webhook._cache", "sunmi_face_async.testing.x", "webhook._cache"),
    ],
)
def test_the_checker_finds_each_kind_of_violation(source: str, module: str, problem: str) -> None:
    found = violations(source, module)
    assert found, source
    assert all(problem in line for line in found), found


@pytest.mark.parametrize(
    ("source", "module", "is_package"),
    [
        ("from ._engine import BulkMap", "sunmi_face_async.bulk.export", False),
        ("from ._engine import BulkMap", "sunmi_face_async.bulk", True),
        ("from .. import __version__, UAT_URL", "sunmi_face_async.cli._app", False),
        ("from ..models import to_dict", "sunmi_face_async.bulk.export", False),
        ("from ..webhook import ReplayCache", "sunmi_face_async.testing._gateway", False),
        ("from ._transport import Transport", "sunmi_face_async._client", False),
        ("from .._base import Resource", "sunmi_face_async.resources.x.y", False),
    ],
)
def test_the_checker_allows_public_and_intra_package_imports(
    source: str, module: str, is_package: bool
) -> None:
    assert violations(source, module, is_package) == []
