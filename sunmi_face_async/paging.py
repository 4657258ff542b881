"""Walking the pages of one group without trusting the server's counts.

``getFaceList``'s ``total_num`` is the server's word, the vendor publishes no largest
``page_size``, and pages shift while a group changes. So what the pages bring decides:

- A page that brings no face new to the group ends it (an empty page, or one that repeats
  faces already seen), and so does a page shorter than the pages the server serves.
- The first page shows the page length the server really serves. Served fewer faces than
  asked, the walk asks every later page at that length, so page ``n`` starts at face
  ``(n - 1) * length`` whether the server counts offsets by its own length or by the size
  asked for. A short first page may just be a small group: one more page tells.
- ``total_num`` only sizes the next window of pages (at most ``limit`` of them, at least
  one); it never ends a walk, nor makes it ask for pages beyond one window.

Faces are de-duplicated by ``face_id``; only the ids are kept, never the faces.
"""

from __future__ import annotations

from .models import Face, FacePage

__all__ = ["PageWalk"]


class PageWalk:
    """Which pages of one group to ask for next, and at which ``page_size``.

    Ask for the pages of :meth:`plan` at :attr:`size`, hand each answer to :meth:`take` in
    page order, and stop once :attr:`done` is set.
    """

    __slots__ = ("_next", "_seen", "_served", "_total", "done", "size")

    def __init__(self, page_size: int) -> None:
        #: The ``page_size`` to ask for.
        self.size = page_size
        #: Set once a page showed the group has no more faces.
        self.done = False
        self._next = 1
        self._served: int | None = None  # the page length the server serves, once known
        self._seen: set[str] = set()
        self._total = 0

    def plan(self, limit: int) -> range:
        """The page numbers to ask for next: the first page alone, then windows of pages."""
        if self.done:
            return range(self._next, self._next)
        if self._served is None:
            count = 1
        else:
            left = self._total - len(self._seen)
            count = max(1, min(limit, -(-left // self.size)))
        window = range(self._next, self._next + count)
        self._next = window.stop
        return window

    def take(self, page: FacePage) -> list[Face]:
        """The faces of ``page`` not seen before in this group; may end the walk."""
        new: list[Face] = []
        for face in page.faces:
            if face.face_id not in self._seen:
                self._seen.add(face.face_id)
                new.append(face)
        self._total = page.total_num
        length = len(page.faces)
        if self._served is None:
            self._served = length
            if 0 < length < self.size:
                self.size = length  # the server's page length (or all the group holds)
        elif length < self._served:
            self.done = True
        if not new:
            self.done = True
        return new
