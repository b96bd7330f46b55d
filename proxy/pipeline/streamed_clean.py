"""The clean stage of the streamed build (``streamed``): one field of a big feed's items
cleaned chunk by chunk with ``clean.staged``, the feed rule's decision made once over every
item's summary. Part of the pipeline; no I/O.

``Field`` holds, for one field (summary or content), a ``Staged`` whose HTML is a window
onto the chunk in hand (``_Window``: positions in the whole feed → that chunk's HTML), the
summaries the first pass collects (small: the feed rule's edge fingerprints), then the
decisions. ``Decided`` stands in for the pipeline's item cache inside ``process.transform``:
transform hands each field of a chunk's items to ``Decided.clean``, which finishes them with
the decisions made over the whole feed, so the rest of transform (links, attachments, the
feed's own values) runs as it does for every feed. An item's result is a function of its
HTML, the ruleset, its decision and the rewrite (``staged``), so each item comes out as in a
build of the whole feed at once.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from proxy import clean, metrics
from proxy.clean import staged
from proxy.models import Cleaned, Entry
from proxy.pipeline.itemcache import ItemCache

FIELDS = ("summary", "content")
# Guesses (``Field.guess``) are made beside the summaries of the first items, up to this many
# characters of their HTML (staged.in_turn's kept share).
EARLY_CHARS = staged.KEEP_CHARS


class Declined(Exception):
    """The streamed build cannot promise a full build's bytes: the caller builds in full."""


class _Window(Sequence[str]):
    """A sequence as long as the feed whose items outside the chunk in hand are absent."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: dict[int, str] = {}

    def show(self, values: dict[int, str]) -> None:
        self._values = values

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            raise TypeError("a window is read item by item")
        return self._values[index]

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a window is read item by item")


class Field:
    """One field of every item of a feed, cleaned in steps (the module docstring)."""

    def __init__(
        self,
        name: str,
        size: int,
        ruleset: clean.Ruleset,
        context: clean.FeedContext,
    ) -> None:
        self.name = name
        self._htmls = _Window(size)
        self._contexts = _Window(size)
        try:
            self.steps = staged.Staged(self._htmls, ruleset, contexts=self._contexts, feed=context)
        except staged.Unsupported as exc:
            raise Declined(str(exc)) from None
        self.summaries: list[Any | None] = [None] * size
        # The first pass's summaries, a chunk at a time, pickled (``_pack``).
        self._packed: list[tuple[list[int], bytes]] = []
        self.decisions: list[frozenset[str] | None] = [None] * size
        self.present = [False] * size  # the item has this field, and is among the cleaned
        self._early: dict[int, Any] = {}  # the first items' summaries (``guess``)
        self._early_chars = 0
        self._latest: dict[int, Any | None] = {}  # the last chunk's summaries

    def analyse(self, found: dict[int, tuple[str, str]], *, keep: bool = False) -> None:
        """The summaries of these items (position → HTML and log context); trees let go
        unless ``keep`` (then ``finish`` them next, after ``guess``)."""
        self.present_at(found)
        if not found or self.steps.steps is None:
            return
        self._show(found)
        positions = list(found)
        try:
            self._latest = self.steps.analyse(positions)
            self._pack(self._latest)
        finally:
            if not keep:
                self.steps.forget(positions)
                self._latest = {}
            self._show({})
        for position, (html, _) in found.items():
            if self._early_chars >= EARLY_CHARS:
                break
            self._early[position] = self._latest.get(position)
            self._early_chars += len(html)
        if self.steps.item_failed is not None:
            raise Declined(f"the feed rule failed on an item ({self.steps.item_failed[0]})")

    def _pack(self, found: dict[int, Any | None]) -> None:
        """Keep a chunk's summaries as one pickle: a summary object weighs ~1.5 KB (a
        20,000-item feed: 31 MB alive through the build), its pickle a few hundred bytes,
        and the fingerprints items share (the boilerplate) are written once per chunk.
        In memory only, made and read here (nothing from outside is ever unpickled)."""
        positions = list(found)
        try:
            packed = pickle.dumps([found[p] for p in positions], pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            for position, summary in found.items():  # (a summary that does not pickle)
                self.summaries[position] = summary
            return
        self._packed.append((positions, packed))

    def _unpack(self) -> None:
        for positions, packed in self._packed:
            for position, summary in zip(positions, pickle.loads(packed), strict=True):
                self.summaries[position] = summary
        self._packed = []

    def guess(self, positions: Sequence[int]) -> dict[int, frozenset[str] | None]:
        """The decisions of the last chunk analysed (kept), as if the feed were the first
        items and these (None: no guess, the feed rule failed on them), made these items'
        decisions for ``finish``; the feed's memory is not touched (``Staged.guess``)."""
        if self.steps.steps is None:
            made: dict[int, frozenset[str] | None] = dict.fromkeys(positions, staged.NO_DECISION)
        else:
            order = list(self._early) + [p for p in positions if p not in self._early]
            summaries = [self._early.get(p, self._latest.get(p)) for p in order]
            guessed = self.steps.guess(summaries, range(len(order)))
            at = {p: k for k, p in enumerate(order)}
            made = {p: None if guessed is None else guessed[at[p]] for p in positions}
        self._latest = {}
        for position, decision in made.items():
            self.decisions[position] = decision
        return made

    def present_at(self, found: dict[int, tuple[str, str]]) -> None:
        for position in found:
            self.present[position] = True

    def decide(self, among: set[int]) -> None:
        """The feed rule's decisions over the items ``among`` that have this field, as a
        build of those items at once makes them (updates the feed's memory once)."""
        if not any(self.present[p] for p in among):
            return  # as transform: a field no item has is not cleaned (no decision made)
        if self.steps.steps is None:
            for position in among:
                self.decisions[position] = staged.NO_DECISION
            return
        self._unpack()
        summaries = [s if p in among else None for p, s in enumerate(self.summaries)]
        self.summaries = []  # what the decision needs: let go after it
        decisions = self.steps.decide(summaries)
        if any(s is not None and d is None for s, d in zip(summaries, decisions, strict=True)):
            raise Declined("the feed rule's decision failed")
        # Equal decisions as one object (most items of a feed get the same one): they are
        # kept through the second pass.
        alike: dict[frozenset[str], frozenset[str]] = {}
        self.decisions = [None if d is None else alike.setdefault(d, d) for d in decisions]

    def finish(
        self, found: dict[int, tuple[str, str]], rewrite_tree: clean.TreeHook
    ) -> list[Cleaned]:
        """These items' results (in the order given), rewrite_tree(k, tree) called with each
        one's place k in that order."""
        self._show(found)
        positions = list(found)
        local = {position: k for k, position in enumerate(positions)}
        try:
            made = self.steps.finish(
                positions, self.decisions, lambda i, root: rewrite_tree(local[i], root)
            )
        finally:
            self._show({})
        if self.steps.item_failed is not None:
            raise Declined(f"the feed rule failed on an item ({self.steps.item_failed[0]})")
        return [made[p] for p in positions]

    def _show(self, found: dict[int, tuple[str, str]]) -> None:
        self._htmls.show({p: html for p, (html, _) in found.items()})
        self._contexts.show({p: context for p, (_, context) in found.items()})


