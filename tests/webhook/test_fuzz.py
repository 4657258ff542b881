"""Hypothesis: whatever arrives, the receiver answers with a refusal, never a crash."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sunmi_face_async.webhook import CallbackError, PushEvent, callback_app, verify_callback

APP_KEY = "TESTSECRET0123456789"
NOW = 1_700_000_000
FIELDS = ["app_id", "event", "payload", "random", "shop_id", "sunmi_shop_no", "timestamp", "sign"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

field_values = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,14}", fullmatch=True),
    st.sampled_from(["", "{}", "null", "[]", '{"a":', "1e999", "NaN", '{"a":1}', "-5"]),
)
BASE = {
    "app_id": "LMWWQVTW4QGCC",
    "event": "1001",
    "payload": '{"face_id":"1"}',
    "random": "Ab3dE6gh",
    "shop_id": "9527",
    "sunmi_shop_no": "560279010307",
    "timestamp": str(NOW),
}
changes = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), field_values, max_size=12
)
# Half from scratch, half a well-formed callback with a few fields changed.
forms = st.one_of(changes, changes.map(lambda c: {**BASE, **c}))


@FUZZ
@given(form=forms, resign_it=st.booleans())
def test_any_form_is_verified_or_refused_with_a_callback_error(
    form: dict[str, str], resign_it: bool, resign: Callable[..., str]
) -> None:
    if resign_it:
        form = {**form, "sign": resign(form)}
    try:
        event = verify_callback(form, APP_KEY, max_age=10**12, now=NOW)
    except CallbackError as exc:
        message = str(exc)
    else:
        message = ""
        assert resign_it
        assert isinstance(event, PushEvent)
        assert isinstance(event.payload, dict)
        assert event.event == int(form["event"])
    assert APP_KEY not in message


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), forms.map(lambda f: str(httpx.QueryParams(f)))))
async def test_any_body_gets_a_refusal_not_a_crash(body: bytes | str) -> None:
    handled: list[PushEvent] = []

    async def handler(event: PushEvent) -> None:
        handled.append(event)

    app = callback_app(handler, APP_KEY, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
        response = await client.post(
            "/", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert response.status_code in {400, 401}
    assert handled == []
