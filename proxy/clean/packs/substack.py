"""The `substack` pack: Substack's subscribe widgets and buttons. Does no I/O."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import class_tokens, drop, is_attached, is_blank, tag_of
from proxy.clean.registry import declare_pack, item_rule
from proxy.clean.urls import query_values, split_url

PACK = declare_pack(
    "substack", "Substack's subscribe widgets and Subscribe now / Share / Leave a comment buttons"
)


# Substack's subscribe widget (class names, and the component name of its editor block).
SUBSTACK_WIDGET_CLASSES = frozenset(
    {
        "subscription-widget-wrap",
        "subscription-widget-wrap-editor",
        "subscription-widget",
        "subscribe-widget",
    }
)
SUBSTACK_WIDGET_COMPONENTS = frozenset({"SubscribeWidgetToDOM", "SubscribeWidget"})
_SUBSTACK_CANDIDATES = etree.XPath(
    "descendant::*/@class[contains(., 'subscri') or contains(., 'button')]/.."
    " | descendant::*/@data-component-name/.."
)


def is_substack_action(href: str | None) -> bool:
    """A Substack button target: …/subscribe, a post's …/comments, or `?action=share`."""
    parts = split_url(href)
    if parts is None:
        return False
    last = parts.path.rstrip("/").rsplit("/", 1)[-1].lower()
    return last in ("subscribe", "comments") or "share" in query_values(parts.query, "action")


def _is_substack_button(node: HtmlElement) -> bool:
    """A Substack-styled button (`a.button`, or the `button-wrapper` around one) that
    subscribes, shares or opens the comments."""
    tokens = class_tokens(node)
    if tag_of(node) == "a":
        return "button" in tokens and is_substack_action(node.get("href"))
    if "button-wrapper" not in tokens:
        return False
    links = [a for a in node.iter("a") if a.get("href") is not None]
    return bool(links) and all(is_substack_action(a.get("href")) for a in links)


@item_rule(PACK, "buttons")
def remove_substack_junk(root: HtmlElement) -> None:
    """Remove Substack's subscribe widgets and its subscribe, share and comment buttons.

    The buttons are "Subscribe now", "Share", "Leave a comment" (`a.button` in a
    `button-wrapper`). Only Substack's own button markup goes: a sentence inviting readers
    to subscribe, or a link to the subscribe page inside the text, stays.
    """
    targets = []
    for node in _SUBSTACK_CANDIDATES(root):
        tokens = class_tokens(node)
        if (
            node.get("data-component-name") in SUBSTACK_WIDGET_COMPONENTS
            or not SUBSTACK_WIDGET_CLASSES.isdisjoint(tokens)
            or _is_substack_button(node)
        ):
            targets.append(node)
    for target in targets:
        parent = target.getparent()
        if (
            tag_of(target) == "a"
            and parent is not None
            and parent is not root
            and "button-wrapper" in class_tokens(parent)
            and len(parent) == 1
            and is_blank(parent.text)
            and is_blank(target.tail)
        ):
            target = parent  # the wrapper holds nothing but this button
        if target is not root and is_attached(target, root):
            drop(target)
