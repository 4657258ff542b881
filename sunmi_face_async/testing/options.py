"""The fake server's options, defined once.

``python -m sunmi_face_async.testing`` (argparse), ``sunmi-face fake-server`` (click) and
:class:`~sunmi_face_async.testing.FakeCloudServer` (which writes the command line of the
subprocess) are all generated from :data:`OPTIONS`; ``CODE=RATE`` is parsed only by
:func:`parse_error_rate`, and a fake is built from the parsed values only by
:func:`cloud_from_settings`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .fake import DEFAULT_APP_ID, DEFAULT_APP_KEY, DEFAULT_SHOP_NO, FakeSunmiCloud
from .faults import Faults

__all__ = [
    "OPTIONS",
    "Option",
    "add_arguments",
    "argv_for",
    "cloud_from_settings",
    "parse_error_rate",
]

_FAULT_FIELDS = ("latency", "jitter", "throttle_rate", "drop_rate", "commit_then_timeout_rate")
_CLOUD_FIELDS = (
    "app_id",
    "app_key",
    "shop_no",
    "seed",
    "max_groups",
    "max_faces",
    "default_capacity",
    "auth_failure",
    "timestamp_window",
    "processing_delay",
    "reject_rate",
)


def parse_error_rate(text: str) -> tuple[int, float]:
    """``"5000=0.02"`` as ``(5000, 0.02)``; ValueError naming the expected form otherwise."""
    code, sep, rate = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return int(code), float(rate)
    except ValueError:
        raise ValueError(f"{text!r} is not CODE=RATE (e.g. 5000=0.02)") from None


@attrs.frozen
class Option:
    """One option of the fake server: its keyword ``name`` and how it is read."""

    name: str
    type: Callable[[str], Any]
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    #: Given several times, collected into a list (``--error-rate``).
    multiple: bool = False
    #: Offered by ``sunmi-face fake-server`` too (the rest only by ``python -m``).
    in_cli: bool = False
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def read(self, text: str) -> Any:
        """The value ``text`` spells; ValueError with the problem otherwise."""
        value = self.type(text)
        if self.choices and value not in self.choices:
            raise ValueError(f"{text!r} is not one of {', '.join(self.choices)}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{text!r} is below {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{text!r} is above {self.maximum:g}")
        return value


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "127.0.0.1", "Loopback address.", in_cli=True),
    Option("port", int, 8765, "0 = any free port.", 0, 65535, in_cli=True),
    Option("app_id", str, DEFAULT_APP_ID, "The app id the fake accepts."),
    Option("app_key", str, DEFAULT_APP_KEY, "The app key the fake accepts."),
    Option("shop_no", str, DEFAULT_SHOP_NO, "The fake's shop."),
    Option(
        "known_shop",
        str,
        (),
        "A store the fake knows besides --shop-no (repeatable). When given, a request naming"
        " any other store is answered 5041; by default every store is created on first use.",
        multiple=True,
        metavar="SHOP_NO",
    ),
    Option("seed", int, 0, "Seed of the fault draws.", in_cli=True),
    Option("latency", float, 0.0, "Seconds added to every answer.", 0, in_cli=True),
    Option("jitter", float, 0.0, "Extra random latency, uniform in [0, S).", 0, in_cli=True),
    Option(
        "error_rate",
        parse_error_rate,
        (),
        "Answer CODE (an envelope code such as 5000 or 5091, or an HTTP status 500-599)"
        " with probability P.",
        multiple=True,
        in_cli=True,
        metavar="CODE=P",
    ),
    Option("throttle_rate", float, 0.0, "HTTP 429 rate.", 0, 1, in_cli=True),
    Option(
        "drop_rate",
        float,
        0.0,
        "Drop the connection before applying the change.",
        0,
        1,
        in_cli=True,
    ),
    Option(
        "commit_then_timeout_rate",
        float,
        0.0,
        "Apply the change, then drop the connection.",
        0,
        1,
        in_cli=True,
    ),
    Option("max_groups", int, 10, "Custom groups a shop may hold.", 1),
    Option("max_faces", int, 30_000, "Faces a shop may hold.", 1, in_cli=True),
    Option("default_capacity", int, 1000, "Capacity of a group created without one.", 1),
    Option(
        "auth_failure", str, "code", "How a bad signature is answered.", choices=("code", "http401")
    ),
    Option("timestamp_window", float, 600.0, "Seconds a request's timestamp stays valid.", 0),
    Option(
        "processing_delay",
        float,
        0.0,
        "Seconds an added face is processing (not listed yet) before it is ready or rejected.",
        0,
        in_cli=True,
    ),
    Option(
        "reject_rate",
        float,
        0.0,
        "Share of added faces the fake refuses after processing (seeded; never listed).",
        0,
        1,
        in_cli=True,
    ),
    Option("log_level", str, "warning", "uvicorn's log level."),
)

_BY_NAME = {option.name: option for option in OPTIONS}


def _argparse_type(option: Option) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        try:
            return option.read(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    read.__name__ = option.name  # argparse names the type in its messages
    return read


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option of :data:`OPTIONS` to an argparse ``parser``."""
    for option in OPTIONS:
        if option.multiple:
            parser.add_argument(
                option.flag,
                type=_argparse_type(option),
                action="append",
                default=[],
                metavar=option.metavar,
                help=option.help,
            )
        else:
            parser.add_argument(
                option.flag, type=_argparse_type(option), default=option.default, help=option.help
            )


def argv_for(settings: Mapping[str, Any]) -> list[str]:
    """The command line that sets ``settings`` (option names as keywords); TypeError if unknown.

    ``error_rate`` takes a mapping of code to rate.
    """
    unknown = sorted(set(settings) - set(_BY_NAME))
    if unknown:
        raise TypeError(f"unknown fake settings: {unknown}")
    argv: list[str] = []
    for name, value in settings.items():
        flag = _BY_NAME[name].flag
        if name == "error_rate":
            for code, rate in dict(value).items():
                argv += [flag, f"{code}={rate}"]
        elif name == "known_shop":
            for shop in [value] if isinstance(value, str) else value:
                argv += [flag, str(shop)]
        else:
            argv += [flag, str(value)]
    return argv


def cloud_from_settings(settings: Mapping[str, Any]) -> FakeSunmiCloud:
    """A fake built from parsed option values (missing ones take their defaults).

    ValueError when the values do not fit together (fault rates adding up to more than 1).
    """
    values = {option.name: option.default for option in OPTIONS}
    values.update(settings)
    rates: Iterable[tuple[int, float]] = values["error_rate"]
    faults = Faults(error_rates=dict(rates), **{name: values[name] for name in _FAULT_FIELDS})
    faults.validate()
    shops = list(values["known_shop"]) or None
    return FakeSunmiCloud(
        faults=faults, shops=shops, **{name: values[name] for name in _CLOUD_FIELDS}
    )