def item_context(label: str, entry: Entry) -> str:
    """What a log line names an item by (as ``process._clean_field`` does)."""
    return f"feed={label} item={entry.guid or entry.link or entry.title}"


class Decided(ItemCache):
    """The item cache's place in ``process.transform`` for one chunk of a streamed build:
    each field's items are finished with the decisions made over the whole feed (nothing is
    kept: a big feed's items do not fit the cache, ``ItemCache._too_big``)."""

    def __init__(self, fields: dict[str, Field]) -> None:
        super().__init__()
        self._fields = fields
        self._expected: list[tuple[Field, dict[int, tuple[str, str]]]] = []

    def expect(self, positions: Sequence[int], entries: Sequence[Entry], label: str) -> None:
        """The chunk transform is about to clean: entries, at these positions in the feed."""
        self._expected = []
        for name in FIELDS:  # transform cleans summaries, then contents, each when any
            found = {
                p: (html, item_context(label, e))
                for p, e in zip(positions, entries, strict=True)
                if (html := getattr(e, name)) is not None
            }
            if found:
                self._expected.append((self._fields[name], found))

    def clean(self, htmls: Sequence[str], ruleset: clean.Ruleset, **given: Any) -> list[Cleaned]:
        """ItemCache.clean's place: what transform gives (but the HTML and its log contexts,
        and the rewrite) is what made the decisions already."""
        rewrite_tree: clean.TreeHook = given["rewrite_tree"]
        contexts: Sequence[str] = given["contexts"]
        if not self._expected:
            raise Declined("transform cleaned a field it was not expected to")
        field, expected = self._expected.pop(0)
        if len(expected) != len(htmls) or any(
            a is not b for a, (b, _) in zip(htmls, expected.values(), strict=True)
        ):
            raise Declined("transform cleaned other items than expected")
        # The contexts transform gives (they name the item's footnote ids, anchors.item_key).
        pairs = enumerate(zip(expected, htmls, strict=True))
        found = {p: (html, contexts[k]) for k, (p, html) in pairs}
        results = field.finish(found, rewrite_tree)
        totals: dict[str, int] = {}
        for cleaned in results:  # counted as a build of the whole feed counts them
            for rule, hits in cleaned.hits().items():
                totals[rule] = totals.get(rule, 0) + hits
        for rule, hits in totals.items():
            metrics.count_rule(rule, hits)
        return results

    def finish_all(
        self, entries: Sequence[Entry], _: object, finish: Callable[[int, Entry], Entry]
    ) -> tuple[Entry, ...]:
        # Nothing kept (ItemCache.finished): every entry finished as transform does it.
        return tuple(finish(i, entry) for i, entry in enumerate(entries))

    def done(self) -> None:
        if self._expected:
            raise Declined("transform left a field uncleaned")
