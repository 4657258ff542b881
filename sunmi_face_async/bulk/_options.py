"""The options of one enrollment, written once: an attrs record validated when it is made.

``enroll(client, uploads, **keywords)`` builds one ``EnrollOptions`` from its keywords (or
takes one as ``options=``); the job reads ``job.options.x`` and keeps no copies.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import RetryPolicy
from ..models import CUSTOM_SLOTS
from ._results import BulkEvent, Progress
from .journal import Journal

__all__ = ["EnrollOptions"]

#: The longest wait between two tries of one upload: a ``Retry-After`` hint, else doubling.
_MAX_HINT = 30.0
_MAX_BACKOFF = 5.0


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


def _slot(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and not 1 <= value <= CUSTOM_SLOTS:
        raise ValueError(f"external_key_slot must be 1 to {CUSTOM_SLOTS}")


def _shard(
    instance: object,
    attribute: attrs.Attribute[tuple[int, int] | None],
    value: tuple[int, int] | None,
) -> None:
    if value is None:
        return
    k, n = value
    if n < 1 or not 0 <= k < n:
        raise ValueError("shard must be (k, n) with 0 <= k < n")


def _optional_positive(
    instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


def _not_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value):  # nan < 0 is false: a nan deadline would never come
        raise ValueError(f"{attribute.name} must be a finite number of seconds: {value!r}")
    if value < 0:
        raise ValueError(f"{attribute.name} cannot be negative")


def _confirm_mode(
    instance: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value not in CONFIRM_MODES:
        raise ValueError(f"confirm must be None, 'listing' or 'push', not {value!r}")
    if value == "push" and getattr(instance, "journal", None) is None:
        raise ValueError("confirm='push' needs journal= (the file the push receiver writes to)")


#: The values of ``confirm``: no confirmation, list each group, or take push callbacks.
CONFIRM_MODES = (None, "listing", "push")


def _exact(upper: float) -> float:
    return upper  # bulk retries wait the whole backoff: no jitter (as before the policy)


@attrs.frozen(kw_only=True)
class EnrollOptions:
    """The options of ``enroll`` (see there for what each one does).

    Made once and validated once: a bad value raises ``ValueError`` naming the option.
    ``settle=None`` means the client's timeout plus 5 s (35 s without one), worked out when
    the job starts.
    """

    concurrency: int = attrs.field(default=16, validator=_at_least_one)
    rate: float | None = None
    burst: int | None = None
    adaptive: bool = True
    ordered: bool = False
    journal: str | os.PathLike[str] | Journal | None = None
    external_key_slot: int | None = attrs.field(default=None, validator=_slot)
    shard: tuple[int, int] | None = attrs.field(default=None, validator=_shard)
    dry_run: bool = False
    on_event: Callable[[BulkEvent], None] | None = None
    on_progress: Callable[[Progress], None] | None = None
    max_attempts: int = attrs.field(default=3, validator=_at_least_one)
    reconcile_rounds: int = 3
    retry_delay: float = attrs.field(default=0.25, validator=_not_negative)
    settle: float | None = None
    resume: bool | None = None
    job: Mapping[str, Any] | None = None
    job_settings: Mapping[str, Any] | None = None
    max_listed: int | None = 1000
    confirm: str | None = attrs.field(default=None, validator=_confirm_mode)
    confirm_wait: float = attrs.field(default=30.0, validator=_not_negative)
    resend_rejected: bool = False
    per_store_concurrency: int | None = attrs.field(default=None, validator=_optional_positive)

    @property
    def retry_policy(self) -> RetryPolicy:
        """How an upload the server surely did not apply is tried again: ``max_attempts``
        tries, ``retry_delay`` doubling between them up to 5 s, a ``Retry-After`` hint
        winning up to 30 s; one try only when ``SUNMI_RETRIES=0`` is set."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            backoff_base=self.retry_delay,
            backoff_cap=_MAX_BACKOFF,
            max_retry_after=_MAX_HINT,
            jitter=_exact,
        ).switched()
