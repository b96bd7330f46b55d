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
import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proxy import clean, metrics, rewrite
from proxy.bounded import BoundedMap
from proxy.clean import staged
from proxy.models import Cleaned, Entry
from proxy.pipeline.fingerprint import output_version
from proxy.pipeline.process import OUTPUT_VERSION

# Items kept: many feeds' worth. A 100-item feed of 5 KB CJK items weighs ~2 MB here (the
# item's HTML in the key, its cleaned HTML, 2 bytes a character).
RESULTS = 20_000
RESULT_BYTES = 48 * 1024 * 1024
SUMMARIES = 40_000
SUMMARY_BYTES = 16 * 1024 * 1024
# A feed that would take more than this share of a bound is not kept at all: it would evict
# itself on every build (LRU over more than fits hits nothing), and it is the big feeds whose
# builds must stay within their memory (issue 15.5: 20,000 items); they clean as before.
LARGEST_SHARE = 0.5
# Refreshed on every use: an item that stays in its feed stays here; one that left goes.
MAX_AGE = 6 * 3600.0
# Finished entries (``finished``): one per item of the feeds refreshed lately.
ENTRIES = 20_000
ENTRY_BYTES = 32 * 1024 * 1024
_FIELDS = tuple(f.name for f in dataclasses.fields(Entry) if f.name != "index")


# Keys hold the item's HTML itself (a dict compares it on a hit, so two items never share
# an entry by a hash collision; str hashing also beats encoding CJK text for a digest).
ContentKey = tuple[str, str]  # (HTML, ruleset fingerprint)
ResultKey = tuple[str, str, str, str, str, str]  # + decision, base, policy, OpenCC


@dataclass(frozen=True, slots=True)
class _Kept:
    cleaned: Cleaned
    hits: tuple[tuple[str, int], ...]  # cleaned.hits(), counted again on every reuse
    weight: int


@dataclass(frozen=True, slots=True)
class _Finished:
    entry: Entry  # the parsed entry it was made from
    inputs: tuple[object, ...]  # and everything else it was made with
    made: Entry
    weight: int


def _same(kept: Entry, entry: Entry) -> bool:
    """Every field but index alike: the same object (a spliced parse reuses them), or an
    equal one; equal datetimes are not enough (another offset renders otherwise)."""
    if kept is entry:
        return True
    for name in _FIELDS:
        a, b = getattr(kept, name), getattr(entry, name)
        if a is not b and (a != b or isinstance(a, datetime)):
            return False
    return True


def _finished_key(entry: Entry) -> tuple[str | None, ...]:
    return (entry.guid, entry.link, entry.title)


def _kept(cleaned: Cleaned, html: str) -> _Kept:
    # 2 bytes a character (most text is in the BMP) for the result and the key's HTML,
    # ~200 bytes per removal or link change record, ~300 for the objects around them.
    records = len(cleaned.removals) + len(cleaned.links)
    weight = 2 * (len(cleaned.html) + len(html)) + 200 * records + 300
    return _Kept(cleaned, tuple(cleaned.hits().items()), weight)


