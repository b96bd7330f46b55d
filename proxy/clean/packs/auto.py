"""The `auto` pack: junk no rule names, found by comparing a feed's items. Part of the clean
stage; does no I/O (proxy/clean/boilerplate.py holds the mechanism and its safety bounds)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml.html import HtmlElement

from proxy.clean import boilerplate, boilerplate_memory
from proxy.clean.boilerplate import remove_boilerplate
from proxy.clean.registry import FeedContext, FeedSteps, declare_pack, feed_rule

PACK = declare_pack(
    "auto",
    "boilerplate found across items: a block at an item's start or end (or after its last"
    " separator) that recurs, the same, in most items of the feed — learnt across fetches",
)


def _enabled(context: FeedContext) -> bool:
    options = context.options
    return not (options is not None and getattr(options, "auto_boilerplate", None) is False)


def _decide(summaries: Sequence[Any], context: FeedContext) -> list[frozenset[str]]:
    if not _enabled(context):
        return [frozenset()] * len(summaries)
    found = boilerplate_memory.decide(summaries, memory=context.memory)
    # Per item, only its own blocks that are boilerplate: all its result depends on.
    return [summary.blocks & found for summary in summaries]


def _apply(item: Any, decision: frozenset[str]) -> None:
    if decision:
        boilerplate.apply(item, decision)


STEPS = FeedSteps(
    analyse=lambda root, _context: boilerplate.analyse(root),
    summary=lambda item: item.summary(),
    decide=_decide,
    apply=_apply,
)


@feed_rule(PACK, "boilerplate", steps=STEPS)
def remove_repeated_blocks(roots: Sequence[HtmlElement], context: FeedContext) -> None:
    """A block that recurs at the edges of most items of this feed is the site's boilerplate.

    Copyright and disclaimer lines, "forward it to a friend", download-our-app lines and
    banners that no rule names. Off for a feed with `auto_boilerplate = false`.
    """
    if not _enabled(context):
        return
    remove_boilerplate(roots, memory=context.memory)
