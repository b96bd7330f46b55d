"""A dict bounded in size and in age, for everything the server remembers in memory. No I/O.

Anything keyed by what a reader or an upstream chooses (URLs, hosts) grows without end in a
plain dict: 60,000 distinct dead URLs once added 250 MB. ``BoundedMap`` drops the oldest
entry past ``max_size`` entries (or ``max_weight`` bytes) and any entry older than
``max_age``, so its memory is capped whatever arrives.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """At most ``max_size`` entries, none older than ``max_age`` seconds since it was set.

    Entries are kept in the order they were last set, so the oldest is always first: expiry
    and eviction look at the front only (O(1) amortised per operation). Reading does not
    refresh an entry; setting it again does.

    Parameters:
        max_size: entries kept; the oldest is dropped when one more is set.
        max_age: seconds an entry lives after it was set.
        clock: seconds, monotonic or wall clock (tests pass one they can move).
        weigh: the size of a value in bytes, when values are big (rendered feeds); with
            ``max_weight``, the oldest entries go until the total fits. A value heavier than
            ``max_weight`` on its own is not kept.
        max_weight: the bound for the total of ``weigh``.
    """

    def __init__(
        self,
        max_size: int,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        weigh: Callable[[V], int] | None = None,
        max_weight: int = 0,
    ) -> None:
        if max_size <= 0:
            raise ValueError("max_size must be greater than 0")
        self.max_size = max_size
        self.max_age = max_age
        self.clock = clock
        self.max_weight = max_weight
        self._weigh = weigh
        self.weight = 0
        self._items: OrderedDict[K, tuple[float, V, int]] = OrderedDict()

    def __len__(self) -> int:
        self._expire(self.clock())
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[K]:
        self._expire(self.clock())
        return iter(list(self._items))

    def get(self, key: K, now: float | None = None) -> V | None:
        """The value, or None when absent or older than ``max_age`` (``now``: the clock's
        time, when the caller has just read it)."""
        found = self._items.get(key)
        if found is None:
            return None
        if (self.clock() if now is None else now) - found[0] >= self.max_age:
            self.pop(key)
            return None
        return found[1]

    def set(self, key: K, value: V) -> None:
        now = self.clock()
        self.pop(key)
        weight = self._weigh(value) if self._weigh is not None else 0
        if self._weigh is not None and weight > self.max_weight:
            self._expire(now)
            return
        self._items[key] = (now, value, weight)
        self.weight += weight
        self._expire(now)
        while len(self._items) > self.max_size or (
            self._weigh is not None and self.weight > self.max_weight
        ):
            self._drop_first()

    def pop(self, key: K) -> V | None:
        found = self._items.pop(key, None)
        if found is None:
            return None
        self.weight -= found[2]
        return found[1]

    def clear(self) -> None:
        self._items.clear()
        self.weight = 0

    def _drop_first(self) -> None:
        _, (_, _, weight) = self._items.popitem(last=False)
        self.weight -= weight

    def _expire(self, now: float) -> None:
        # Entries were set in order, so the expired ones are all at the front. A clock moved
        # backwards only delays expiry.
        while self._items:
            first = next(iter(self._items.values()))
            if now - first[0] < self.max_age:
                break
            self._drop_first()
