"""evidence.widget_tokens: widgets known by the whole words of their class, id or data-* names."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean import registry
from proxy.clean.nodes import is_attached, tag_of
from proxy.clean.packs.evidence.common import (
    NEVER_REMOVED,
    PACK,
    Item,
    holds_protected,
    in_running_text,
    inside_protected,
    media_count,
)
from proxy.clean.packs.evidence.names import little_text, node_strength
from proxy.clean.registry import item_rule

# (after the forms: a newsletter block goes there with its leftover lines)
_NAMED = etree.XPath("descendant::*[@class or @id or @*[starts-with(name(), 'data-')]]")


def any_named(root: HtmlElement) -> bool:
    """Whether _NAMED can find anything: an element under root with a class, id or data-*
    attribute. Most cleaned items have none left (their site's markup is gone with the
    platform packs); a walk over their attribute names costs a third of the XPath."""
    for node in root.iterdescendants(etree.Element):
        for name in node.keys():  # noqa: SIM118 (an element iterates its children)
            if name == "class" or name == "id" or name.startswith("data-"):
                return True
    return False


@item_rule(PACK, "widget_tokens")
def remove_named_widgets(root: HtmlElement) -> None:
    """An ad, sponsor, promo, newsletter, share or related widget with little text.

    Known by the whole words of its class, id or data-* names; it is not the article.
    """
    if registry.use_prefilters and not any_named(root):
        return
    item: Item | None = None
    for node in _NAMED(root):
        if tag_of(node) in NEVER_REMOVED or not is_attached(node, root):
            continue
        strength = node_strength(node)
        if not strength or in_running_text(node) or inside_protected(node):
            continue
        characters = little_text(node, strength)
        if characters is None or holds_protected(node):
            continue
        item = item or Item(root)
        media = media_count(node)
        if item.leaves_something(characters, media):
            item.remove(node, characters, media)
