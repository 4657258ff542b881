"""verify_callback and parse_callback: valid, forged, expired, replayed and malformed pushes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from sunmi_face_async.errors import SunmiError
from sunmi_face_async.webhook import (
    CallbackError,
    ExpiredCallbackError,
    InvalidSignatureError,
    MalformedCallbackError,
    PushEvent,
    ReplayCache,
    ReplayCacheFullError,
    ReplayedCallbackError,
    parse_callback,
    verify_callback,
)

APP_KEY = "TESTSECRET0123456789"
NOW = 1_700_000_000
MakeForm = Callable[..., dict[str, str]]

# Computed with `printf ... | md5sum` from the canonical string, outside the package.
FIXED_FORM = {
    "app_id": "LMWWQVTW4QGCC",
    "event": "1001",
    "payload": '{"face_id":"578968751459","group_id":"578968813726"}',
    "random": "Ab3dE6gh",
    "shop_id": "9527",
    "sunmi_shop_no": "560279010307",
    "timestamp": "1581383983",
    "sign": "7054D4E12C087C1FEF615843D34C3AEA",
}


def test_fixed_vector_verifies_into_a_typed_event() -> None:
    event = verify_callback(FIXED_FORM, APP_KEY, now=1581383983 + 10)
    assert event == PushEvent(
        event=1001,
        app_id="LMWWQVTW4QGCC",
        shop_id="9527",
        sunmi_shop_no="560279010307",
        payload={"face_id": "578968751459", "group_id": "578968813726"},
        timestamp=datetime(2020, 2, 11, 1, 19, 43, tzinfo=timezone.utc),
        random="Ab3dE6gh",
    )


def test_lower_case_sign_is_accepted() -> None:
    form = {**FIXED_FORM, "sign": FIXED_FORM["sign"].lower()}
    assert verify_callback(form, APP_KEY, now=1581383983).event == 1001


def test_callback_errors_are_sunmi_errors() -> None:
    for cls in (MalformedCallbackError, InvalidSignatureError, ExpiredCallbackError):
        assert issubclass(cls, CallbackError)
    assert issubclass(ReplayedCallbackError, CallbackError)
    assert issubclass(CallbackError, SunmiError)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda f: f.update(payload='{"face_id":"1"}'), id="payload-changed"),
        pytest.param(lambda f: f.update(event="1002"), id="event-changed"),
        pytest.param(lambda f: f.update(sunmi_shop_no="100939020409"), id="store-changed"),
        pytest.param(lambda f: f.update(timestamp=str(NOW + 1)), id="timestamp-changed"),
        pytest.param(lambda f: f.update(extra="1"), id="field-added"),
        pytest.param(lambda f: f.pop("shop_id"), id="field-removed"),
        pytest.param(lambda f: f.update(sign=f["sign"][:-1]), id="sign-truncated"),
        pytest.param(lambda f: f.update(sign="é" * 32), id="sign-non-ascii"),
    ],
)
def test_tampered_callbacks_are_forged(make_form: MakeForm, tamper: Callable[..., None]) -> None:
    form = make_form()
    tamper(form)
    with pytest.raises(InvalidSignatureError):
        verify_callback(form, APP_KEY, now=NOW)


def test_callback_signed_with_another_key_is_forged(make_form: MakeForm) -> None:
    with pytest.raises(InvalidSignatureError):
        verify_callback(make_form(key="ANOTHER-KEY"), APP_KEY, now=NOW)


def test_expired_and_future_callbacks_are_refused(make_form: MakeForm) -> None:
    form = make_form(timestamp=NOW)
    assert verify_callback(form, APP_KEY, max_age=300, now=NOW + 300).event == 1001
    assert verify_callback(form, APP_KEY, max_age=300, now=NOW - 300).event == 1001
    with pytest.raises(ExpiredCallbackError):
        verify_callback(form, APP_KEY, max_age=300, now=NOW + 301)
    with pytest.raises(ExpiredCallbackError):
        verify_callback(form, APP_KEY, max_age=300, now=NOW - 301)


def test_signature_is_checked_before_the_clock(make_form: MakeForm) -> None:
    with pytest.raises(InvalidSignatureError):
        verify_callback(make_form(key="ANOTHER-KEY"), APP_KEY, now=NOW + 10_000)


def test_replayed_delivery_is_refused_but_carries_the_event(make_form: MakeForm) -> None:
    seen = ReplayCache()
    form = make_form()
    first = verify_callback(form, APP_KEY, seen=seen, now=NOW)
    with pytest.raises(ReplayedCallbackError) as caught:
        verify_callback(dict(form), APP_KEY, seen=seen, now=NOW + 20)
    assert caught.value.event == first
    # A fresh delivery of the same content (new random, new sign) is a new delivery.
    assert verify_callback(make_form(random="Zz9yY8xx"), APP_KEY, seen=seen, now=NOW).event == 1001


def test_a_full_replay_cache_refuses_new_deliveries_and_still_catches_replays(
    make_form: MakeForm,
) -> None:
    seen = ReplayCache(3)
    forms = [make_form(random=f"Rand{i}abc") for i in range(4)]
    for form in forms[:3]:
        verify_callback(form, APP_KEY, seen=seen, now=NOW)
    with pytest.raises(ReplayCacheFullError) as full:
        verify_callback(forms[3], APP_KEY, seen=seen, now=NOW + 10)
    assert full.value.retry_after == 290  # the deliveries expire with the 300 s window
    for form in forms[:3]:
        with pytest.raises(ReplayedCallbackError):
            verify_callback(form, APP_KEY, seen=seen, now=NOW + 10)
    # Once the first three leave the window, a new delivery gets in.
    later = make_form(random="Later123", timestamp=NOW + 301)
    assert verify_callback(later, APP_KEY, seen=seen, now=NOW + 301).random == "Later123"


def test_replay_after_the_window_is_expired_not_accepted(make_form: MakeForm) -> None:
    seen = ReplayCache()
    form = make_form()
    verify_callback(form, APP_KEY, seen=seen, max_age=60, now=NOW)
    with pytest.raises(ExpiredCallbackError):
        verify_callback(form, APP_KEY, seen=seen, max_age=60, now=NOW + 61)


def test_forged_and_expired_callbacks_are_not_remembered(make_form: MakeForm) -> None:
    seen = ReplayCache()
    with pytest.raises(InvalidSignatureError):
        verify_callback(make_form(key="ANOTHER-KEY"), APP_KEY, seen=seen, now=NOW)
    with pytest.raises(ExpiredCallbackError):
        verify_callback(make_form(), APP_KEY, seen=seen, now=NOW + 3600)
    assert len(seen) == 0
    assert verify_callback(make_form(), APP_KEY, seen=seen, now=NOW).event == 1001


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event": "abc"}, "event"),
        ({"event": "-1"}, "event"),
        ({"event": "١"}, "event"),  # an Arabic-Indic digit: int() would take it
        ({"timestamp": "17e8"}, "timestamp"),
        ({"timestamp": "9" * 13}, "timestamp"),
        ({"payload": "[1, 2]"}, "payload"),
        ({"payload": "{not json"}, "payload"),
        ({"payload": "[" * 100_000}, "payload"),
        ({"random": "r" * 65}, "random"),
    ],
)
def test_malformed_fields_are_refused_even_when_signed(
    make_form: MakeForm, resign: Callable[..., str], changes: dict[str, str], field: str
) -> None:
    form = {**make_form(), **changes}
    form["sign"] = resign(form)
    with pytest.raises(MalformedCallbackError, match=field):
        verify_callback(form, APP_KEY, now=NOW)


@pytest.mark.parametrize("missing", ["app_id", "event", "timestamp", "random", "sign"])
def test_missing_required_field_is_malformed(make_form: MakeForm, missing: str) -> None:
    form = make_form()
    del form[missing]
    with pytest.raises(MalformedCallbackError, match=missing):
        verify_callback(form, APP_KEY, now=NOW)


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(None, id="none"),
        pytest.param([("event", "1")], id="list-of-pairs"),
        pytest.param(
            {"app_id": 1, "event": "1", "timestamp": "1", "random": "a", "sign": "x"},
            id="int-value",
        ),
        pytest.param(
            {"app_id": "a", "event": "1", "timestamp": "1", "random": "a", "sign": "x", 3: "x"},
            id="int-key",
        ),
    ],
)
def test_non_string_forms_are_malformed(form: object) -> None:
    with pytest.raises(MalformedCallbackError):
        verify_callback(form, APP_KEY, now=NOW)  # type: ignore[arg-type]


def test_empty_payload_is_an_empty_dict_and_unknown_fields_are_kept(
    make_form: MakeForm, resign: Callable[..., str]
) -> None:
    form = make_form(trace_id="t-1")
    form["payload"] = ""
    form["sign"] = resign(form)
    event = verify_callback(form, APP_KEY, now=NOW)
    assert event.payload == {}
    assert event.extra == {"trace_id": "t-1"}


def test_parse_callback_does_not_check_the_sign(make_form: MakeForm) -> None:
    form = {**make_form(payload={"group_id": "g1"}), "sign": "0" * 32}
    event = parse_callback(form)
    assert event.payload == {"group_id": "g1"}
    assert event.timestamp == datetime.fromtimestamp(NOW, tz=timezone.utc)


def test_fingerprint_ignores_delivery_details_but_not_content(make_form: MakeForm) -> None:
    first = parse_callback(make_form(payload={"a": 1, "b": 2}))
    retry = parse_callback(
        make_form(payload={"b": 2, "a": 1}, random="Other123", timestamp=NOW + 15)
    )
    other = parse_callback(make_form(payload={"a": 1, "b": 3}))
    other_store = parse_callback(make_form(payload={"a": 1, "b": 2}, sunmi_shop_no="1"))
    assert first.fingerprint == retry.fingerprint
    assert len({first.fingerprint, other.fingerprint, other_store.fingerprint}) == 3


def test_errors_never_reveal_the_key_or_the_expected_sign(
    make_form: MakeForm, resign: Callable[..., str]
) -> None:
    forged = make_form(key="ANOTHER-KEY")
    expected_sign = resign(forged)
    texts = []
    for form, now in [(forged, NOW), (make_form(), NOW + 9999), ({**forged, "event": "x"}, NOW)]:
        with pytest.raises(CallbackError) as caught:
            verify_callback(form, APP_KEY, now=now)
        texts += [str(caught.value), repr(caught.value)]
    seen = ReplayCache()
    verify_callback(make_form(), APP_KEY, seen=seen, now=NOW)
    with pytest.raises(ReplayedCallbackError) as replay:
        verify_callback(make_form(), APP_KEY, seen=seen, now=NOW)
    texts += [str(replay.value), repr(replay.value), repr(replay.value.event), repr(seen)]
    for text in texts:
        assert APP_KEY not in text
        assert expected_sign not in text.upper()


def test_empty_key_and_bad_window_are_programming_errors(make_form: MakeForm) -> None:
    with pytest.raises(ValueError, match="app_key"):
        verify_callback(make_form(), "", now=NOW)
    with pytest.raises(ValueError, match="max_age"):
        verify_callback(make_form(), APP_KEY, max_age=0, now=NOW)


async def test_a_frameworks_form_data_verifies(make_form: MakeForm) -> None:
    from starlette.datastructures import FormData

    form = FormData(list(make_form(payload={"face_id": "f9"}).items()))
    assert verify_callback(form, APP_KEY, now=NOW).payload == {"face_id": "f9"}
