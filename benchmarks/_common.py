"""What every scenario shares: credentials, request payloads, the machine description."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable

from sunmi_face_async.signing import make_nonce, sign_params

APP_ID = "BENCHAPP"
APP_KEY = "bench-key"
SHOP_NO = "1"
GROUP_ID = "1"

#: The paths the scenarios call, relative to the base URL.
FORM_PATH = "/face/group/getInfo"
UPLOAD_PATH = "/face/add"


def signed_form(business: dict[str, object]) -> dict[str, str]:
    """A complete signed form, built once: the raw clients send it as is, every time."""
    params: dict[str, object] = {
        "app_id": APP_ID,
        "timestamp": str(int(time.time())),
        "random": make_nonce(),
        "sunmi_shop_no": SHOP_NO,
        **business,
    }
    params["sign"] = sign_params(params, APP_KEY)
    return {key: str(value) for key, value in params.items()}


class RawMultipart:
    """The cheapest correct multipart body for the raw clients: fixed parts around the picture.

    Built once per form; each request only joins three byte strings. The raw baselines use it
    instead of their libraries' multipart encoders (httpx ``files=``, aiohttp ``FormData``),
    which are several times slower and would flatter the client under test.
    """

    def __init__(self, form: dict[str, str], boundary: str = "benchmarkboundary0123456789") -> None:
        start = f"--{boundary}\r\nContent-Disposition: form-data; name="
        parts = [f'{start}"{name}"\r\n\r\n{value}\r\n' for name, value in form.items()]
        parts.append(f'{start}"pic"; filename="pic.jpg"\r\nContent-Type: image/jpeg\r\n\r\n')
        self.head = "".join(parts).encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def body(self, pic: bytes) -> bytes:
        return b"".join((self.head, pic, self.tail))


def picture(size: int, index: int = 0) -> bytes:
    """A fake JPEG of ``size`` bytes, distinct for each ``index`` (bulk enroll skips repeats)."""
    head = b"\xff\xd8\xff\xe0" + index.to_bytes(8, "big", signed=True)
    return head + bytes(max(0, size - len(head)))


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def code_revision() -> str:
    """The commit measured, and whether the package had uncommitted changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sunmi_face_async"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes in sunmi_face_async/" if dirty else "")


def machine() -> dict[str, str]:
    """The facts RESULTS.md starts with."""
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    versions = {}
    for package in ("sunmi-face-async", "httpx", "httpcore", "anyio", "sniffio", "aiohttp"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "code": code_revision(),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": f"{cpu_model()}, {cores} cores ({usable} usable)",
        "load average at start": load,
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        **versions,
    }
