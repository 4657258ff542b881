"""What pytest's ``pytest11`` entry point ``sunmi_face_async`` loads: the fixtures of
:mod:`sunmi_face_async.testing.plugin`.

A module of its own, so that a ``conftest.py`` that also names
``pytest_plugins = ["sunmi_face_async.testing.plugin"]`` registers a second module (whose
identical fixtures simply win) instead of the same module under a second name, which pytest
refuses.
"""

from .plugin import sunmi_client, sunmi_cloud, sunmi_env, sunmi_server

__all__ = ["sunmi_client", "sunmi_cloud", "sunmi_env", "sunmi_server"]
