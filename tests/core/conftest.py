"""Fixtures of the core client tests: a respx router on the UAT base URL and a client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from sunmi_face_async import AsyncSunmiFace, RetryPolicy

from .helpers import APP_ID, APP_KEY, BASE_URL, SHOP_NO, Jitter, Sleeps


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every request to BASE_URL is answered by routes the test adds; others are refused."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def jitter() -> Jitter:
    return Jitter()


@pytest.fixture
async def client(
    router: respx.MockRouter, sleeps: Sleeps, jitter: Jitter
) -> AsyncIterator[AsyncSunmiFace]:
    """A client whose requests go to the router, and whose retries record instead of sleeping.

    The router is plugged in as an httpx MockTransport (cheap: no TLS context per test); the
    tests that need the client's own sharded httpx clients build one, and respx's patching
    answers those.
    """
    policy = RetryPolicy(sleep=sleeps, jitter=jitter)
    async with AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        base_url=BASE_URL,
        retry=policy,
        transport=httpx.MockTransport(router.async_handler),
    ) as api:
        yield api
