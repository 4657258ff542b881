"""A client used on another event loop than the one its connections were opened on raises
``ClientLoopError`` saying what to do, instead of httpcore's "Event loop is closed" (real
keep-alive connections to a loopback server running in a thread of its own)."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, ClientLoopError, SunmiError
from tests.hostile._loopback import Loopback, serving, slow_ok

from .helpers import APP_ID, APP_KEY, SHOP_NO, ok

ADVICE = "make one client per application, opened in its lifespan"


@contextmanager
def server_thread() -> Iterator[Loopback]:
    """A keep-alive loopback server on its own thread and loop, for the whole block."""
    started, stop = threading.Event(), threading.Event()
    holder: list[Loopback] = []

    async def main() -> None:
        async with serving(slow_ok(0)) as server:
            holder.append(server)
            started.set()
            while not stop.is_set():
                await anyio.sleep(0.02)

    thread = threading.Thread(target=anyio.run, args=(main,), daemon=True)
    thread.start()
    assert started.wait(10), "the loopback server did not start"
    try:
        yield holder[0]
    finally:
        stop.set()
        thread.join(10)


def _collect_orphans() -> None:
    """Collect the sockets of a client left on a closed loop (nothing can close them any
    more): their 'unclosed transport' warnings are the expected consequence, not a leak of
    the code under test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_a_client_reused_in_a_second_asyncio_run_says_what_to_do() -> None:
    with server_thread() as server:
        client = AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=server.base_url())
        child = client.with_shop(sunmi_shop_no="S2").with_options(deadline=5)
        assert asyncio.run(client.groups.list()) == []

        async def second(client: AsyncSunmiFace, child: AsyncSunmiFace) -> list[str]:
            seen = []
            for api in (client, child):
                with pytest.raises(ClientLoopError) as caught:
                    await api.groups.list()
                seen.append(str(caught.value))
            await client.aclose()  # only marks it closed: no "Event loop is closed" either
            return seen

        messages = asyncio.run(second(client, child))
        assert server.requests == 1  # nothing was sent from the second loop
    assert messages[0] == messages[1]
    assert "this AsyncSunmiFace was opened on another event loop (it is closed now)" in messages[0]
    assert ADVICE in messages[0]
    assert issubclass(ClientLoopError, RuntimeError)
    assert issubclass(ClientLoopError, SunmiError)
    del client, child
    _collect_orphans()


def test_a_client_used_from_another_thread_s_loop_is_refused() -> None:
    with server_thread() as server:
        client = AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=server.base_url())
        opened, release, done = threading.Event(), threading.Event(), threading.Event()

        async def owner() -> None:  # opens the connections and keeps its loop running
            await client.groups.list()
            opened.set()
            while not release.is_set():
                await asyncio.sleep(0.02)
            await client.aclose()
            done.set()

        thread = threading.Thread(target=asyncio.run, args=(owner(),), daemon=True)
        thread.start()
        assert opened.wait(10)
        try:
            with pytest.raises(ClientLoopError, match=r"another event loop \(it still runs\)"):
                asyncio.run(client.groups.list())
        finally:
            release.set()
            thread.join(10)
        assert done.is_set()
        assert server.requests == 1


def test_a_new_client_per_asyncio_run_works() -> None:
    with server_thread() as server:

        async def one_run() -> object:
            async with AsyncSunmiFace(
                APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=server.base_url()
            ) as client:
                return await client.groups.list()

        assert asyncio.run(one_run()) == asyncio.run(one_run()) == []
        assert server.requests == 2


def test_a_caller_s_transport_is_not_bound_to_a_loop() -> None:
    answer = ok({"group_list": []})
    client = AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        transport=httpx.MockTransport(lambda request: answer),
    )
    assert asyncio.run(client.groups.list()) == asyncio.run(client.groups.list()) == []


def test_trio_stays_working() -> None:
    with server_thread() as server:

        async def main() -> list[object]:
            async with AsyncSunmiFace(
                APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=server.base_url()
            ) as client:
                return [
                    await client.groups.list(),
                    await client.with_options(deadline=5).groups.list(),
                ]

        assert anyio.run(main, backend="trio") == [[], []]
        assert server.requests == 2
