"""One field of a feed's items cleaned in steps, so a caller keeping results by content (the
pipeline's item cache) cleans again only the items that changed. Part of the clean stage; no
I/O and nothing kept here between calls.

``clean_items`` runs every rule over every item; a feed rule (``auto.boilerplate``) sees all
of them, so one item's result depends on the others. In steps the dependency is explicit:

    steps = Staged(htmls, ruleset, contexts=…, feed=…)   # Unsupported: use clean_items
    summaries = steps.analyse(indices)   # the rules before the feed rule, on those items only
    decisions = steps.decide(all_summaries)  # the feed rule's decision, one per item (cheap)
    results = steps.finish(indices, decisions, rewrite)  # the rest, on those items only

An item's result is a function of its HTML, the ruleset, its decision and the rewrite, so a
caller that has it for the same four skips it. Each item goes through the same rules in the
same order as in clean_items (rule by rule over the items in hand), so the results are the
same bytes with the same removals (tests/pipeline/test_itemcache.py proves it). Marking mode
is not offered: the preview page and `feedscrub explain` use clean_items. One difference, on
a bug's path only: when the feed rule fails on one item's analysis or edit, that item goes
back as it came (clean_items sends every item back); none of it is kept by the cache.

``in_turn`` is clean_items for a big feed (clean_items calls it past IN_TURN_CHARS) built on
the same steps: a few items' trees alive at a time instead of all of them, and clean_items'
results exactly, failures included (tests/test_clean_inturn.py).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from proxy.clean import TreeHook, _finish, _Item, _run_rules, _start
from proxy.clean.attribution import recording, running
from proxy.clean.registry import FeedContext, FeedSteps, Rule
from proxy.clean.ruleset import Ruleset
from proxy.models import Cleaned

__all__ = ["Staged", "Unsupported", "in_turn"]

NO_DECISION: frozenset[str] = frozenset()
# in_turn: the items whose trees pass 1 keeps for pass 2 (the first ones, up to this many
# characters of HTML: ~7 bytes of tree per character; clean_items' threshold, so a feed a
# little over it parses a little again, not everything twice), and how many characters of
# items each step takes at once (a chunk's trees are alive together; per step, each rule is
# entered once for the whole chunk).
KEEP_CHARS = 4 * 1024 * 1024
CHUNK_CHARS = 256 * 1024


class Unsupported(Exception):
    """The ruleset cannot run in steps (an unknown pack, or a feed rule without steps)."""


class Staged:
    """The items of one field of one feed, cleaned in steps (see the module docstring).

    Parameters:
        htmls: each item's HTML, in feed order.
        ruleset: as for clean_items.
        contexts: per item, what it is, for log lines.
        feed: what the feed rule knows (its key, options, memory: decide updates it).
    """

    def __init__(
        self,
        htmls: Sequence[str],
        ruleset: Ruleset,
        *,
        contexts: Sequence[str] = (),
        feed: FeedContext | None = None,
    ) -> None:
        try:
            rules = ruleset.rules()
        except ValueError as exc:
            raise Unsupported(str(exc)) from None
        feed_rules = [i for i, rule in enumerate(rules) if rule.feed is not None]
        if len(feed_rules) > 1 or any(rules[i].steps is None for i in feed_rules):
            raise Unsupported("a feed rule without steps")
        at = feed_rules[0] if feed_rules else len(rules)
        self.before: tuple[Rule, ...] = rules[:at]
        self.feed_rule: Rule | None = rules[at] if feed_rules else None
        self.after: tuple[Rule, ...] = rules[at + 1 :]
        self.ruleset = ruleset
        self.htmls = htmls
        self.contexts = contexts
        self.feed = feed or FeedContext(options=ruleset.options)
        self._items: dict[int, _Item] = {}
        self._states: dict[int, Any] = {}  # the feed rule's state of each prepared item
        self._failed: tuple[str, BaseException] | None = None  # the feed rule's decision failed
        # The feed rule's first failure on one item's analysis or edit (in_turn reads it: in
        # clean_items, that failure sends every item back).
        self.item_failed: tuple[str, BaseException] | None = None

    @property
    def steps(self) -> FeedSteps | None:
        return self.feed_rule.steps if self.feed_rule is not None else None

    def analyse(self, indices: Sequence[int]) -> dict[int, Any | None]:
        """The feed rule's summary of each of these items (None: the item failed, and is left
        out of the decision as clean_items leaves it out), after the rules before it."""
        self._prepare(indices)
        found: dict[int, Any | None] = {}
        for i in indices:
            state = self._states.get(i)
            found[i] = None if state is None else self._summary(state)
        return found

    def decide(self, summaries: Sequence[Any | None]) -> list[frozenset[str] | None]:
        """Each item's decision, from every item's summary (None: it failed; its decision
        is None too). Updates the feed's memory as the feed rule does."""
        steps = self.steps
        if steps is None:
            return [None if s is None else NO_DECISION for s in summaries]
        live = [i for i, s in enumerate(summaries) if s is not None]
        decisions: list[frozenset[str] | None] = [None] * len(summaries)
        assert self.feed_rule is not None
        if not live:  # as in clean_items: no item left, the feed rule does not run
            return decisions
        try:
            with running(self.feed_rule.info):
                made = steps.decide([summaries[i] for i in live], self.feed)
        except Exception as exc:  # as in clean_items: every item of the feed goes back
            self.fail_all((self.feed_rule.id, exc))
            return decisions
        for i, decision in zip(live, made, strict=True):
            decisions[i] = decision
        return decisions

    def finish(
        self,
        indices: Sequence[int],
        decisions: Sequence[frozenset[str] | None],
        rewrite: TreeHook | None = None,
    ) -> dict[int, Cleaned]:
        """These items' results: the feed rule's decision applied, the rules after it, then
        rewrite(index, tree), the sanitiser, serialised. Their rule hits are the caller's to
        count (``Cleaned.hits``, in feedscrub_rule_hits_total), as clean_items counts them."""
        self._prepare([i for i in indices if i not in self._items])
        items = {i: self._items[i] for i in indices}
        if self._failed is not None:
            for item in items.values():
                if not item.failed:
                    item.give_up(*self._failed)
        records = {id(item.root): item.record for item in items.values() if not item.failed}
        rule, steps = self.feed_rule, self.steps
        with recording(records):
            if rule is not None and steps is not None:
                with running(rule.info):
                    for i, item in items.items():
                        decision = decisions[i]
                        if item.failed or decision is None:
                            continue
                        try:
                            steps.apply(self._states[i], decision)
                        except Exception as exc:  # that item goes back as it came
                            records.pop(id(item.root), None)
                            item.give_up(rule.id, exc)
                            self.item_failed = self.item_failed or (rule.id, exc)
        _run_rules(list(items.values()), self.after, self.feed, records)
        results = {i: _finish(i, item, rewrite, None) for i, item in items.items()}
        for i in indices:
            self._items.pop(i, None)
            self._states.pop(i, None)
        return results

    def guess(
        self, summaries: Sequence[Any | None], among: Sequence[int]
    ) -> list[frozenset[str] | None] | None:
        """The decisions of the items ``among`` as if they were the whole feed (indexed like
        summaries; None elsewhere), without touching the feed's memory (a copy is read).
        None when the feed rule's decision fails on them (decide will say what it does)."""
        steps = self.steps
        guessed: list[frozenset[str] | None] = [None] * len(summaries)
        live = [i for i in among if summaries[i] is not None]
        if steps is None or not live:
            return guessed
        context = dataclasses.replace(self.feed, memory=copy.deepcopy(self.feed.memory))
        try:
            made = steps.decide([summaries[i] for i in live], context)
        except Exception:
            return None
        for i, decision in zip(live, made, strict=True):
            guessed[i] = decision
        return guessed

    def forget(self, indices: Sequence[int]) -> None:
        """Let these items' trees go (analyse keeps them for finish, which parses again an
        item it no longer holds)."""
        for i in indices:
            self._items.pop(i, None)
            self._states.pop(i, None)

    def fail_all(self, failure: tuple[str, BaseException]) -> None:
        """As when the feed rule fails in clean_items: every item goes back as it came."""
        self._failed = failure
        for item in self._items.values():
            if not item.failed:
                item.give_up(*failure)

    # -- inside ------------------------------------------------------------------------------

    def _prepare(self, indices: Sequence[int]) -> None:
        """Parse these items and run the rules before the feed rule on them (as clean_items
        does for every item), then the feed rule's analysis."""
        items = [
            _Item(self.htmls[i], self.contexts[i] if i < len(self.contexts) else "")
            for i in indices
        ]
        self._items.update(zip(indices, items, strict=True))
        _start(items, self.ruleset, False)
        records = {id(item.root): item.record for item in items if not item.failed}
        _run_rules(items, self.before, self.feed, records)
        rule, steps = self.feed_rule, self.steps
        if rule is None or steps is None:
            return
        with recording(records), running(rule.info):
            for i, item in zip(indices, items, strict=True):
                if item.failed:
                    continue
                try:
                    self._states[i] = steps.analyse(item.root, self.feed)
                except Exception as exc:
                    records.pop(id(item.root), None)
                    item.give_up(rule.id, exc)
                    self.item_failed = self.item_failed or (rule.id, exc)

    def _summary(self, state: Any) -> Any:
        steps = self.steps
        assert steps is not None
        return steps.summary(state)


