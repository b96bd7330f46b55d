"""The `separators` pack: <br>/<hr> at the edges of an item. Part of the clean stage."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    MEDIA_TAGS,
    SEPARATOR_TAGS,
    STRUCTURAL_TAGS,
    VOID_TAGS,
    drop,
    has_media,
    has_text,
    is_blank,
    tag_of,
)
from proxy.clean.registry import declare_pack, item_rule
from proxy.sanitize import CODE_TAGS

PACK = declare_pack("separators", "<br>/<hr> and whitespace at the very start and end of the item")


# Do not look inside these for edge separators: a <br> in <pre> or a cell is content.
_NO_DESCENT_TAGS = STRUCTURAL_TAGS | VOID_TAGS | MEDIA_TAGS | {"pre", "table"}


def _is_separator_only(node: HtmlElement) -> bool:
    """<br>, <hr>, or an element holding nothing but those and whitespace."""
    tag = tag_of(node)
    if tag in SEPARATOR_TAGS:
        return True
    if tag in STRUCTURAL_TAGS or tag in VOID_TAGS or has_text(node) or has_media(node):
        return False
    if next(node.iter(*CODE_TAGS), None) is not None:
        return False  # a <pre>'s whitespace is what it shows, byte for byte (issue 12)
    return all(
        tag_of(inner) in SEPARATOR_TAGS
        or (tag_of(inner) not in STRUCTURAL_TAGS and tag_of(inner) not in VOID_TAGS)
        for inner in node.iterdescendants(etree.Element)
    )


@item_rule(PACK, "edges")
def trim_separators(root: HtmlElement) -> None:
    """Trim <br>/<hr> and whitespace at the very start and end of the item.

    They separated the article from junk that is gone now; a <br> between lines stays.
    """
    _trim_edge(root, at_end=False)
    _trim_edge(root, at_end=True)
    if len(root):
        root.text = (root.text or "").lstrip() or None
        root[-1].tail = (root[-1].tail or "").rstrip() or None
    else:
        root.text = (root.text or "").strip() or None


def _trim_edge(root: HtmlElement, *, at_end: bool) -> None:
    container = root
    while True:  # iterative descent: trees can be a few hundred levels deep
        while len(container):
            edge = container[-1] if at_end else container[0]
            before_edge = edge.tail if at_end else container.text
            if not is_blank(before_edge) or not _is_separator_only(edge):
                break
            drop(edge)
        if not len(container):
            return
        edge = container[-1] if at_end else container[0]
        if not is_blank(edge.tail if at_end else container.text):
            return  # loose text is the edge
        if tag_of(edge) in _NO_DESCENT_TAGS:
            return
        container = edge
