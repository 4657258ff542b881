"""Signed callback forms for the webhook tests, signed independently of the package."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests._reference import reference_sign

APP_KEY = "TESTSECRET0123456789"
APP_ID = "LMWWQVTW4QGCC"
NOW = 1_700_000_000


def sign(form: dict[str, str], key: str = APP_KEY) -> str:
    """The reference sign of a callback form, under this suite's key unless another is given."""
    return reference_sign(form, key)


def signed_form(
    *,
    event: int = 1001,
    payload: object = None,
    timestamp: int = NOW,
    random: str = "Ab3dE6gh",
    key: str = APP_KEY,
    **extra: str,
) -> dict[str, str]:
    body = {"face_id": "578968751459"} if payload is None else payload
    form = {
        "app_id": APP_ID,
        "event": str(event),
        "payload": json.dumps(body, separators=(",", ":")),
        "random": random,
        "shop_id": "9527",
        "sunmi_shop_no": "560279010307",
        "timestamp": str(timestamp),
        **extra,
    }
    form["sign"] = sign(form, key)
    return form


@pytest.fixture(scope="session")
def make_form() -> Callable[..., dict[str, str]]:
    """Build a callback form signed with the test key (or ``key=``)."""
    return signed_form


@pytest.fixture(scope="session")
def resign() -> Callable[..., str]:
    """Sign a form dict by the SUNMI rule, independently of the package."""
    return sign
