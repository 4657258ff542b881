"""The ``pytest11`` entry point of releases before the fixtures moved to the top-level module
``_sunmi_face_async_pytest``, kept for environments installed with that metadata: it loads
the same fixtures (importing the package, which the new entry point does not).

A module of its own, so that a ``conftest.py`` that also names
``pytest_plugins = ["sunmi_face_async.testing.plugin"]`` registers a second module (whose
identical fixtures simply win) instead of the same module under a second name, which pytest
refuses.
"""

from _sunmi_face_async_pytest import sunmi_client, sunmi_cloud, sunmi_env, sunmi_server

__all__ = ["sunmi_client", "sunmi_cloud", "sunmi_env", "sunmi_server"]
