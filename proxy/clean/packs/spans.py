"""The `spans` pack: bare <span> wrappers. Part of the clean stage; does no I/O."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    unwrapped,
)
from proxy.clean.registry import declare_pack, item_rule

PACK = declare_pack("spans", "bare <span> wrappers without attributes, keeping their text")


# Spans that keep their tag: those with any attribute.
_KEPT_SPANS = etree.XPath("descendant::span/@*/..")
_COUNT_SPANS = etree.XPath("count(descendant::span)")
# Tag names the HTML parser never produces (it lower-cases them).
_KEEP_MARK = "FEEDSCRUB-KEEP"
# Text nodes right after another text node: what etree.strip_tags leaves.
_SPLIT_TEXT = etree.XPath("descendant-or-self::text()[preceding-sibling::node()[1][self::text()]]")


@item_rule(PACK, "bare")
def unwrap_bare_spans(root: HtmlElement) -> None:
    """Unwrap <span>s without attributes, keeping their text: they style nothing."""
    kept = _KEPT_SPANS(root)
    bare = int(_COUNT_SPANS(root)) - len(kept)
    if bare <= 0:
        return
    unwrapped(root, "span", bare)
    for span in kept:
        span.tag = _KEEP_MARK
    # One pass in C instead of a drop_tag() per span (the seed item has 80 of them). Like
    # drop_tag it moves text and children into the parent…
    etree.strip_tags(root, "span")
    for span in kept:
        span.tag = "span"
    # …but it leaves the moved text as separate text nodes. Join them as drop_tag did, so
    # that an XPath `text()` test (here or in a feed's own rules) sees the text whole.
    for piece in _SPLIT_TEXT(root):
        owner = piece.getparent()
        if piece.is_tail:
            owner.tail = owner.tail  # lxml reads all adjacent text nodes, writes one
        else:
            owner.text = owner.text
