"""The `auto` pack: junk no rule names, found by comparing a feed's items. Part of the clean
stage; does no I/O (proxy/clean/boilerplate.py holds the mechanism and its safety bounds)."""

from __future__ import annotations

from collections.abc import Sequence

from lxml.html import HtmlElement

from proxy.clean.boilerplate import remove_boilerplate
from proxy.clean.registry import FeedContext, declare_pack, feed_rule

PACK = declare_pack(
    "auto",
    "boilerplate found across items: a block at an item's start or end (or after its last"
    " separator) that recurs, the same, in most items of the feed — learnt across fetches",
)


@feed_rule(PACK, "boilerplate")
def remove_repeated_blocks(roots: Sequence[HtmlElement], context: FeedContext) -> None:
    """A block that recurs at the edges of most items of this feed is the site's boilerplate.

    Copyright and disclaimer lines, "forward it to a friend", download-our-app lines and
    banners that no rule names. Off for a feed with `auto_boilerplate = false`.
    """
    options = context.options
    if options is not None and getattr(options, "auto_boilerplate", None) is False:
        return
    remove_boilerplate(roots, memory=context.memory)