def in_turn(
    htmls: Sequence[str],
    ruleset: Ruleset,
    *,
    rewrite: TreeHook | None = None,
    contexts: Sequence[str] = (),
    feed: FeedContext | None = None,
    keep_chars: int | None = None,
    chunk_chars: int | None = None,
) -> list[Cleaned]:
    """What ``clean_items`` returns (the same bytes, removals and failures) with a few
    items' trees alive at a time, not all of them: a tree weighs ~7 bytes per character of
    its HTML, and clean_items holds every item's while the feed rule compares them (a
    20,000-item feed: ~730 MB).

    The items go chunk by chunk through the rules before the feed rule and its analysis.
    The first keep_chars of items keep their trees for after the decision. Each later chunk
    is finished at once with the decision its items would get beside the kept ones (a
    guess, ``Staged.guess``), and its trees let go. Once every item is analysed, the
    decision is made over all; an item whose guess was wrong is parsed again and finished
    with its decision (an item's result is a function of its HTML, the ruleset, its
    decision and the rewrite, so a right guess gives the same bytes). Boilerplate that
    recurs in most items shows in the first ones: most guesses are right, and most items are
    parsed once. Rule hits are the caller's to count. Raises Unsupported as Staged does.
    keep_chars, chunk_chars: None for KEEP_CHARS, CHUNK_CHARS.
    """
    keep_chars = KEEP_CHARS if keep_chars is None else keep_chars
    chunk_chars = CHUNK_CHARS if chunk_chars is None else chunk_chars
    steps = Staged(htmls, ruleset, contexts=contexts, feed=feed)
    chunks = _chunks(htmls, chunk_chars)
    if steps.steps is None:  # no feed rule: nothing to decide, one pass
        return _finished(steps, chunks, [NO_DECISION] * len(htmls), rewrite)
    summaries: list[Any | None] = [None] * len(htmls)
    held: list[int] = []  # items whose trees wait for the decision
    ahead: dict[int, tuple[frozenset[str] | None, Cleaned]] = {}  # finished on a guess
    later: list[int] = []  # let go unfinished: parsed again after the decision
    kept = 0
    guessing = True
    for chunk in chunks:
        for i, summary in steps.analyse(chunk).items():
            summaries[i] = summary
        if steps.item_failed is not None:
            break  # as in clean_items: no decision, every item goes back (below)
        size = sum(len(htmls[i]) for i in chunk)
        if kept + size <= keep_chars:
            kept += size
            held.extend(chunk)
            continue
        guessed = steps.guess(summaries, held + chunk) if guessing else None
        if guessed is None:
            steps.forget(chunk)
            later.extend(chunk)
            continue
        made = steps.finish(chunk, guessed, rewrite)
        if steps.item_failed is not None:
            # An edit failed on a guessed decision: these items wait for the real one (and
            # the failure counts only if it fails with that), and guessing stops.
            steps.item_failed = None
            guessing = False
            later.extend(chunk)
            continue
        for i in chunk:
            ahead[i] = (guessed[i], made[i])
    if steps.item_failed is not None:
        steps.fail_all(steps.item_failed)
        return _finished(steps, chunks, [None] * len(htmls), rewrite)
    decisions = steps.decide(summaries)
    results: list[Cleaned | None] = [None] * len(htmls)
    for i, (guess, result) in ahead.items():
        if guess == decisions[i]:
            results[i] = result
        else:
            later.append(i)
    for part in (held, sorted(later)):
        for chunk in _chunks([htmls[i] for i in part], chunk_chars):
            indices = [part[k] for k in chunk]
            made = steps.finish(indices, decisions, rewrite)
            for i in indices:
                results[i] = made[i]
    if steps.item_failed is not None:
        # The feed rule failed on one item's edit: in clean_items every item goes back.
        steps.fail_all(steps.item_failed)
        return _finished(steps, chunks, decisions, rewrite)
    return [cleaned for cleaned in results if cleaned is not None]


def _finished(
    steps: Staged,
    chunks: list[list[int]],
    decisions: Sequence[frozenset[str] | None],
    rewrite: TreeHook | None,
) -> list[Cleaned]:
    """Every item finished, chunk by chunk (parsed again where steps no longer holds it)."""
    results: list[Cleaned] = []
    for chunk in chunks:
        made = steps.finish(chunk, decisions, rewrite)
        results.extend(made[i] for i in chunk)
    return results


def _chunks(htmls: Sequence[str], chars: int) -> list[list[int]]:
    """Consecutive indices, each run holding up to ``chars`` characters (one item at least)."""
    chunks: list[list[int]] = []
    chunk: list[int] = []
    size = 0
    for i, html in enumerate(htmls):
        if chunk and size + len(html) > chars:
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(i)
        size += len(html)
    if chunk:
        chunks.append(chunk)
    return chunks
