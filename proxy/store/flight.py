"""Single flight across replicas: one holder of a store lock does the work, the others wait.

Built on the Store's acquire/release/wait only, so it runs the same on either backend (on
diskcache every acquire succeeds: the in-process SingleFlight already made it one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from proxy.store import Store

T = TypeVar("T")


async def once(
    store: Store,
    name: str,
    *,
    ttl: float,
    work: Callable[[], Awaitable[T]],
    settled: Callable[[], Awaitable[T | None]],
) -> T:
    """``work()`` on whichever replica holds lock ``name``; the others return ``settled()``.

    Parameters:
        store: the store whose locks are shared.
        name: what is being done (``fetch:<url>``): one holder per name.
        ttl: the lock's lifetime: longer than ``work`` can take; a holder that dies frees the
            name after at most this long, and a waiter then takes over.
        work: the work itself (the upstream fetch).
        settled: after a wait, what the holder left in the store (the new body, or the
            failure it met), or None if nothing: then this replica tries to take the lock.
    """
    while True:
        token = await store.acquire(name, ttl)
        if token is not None:
            try:
                return await work()
            finally:
                # Shielded: a cancelled reader must still wake the replicas waiting on us.
                await asyncio.shield(store.release(name, token))
        await store.wait(name, ttl)
        result = await settled()
        if result is not None:
            return result
