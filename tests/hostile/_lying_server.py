"""A loopback HTTP server whose ``getFaceList`` answers lie, and that counts what it was asked.

It is a plain asyncio server (HTTP/1.1, keep-alive) so the client's real transport is under
test. ``pages(page_num, page_size)`` returns the face ids of one page and the ``total_num`` to
report (``groups`` gives a group id its own ``pages``). After ``budget`` requests every answer
is a 5020 error, so a client that does not stop by itself still ends and the test fails
instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from types import TracebackType
from urllib.parse import parse_qsl

from sunmi_face_async import AsyncSunmiFace, RetryPolicy

Pages = Callable[[int, int], tuple[list[str], int]]
APP_KEY = "lying-server-key-0123456789"


class LyingServer:
    """``async with LyingServer(pages) as server:`` then ``server.client()``."""

    def __init__(
        self, pages: Pages, *, groups: Mapping[str, Pages] | None = None, budget: int = 3000
    ) -> None:
        self.pages = pages
        self.groups = dict(groups or {})
        self.budget = budget
        self.asked: list[tuple[int, int]] = []
        self.asked_by_group: list[tuple[str, int, int]] = []
        self.base_url = ""
        self._server: asyncio.Server | None = None

    @property
    def requests(self) -> int:
        return len(self.asked)

    def client(self) -> AsyncSunmiFace:
        return AsyncSunmiFace(
            "LYINGAPP0001",
            APP_KEY,
            sunmi_shop_no="560279010307",
            base_url=self.base_url,
            retry=RetryPolicy(max_attempts=1),
            timeout=10.0,
        )

    async def __aenter__(self) -> LyingServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/openapi"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await asyncio.wait_for(self._server.wait_closed(), timeout=5)

    def _answer(self, path: str, form: dict[str, str]) -> bytes:
        if path.endswith("/face/group/getList"):  # the groups paged, each named as its id
            names = ["g", *self.groups]
            listed = [{"group_id": name, "group_name": name, "type": 4} for name in names]
            answer = {"code": 0, "msg": "succeed", "data": {"group_list": listed}}
            return json.dumps(answer).encode()
        page_num, page_size = int(form.get("page_num", "1")), int(form.get("page_size", "10"))
        self.asked.append((page_num, page_size))
        self.asked_by_group.append((form.get("group_id", ""), page_num, page_size))
        if self.requests > self.budget:
            refusal = {"code": 5020, "msg": f"request budget of {self.budget} spent", "data": None}
            return json.dumps(refusal).encode()
        pages = self.groups.get(form.get("group_id", ""), self.pages)
        ids, total = pages(page_num, page_size)
        group_id = form.get("group_id", "")
        faces = [{"face_id": i, "group_id": group_id, "name": f"n{i}"} for i in ids]
        data = {"face_list": faces, "total_num": total}
        return json.dumps({"code": 0, "msg": "succeed", "data": data}).encode()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = dict(
                    (name.strip().lower(), value.strip())
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                )
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                form = dict(parse_qsl(body.decode(), keep_blank_values=True))
                answer = self._answer(lines[0].split(" ")[1], form)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ids(start: int, stop: int) -> list[str]:
    """Face ids ``f{start}`` .. ``f{stop - 1}``, built here, not by the code under test."""
    return [f"f{i:06d}" for i in range(start, stop)]
