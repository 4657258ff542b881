"""One OpenTelemetry span per call when opentelemetry-api is installed (recorded here with the
SDK's in-memory exporter), and nothing at all when it is not (a child process without it)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from sunmi_face_async import AsyncSunmiFace, DatabaseError, RetryPolicy

from .helpers import APP_ID, APP_KEY, BASE_URL, SHOP_NO, Sleeps, fail, ok

pytest.importorskip("opentelemetry.sdk.trace", reason="the [otel] test extra is not installed")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests._otel import span_recorder


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The spans of this module's calls, recorded in memory."""
    memory = span_recorder()
    yield memory
    memory.shutdown()  # later tests' spans are dropped, not kept in memory


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


def _client(router: respx.MockRouter, **options: Any) -> AsyncSunmiFace:
    return AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        base_url=BASE_URL,
        transport=httpx.MockTransport(router.async_handler),
        retry=RetryPolicy(sleep=Sleeps()),
        **options,
    )


def _ours(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name.startswith("sunmi ")]


async def test_one_span_per_call_with_its_outcome(
    router: respx.MockRouter, spans: InMemorySpanExporter
) -> None:
    router.post("/face/getInfo").mock(side_effect=[fail(5000), ok({"face_id": "1"})])
    async with _client(router) as client:
        await client.faces.get("1")
    (span,) = _ours(spans)
    assert span.name == "sunmi /face/getInfo"
    assert span.kind is trace.SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "sunmi.endpoint": "/face/getInfo",
        "http.request.method": "POST",
        "sunmi.attempts": 2,
        "http.response.status_code": 200,
        "sunmi.code": 0,
    }
    assert span.status.status_code is trace.StatusCode.UNSET


async def test_a_failed_call_s_span_is_an_error_named_by_class(
    router: respx.MockRouter, spans: InMemorySpanExporter
) -> None:
    router.post("/face/getInfo").mock(return_value=fail(5000, msg="db down"))
    async with _client(router) as client:
        with pytest.raises(DatabaseError):
            await client.faces.get("1")
    (span,) = _ours(spans)
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.status.description == "DatabaseError"
    assert (span.attributes or {})["error.type"] == "DatabaseError"
    assert (span.attributes or {})["sunmi.attempts"] == 4
    assert (span.attributes or {})["sunmi.code"] == 5000
    assert list(span.events) == []  # no exception event: its message could quote the server


async def test_the_span_is_a_child_of_the_caller_s(
    router: respx.MockRouter, spans: InMemorySpanExporter
) -> None:
    router.post("/face/group/getList").mock(return_value=ok({"group_list": []}))
    tracer = trace.get_tracer("the-app")
    async with _client(router) as client:
        with tracer.start_as_current_span("GET /groups") as handler:
            await client.groups.list()
    (span,) = _ours(spans)
    assert span.parent is not None
    assert span.parent.span_id == handler.get_span_context().span_id


def test_without_opentelemetry_nothing_is_traced() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # as if the extra were not installed
        import httpx
        from sunmi_face_async import AsyncSunmiFace

        def answer(request):
            return httpx.Response(200, json={"code": 0, "msg": "", "data": {"group_list": []}})

        async def main():
            async with AsyncSunmiFace("APP", "key-0123456789", sunmi_shop_no="1",
                                      transport=httpx.MockTransport(answer)) as client:
                print(await client.groups.list(), client._transport.signals)

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] None"  # no watcher: calls take the plain path
