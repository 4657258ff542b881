"""What is retried and what is not, the waits in between, and re-signing per attempt."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

import sunmi_face_async as sf
from sunmi_face_async import AsyncSunmiFace, RetryPolicy
from sunmi_face_async._retry import Failure, next_delay, parse_retry_after

from .helpers import (
    APP_ID,
    APP_KEY,
    BASE_URL,
    JPEG,
    SHOP_NO,
    FakeClock,
    Jitter,
    Sleeps,
    fail,
    form_fields,
    md5_sign,
    multipart_fields,
    ok,
    recording_policy,
)

GATEWAY_DOWN = httpx.Response(502, text="bad gateway")


def nonces_and_signs(route: respx.Route) -> list[tuple[str, str]]:
    """(random, sign) of every attempt, each sign checked against a recomputation."""
    out = []
    for call in route.calls:
        fields = form_fields(call.request)
        assert fields["sign"] == md5_sign(fields)
        out.append((fields["random"], fields["sign"]))
    return out


# --- safe calls ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        fail(5000, "db"),
        httpx.Response(500),
        GATEWAY_DOWN,
        httpx.Response(503, text="unavailable"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
    ],
)
async def test_safe_call_is_retried_until_it_succeeds(
    client: AsyncSunmiFace,
    router: respx.MockRouter,
    sleeps: Sleeps,
    jitter: Jitter,
    failure: httpx.Response | Exception,
) -> None:
    route = router.post("/face/group/getList").mock(
        side_effect=[failure, failure, ok({"group_list": [{"group_id": "1"}]})]
    )
    groups = await client.groups.list()
    assert [g.group_id for g in groups] == ["1"]
    assert route.call_count == 3
    # Full jitter over an exponential ceiling: base 0.25 s, doubled per retry.
    assert jitter == [0.25, 0.5]
    assert sleeps == [0.25, 0.5]


async def test_every_attempt_is_resigned_with_a_fresh_random(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/getInfo").mock(
        side_effect=[fail(5000), fail(5000), fail(5000), ok({"group_id": "1"})]
    )
    await client.groups.get("1")
    attempts = nonces_and_signs(route)
    assert len(attempts) == 4
    assert len({nonce for nonce, _ in attempts}) == 4
    assert len({sign for _, sign in attempts}) == 4
    bodies = [form_fields(call.request) for call in route.calls]
    for body in bodies:
        assert body["group_id"] == "1"
        assert body["sunmi_shop_no"] == SHOP_NO


async def test_every_attempt_gets_a_fresh_timestamp(
    client: AsyncSunmiFace, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sunmi_face_async._transport as transport_module

    monkeypatch.setattr(transport_module, "time", FakeClock(1700000000.2, 1700000003.9, 1700000011))
    route = router.post("/face/group/getInfo").mock(
        side_effect=[fail(5091), httpx.Response(503), ok({"group_id": "1"})]
    )
    await client.groups.get("1")
    bodies = [form_fields(call.request) for call in route.calls]
    assert [body["timestamp"] for body in bodies] == ["1700000000", "1700000003", "1700000011"]
    for body in bodies:
        assert body["sign"] == md5_sign(body)


async def test_gives_up_after_max_attempts(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = router.post("/face/group/getList").mock(return_value=fail(5000, "db down"))
    with pytest.raises(sf.DatabaseError) as caught:
        await client.groups.list()
    assert route.call_count == 4  # RetryPolicy().max_attempts
    assert sleeps == [0.25, 0.5, 1.0]
    assert caught.value.outcome_unknown is False


async def test_backoff_is_capped(router: respx.MockRouter) -> None:
    policy, sleeps, jitter = recording_policy(max_attempts=7, backoff_base=1.0, backoff_cap=3.0)
    route = router.post("/face/getInfo").mock(return_value=httpx.Response(503))
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL, retry=policy
    ) as api:
        with pytest.raises(sf.ServerError):
            await api.faces.get("1")
    assert route.call_count == 7
    assert jitter == [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    assert list(sleeps) == list(jitter)


@pytest.mark.parametrize(("drawn", "slept"), [(-5.0, None), (0.0, None), (0.1, 0.1), (99.0, 0.25)])
async def test_jitter_result_is_clamped_into_its_bounds(
    router: respx.MockRouter, drawn: float, slept: float | None
) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=2, sleep=sleeps, jitter=lambda upper: drawn)
    router.post("/face/getInfo").mock(side_effect=[fail(5000), ok({"face_id": "1"})])
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL, retry=policy
    ) as api:
        await api.faces.get("1")
    # A zero wait does not call sleep at all.
    assert sleeps == ([] if slept is None else [slept])


@given(retry_number=st.integers(1, 30), base=st.floats(0, 5), cap=st.floats(0, 60))
def test_default_jitter_stays_within_full_jitter_bounds(
    retry_number: int, base: float, cap: float
) -> None:
    policy = RetryPolicy(backoff_base=base, backoff_cap=cap)
    delay = policy.backoff(retry_number)
    assert 0.0 <= delay <= min(cap, base * 2 ** (retry_number - 1))


def test_default_jitter_is_random() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=1.0)
    draws = {policy.backoff(1) for _ in range(50)}
    assert len(draws) > 40


@pytest.mark.parametrize(
    "answer",
    [fail(5020), fail(5522), fail(5090), fail(5013), httpx.Response(401), httpx.Response(404)],
)
async def test_final_errors_are_not_retried(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps, answer: httpx.Response
) -> None:
    route = router.post("/face/group/getList").mock(return_value=answer)
    with pytest.raises(sf.APIError):
        await client.groups.list()
    assert route.call_count == 1
    assert sleeps == []


async def test_protocol_errors_are_not_retried(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/getList").mock(return_value=httpx.Response(200, text="?"))
    with pytest.raises(sf.ProtocolError):
        await client.groups.list()
    assert route.call_count == 1


async def test_no_retry_policy_makes_one_attempt(router: respx.MockRouter) -> None:
    route = router.post("/face/group/getList").mock(return_value=fail(5000))
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL, retry=sf.NO_RETRY
    ) as api:
        with pytest.raises(sf.DatabaseError):
            await api.groups.list()
    assert route.call_count == 1


# --- clock skew and nonces ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"), [(5091, sf.TimestampExpiredError), (5092, sf.InvalidNonceError)]
)
async def test_auth_refusals_retry_once_at_once(
    client: AsyncSunmiFace,
    router: respx.MockRouter,
    sleeps: Sleeps,
    code: int,
    error: type[sf.APIError],
) -> None:
    route = router.post("/face/group/getList").mock(
        side_effect=[fail(code), ok({"group_list": []})]
    )
    assert await client.groups.list() == []
    assert route.call_count == 2
    assert sleeps == []
    (first_nonce, first_sign), (second_nonce, second_sign) = nonces_and_signs(route)
    assert first_nonce != second_nonce
    assert first_sign != second_sign

    route.mock(side_effect=None, return_value=fail(code))
    with pytest.raises(error):
        await client.groups.list()
    assert route.call_count == 4  # one retry only, then the error


async def test_5091_on_a_create_call_is_retried_once(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/add").mock(side_effect=[fail(5091), ok({"face_id": "9"})])
    assert await client.faces.add("g", pic=JPEG) == "9"
    assert route.call_count == 2
    first, second = (multipart_fields(call.request)[0] for call in route.calls)
    assert first["random"] != second["random"]
    assert second["sign"] == md5_sign(second)


# --- Retry-After --------------------------------------------------------------------------


async def test_429_honours_retry_after_seconds(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps, jitter: Jitter
) -> None:
    route = router.post("/face/group/getList").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429, headers={"Retry-After": "0.5"}),
            ok({"group_list": []}),
        ]
    )
    await client.groups.list()
    assert route.call_count == 3
    assert sleeps == [3.0, 0.5]
    assert jitter == []  # the server's hint replaces the backoff


async def test_429_retry_after_is_capped(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    router.post("/face/group/getList").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "86400"}), ok({"group_list": []})]
    )
    await client.groups.list()
    assert sleeps == [60.0]


async def test_429_without_retry_after_backs_off(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    router.post("/face/group/getList").mock(
        side_effect=[httpx.Response(429), ok({"group_list": []})]
    )
    await client.groups.list()
    assert sleeps == [0.25]


async def test_429_on_a_create_call_is_retried(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = router.post("/face/add").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), ok({"face_id": "9"})]
    )
    assert await client.faces.add("g", pic=JPEG) == "9"
    assert route.call_count == 2
    assert sleeps == [2.0]


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None


# --- calls that create something ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (fail(5000), sf.DatabaseError),
        (httpx.Response(500), sf.ServerError),
        (GATEWAY_DOWN, sf.ServerError),
        (httpx.ReadTimeout("slow"), sf.RequestTimeout),
        (httpx.RemoteProtocolError("reset"), sf.TransportError),
        (httpx.ReadError("reset"), sf.TransportError),
    ],
)
async def test_face_add_is_never_resent_once_the_outcome_is_unknown(
    client: AsyncSunmiFace,
    router: respx.MockRouter,
    sleeps: Sleeps,
    answer: httpx.Response | Exception,
    error: type[sf.SunmiError],
) -> None:
    route = router.post("/face/add")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    with pytest.raises(error) as caught:
        await client.faces.add("g", pic=JPEG)
    assert route.call_count == 1
    assert sleeps == []
    assert caught.value.outcome_unknown is True  # type: ignore[attr-defined]
    assert "outcome is unknown" in str(caught.value)


async def test_face_add_is_retried_when_it_never_reached_the_server(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = router.post("/face/add").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ConnectTimeout("t"), ok({"face_id": "7"})]
    )
    assert await client.faces.add("g", pic=JPEG) == "7"
    assert route.call_count == 3
    assert sleeps == [0.25, 0.5]
    nonces = {multipart_fields(call.request)[0]["random"] for call in route.calls}
    assert len(nonces) == 3


async def test_face_add_final_errors_are_not_marked_unknown(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/add").mock(return_value=fail(5520, "full"))
    with pytest.raises(sf.LimitExceededError) as caught:
        await client.faces.add("g", pic=JPEG)
    assert caught.value.outcome_unknown is False


async def test_group_create_unknown_outcome_raises_when_the_group_is_not_there(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    create = router.post("/face/group/create").mock(return_value=GATEWAY_DOWN)
    listing = router.post("/face/group/getList").mock(return_value=ok({"group_list": []}))
    with pytest.raises(sf.ServerError) as caught:
        await client.groups.create("VIP")
    assert create.call_count == 1
    assert listing.call_count == 1
    assert caught.value.outcome_unknown is True
    assert sleeps == []


async def test_group_create_unknown_outcome_is_settled_by_name(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    create = router.post("/face/group/create").mock(side_effect=httpx.ReadTimeout("slow"))
    router.post("/face/group/getList").mock(
        return_value=ok({"group_list": [{"group_id": "42", "group_name": "VIP", "type": 5}]})
    )
    group = await client.groups.create("VIP")
    assert create.call_count == 1
    assert (group.group_id, group.name) == ("42", "VIP")


async def test_group_create_is_retried_when_never_sent(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    create = router.post("/face/group/create").mock(
        side_effect=[httpx.ConnectError("refused"), ok()]
    )
    router.post("/face/group/getList").mock(
        return_value=ok({"group_list": [{"group_id": "42", "group_name": "VIP", "type": 5}]})
    )
    assert (await client.groups.create("VIP")).group_id == "42"
    assert create.call_count == 2


# --- the pure decision --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "creates", "retried"),
    [
        (Failure.NOT_SENT, False, True),
        (Failure.NOT_SENT, True, True),
        (Failure.OUTCOME_UNKNOWN, False, True),
        (Failure.OUTCOME_UNKNOWN, True, False),
        (Failure.SERVER, False, True),
        (Failure.SERVER, True, False),
        (Failure.THROTTLED, False, True),
        (Failure.THROTTLED, True, True),
        (Failure.CLOCK, True, True),
        (Failure.NONCE, True, True),
        (Failure.FINAL, False, False),
        (Failure.FINAL, True, False),
    ],
)
def test_next_delay_table(failure: Failure, creates: bool, retried: bool) -> None:
    policy = RetryPolicy(jitter=lambda upper: upper)
    delay = next_delay(failure, creates=creates, attempt=1, policy=policy)
    assert (delay is not None) is retried


def test_next_delay_stops_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=lambda upper: upper)
    assert next_delay(Failure.SERVER, creates=False, attempt=2, policy=policy) == 0.5
    assert next_delay(Failure.SERVER, creates=False, attempt=3, policy=policy) is None
    assert next_delay(Failure.CLOCK, creates=False, attempt=3, policy=policy) is None


def test_quick_retries_are_spent_once() -> None:
    policy = RetryPolicy()
    assert next_delay(Failure.CLOCK, creates=False, attempt=1, policy=policy) == 0.0
    assert (
        next_delay(Failure.NONCE, creates=False, attempt=2, policy=policy, quick_retries_used=1)
        is None
    )


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"backoff_base": -1.0}, {"backoff_cap": -0.1}]
)
def test_retry_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|cannot"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_policy_repr_hides_callables() -> None:
    text = repr(RetryPolicy())
    assert "max_attempts=4" in text
    assert "sleep" not in text
    assert "jitter" not in text


async def test_retry_after_is_honoured_on_503(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps, jitter: Jitter
) -> None:
    router.post("/face/group/getList").mock(
        side_effect=[
            httpx.Response(503, text="maintenance", headers={"Retry-After": "5"}),
            ok({"group_list": []}),
        ]
    )
    await client.groups.list()
    assert sleeps == [5.0]
    assert jitter == []


def test_retry_after_nan_is_ignored() -> None:
    assert parse_retry_after("nan") is None


async def test_create_keeps_its_unknown_outcome_when_the_lookup_fails(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/create").mock(return_value=httpx.Response(502, text="bad gateway"))
    router.post("/face/group/getList").mock(return_value=fail(5041, "no shop"))
    with pytest.raises(sf.SunmiError) as caught:
        await client.groups.create("VIP")
    # The caller must learn that the group may exist, not the lookup's ShopNotFoundError.
    assert getattr(caught.value, "outcome_unknown", False) is True
    assert caught.value.endpoint == "/face/group/create"  # type: ignore[attr-defined]
