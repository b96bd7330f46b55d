"""The clean stage: one item's HTML in, its cleaned and sanitised HTML and what was removed out.

    from proxy.clean import clean, clean_items, DEFAULT_RULESET, compile_ruleset
    cleaned = clean(html, ruleset)          # -> proxy.models.Cleaned (no lxml needed to read it)
    cleaned.html                            # sanitised HTML, ready for the feed
    cleaned.removals                        # (Removal(rule="share.endpoint_links", pack="share",
                                            #   tag="a", text="Tweet", reason="…"), …)
    cleaned.links                           # (LinkChange(rule="tracking.parameters", old, new), …)
    clean_items([html, …], ruleset, rewrite=hook)   # a whole feed: feed rules see every item
    clean_items(htmls, ruleset, marked=show)        # also show(i, tree): the item as parsed,
                                                    # each removed element wrapped in a marker

`ruleset` is a `Ruleset` (`compile_ruleset(feed_options, DEFAULT_PACKS)`, or
`DEFAULT_RULESET`): built-in packs by name, then the feed's own rules. Packs live in
proxy/clean/packs/<pack>.py as small named rules registered with `registry.item_rule` (one
tree) or `registry.feed_rule` (every item's tree at once, e.g. boilerplate detection); a
rule removes through `nodes.drop`, so its removals are attributed to "<pack>.<name>" with
its docstring's first line as the reason. `rewrite(i, root)` runs on each cleaned tree
before it is serialised (the pipeline's image/link rewrite). Never raises: a rule that
fails leaves its item as it came (sanitised), `Cleaned.failed` names the rule, the log says
which item. With `marked` (the preview page and `feedscrub explain`), each item's tree is
also kept as it was parsed, and every part a rule removed (an element, a line, text) is
wrapped there in `<del data-feedscrub-rule="<pack>.<name>" data-feedscrub-removal="<index
in removals>">` (MARK_RULE, MARK_REMOVAL; clean/marking.py); serving never asks for it, so
it costs serving nothing.
Every hit is counted in feedscrub_rule_hits_total{rule="<pack>.<name>"}.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence

from lxml.html import HtmlElement

from proxy import metrics
from proxy.anchors import item_key
from proxy.clean import marking, registry
from proxy.clean import packs as _packs  # noqa: F401 (registers the built-in packs)
from proxy.clean.attribution import ItemRecord, recording, running, text_bytes
from proxy.clean.custom import apply_replacements
from proxy.clean.marking import MARK_REMOVAL, MARK_RULE
from proxy.clean.nodes import ItemHints, enter_item, leave_item
from proxy.clean.registry import PACKS, FeedContext, Rule, all_rules
from proxy.clean.ruleset import Ruleset, compile_ruleset
from proxy.clean.tree import parse_fragment, parse_source, serialise
from proxy.models import Cleaned
from proxy.sanitize import drop_non_xml_chars, sanitize_html, unwrap_spans_outside_code

__all__ = [
    "DEFAULT_PACKS",
    "DEFAULT_RULESET",
    "MARK_REMOVAL",
    "MARK_RULE",
    "PACKS",
    "Cleaned",
    "FeedContext",
    "Ruleset",
    "all_rules",
    "clean",
    "clean_items",
    "compile_ruleset",
    "parse_fragment",
    "serialise",
]

logger = logging.getLogger(__name__)

# Every built-in pack, in run order (proxy/clean/packs/__init__.py says why this order).
# Each is anchored on markers specific enough to be safe on any feed, so all are on by default.
DEFAULT_PACKS: tuple[str, ...] = tuple(PACKS)
DEFAULT_RULESET = Ruleset(packs=DEFAULT_PACKS)

TreeHook = Callable[[int, HtmlElement], None]

# Items holding more characters of HTML than this in all are cleaned a few at a time
# (staged.in_turn: the same results, each item parsed twice): every item's tree at once
# weighs ~7 bytes a character (a 20,000-item feed: ~730 MB). Below it (~30 MB of trees,
# a 900-item feed of 4 KB items) one parse each, all at once.
IN_TURN_CHARS = 4 * 1024 * 1024


# What an item holds before start() or give_up() gives it its own (never read or edited).
_NO_ROOT: HtmlElement = parse_source("")
_NO_HINTS = ItemHints("")


class _Item:
    """One item while it is being cleaned."""

    __slots__ = (
        "original",
        "source",
        "root",
        "hints",
        "record",
        "failed",
        "context",
        "before",
        "text",
    )

    def __init__(self, original: str, context: str) -> None:
        self.original = original
        self.context = context
        self.failed: str | None = None
        self.record = ItemRecord()
        self.source = ""
        self.root: HtmlElement = _NO_ROOT
        self.hints = _NO_HINTS
        self.before: HtmlElement | None = None  # marking mode: the tree as parsed
        self.text: bytes | None = None  # root's text in UTF-8 since a rule last ran on it

    def start(self, html: str, mark: bool = False) -> None:
        self.source = drop_non_xml_chars(html)
        self.root = parse_source(self.source)
        self.hints = ItemHints(self.source)
        if mark:
            self.before = copy.deepcopy(self.root)
            self.record.track(self.root)

    def key(self) -> str:
        """What names the item for its footnote ids' prefix (proxy.anchors.item_key)."""
        return item_key(self.original, self.context)

    def give_up(self, rule: str, exc: BaseException) -> None:
        """Leave the item as it came: a half-cleaned item is worse than an uncleaned one."""
        logger.warning(
            "clean: rule %r failed, item left as it was (context=%s): %r",
            rule,
            self.context or "-",
            exc,
        )
        self.failed = rule
        self.record = ItemRecord()
        self.root = parse_fragment(self.original)


