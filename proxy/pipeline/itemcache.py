"""Cleaned items kept by content, so a refresh where one item changed cleans one item.

Part of the pipeline (no I/O). An item's cleaned HTML depends on its HTML, the ruleset, the
feed rule's decision for it (``auto.boilerplate`` compares every item of the feed with what
it learnt before: which of this item's blocks are the feed's boilerplate), its base URL and
image policy (links and signed image URLs), the OpenCC conversion and OUTPUT_VERSION. Two
maps, each bounded in count, bytes and age (proxy/bounded.py):

* content key (HTML, ruleset, version) → the feed rule's summary of the item (what its
  decision is made from), so the decision is made again over every item without cleaning;
* content key + decision + base + policy + OpenCC → the item's ``Cleaned`` result.

The decision is made afresh on every build (it is cheap, and it updates the feed's memory as
a cold build does), so an item whose boilerplate verdict flips is cleaned again. Results a
rule failed on are never kept (a time-bounded pattern may succeed next time). Builds run in
worker threads, a few at once: the maps are behind one lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from proxy import clean, rewrite
from proxy.bounded import BoundedMap
from proxy.clean import staged
from proxy.models import Cleaned
from proxy.pipeline.process import OUTPUT_VERSION

# Items kept: a few busy feeds' worth. A 100-item feed of 5 KB items holds ~1 MB of results;
# the bytes bound keeps a 20,000-item feed from holding its whole cleaned text here twice.
RESULTS = 20_000
RESULT_BYTES = 48 * 1024 * 1024
SUMMARIES = 40_000
SUMMARY_BYTES = 16 * 1024 * 1024
# Refreshed on every use: an item that stays in its feed stays here; one that left goes.
MAX_AGE = 6 * 3600.0


def _weigh_result(cleaned: Cleaned) -> int:
    # 2 bytes a character (most text is in the BMP), ~200 bytes per removal or link change
    # record, ~300 for the key and the objects around it.
    return 2 * len(cleaned.html) + 200 * (len(cleaned.removals) + len(cleaned.links)) + 300


def _weigh_summary(summary: Any) -> int:
    blocks = getattr(summary, "blocks", ())
    return 400 + 80 * len(blocks)


class ItemCache:
    """Cleaned items by content, ruleset and decision (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._summaries: BoundedMap[bytes, Any] = BoundedMap(
            SUMMARIES, MAX_AGE, clock, weigh=_weigh_summary, max_weight=SUMMARY_BYTES
        )
        self._results: BoundedMap[bytes, Cleaned] = BoundedMap(
            RESULTS, MAX_AGE, clock, weigh=_weigh_result, max_weight=RESULT_BYTES
        )
        self.hits = 0  # results reused, and items cleaned (tests and benchmarks read them)
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)

    def clear(self) -> None:
        with self._lock:
            self._summaries.clear()
            self._results.clear()

    def _get(self, table: BoundedMap[bytes, Any], key: bytes) -> Any:
        with self._lock:
            value = table.get(key)
            if value is not None:
                table.set(key, value)  # in use: it lives on
            return value

    def _set(self, table: BoundedMap[bytes, Any], key: bytes, value: Any) -> None:
        with self._lock:
            table.set(key, value)

    def clean(
        self,
        htmls: Sequence[str],
        ruleset: clean.Ruleset,
        *,
        bases: Sequence[str | None],
        policies: Sequence[rewrite.ImagePolicy],
        opencc: str | None,
        rewrite_tree: clean.TreeHook,
        contexts: Sequence[str],
        feed: clean.FeedContext,
    ) -> list[Cleaned]:
        """What ``clean.clean_items(htmls, ruleset, rewrite=rewrite_tree, contexts=…,
        feed=…)`` returns, cleaning only the items not kept already.

        Parameters:
            bases: per item, the base URL its links are resolved against.
            policies: per item, its image policy (``rewrite.for_item``).
            opencc: the OpenCC conversion rewrite_tree applies, or None.
            rewrite_tree: called as rewrite_tree(index, tree) before serialising.
        """
        try:
            steps = staged.Staged(htmls, ruleset, contexts=contexts, feed=feed)
        except staged.Unsupported:
            return clean.clean_items(
                htmls, ruleset, rewrite=rewrite_tree, contexts=contexts, feed=feed
            )
        content = [_content_key(html, ruleset.fingerprint) for html in htmls]
        summaries: list[Any | None] = [None] * len(htmls)
        if steps.steps is not None:
            summaries = [self._get(self._summaries, key) for key in content]
            missing = [i for i, found in enumerate(summaries) if found is None]
            for i, summary in steps.analyse(missing).items():
                summaries[i] = summary
                if summary is not None:
                    self._set(self._summaries, content[i], summary)
        else:
            summaries = [True] * len(htmls)  # no feed rule: nothing to decide
        decisions = steps.decide(summaries)
        tokens = _PolicyTokens()
        keys: list[bytes | None] = [
            None
            if decision is None
            else _result_key(content[i], decision, bases[i], tokens.of(policies[i]), opencc)
            for i, decision in enumerate(decisions)
        ]
        results: list[Cleaned | None] = [
            None if key is None else self._get(self._results, key) for key in keys
        ]
        todo = [i for i, found in enumerate(results) if found is None]
        kept = [found for found in results if found is not None]
        staged.count(kept)
        made = steps.finish(todo, decisions, rewrite_tree)
        for i, cleaned in made.items():
            results[i] = cleaned
            key = keys[i]
            if key is not None and cleaned.failed is None:
                self._set(self._results, key, cleaned)
        self.hits += len(kept)
        self.misses += len(todo)
        return [cleaned for cleaned in results if cleaned is not None]


def _content_key(html: str, ruleset: str) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{OUTPUT_VERSION}\0{ruleset}\0".encode())
    digest.update(html.encode("utf-8", "surrogatepass"))
    return digest.digest()


def _result_key(
    content: bytes, decision: frozenset[str], base: str | None, policy: str, opencc: str | None
) -> bytes:
    digest = hashlib.blake2b(content, digest_size=20)
    parts = ("\x1f".join(sorted(decision)), base or "", policy, opencc or "")
    digest.update("\0".join(parts).encode("utf-8", "surrogatepass"))
    return digest.digest()


class _PolicyTokens:
    """Each distinct image policy as a string for keys (items of a feed share a few): every
    field, whatever it is called (a field added later changes the key), the signing key as
    a digest."""

    def __init__(self) -> None:
        self._seen: dict[rewrite.ImagePolicy, str] = {}

    def of(self, policy: rewrite.ImagePolicy) -> str:
        token = self._seen.get(policy)
        if token is None:
            key = hashlib.sha256(policy.key).hexdigest()
            token = repr(dataclasses.replace(policy, key=b"")) + key
            self._seen[policy] = token
        return token
