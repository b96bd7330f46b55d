"""A cap on concurrent feed builds (parse, clean, render): the rest wait their turn. No I/O.

A 9 MB feed once peaked at 553 MB while it was built, and six at once at 2.87 GB: memory
grows with the builds running together, so only a few run at once (FEEDSCRUB_MAX_BUILDS,
default 2 per CPU; more would not finish sooner anyway, they share the CPUs). The others
queue in arrival order, and the event loop keeps answering while they wait or run: a build
holds off the cyclic collector's full passes (``memory.builds_running``), which would
otherwise stop every thread, the loop's too, for up to a fifth of a second at a time, and
shortens the GIL switch interval; a step that grew the process is trimmed after it
(``memory.release_grown``).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from proxy import memory

P = ParamSpec("P")
T = TypeVar("T")


def default_slots() -> int:
    """2 per CPU this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return 2 * max(cpus, 1)


class BuildSlots:
    """Run CPU- and memory-heavy work in a worker thread, at most ``slots`` at once.

    Parameters:
        slots: builds running at once; 0 for ``default_slots()``.
    """

    def __init__(self, slots: int = 0) -> None:
        self.slots = slots or default_slots()
        self._semaphore = asyncio.Semaphore(self.slots)
        self.running = 0
        self.waiting = 0
        self.peak = 0  # the most that ever ran at once (tests, metrics)

    @property
    def busy(self) -> bool:
        """Every slot taken, or someone waiting for one."""
        return self.waiting > 0 or self.running >= self.slots

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            return await asyncio.to_thread(_held, functools.partial(work, *args, **kwargs))
        finally:
            self.running -= 1
            self._semaphore.release()


def _held(work: Callable[[], T]) -> T:
    # In the worker thread: the collector's full passes wait until no build runs (memory.py).
    with memory.builds_running():
        before = memory.resident()
        try:
            return work()
        finally:
            memory.release_grown(before)
