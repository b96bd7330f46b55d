"""Labelled link lists: a block that holds a label and a list of links, and nothing else
(`<div>相关文章：<ul><li><a>…</a></li></ul></div>`, `<div><span>推荐的购买链接：</span><ul>…`).
What the evidence rules related_lists and shopping_lists share; no rule of its own, no I/O.

The label is the block's own leading text (its .text, or elements before the list that hold
only text: `<span>`, `<strong>`, a heading…), the list is one `<ul>`/`<ol>` whose every entry
is a short line that is mostly link text, and nothing with text or media follows the list in
the block. Such a block is self-contained: it is a widget wherever it stands in the item,
unlike a label line whose list runs on in the blocks after it (related.py reads those only
at the item's end). What the label must say is the caller's (is_label).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lxml.html import HtmlElement

from proxy.clean.nodes import (
    has_media,
    has_text,
    is_attached,
    is_blank,
    short_text,
    tag_of,
    text_of,
)
from proxy.clean.packs.evidence.common import (
    Item,
    holds_protected,
    inside_protected,
    media_count,
    shown_characters,
)

LIST_ITEMS = 20  # a widget's list has at most this many entries…
LIST_LINE_CHARS = 90  # …each a title or a shop's name
LINKED_SHARE = 0.6  # …and mostly link text
LABEL_CHARS = 30  # a label is a few words
# Blocks that may hold a label and its list, and what may hold the label inside them.
BLOCK_TAGS = frozenset({"div", "p", "section", "aside", "nav", "footer"})
LABEL_TAGS = frozenset(
    {"span", "strong", "b", "em", "i", "small", "font", "label", "h2", "h3", "h4", "h5", "h6"}
)


def label_of(block: HtmlElement) -> tuple[str, HtmlElement] | None:
    """(label text, the list) when block is a label and a list of links and nothing else."""
    if tag_of(block) not in BLOCK_TAGS:
        return None
    children = list(block)
    lists = [c for c in children if tag_of(c) in ("ul", "ol")]
    if len(lists) != 1:
        return None
    the_list = lists[0]
    at = children.index(the_list)
    before, after = children[:at], children[at + 1 :]
    if any(
        tag_of(c) not in LABEL_TAGS or has_media(c) or next(c.iter("a"), None) is not None
        for c in before
    ):
        return None  # (a comment's tag_of is "": not a label holder either)
    if not is_blank(the_list.tail):
        return None
    for c in after:  # a <br> or an emptied wrapper may follow; text or media may not
        if not is_blank(c.tail) or (isinstance(c.tag, str) and (has_text(c) or has_media(c))):
            return None
    label = (block.text or "") + "".join(text_of(c) + (c.tail or "") for c in before)
    label = " ".join(label.split())
    if not label or len(label) > LABEL_CHARS:
        return None
    return label, the_list


def is_link_list(the_list: HtmlElement) -> bool:
    """Every entry of the list is a short line, mostly link text, with a link."""
    entries = list(the_list)
    if not entries or len(entries) > LIST_ITEMS or holds_protected(the_list):
        return False
    for entry in entries:
        if tag_of(entry) != "li" or not is_blank(entry.tail):
            return False
        text = short_text(entry, LIST_LINE_CHARS)
        if text is None or next(entry.iter("a"), None) is None:
            return False
        words = "".join(text.split())
        linked = "".join("".join(text_of(a).split()) for a in entry.iter("a"))
        if not words or len(linked) < LINKED_SHARE * len(words):
            return False
    return True


# A label line of its own before a list (the sibling form).
LINE_TAGS = BLOCK_TAGS | {"h2", "h3", "h4", "h5", "h6"}


def _label_line_before(the_list: HtmlElement, is_label: Callable[[str], bool]) -> bool:
    """Whether the element right before the list (only whitespace between) is a line whose
    whole text is a label is_label accepts, with no link and no media."""
    label = the_list.getprevious()
    if label is None or not isinstance(label.tag, str) or tag_of(label) not in LINE_TAGS:
        return False
    if not is_blank(label.tail) or has_media(label) or next(label.iter("a"), None) is not None:
        return False
    text = short_text(label, LABEL_CHARS)
    return bool(text) and is_label(" ".join(str(text).split()))


def labelled_groups(
    root: HtmlElement, is_label: Callable[[str], bool], *, line_before: bool = False
) -> list[list[HtmlElement]]:
    """What to remove under root, in one walk over its lists: each block (not root) that is
    a label is_label accepts and a list of links, and nothing else ([block]); with
    line_before, also each label line right before a list of links ([label, list]). None
    inside code, tables, quotes, figures or formulas."""
    found: list[list[HtmlElement]] = []
    for the_list in root.iter("ul", "ol"):
        block = the_list.getparent()
        if block is None:
            continue
        group: list[HtmlElement] | None = None
        if block is not root:
            labelled = label_of(block)
            if labelled is not None and labelled[1] is the_list and is_label(labelled[0]):
                group = [block]
        if group is None and line_before and _label_line_before(the_list, is_label):
            previous = the_list.getprevious()
            assert previous is not None
            group = [previous, the_list]
        # (the block is a div, p… itself: the list's ancestors are the block's and it)
        if group is None or inside_protected(the_list) or not is_link_list(the_list):
            continue
        found.append(group)
    return found


def remove_groups(root: HtmlElement, groups: Sequence[Sequence[HtmlElement]]) -> None:
    """Remove each group of nodes (a block, or a label and its list) together, when all of
    it is still in root and root keeps other content."""
    item = Item(root) if groups else None
    for group in groups:
        if item is None or not all(is_attached(node, root) for node in group):
            continue
        counts = [(shown_characters(node), media_count(node)) for node in group]
        characters, media = sum(c for c, _ in counts), sum(m for _, m in counts)
        if item.leaves_something(characters, media):
            for node, (c, m) in zip(group, counts, strict=True):
                item.remove(node, c, m)