def clean(
    html: str,
    ruleset: Ruleset = DEFAULT_RULESET,
    *,
    rewrite: Callable[[HtmlElement], None] | None = None,
    context: str = "",
) -> Cleaned:
    """Clean and sanitise one item's HTML. Never raises.

    Parameters:
        html: the item HTML (a fragment, or a whole document whose body is used).
        ruleset: the packs and custom rules to run (default: every built-in pack).
        rewrite: called with the cleaned tree before it is serialised (links, images).
        context: what the item is (feed URL, item id), for the log line when a rule fails.
    """
    hook: TreeHook | None = None if rewrite is None else (lambda _i, root: rewrite(root))
    return clean_items([html], ruleset, rewrite=hook, contexts=[context])[0]


def clean_items(
    htmls: Sequence[str],
    ruleset: Ruleset = DEFAULT_RULESET,
    *,
    rewrite: TreeHook | None = None,
    contexts: Sequence[str] = (),
    feed: FeedContext | None = None,
    marked: TreeHook | None = None,
) -> list[Cleaned]:
    """Clean every item of one feed: item rules on each tree, feed rules on all of them.

    Parameters:
        htmls: each item's HTML (summary or content), in feed order.
        ruleset: as for clean.
        rewrite: called as rewrite(index, tree) on each cleaned tree before serialising.
        contexts: per item, what it is, for log lines ("" when not given).
        feed: what feed rules know about the feed (its key, options, memory).
        marked: called as marked(index, tree) with each item's tree as parsed, every
            element a rule removed wrapped in a marker <del> (see the module docstring).

    Returns one Cleaned per input, in order. Never raises.
    """
    if marked is None and sum(map(len, htmls)) > IN_TURN_CHARS:
        from proxy.clean import staged  # (it imports this module)

        try:
            results = staged.in_turn(htmls, ruleset, rewrite=rewrite, contexts=contexts, feed=feed)
        except staged.Unsupported:
            pass  # (an unknown pack, or a feed rule without steps: all at once, as below)
        else:
            _count(results)
            return results
    items = [_Item(html, contexts[i] if i < len(contexts) else "") for i, html in enumerate(htmls)]
    try:
        rules = ruleset.rules()
    except ValueError as exc:
        logger.warning("%s; items left as they were", exc)
        rules = ()
        for item in items:
            item.failed = "unknown pack"
    _run(items, ruleset, rules, feed or FeedContext(options=ruleset.options), marked is not None)
    results = [_finish(i, item, rewrite, marked) for i, item in enumerate(items)]
    _count(results)
    return results


def _run(
    items: list[_Item], ruleset: Ruleset, rules: Sequence[Rule], feed: FeedContext, mark: bool
) -> None:
    _start(items, ruleset, mark)
    records = {id(item.root): item.record for item in items if not item.failed}
    _run_rules(items, rules, feed, records)


def _start(items: list[_Item], ruleset: Ruleset, mark: bool) -> None:
    """Each item parsed (after the feed's replacements), ready for the rules."""
    for item in items:
        if item.failed:
            item.root = parse_fragment(item.original)
            continue
        html = item.original
        if ruleset.replacements:
            try:
                html = apply_replacements(html, ruleset.replacements)
            except Exception as exc:  # a runaway pattern (TimeoutError) or a bad replacement
                item.give_up("custom.replace", exc)
                continue
        item.start(html, mark)


