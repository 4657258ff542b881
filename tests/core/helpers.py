"""Shared test helpers: signs by the reference signer, body decoders and a retry policy that
never sleeps.

Nothing here imports the code under test to compute an expectation: signs come from
``tests._reference``, the SUNMI rule written out independently of the package.
"""

from __future__ import annotations

import json
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import attrs
import httpx

from sunmi_face_async import RetryPolicy
from tests._reference import reference_sign

APP_ID = "LMWWQVTW4QGCC"
APP_KEY = "TESTSECRET0123456789"
SHOP_NO = "560279010307"
BASE_URL = "https://store.uat.sunmi.com/openapi"
FORM = "application/x-www-form-urlencoded"

# Smallest byte strings the gateway's magic-byte check accepts, plus CR/LF/NUL bytes to make
# sure the multipart body carries them untouched.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\r\n--\r\n\n\r\x00\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\r\n\x00\x01"
BMP = b"BM\x1e\x00\x00\x00\r\n\x00\x00"


def md5_sign(fields: dict[str, str], key: str = APP_KEY) -> str:
    """The reference sign of ``fields``, under this suite's key unless another is given."""
    return reference_sign(fields, key)


def ok(data: object = None) -> httpx.Response:
    """A success envelope as the gateway sends it."""
    return httpx.Response(
        200, json={"code": 0, "msg": "succeed", "data": {} if data is None else data}
    )


def fail(code: int, msg: str = "error", status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg, "data": {}}, headers=headers)


def content_type(request: httpx.Request) -> str:
    return request.headers["content-type"].split(";")[0].strip()


def form_fields(request: httpx.Request) -> dict[str, str]:
    """Decode a form-encoded body; every key must appear once."""
    assert content_type(request) == FORM
    if not request.content:
        return {}  # Python 3.10's strict parse_qsl refuses an empty string; 3.11+ gives []
    pairs = parse_qsl(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    fields = dict(pairs)
    assert len(fields) == len(pairs), f"repeated fields in {pairs}"
    return fields


@attrs.frozen
class FilePart:
    filename: str | None
    content_type: str
    data: bytes


def multipart_fields(request: httpx.Request) -> tuple[dict[str, str], dict[str, FilePart]]:
    """Decode a multipart/form-data body with the stdlib email parser: (text fields, files)."""
    assert content_type(request) == "multipart/form-data"
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    assert message.is_multipart()
    assert not message.defects, message.defects
    texts: dict[str, str] = {}
    files: dict[str, FilePart] = {}
    for part in message.iter_parts():
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        assert name not in texts, f"repeated field {name}"
        assert name not in files, f"repeated field {name}"
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if part.get_filename() is not None:
            files[name] = FilePart(part.get_filename(), part.get_content_type(), payload)
        else:
            texts[name] = payload.decode("utf-8")
    return texts, files


def split_common(fields: dict[str, str], *, shop: dict[str, str] | None = None) -> dict[str, str]:
    """Check the common parameters and the sign; return the business parameters."""
    rest = dict(fields)
    assert rest.pop("app_id") == APP_ID
    timestamp = rest.pop("timestamp")
    assert len(timestamp) == 10
    assert timestamp.isdigit()
    nonce = rest.pop("random")
    assert 6 <= len(nonce) <= 10
    assert nonce.isascii()
    assert nonce.isalnum()
    sign = rest.pop("sign")
    assert sign == md5_sign(fields), "the sign does not match an independent recomputation"
    for key, value in (shop if shop is not None else {"sunmi_shop_no": SHOP_NO}).items():
        assert rest.pop(key) == value
    return rest


def envelope_json(request: httpx.Request) -> Any:
    return json.loads(request.content)


class Sleeps(list[float]):
    """An injectable ``sleep`` that records the delays instead of waiting."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)


class Jitter(list[float]):
    """An injectable ``jitter`` that records each upper bound and returns it (the longest wait)."""

    def __call__(self, upper: float) -> float:
        self.append(upper)
        return upper


def recording_policy(**kwargs: Any) -> tuple[RetryPolicy, Sleeps, Jitter]:
    sleeps, jitter = Sleeps(), Jitter()
    return RetryPolicy(sleep=sleeps, jitter=jitter, **kwargs), sleeps, jitter


class FakeClock:
    """Stands in for the ``time`` module inside ``sunmi_face_async._transport``.

    ``time()`` returns the given unix times one after another (the last one repeats);
    ``perf_counter`` stays real, it only measures elapsed time for the log line.
    """

    def __init__(self, *times: float) -> None:
        self._times = list(times)
        self.perf_counter = time.perf_counter

    def time(self) -> float:
        return self._times.pop(0) if len(self._times) > 1 else self._times[0]
