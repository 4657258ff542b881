"""The fake's processing of an added face: *processing*, then *ready* or *rejected*.

The vendor processes a picture after ``/face/add`` has answered with its ``face_id`` and
notifies the outcome asynchronously; what it does meanwhile is not published. The fake's
own choices, documented in the testing docs:

- a face is *processing* for ``processing_delay`` seconds: it is not in ``getFaceList`` (nor
  in the group's ``count``), and ``/face/getInfo`` answers 5506 "face ... is still being
  processed" (the code of a face that is not there yet);
- then it is *ready* (listed from then on) or, with probability ``reject_rate`` (seeded,
  drawn from its own generator so the fault draws do not change), *rejected*: it never
  appears in the group, and its ``face_id`` stays unknown to every endpoint;
- either way a push (event ``FAKE_FACE_ADDED_EVENT``) carries the outcome: ``code`` 0 and
  ``msg`` "succeed" when ready, one of :data:`REJECT_REASONS` otherwise.

With both settings at 0 nothing is scheduled and no draw is made: the fake is as fast and as
deterministic as before.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import attrs

from ._state import FaceRecord, ShopState

__all__ = ["READY", "REJECT_REASONS", "Outcome", "Processing"]

#: The outcome of a face made successfully: (code, msg) as the push carries them.
READY = (0, "succeed")
#: The fake's own (code, reason) for a picture it refuses (the vendor publishes none).
REJECT_REASONS: tuple[tuple[int, str], ...] = (
    (6001, "no face found"),
    (6002, "more than one face in the picture"),
    (6003, "the face is too small or blurred"),
)

Outcome = tuple[int, str]


@attrs.define
class _Pending:
    store: ShopState
    face: FaceRecord
    outcome: Outcome


class Processing:
    """Holds the faces being processed and decides their outcome.

    ``on_decided(store, face, outcome)`` is called once per face, when its outcome is known
    (at once when ``delay`` is 0, else ``delay`` seconds later on the running event loop).
    """

    def __init__(
        self,
        *,
        delay: float,
        reject_rate: float,
        seed: int,
        on_decided: Callable[[ShopState, FaceRecord, Outcome], None],
    ) -> None:
        if delay < 0:
            raise ValueError("processing_delay cannot be negative")
        if not 0 <= reject_rate <= 1:
            raise ValueError("reject_rate must be between 0 and 1")
        self.delay = delay
        self.reject_rate = reject_rate
        self._rng = random.Random(f"reject:{seed}")
        self._on_decided = on_decided
        #: Faces still processing, by face_id.
        self.pending: dict[str, _Pending] = {}
        #: Every face refused so far: face_id -> (group_id, code, reason). The server's truth.
        self.rejected: dict[str, tuple[str, int, str]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def active(self) -> bool:
        """Whether added faces are held or refused at all (else ``added`` does nothing)."""
        return self.delay > 0 or self.reject_rate > 0

    def _draw(self) -> Outcome:
        if self.reject_rate and self._rng.random() < self.reject_rate:
            return self._rng.choice(REJECT_REASONS)
        return READY

    def added(self, store: ShopState, face_id: str) -> Outcome | None:
        """A face was just added: its outcome now, or None while it is processing."""
        outcome = self._draw()
        face = store.faces[face_id]
        if self.delay <= 0:
            if outcome != READY:
                self._remove(store, face, outcome)
            return outcome
        _take_out(store, face)
        store.processing[face_id] = face
        self.pending[face_id] = _Pending(store, face, outcome)
        loop = asyncio.get_running_loop()
        self._timers[face_id] = loop.call_later(self.delay, self._decide, face_id)
        return None

    def _remove(self, store: ShopState, face: FaceRecord, outcome: Outcome) -> None:
        _take_out(store, face)
        self.rejected[face.face_id] = (face.group_id, *outcome)

    def _decide(self, face_id: str) -> None:
        self._timers.pop(face_id, None)
        pending = self.pending.pop(face_id, None)
        if pending is None:
            return
        store, face, outcome = pending.store, pending.face, pending.outcome
        store.processing.pop(face_id, None)
        group = store.groups.get(face.group_id)
        if group is None and outcome == READY:
            outcome = (6004, "the group was deleted while the face was processed")
        if outcome == READY and group is not None:
            store.faces[face_id] = face
            group.faces[face_id] = face
            group.changed(store._now())
        else:
            self.rejected[face_id] = (face.group_id, *outcome)
        self._on_decided(store, face, outcome)

    def state_of(self, face_id: str) -> str | None:
        """``processing``, ``rejected`` or None (ready, or never added)."""
        if face_id in self.pending:
            return "processing"
        return "rejected" if face_id in self.rejected else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "processing": sorted(self.pending),
            "rejected": {f: list(v) for f, v in self.rejected.items()},
        }


def _take_out(store: ShopState, face: FaceRecord) -> None:
    store.faces.pop(face.face_id, None)
    group = store.groups.get(face.group_id)
    if group is not None and group.faces.pop(face.face_id, None) is not None:
        group.changed(store._now())