def _run_rules(
    items: list[_Item], rules: Sequence[Rule], feed: FeedContext, records: dict[int, ItemRecord]
) -> None:
    """The rules in order, each over every item still live (clean/staged.py runs a feed's
    rules in two parts through here: before its feed rule, and after)."""
    for item in items:
        item.text = None  # (the trees may have been edited between two calls: staged.py)
    live = [item for item in items if not item.failed]
    with recording(records):
        for rule in rules:
            if not live:
                return
            lost = False  # an item failed: the next rule runs on the others
            with running(rule.info):
                if rule.item is not None:
                    needs = rule.needs if registry.use_prefilters else None
                    for item in live:
                        if needs is None or _may_find(needs, item):
                            _run_item_rule(rule, item, records)
                            item.text = None  # (it may have changed the tree)
                            lost = lost or item.failed is not None
                elif rule.feed is not None:
                    _run_feed_rule(rule, live, feed, records)
                    for item in live:
                        item.text = None
                    lost = True
            if lost:
                live = [item for item in live if not item.failed]


def _may_find(needs: registry.Needs, item: _Item) -> bool:
    """Whether the item can hold anything the rule needs (registry.Needs)."""
    hints = item.hints
    if needs.markup and hints.may_hold(needs.encoded_markup):
        return True
    if needs.hosts and hints.may_link_to_any(needs.encoded_hosts):
        return True
    if needs.text:
        text = item.text
        if text is None:  # the tree as this rule will see it
            text = item.text = text_bytes(item.root)
        # In UTF-8, not decoded (the decode was 70 % of text_of on a CJK item); each of a
        # piece's bytes first: one memchr each, a search of the text only when all are there.
        return any(
            all(byte in text for byte in distinct) and piece in text
            for piece, distinct in needs.encoded_text
        )
    return False


def _run_item_rule(rule: Rule, item: _Item, records: dict[int, ItemRecord]) -> None:
    assert rule.item is not None
    previous = enter_item(item.root, item.hints)  # (no context manager: one per rule, item)
    try:
        rule.item(item.root)
    except Exception as exc:  # any rule bug must leave the item as it was (DESIGN.md)
        records.pop(id(item.root), None)
        item.give_up(rule.label or rule.id, exc)
    finally:
        leave_item(previous)


def _run_feed_rule(
    rule: Rule, live: list[_Item], feed: FeedContext, records: dict[int, ItemRecord]
) -> None:
    assert rule.feed is not None
    try:
        rule.feed([item.root for item in live], feed)
    except Exception as exc:  # it may have edited some trees: all of them go back
        for item in live:
            records.pop(id(item.root), None)
            item.give_up(rule.label or rule.id, exc)


def _finish(index: int, item: _Item, rewrite: TreeHook | None, marked: TreeHook | None) -> Cleaned:
    removals, links = item.record.finished()
    if marked is not None:
        try:
            marked(index, _marked_tree(item))
        except Exception:  # the marked copy is for people reading; the item still goes out
            logger.exception("clean: marked copy failed (context=%s)", item.context or "-")
    try:
        if rewrite is not None:
            rewrite(index, item.root)
        unwrap_spans_outside_code(item.root)
        html = sanitize_html(serialise(item.root), spans_unwrapped=True, item_key=item.key())
        return Cleaned(html, removals, links, item.failed)
    except Exception:
        # Last resort (a rewrite bug): the item goes out uncleaned but still sanitised.
        logger.exception("clean: item could not be finished (context=%s)", item.context or "-")
        return Cleaned(
            sanitize_html(item.original, item_key=item.key()), failed=item.failed or "rewrite"
        )


def _marked_tree(item: _Item) -> HtmlElement:
    """The item as parsed, each part a rule removed wrapped in a marker <del> (marking.py)."""
    before = item.before if item.before is not None else parse_fragment(item.original)
    return marking.marked_tree(before, item.record)


def _count(results: Sequence[Cleaned]) -> None:
    totals: dict[str, int] = {}
    for cleaned in results:
        for rule, hits in cleaned.hits().items():
            totals[rule] = totals.get(rule, 0) + hits
    for rule, hits in totals.items():
        metrics.count_rule(rule, hits)
