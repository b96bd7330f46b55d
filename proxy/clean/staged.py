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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from proxy.clean import TreeHook, _finish, _Item, _run_rules, _start
from proxy.clean.attribution import recording, running
from proxy.clean.registry import FeedContext, FeedSteps, Rule
from proxy.clean.ruleset import Ruleset
from proxy.models import Cleaned

__all__ = ["Staged", "Unsupported"]

NO_DECISION: frozenset[str] = frozenset()


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
            self._failed = (self.feed_rule.id, exc)
            for item in self._items.values():
                if not item.failed:
                    item.give_up(*self._failed)
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
        _run_rules(list(items.values()), self.after, self.feed, records)
        results = {i: _finish(i, item, rewrite, None) for i, item in items.items()}
        for i in indices:
            self._items.pop(i, None)
            self._states.pop(i, None)
        return results

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

    def _summary(self, state: Any) -> Any:
        steps = self.steps
        assert steps is not None
        return steps.summary(state)
