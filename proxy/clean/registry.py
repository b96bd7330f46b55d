"""The registry of built-in cleaning rules: packs, in run order, each a list of small named rules.

A pack module (proxy/clean/packs/<pack>.py) declares its pack once and its rules with
decorators; importing proxy.clean.packs registers every pack in the default run order:

    PACK = declare_pack("share", "share buttons and bars: …")

    @item_rule(PACK, "endpoint_links")
    def remove_share_links(root: HtmlElement) -> None:
        \"\"\"Links to social networks' share dialogs.\"\"\"  # ← each removal's reason

    @feed_rule(PACK, "boilerplate")
    def remove_repeated_blocks(roots: Sequence[HtmlElement], context: FeedContext) -> None:
        \"\"\"Blocks that recur in most items of the feed.\"\"\"  # sees every item at once

Rules remove through proxy.clean.nodes.drop (and report unwraps and link changes through
nodes.unwrapped / nodes.link_changed): attribution to "<pack>.<name>" is then automatic.

A rule may say what it `needs` to find anything (`Needs`): markers in the markup, a link's
domain, a piece of text. The runner skips it on an item that cannot hold any of them,
without calling it. Each Needs must follow from the rule's own code (a comment beside it
says why); tests/test_clean_prefilters.py cleans every item of tests/data with and without
them (`use_prefilters`) and wants the very same output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

from proxy.clean.attribution import RuleInfo

ItemRuleFunction = Callable[[HtmlElement], None]

# Off: every rule runs on every item (the differential test compares both ways).
use_prefilters = True


@dataclass(frozen=True, slots=True)
class Needs:
    """What an item must be able to hold for a rule to find anything in it: any of these.

    markup: markers (lower-case) in a tag name, attribute name or attribute value
        (ItemHints.may_contain; ASCII-case-insensitive, decoded once and twice).
    hosts: domains (lower-case) a link or image URL can be on, subdomains included
        (ItemHints.may_link_to), for rules that test URLs with urls.host_of / domains_of.
    text: pieces of text (case-sensitive, no whitespace in them) in the item's text as the
        rule runs (its tree's text_content()), for rules that look for them in the text of
        an element or in one .text / .tail, whitespace at most collapsed, never removed.
    """

    markup: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    # Looked up as they are given, encoded once (ItemHints.may_hold and may_link_to_any;
    # text in UTF-8, looked up in the text's UTF-8: the same answer, see the runner).
    encoded_markup: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    encoded_hosts: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    # (each text piece with its distinct bytes: each byte is a memchr to look for, which
    # rules out most pieces before a search of the whole text)
    encoded_text: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for piece in self.text:
            if not piece or any(c.isspace() for c in piece):
                raise ValueError(f"clean: a text need holds no whitespace: {piece!r}")
        for value in (*self.markup, *self.hosts):
            if not value.isascii() or value != value.lower():
                raise ValueError(f"clean: markup and host needs are lower-case ASCII: {value!r}")
        object.__setattr__(self, "encoded_markup", tuple(m.encode() for m in self.markup))
        object.__setattr__(self, "encoded_hosts", tuple(h.encode() for h in self.hosts))
        pieces = tuple((t.encode(), bytes(sorted(set(t.encode())))) for t in self.text)
        object.__setattr__(self, "encoded_text", pieces)


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a feed rule knows besides the trees: the feed's options and a place to keep
    what it learns between fetches (None when the caller has no store)."""

    feed_key: str = ""  # stable per feed (its URL or name); "" when unknown
    options: Any = None  # the feed's FeedOptions (None: defaults)
    memory: Any = None  # a MutableMapping[str, Any] kept across fetches, or None


FeedRuleFunction = Callable[[Sequence[HtmlElement], FeedContext], None]


@dataclass(frozen=True, slots=True)
class FeedSteps:
    """A feed rule taken apart, so a caller can keep each item's part by content and redo
    only the items that changed (proxy/clean/staged.py). Running analyse on every tree,
    decide over their summaries, then apply to each is the rule itself, step by step.

    analyse(tree, context) -> state: what the rule reads of one tree (after the rules before it)
    summary(state) -> the part of state decide needs; a pure function of the tree, kept by
        callers between builds (frozen, small)
    decide(summaries, context) -> one decision per item, in order: a frozenset of strings
        naming everything the item's result depends on at feed level (updates memory)
    apply(state, decision): the rule's edits to that tree
    """

    analyse: Callable[[HtmlElement, FeedContext], Any]
    summary: Callable[[Any], Any]
    decide: Callable[[Sequence[Any], FeedContext], list[frozenset[str]]]
    apply: Callable[[Any, frozenset[str]], None]


@dataclass(frozen=True, slots=True)
class Rule:
    """One named rule: over one item's tree (item rule) or every item of a feed (feed rule)."""

    info: RuleInfo
    item: ItemRuleFunction | None = None
    feed: FeedRuleFunction | None = None
    steps: FeedSteps | None = None  # a feed rule that can also run in steps
    label: str = ""  # how the log names it, e.g. "remove_text[0]" (default: its id)
    needs: Needs | None = None  # item rules: skipped where none of this can be (Needs)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def pack(self) -> str:
        return self.info.pack


@dataclass(slots=True)
class Pack:
    name: str
    summary: str  # one line, for README.md and `feedscrub explain`
    rules: list[Rule] = field(default_factory=list)


# Every built-in pack, in the order they were declared, which is the default run order.
PACKS: dict[str, Pack] = {}


def declare_pack(name: str, summary: str) -> Pack:
    if name in PACKS:
        raise ValueError(f"clean: pack {name!r} declared twice")
    pack = PACKS[name] = Pack(name, summary)
    return pack


def _reason(function: Callable[..., object], reason: str | None) -> str:
    if reason:
        return reason
    doc = (function.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"clean: rule {function.__name__} needs a docstring (its reason)")
    return doc.splitlines()[0]


def make_rule(
    pack: str,
    name: str,
    function: ItemRuleFunction,
    reason: str,
    label: str = "",
    needs: Needs | None = None,
) -> Rule:
    """An item rule outside the registry (the feed's own rules)."""
    return Rule(RuleInfo(pack, name, reason), item=function, label=label, needs=needs)


def item_rule(
    pack: Pack, name: str, *, reason: str | None = None, needs: Needs | None = None
) -> Callable[[ItemRuleFunction], ItemRuleFunction]:
    """Register function as the item rule "<pack>.<name>"; its docstring's first line is the
    reason each removal gives, unless reason is passed. needs: see Needs."""

    def register(function: ItemRuleFunction) -> ItemRuleFunction:
        rule = make_rule(pack.name, name, function, _reason(function, reason), needs=needs)
        pack.rules.append(rule)
        return function

    return register


def feed_rule(
    pack: Pack, name: str, *, reason: str | None = None, steps: FeedSteps | None = None
) -> Callable[[FeedRuleFunction], FeedRuleFunction]:
    """Register function as the feed rule "<pack>.<name>": it is called once per feed with
    every item's tree (after the packs before it ran on each item, before those after).
    steps: the same rule in steps (FeedSteps), when it has them."""

    def register(function: FeedRuleFunction) -> FeedRuleFunction:
        info = RuleInfo(pack.name, name, _reason(function, reason))
        pack.rules.append(Rule(info, feed=function, steps=steps))
        return function

    return register


def rules_of(packs: Sequence[str], registry: Mapping[str, Pack] = PACKS) -> tuple[Rule, ...]:
    """The rules of the named packs, in the order given. ValueError names unknown packs."""
    unknown = [name for name in packs if name not in registry]
    if unknown:
        raise ValueError(
            f"clean: unknown rule pack {', '.join(map(repr, unknown))};"
            f" known: {', '.join(registry)}"
        )
    return tuple(rule for name in packs for rule in registry[name].rules)


def all_rules() -> tuple[Rule, ...]:
    """Every built-in rule, in the default run order."""
    return rules_of(tuple(PACKS))


def set_order(order: Sequence[str]) -> None:
    """Put PACKS in this run order; every declared pack must be named exactly once."""
    if sorted(order) != sorted(PACKS):
        raise ValueError(
            f"clean: run order {tuple(order)} does not name each pack of {tuple(PACKS)}"
        )
    packs = [PACKS[name] for name in order]
    PACKS.clear()
    PACKS.update((pack.name, pack) for pack in packs)