class ItemCache:
    """Cleaned items by content, ruleset and decision (see the module docstring)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        results: int = RESULTS,
        result_bytes: int = RESULT_BYTES,
        summaries: int = SUMMARIES,
        summary_bytes: int = SUMMARY_BYTES,
        max_age: float = MAX_AGE,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.max_age = max_age
        self._largest = (int(results * LARGEST_SHARE), int(result_bytes * LARGEST_SHARE))
        # Values are (value, when it was last set).
        self._summaries: BoundedMap[ContentKey, tuple[tuple[Any, int], float]] = BoundedMap(
            summaries, max_age, clock, weigh=lambda v: v[0][1], max_weight=summary_bytes
        )
        self._results: BoundedMap[ResultKey, tuple[_Kept, float]] = BoundedMap(
            results, max_age, clock, weigh=lambda v: v[0].weight, max_weight=result_bytes
        )
        self._finished: BoundedMap[tuple[str | None, ...], tuple[_Finished, float]] = (
            BoundedMap(ENTRIES, max_age, clock, weigh=lambda v: v[0].weight, max_weight=ENTRY_BYTES)
        )
        self.hits = 0  # results reused, and items cleaned (tests and benchmarks read them)
        self.misses = 0
        self.reused = 0  # finished entries reused (``finished``)

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)

    def clear(self) -> None:
        with self._lock:
            self._summaries.clear()
            self._results.clear()
            self._finished.clear()

    def keeps(self, items: int) -> bool:
        """Whether a feed of ``items`` items has its finished entries kept (``finished``)."""
        return items <= ENTRIES * LARGEST_SHARE

    def finish_all(
        self,
        entries: Sequence[Entry],
        made_of: Sequence[Sequence[object]],
        finish: Callable[[int, Entry], Entry],
    ) -> tuple[Entry, ...]:
        """``finish(i, entry)`` of every entry, or what ``finished`` kept for it; made_of:
        per entry (by column), everything besides the entry it is finished with."""
        if not self.keeps(len(entries)):
            return tuple(finish(i, entry) for i, entry in enumerate(entries))
        inputs = list(zip(*made_of, strict=True))
        keys = [_finished_key(entry) for entry in entries]
        kept: list[_Finished | None] = self._get_many(self._finished, keys)
        return tuple(
            self._finished_one(entry, inputs[i], functools.partial(finish, i, entry), kept[i])
            for i, entry in enumerate(entries)
        )

    def finished(
        self, entry: Entry, inputs: tuple[object, ...], make: Callable[[], Entry]
    ) -> Entry:
        """``make()``, the entry as transform finishes it (attachments, links, text), or what
        it made last time of an entry alike (``_same``) with equal ``inputs`` (its cleaned
        summary and content, and whatever else the caller made it with)."""
        kept: _Finished | None = self._get(self._finished, _finished_key(entry))
        return self._finished_one(entry, inputs, make, kept)

    def _finished_one(
        self,
        entry: Entry,
        inputs: tuple[object, ...],
        make: Callable[[], Entry],
        kept: _Finished | None,
    ) -> Entry:
        if kept is not None and kept.inputs == inputs and _same(kept.entry, entry):
            with self._lock:
                self.reused += 1
            made = kept.made
            if made.index != entry.index:
                made = dataclasses.replace(made, index=entry.index)
            return made
        made = make()
        texts = (entry.summary, entry.content, made.summary, made.content)
        weight = 2 * sum(len(text or "") for text in texts) + 600
        self._set(self._finished, _finished_key(entry), _Finished(entry, inputs, made, weight))
        return made

    def _too_big(self, htmls: Sequence[str]) -> bool:
        count, size = self._largest
        # The result's HTML is about as long as the item's: 2 × 2 bytes a character.
        return len(htmls) > count or 4 * sum(map(len, htmls)) > size

    def _get(self, table: BoundedMap[Any, Any], key: Any) -> Any:
        return self._get_many(table, [key])[0]

    def _get_many(self, table: BoundedMap[Any, Any], keys: Iterable[Any]) -> list[Any]:
        """The values under ``keys`` (None where absent), under one lock and one clock read
        (a refresh of 100 items looks up ~500 of them)."""
        with self._lock:
            now = self._clock()
            young = self.max_age / 4
            values: list[Any] = []
            for key in keys:
                found = table.get(key, now)
                if found is None:
                    values.append(None)
                    continue
                value, since = found
                if now - since > young:
                    table.set(key, (value, now))  # in use: it lives on (set again now and then)
                values.append(value)
            return values

    def _set(self, table: BoundedMap[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            table.set(key, (value, self._clock()))

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
            if self._too_big(htmls):
                raise staged.Unsupported("bigger than the cache")
            steps = staged.Staged(htmls, ruleset, contexts=contexts, feed=feed)
        except staged.Unsupported:
            return clean.clean_items(
                htmls, ruleset, rewrite=rewrite_tree, contexts=contexts, feed=feed
            )
        # In memory only, so a new version means a new process; named anyway, as in outputs.
        fingerprint = output_version(OUTPUT_VERSION) + ":" + ruleset.fingerprint
        summaries: list[Any | None] = [True] * len(htmls)  # no feed rule: nothing to decide
        if steps.steps is not None:
            found = self._get_many(self._summaries, [(html, fingerprint) for html in htmls])
            summaries = [None if f is None else f[0] for f in found]
            missing = [i for i, f in enumerate(found) if f is None]
            for i, summary in steps.analyse(missing).items():
                summaries[i] = summary
                if summary is not None:
                    weight = 2 * len(htmls[i]) + 80 * len(getattr(summary, "blocks", ())) + 400
                    self._set(self._summaries, (htmls[i], fingerprint), (summary, weight))
        decisions = steps.decide(summaries)
        tokens = _PolicyTokens()
        # Most items share a decision (none, or the feed's boilerplate) and a policy object
        # (one per origin): each is made a string once per call, not once per item.
        joined: dict[frozenset[str], str] = {}
        keys: list[ResultKey | None] = []
        for i, decision in enumerate(decisions):
            if decision is None:
                keys.append(None)
                continue
            token = joined.get(decision)
            if token is None:
                token = joined[decision] = "\x1f".join(sorted(decision))
            keys.append(
                (htmls[i], fingerprint, token, bases[i] or "", tokens.of(policies[i]), opencc or "")
            )
        results: list[Cleaned | None] = [None] * len(htmls)
        hits: dict[str, int] = {}
        kept = 0
        found_results: list[_Kept | None] = self._get_many(
            self._results, [key for key in keys if key is not None]
        )
        looked = iter(found_results)
        for i, key in enumerate(keys):
            reused: _Kept | None = None if key is None else next(looked)
            if reused is not None:
                results[i] = reused.cleaned
                kept += 1
                for rule, count in reused.hits:
                    hits[rule] = hits.get(rule, 0) + count
        todo = [i for i, found in enumerate(results) if found is None]
        made = steps.finish(todo, decisions, rewrite_tree)
        for i, cleaned in made.items():
            results[i] = cleaned
            key = keys[i]
            made_hits: Iterable[tuple[str, int]] = cleaned.hits().items()
            if key is not None and cleaned.failed is None:
                new = _kept(cleaned, htmls[i])
                self._set(self._results, key, new)
                made_hits = new.hits
            for rule, count in made_hits:
                hits[rule] = hits.get(rule, 0) + count
        for rule, count in hits.items():  # kept or made: counted as a cold build counts
            metrics.count_rule(rule, count)
        with self._lock:
            self.hits += kept
            self.misses += len(todo)
        return [cleaned for cleaned in results if cleaned is not None]


class _PolicyTokens:
    """Each distinct image policy as a string for keys (items of a feed share a few): every
    field, whatever it is called (a field added later changes the key), the signing key as
    a digest."""

    def __init__(self) -> None:
        self._seen: dict[rewrite.ImagePolicy, str] = {}
        # By identity first (the caller's list holds each policy for the call: ids stay
        # theirs), so a policy shared by many items is hashed (every field) once.
        self._by_id: dict[int, tuple[rewrite.ImagePolicy, str]] = {}

    def of(self, policy: rewrite.ImagePolicy) -> str:
        known = self._by_id.get(id(policy))
        if known is not None and known[0] is policy:
            return known[1]
        token = self._seen.get(policy)
        if token is None:
            key = hashlib.sha256(policy.key).hexdigest()
            token = repr(dataclasses.replace(policy, key=b"")) + key
            self._seen[policy] = token
        self._by_id[id(policy)] = (policy, token)
        return token
