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
as before. The next full pass comes after the builds, over what they left behind. It also
shortens the GIL switch interval meanwhile (BUILD_SWITCH_SECONDS).

Each build step runs in whichever worker thread is free, and glibc gives each thread its own
arena: what the parse freed in one stayed resident while the clean stage grew another.
``release_grown`` trims after any step that grew the process by 32 MB or more (BuildSlots
calls it): a cold 5,000-item build peaked at 384 MB instead of 458.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator

BIG_BODY_BYTES = 1024 * 1024  # smaller builds leave too little behind to be worth a trim
# How long a thread keeps the GIL while another waits for it, while builds run (Python's
# default is 5 ms). The event loop takes the GIL back after every socket call, so each of a
# request's few hand-offs waited up to 5 ms behind a build; now up to 1 ms.
BUILD_SWITCH_SECONDS = 0.001
# Builds back to back hold the full passes off this long at most (see builds_running).
HOLD_SECONDS = 60.0
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


# A build step that left the process this much bigger is trimmed after (see release_grown).
GROWN_BYTES = 32 * 1024 * 1024
_PAGE = 4096


def resident() -> int:
    """This process's resident set in bytes (Linux; 0 elsewhere): one small read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def release_grown(before: int) -> None:
    """Trim the heap when the process grew by GROWN_BYTES or more since ``before``
    (``resident()``). Build steps run in whichever worker thread is free, and each thread
    allocates from its own malloc arena: what parsing freed in one thread's arena stayed
    resident, unused, while cleaning filled another's (a 20,000-item build: ~300 MB)."""
    if _TRIM is not None and before and resident() - before >= GROWN_BYTES:
        _TRIM(0)


_lock = threading.Lock()
_builds = 0
_thresholds: tuple[int, int, int] | None = None  # the collector's, while builds hold them
_switch = 0.005  # the interpreter's switch interval, while builds shorten it
_since = 0.0  # when the full passes were last allowed (monotonic)


@contextlib.contextmanager
def builds_running() -> Iterator[None]:
    """No full pass of the cyclic collector, and a short GIL switch interval, while the body
    runs (any thread, nestable): the process's oldest generation threshold is raised and
    the interval shortened for as long as one build is inside, and both put back as they
    were when the last one leaves. On a server that is never without a build, a build that
    ends after HOLD_SECONDS of holding runs one full pass itself (cycles made meanwhile
    are freed: the hold bounds how long garbage waits, not how much)."""
    global _builds, _thresholds, _switch, _since
    with _lock:
        if _builds == 0:
            _thresholds = gc.get_threshold()
            gc.set_threshold(_thresholds[0], _thresholds[1], _HELD_OFF)
            _switch = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch, BUILD_SWITCH_SECONDS))
            _since = time.monotonic()
        _builds += 1
    try:
        yield
    finally:
        collect = False
        with _lock:
            _builds -= 1
            if _builds == 0 and _thresholds is not None:
                gc.set_threshold(*_thresholds)
                sys.setswitchinterval(_switch)
                _thresholds = None
            elif time.monotonic() - _since >= HOLD_SECONDS:
                _since = time.monotonic()
                collect = True
        if collect:
            gc.collect()
