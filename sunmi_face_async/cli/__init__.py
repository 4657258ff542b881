"""``sunmi-face``: the command line tool (needs the ``cli`` extra: click and rich)."""

# Each command module registers its commands on ``cli`` when imported.
from . import (  # noqa: F401
    _copy_structure,
    _demo,
    _enroll,
    _export,
    _face_ops,
    _fake_server,
    _groups,
    _journal,
    _strategy,
    _sync,
    _verify,
)
from ._app import cli, main

__all__ = ["cli", "main"]
