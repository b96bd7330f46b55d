"""The output of the streamed build (``streamed``): each chunk's skeleton is edited in place
as a whole document would be, and the served document is put together from the pieces, item
by item, into one growing buffer. Part of the pipeline; no I/O.

The in-place edit (``output.inplace``) changes nothing in an item's bytes that depends on
the other items, and the document's head and tail (everything before the first item and
after the last) depend only on the feed's own values, the same in every chunk (checked: a
chunk whose head or tail comes out otherwise declines). What depends on neighbours is the
whitespace around a removed (filtered) item: ``inplace._remove`` drops the item with its
tail, except that a previous sibling with no tail of its own takes it. ``Assembler`` does
the same over the whole feed, from each item's own serialised tail: the whitespace between
two items as the document has it (XML reads a CR LF or a lone CR as LF; whitespace is
written back as it is read), the serialised text before the first item and after the last.
"""

from __future__ import annotations

import io

from proxy.pipeline.splicescan import scan
from proxy.pipeline.streamed_clean import Declined


def serialised_space(raw: bytes) -> bytes:
    """Whitespace between two items as lxml writes it back."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class Assembler:
    """The served document, piece by piece (see the module docstring).

    Parameters:
        body: the upstream document.
        items: every top-level item's byte range in it (``splicescan.Layout.items``).
        kept: the positions of the items served.
    """

    def __init__(self, body: bytes, items: tuple[tuple[int, int], ...], kept: set[int]) -> None:
        self._body = body
        self._items = items
        self._kept = kept
        self._out = io.BytesIO()
        self._head: bytes | None = None  # up to the first item, without the text before it
        self._first_tail = b""  # the serialised text right before the first item
        self._rest: bytes | None = None  # after the last item's tail
        self._last_tail = b""  # the serialised text right after the last item
        self._tail = b""  # the tail of the last element written (applied when the next is)
        self._next = 0  # the next position to account for

    def add(self, out: bytes, positions: list[int]) -> None:
        """One chunk's edited skeleton (its items: these positions; those not served were
        left untouched there, and are left out here)."""
        layout = scan(out)
        if layout is None or len(layout.items) != len(positions):
            raise Declined("a chunk's output does not scan as its items")
        first, last = layout.items[0][0], layout.items[-1][1]
        before = out[:first]
        cut = before.rfind(b">") + 1  # text is written with ">" escaped: a node ends there
        after = out[last:]
        lt = after.find(b"<")
        if lt < 0:
            raise Declined("no end tag after the last item")
        head, first_tail = before[:cut], before[cut:]
        rest, last_tail = after[lt:], after[:lt]
        if self._head is None:
            self._head, self._first_tail = head, first_tail
            self._rest, self._last_tail = rest, last_tail
            self._out.write(head)
            self._tail = first_tail
        elif (head, first_tail, rest, last_tail) != (
            self._head,
            self._first_tail,
            self._rest,
            self._last_tail,
        ):
            raise Declined("a chunk's head or tail came out otherwise")
        for n, ((start, end), position) in enumerate(zip(layout.items, positions, strict=True)):
            if n + 1 < len(positions):
                # The skeleton holds each item with the whitespace the document has after it.
                between = out[end : layout.items[n + 1][0]]
                if positions[n + 1] == position + 1 and between != self._own_tail(position):
                    raise Declined("whitespace between items came out otherwise")
            if position not in self._kept:
                continue
            self._skip_to(position)
            self._out.write(self._tail)
            self._out.write(out[start:end])
            self._tail = self._own_tail(position)
            self._next = position + 1

    def _own_tail(self, position: int) -> bytes:
        if position + 1 == len(self._items):
            return self._last_tail
        return serialised_space(self._body[self._items[position][1] : self._items[position + 1][0]])

    def _skip_to(self, position: int) -> None:
        """Account for the removed items before ``position``, as ``inplace._remove`` does."""
        for removed in range(self._next, position):
            if removed in self._kept:
                raise Declined("an item served was not rendered")
            if not self._tail:
                if removed == 0:
                    # Item 0 may have no previous sibling (then its tail is lost, not moved):
                    # not told apart here.
                    raise Declined("the first item removed right after its parent's start")
                self._tail = self._own_tail(removed)
        self._next = max(self._next, position)

    def result(self) -> bytes:
        """The whole document (the buffer's own bytes: no copy)."""
        if self._head is None or self._rest is None:
            raise Declined("no item served")
        self._skip_to(len(self._items))
        self._out.write(self._tail)
        self._out.write(self._rest)
        return self._out.getvalue()
