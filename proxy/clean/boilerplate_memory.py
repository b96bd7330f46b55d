"""Boilerplate's feed-level decision: which edge-block fingerprints recur in most items of a
feed, this fetch's and those remembered from earlier fetches (FeedContext.memory). Part of
the clean stage; no I/O, no trees: it reads each item's key and fingerprints only, so a
caller that keeps an item's ``Summary`` by content decides again without cleaning it
(proxy/clean/staged.py, the pipeline's item cache). proxy/clean/boilerplate.py finds the
blocks and removes them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# A fingerprint is boilerplate when found in more than this share of the items…
RECUR_SHARE = 0.5
# …and in at least this many distinct items (this fetch and remembered ones together).
MIN_ITEMS = 3
# What is remembered per feed (and per field): the newest items, each with its edge
# fingerprints, for at most this long. Bounded in count and age whatever the feed sends.
MEMORY_ITEMS = 60
MEMORY_MAX_AGE = 45 * 24 * 3600
MEMORY_KEY = "auto.boilerplate"
MEMORY_VERSION = 1


class Recurring(Protocol):
    """An item as the decision sees it (boilerplate's analysed item, or its Summary)."""

    @property
    def key(self) -> str: ...

    def fingerprints(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Summary:
    """What the decision needs of one item, and what decides which of its blocks go: a pure
    function of the item's tree, so it may be kept by content and decided on again."""

    key: str  # the item's text and media, for memory
    remembered: tuple[str, ...]  # the fingerprints memory keeps for it (the first few)
    blocks: frozenset[str]  # every edge block's fingerprint (the only ones looked up)

    def fingerprints(self) -> list[str]:
        return list(self.remembered)


def decide(
    items: Sequence[Recurring],
    *,
    memory: MutableMapping[str, Any] | None = None,
    clock: Callable[[], float] | None = None,
) -> set[str]:
    """The feed's boilerplate fingerprints, from these items and memory (which it updates)."""
    now = (clock or time.time)()
    remembered = _remembered(memory, now)
    boilerplate = boilerplate_fingerprints(items, remembered)
    _remember(memory, remembered, items, now)
    return boilerplate


def _remembered(memory: MutableMapping[str, Any] | None, now: float) -> dict[str, Any]:
    if memory is None:
        return {}
    record = memory.get(MEMORY_KEY)
    if not isinstance(record, dict) or record.get("v") != MEMORY_VERSION:
        return {}
    items = record.get("items")
    if not isinstance(items, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, value in items.items():
        if (
            isinstance(key, str)
            and isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], (int, float))
            and now - value[0] <= MEMORY_MAX_AGE
            and isinstance(value[1], list)
        ):
            kept[key] = [value[0], [f for f in value[1] if isinstance(f, str)]]
    return kept


def _remember(
    memory: MutableMapping[str, Any] | None,
    remembered: dict[str, Any],
    items: Sequence[Recurring],
    now: float,
) -> None:
    if memory is None:
        return
    for item in items:
        seen = remembered.get(item.key)
        first_seen = seen[0] if seen else now  # an item's age is from when it was first seen
        remembered[item.key] = [first_seen, item.fingerprints()]
    newest = sorted(remembered.items(), key=lambda kv: kv[1][0], reverse=True)[:MEMORY_ITEMS]
    memory[MEMORY_KEY] = {"v": MEMORY_VERSION, "items": dict(newest)}


def boilerplate_fingerprints(items: Sequence[Recurring], remembered: dict[str, Any]) -> set[str]:
    """Fingerprints found in more than RECUR_SHARE of the items, and in at least MIN_ITEMS.

    The items are this fetch's and the remembered ones; an item is counted once, whether it
    is in both or twice in one fetch (a duplicate entry).
    """
    population: dict[str, list[str]] = {key: value[1] for key, value in remembered.items()}
    for item in items:
        population[item.key] = item.fingerprints()
    counts: dict[str, int] = {}
    for fingerprints in population.values():
        for fingerprint in set(fingerprints):
            counts[fingerprint] = counts.get(fingerprint, 0) + 1
    needed = max(MIN_ITEMS, math.floor(len(population) * RECUR_SHARE) + 1)
    return {fp for fp, count in counts.items() if count >= needed}
