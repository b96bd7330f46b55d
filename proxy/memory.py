"""The memory side of big builds: freed heap given back to the OS (glibc only; else no-op),
and the cyclic collector's full passes held off while builds run.

Parsing and rendering a feed of thousands of items allocates a lot of small objects in
Python and in libxml2. Freed, that memory stays in malloc's arenas, fragmented, and the next
big build grows the process further instead of reusing it. malloc_trim() returns it: on a
5,000-item feed (bench (c)) the server's peak RSS drops from ~240 MB to ~185 MB.

A build also creates objects by the hundred thousand (the parser's dicts, the Feed's
entries, element proxies), and the cyclic collector runs a full pass each time the objects
that survived grow by a quarter: a pass over every object in the process, in whichever
thread allocated last, holding the GIL throughout. During a 5,000-item build these passes
took 40-220 ms each and found nothing (bench/profile.py --lag: they were the event loop's
longest stalls). ``builds_running`` holds the full passes off while any build runs; the
young generations are still collected, so a cycle made and dropped inside a build is freed
as before. The next full pass comes after the builds, over what they left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable, Iterator

BIG_BODY_BYTES = 1024 * 1024  # smaller builds leave too little behind to be worth a trim
# The oldest generation's threshold while builds run: gen1 passes before a full one, never
# reached by a build (a 20,000-item build makes a few thousand).
_HELD_OFF = 1 << 30


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
        return trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None


_TRIM = _load_trim()


def release_after(body_size: int) -> None:
    """Trim the heap after work on a body of ``body_size`` bytes, when that was big."""
    if _TRIM is not None and body_size >= BIG_BODY_BYTES:
        _TRIM(0)


_lock = threading.Lock()
_builds = 0
_thresholds: tuple[int, int, int] | None = None  # the collector's, while builds hold them


@contextlib.contextmanager
def builds_running() -> Iterator[None]:
    """No full pass of the cyclic collector while the body runs (any thread, nestable):
    the process's oldest generation threshold is raised for as long as one build is inside,
    and put back as it was when the last one leaves."""
    global _builds, _thresholds
    with _lock:
        if _builds == 0:
            _thresholds = gc.get_threshold()
            gc.set_threshold(_thresholds[0], _thresholds[1], _HELD_OFF)
        _builds += 1
    try:
        yield
    finally:
        with _lock:
            _builds -= 1
            if _builds == 0 and _thresholds is not None:
                gc.set_threshold(*_thresholds)
                _thresholds = None
