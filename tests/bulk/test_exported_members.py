"""The bulk layer's outcomes are the agreed ones. (Its public names are checked against
``__all__`` with the other packages' in tests/core/test_exported_members.py.)"""

from __future__ import annotations

import sunmi_face_async.bulk as bulk


def test_the_outcomes_are_the_agreed_ones_plus_checked() -> None:
    assert {o.name for o in bulk.Outcome} == {
        "DONE",
        "FAILED",
        "SKIPPED",
        "DUPLICATE",
        "UNKNOWN",
        "INVALID",
        "CHECKED",
        # confirm=: accepted, then refused by the platform / no word on it in time.
        "REJECTED",
        "UNCONFIRMED",
    }
