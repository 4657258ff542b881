"""Walking the pages of one group without trusting the server's counts.

``getFaceList``'s ``total_num`` is the server's word, the vendor publishes no largest
``page_size``, and pages shift while a group changes. So what the pages bring decides:

- A page that brings no face new to the group ends it (an empty page, or one that repeats
  faces already seen). A page shorter than the pages the server serves ends it too, unless
  the answers still count more faces than were seen: then the walk reads on (a server that
  filters a face out of a page would otherwise lose every face after it).
- The first page shows the page length the server really serves. Served fewer faces than
  asked, the walk asks every later page at that length, so page ``n`` starts at face
  ``(n - 1) * length`` whether the server counts offsets by its own length or by the size
  asked for. A short first page may just be a small group: one more page tells.
- ``total_num`` never ends a walk early. It sizes the next window of pages (at most
  ``limit`` of them, at least one), and it bounds a runaway: once the faces seen go past the
  largest ``total_num`` reported plus a margin for faces added during the walk, or the pages
  asked past what that many faces fill, the walk raises ``ProtocolError`` instead of
  reading for ever.
- A walk that ends with fewer faces than the largest ``total_num`` reported sets
  :attr:`PageWalk.shortfall`, and :meth:`PageWalk.finish` logs a warning: the server
  skipped faces, or faces were deleted during the walk.

Faces are de-duplicated by ``face_id``; only the ids are kept, never the faces, and the walk
stops before it holds more ids than the runaway bound.
"""

from __future__ import annotations

import logging

from ._endpoints import GROUP_FACE_LIST
from .errors import ProtocolError
from .models import Face, FacePage

__all__ = ["PageWalk"]

logger = logging.getLogger("sunmi_face_async.paging")

#: Faces a walk may see past the largest ``total_num``: this share of it, or ...
MARGIN_SHARE = 4  # a quarter
#: ... at least this many pages' worth, for faces added while the group is walked.
MARGIN_PAGES = 10


class PageWalk:
    """Which pages of one group to ask for next, and at which ``page_size``.

    Ask for the pages of :meth:`plan` at :attr:`size`, hand each answer to :meth:`take` in
    page order, and stop once :attr:`done` is set. :meth:`take` raises ``ProtocolError``
    when the server keeps bringing new faces past what its own counts allow.
    """

    __slots__ = (
        "_claimed",
        "_next",
        "_pages",
        "_seen",
        "_served",
        "_total",
        "done",
        "group_id",
        "size",
    )

    def __init__(self, page_size: int, group_id: str = "") -> None:
        #: The ``page_size`` to ask for.
        self.size = page_size
        #: The group walked (for messages only).
        self.group_id = group_id
        #: Set once a page showed the group has no more faces.
        self.done = False
        self._next = 1
        self._served: int | None = None  # the page length the server serves, once known
        self._seen: set[str] = set()
        self._total = 0  # the last total_num reported
        self._claimed = 0  # the largest total_num reported
        self._pages = 0  # answers taken

    @property
    def seen(self) -> int:
        """How many distinct faces the walk has brought so far."""
        return len(self._seen)

    @property
    def claimed(self) -> int:
        """The largest ``total_num`` the answers reported."""
        return self._claimed

    @property
    def shortfall(self) -> int:
        """How many fewer faces than the largest ``total_num`` the walk brought (0 if none)."""
        return max(0, self._claimed - len(self._seen))

    def bound(self) -> int:
        """The most faces the walk accepts: the largest count reported plus a margin."""
        return self._claimed + max(self._claimed // MARGIN_SHARE, MARGIN_PAGES * self.size)

    def page_cap(self) -> int:
        """The most pages the walk asks for: what :meth:`bound` faces fill, plus two."""
        return -(-self.bound() // self.size) + 2

    def plan(self, limit: int) -> range:
        """The page numbers to ask for next: the first page alone, then windows of pages."""
        if self.done:
            return range(self._next, self._next)
        if self._served is None:
            count = 1
        else:
            left = self._total - len(self._seen)
            count = max(1, min(limit, -(-left // self.size)))
            # Never past the cap; take() raises on reaching it, so at least one page is left.
            count = max(1, min(count, self.page_cap() - self._next + 1))
        window = range(self._next, self._next + count)
        self._next = window.stop
        return window

    def take(self, page: FacePage) -> list[Face]:
        """The faces of ``page`` not seen before in this group; may end the walk.

        Raises ``ProtocolError`` when the walk would go on past :meth:`bound` faces or
        :meth:`page_cap` pages (the server brings new faces without end).
        """
        self._pages += 1
        new: list[Face] = []
        for face in page.faces:
            if face.face_id not in self._seen:
                self._seen.add(face.face_id)
                new.append(face)
        self._total = max(0, page.total_num)
        self._claimed = max(self._claimed, self._total)
        length = len(page.faces)
        if self._served is None:
            self._served = length
            if 0 < length < self.size:
                self.size = length  # the server's page length (or all the group holds)
        elif length < self._served and len(self._seen) >= self._claimed:
            self.done = True
        if not new:
            self.done = True
        if not self.done:
            self._check_bounds()
        return new

    def finish(self) -> int:
        """Once :attr:`done`: the :attr:`shortfall`, logged as a warning when not 0."""
        if self.shortfall:
            logger.warning(
                "group %s: the server counted %d faces (its largest total_num) but its pages "
                "brought %d: it skipped some, or faces were deleted during the walk",
                self.group_id or "?",
                self._claimed,
                len(self._seen),
            )
        return self.shortfall

    def _check_bounds(self) -> None:
        if len(self._seen) > self.bound() or self._pages >= self.page_cap():
            raise ProtocolError(
                f"group {self.group_id or '?'}: the server keeps serving new faces: "
                f"{len(self._seen)} distinct faces in {self._pages} pages of {self.size}, "
                f"while its largest total_num was {self._claimed}; stopped at "
                f"{self.bound()} faces or {self.page_cap()} pages",
                endpoint=GROUP_FACE_LIST.path,
            )
