"""Which failures the bulk layer may treat as surely not applied (and so send again)."""

from __future__ import annotations

import sunmi_face_async as sf


def test_an_unknown_outcome_is_never_surely_not_applied() -> None:
    from sunmi_face_async.bulk._policy import surely_not_applied

    refused = sf.TimestampExpiredError(5091, "late", endpoint="/face/add", http_status=200)
    behind_a_5xx = sf.TimestampExpiredError(
        5091, "late", endpoint="/face/add", http_status=502, outcome_unknown=True
    )
    assert surely_not_applied(refused)
    assert not surely_not_applied(behind_a_5xx)
