"""The client runs under trio too (anyio only), and logs one safe DEBUG line per attempt."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import respx
import sniffio
import trio

from sunmi_face_async import AsyncSunmiFace, DatabaseError, RetryPolicy

from .helpers import (
    APP_ID,
    APP_KEY,
    BASE_URL,
    JPEG,
    SHOP_NO,
    fail,
    form_fields,
    md5_sign,
    multipart_fields,
    ok,
)


def test_a_call_under_trio(tmp_path: Path) -> None:
    """Reads, a picture read in a worker thread and a real (tiny) backoff sleep, all on trio."""
    libraries: list[str] = []
    answers = [fail(5000), ok({"group_list": [{"group_id": "1", "group_name": "VIP"}]})]
    picture = tmp_path / "face.jpg"
    picture.write_bytes(JPEG)

    def handler(request: httpx.Request) -> httpx.Response:
        libraries.append(sniffio.current_async_library())
        if request.url.path.endswith("/face/add"):
            texts, files = multipart_fields(request)
            assert texts["sign"] == md5_sign(texts)
            assert files["pic"].data == JPEG
            return ok({"face_id": "77"})
        fields = form_fields(request)
        assert fields["sign"] == md5_sign(fields)
        return answers.pop(0)

    async def main() -> tuple[list[str], str]:
        policy = RetryPolicy(backoff_base=0.001, jitter=lambda upper: upper)
        async with AsyncSunmiFace(
            APP_ID,
            APP_KEY,
            sunmi_shop_no=SHOP_NO,
            base_url=BASE_URL,
            retry=policy,
            transport=httpx.MockTransport(handler),
        ) as api:
            groups = await api.groups.list()
            face_id = await api.faces.add("1", pic=picture)
        return [g.name for g in groups], face_id

    assert trio.run(main) == (["VIP"], "77")
    assert libraries == ["trio", "trio", "trio"]


def attempt_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "sunmi_face_async" and r.getMessage().startswith("POST ")
    ]


async def test_one_debug_line_per_attempt(
    client: AsyncSunmiFace, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    route = router.post("/face/group/getInfo").mock(
        side_effect=[fail(5000), httpx.Response(503, text="down"), ok({"group_id": "1"})]
    )
    await client.groups.get("1")
    lines = attempt_lines(caplog)
    assert len(lines) == 3
    assert all(r.levelno == logging.DEBUG for r in lines)
    messages = [r.getMessage() for r in lines]
    for number, (message, status, code) in enumerate(
        zip(messages, ["200", "503", "200"], ["5000", "-", "0"], strict=True), start=1
    ):
        assert message.startswith("POST /face/group/getInfo ")
        assert f"attempt={number}" in message
        assert f"http_status={status}" in message
        assert f"code={code}" in message
        assert "elapsed_ms=" in message
        float(message.split("elapsed_ms=")[1].split()[0])  # a number
    # Neither the key nor any sign that was sent appears in any log record of any logger.
    signs = [form_fields(call.request)["sign"] for call in route.calls]
    everything = "\n".join(r.getMessage() + repr(r.args) + repr(r.__dict__) for r in caplog.records)
    assert APP_KEY not in everything
    for sign in signs:
        assert sign not in everything


async def test_transport_failures_are_logged_without_a_status(
    client: AsyncSunmiFace, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sunmi_face_async")
    router.post("/face/getInfo").mock(
        side_effect=[httpx.ConnectError("refused"), ok({"face_id": "1"})]
    )
    await client.faces.get("1")
    first, second = (r.getMessage() for r in attempt_lines(caplog))
    assert "attempt=1 http_status=- code=-" in first
    assert "attempt=2 http_status=200 code=0" in second


async def test_final_failure_is_logged_too(
    client: AsyncSunmiFace, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sunmi_face_async")
    router.post("/face/add").mock(return_value=fail(5000))
    with pytest.raises(DatabaseError):
        await client.faces.add("g", pic=JPEG)
    (line,) = attempt_lines(caplog)
    assert "POST /face/add attempt=1 http_status=200 code=5000" in line.getMessage()


async def test_nothing_is_logged_above_debug(
    client: AsyncSunmiFace, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sunmi_face_async")
    router.post("/face/getInfo").mock(side_effect=[fail(5000), ok({"face_id": "1"})])
    await client.faces.get("1")
    assert [r for r in caplog.records if r.name == "sunmi_face_async"] == []
