"""The examples in ``examples/`` run against the fake cloud as documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_quickstart_pages_through_every_face_it_added(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SUNMI_APP_ID", raising=False)
    monkeypatch.delenv("SUNMI_APP_KEY", raising=False)
    names = await load("quickstart").main()
    assert names == [f"Guest {i}" for i in range(7)]
    out = capsys.readouterr().out
    assert "'stranger'" in out
    assert "created 'Quickstart VIP'" in out
    assert "cleaned up" in out
