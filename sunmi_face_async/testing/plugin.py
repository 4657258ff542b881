"""Pytest fixtures for projects that test their code against the fake cloud.

pytest loads them by itself wherever the package is installed (the ``pytest11`` entry point
named ``sunmi_face_async``, the top-level module ``_sunmi_face_async_pytest``);
``-p no:sunmi_face_async`` turns them off, and
``pytest_plugins = ["sunmi_face_async.testing.plugin"]`` in a ``conftest.py`` still works
(with the entry point or without it).

- ``sunmi_cloud``: a fresh :class:`~sunmi_face_async.testing.FakeSunmiCloud` per test (push
  retries without delays).
- ``sunmi_client``: an ``AsyncSunmiFace`` bound to ``sunmi_cloud`` in-process, closed after
  the test. It is an async fixture: it needs pytest-asyncio (or anyio's pytest plugin).
- ``sunmi_server``: a :class:`~sunmi_face_async.testing.ThreadedFakeServer` for the session,
  the fake over HTTP on loopback (uvicorn in a thread), stopped at the end.
- ``sunmi_env``: the ``SUNMI_*`` variables pointing at ``sunmi_server`` (a store of the
  test's own), so code that calls ``AsyncSunmiFace.from_env()`` itself reaches the fake. The
  server's faults are put back to none after the test.

The fixtures live outside the package, so that loading the entry point imports nothing of
the library (pytest loads it in every run of every project of the environment): the library
is imported by the first fixture a test uses, and a missing ``fake`` extra is reported only
by a test that uses one, naming what to install.
"""

from __future__ import annotations

from _sunmi_face_async_pytest import sunmi_client, sunmi_cloud, sunmi_env, sunmi_server

__all__ = ["sunmi_client", "sunmi_cloud", "sunmi_env", "sunmi_server"]
