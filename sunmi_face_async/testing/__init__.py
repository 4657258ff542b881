"""A fake SUNMI face cloud for tests and benchmarks (needs the ``fake`` extra).

``FakeSunmiCloud`` emulates the SUNMI face API in memory: stores, groups, faces,
the gateway's signature, timestamp and nonce checks, push callbacks, and faults injected
deterministically under a seed. Use it in-process (``cloud.client()`` or
``AsyncSunmiFace(..., transport=cloud.transport())``), over real HTTP in a subprocess
(``FakeCloudServer``, or ``python -m sunmi_face_async.testing``), in a thread of the test
process (``ThreadedFakeServer``), through the pytest fixtures (loaded by pytest's entry
point; see ``sunmi_face_async.testing.plugin``), or intercepting every client built inside
``mock_sunmi()``.
"""

from ._mock import MockSunmi, mock_sunmi, mocked_cloud
from ._state import FakeAPIError, Limits, MoveStrategy
from ._threaded import ThreadedFakeServer
from .fake import (
    DEFAULT_APP_ID,
    DEFAULT_APP_KEY,
    DEFAULT_SHOP_NO,
    IN_PROCESS_BASE_URL,
    FakeStats,
    FakeSunmiCloud,
)
from .faults import Fault, Faults
from .push import FAKE_FACE_ADDED_EVENT, PushRecord
from .server import FakeCloudServer

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_APP_KEY",
    "DEFAULT_SHOP_NO",
    "FAKE_FACE_ADDED_EVENT",
    "IN_PROCESS_BASE_URL",
    "FakeAPIError",
    "FakeCloudServer",
    "FakeStats",
    "FakeSunmiCloud",
    "Fault",
    "Faults",
    "Limits",
    "MockSunmi",
    "MoveStrategy",
    "PushRecord",
    "ThreadedFakeServer",
    "mock_sunmi",
    "mocked_cloud",
]
