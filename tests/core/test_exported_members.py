"""Each public package's surface is exactly its ``__all__``, in the manner of httpx's own test:
the public names are read from the module itself (what ``dir`` shows without a leading
underscore, less the submodules and modules it imported), never from a list kept here."""

from __future__ import annotations

import importlib
import types

import pytest

import sunmi_face_async

PACKAGES = [
    "sunmi_face_async",
    "sunmi_face_async.bulk",
    "sunmi_face_async.testing",
    "sunmi_face_async.webhook",
]
DUNDERS = {"__version__"}  # private-looking names a package may still export


def public_names(module: types.ModuleType) -> set[str]:
    """The names ``module`` offers: no leading underscore, not a module, not a __future__ flag."""
    names = set()
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if type(value).__module__ == "__future__":  # ``from __future__ import annotations``
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_the_public_names_are_exactly_all(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "a name is listed twice in __all__"
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which does not exist"
    public = public_names(module)
    listed = set(exported) - DUNDERS
    assert public - listed == set(), f"public in {package} but not in __all__"
    assert listed - public == set(), f"in {package}.__all__ but not public"


def test_the_derivation_sees_a_stray_name_and_skips_modules_and_future_flags() -> None:
    module = types.ModuleType("example")
    exec(  # noqa: S102 - a module built here, so the check is seen to catch a stray name
        "from __future__ import annotations\nimport json\nfrom json import dumps\n"
        "def api(): ...\n_private = 1\n",
        module.__dict__,
    )
    assert public_names(module) == {"api", "dumps"}


def test_the_names_other_code_relies_on_are_exported() -> None:
    from sunmi_face_async import (  # noqa: F401
        AgeRange,
        AsyncSunmiFace,
        Gender,
        GroupType,
        sign_params,
    )


def test_exported_errors_share_one_base() -> None:
    for name in sunmi_face_async.__all__:
        value = getattr(sunmi_face_async, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, sunmi_face_async.SunmiError), name


def test_version_is_a_string() -> None:
    assert isinstance(sunmi_face_async.__version__, str)
    assert sunmi_face_async.__version__.count(".") >= 2
