"""evidence.subscription_forms: a subscription form's whole container with its leftover lines."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import has_media, is_attached, is_blank, short_text, tag_of
from proxy.clean.packs.evidence.common import (
    NEVER_REMOVED,
    PACK,
    Item,
    holds_protected,
    inside_protected,
    media_count,
    shown_characters,
    visible_text,
)
from proxy.clean.packs.evidence.names import WIDGET_PAIRS, widget_names, words_of
from proxy.clean.registry import item_rule

# --- subscription_forms -------------------------------------------------------------------

# Block names (whole words) of a subscription widget: the newsletter words of WIDGET_WORDS
# and the mail-list services'.
SUBSCRIBE_WORDS = frozenset(
    ["newsletter", "newsletters", "subscribe", "subscription", "signup", "optin"]
) | frozenset(["mc4wp", "convertkit", "mailchimp", "mailerlite"])
# Button and leftover-line wording (case-folded substrings).
SUBSCRIBE_BUTTONS = (
    "subscribe",
    "sign up",
    "sign me up",
    "signup",
    "join",
    "get updates",
    "abonnieren",
    "s'abonner",
    "s’abonner",
    "abonner",
    "suscribir",
    "assinar",
    "iscriviti",
    "aanmelden",
    "подписаться",
    "订阅",
    "訂閱",
    "登録",
    "購読",
    "구독",
)
LEFTOVER_WORDS = (
    *SUBSCRIBE_BUTTONS,
    "newsletter",
    "email",
    "e-mail",
    "inbox",
    "spam",
    "unsubscribe",
    "privacy",
    "邮箱",
    "メール",
)
FORM_TEXT_MAX = 300  # the whole container
LEFTOVER_MAX = 160  # each leftover line next to it
_CONTROL_TAGS = ("form", "input", "button", "textarea", "select")
_CONTAINER_TAGS = frozenset({"div", "section", "aside", "p", "span", "form", "footer"})


def _subscription_named(node: HtmlElement) -> bool:
    for name in widget_names(node):
        words = words_of(name)
        if any(word in SUBSCRIBE_WORDS for word in words) or any(
            pair in WIDGET_PAIRS for pair in zip(words, words[1:], strict=False)
        ):
            return True
    return False


def _is_email_field(node: HtmlElement) -> bool:
    if (node.get("type") or "").strip().lower() == "email":
        return True
    return any("mail" in (node.get(name) or "").lower() for name in ("name", "id", "placeholder"))


def _is_subscribe_button(node: HtmlElement) -> bool:
    tag = tag_of(node)
    if tag == "input" and (node.get("type") or "").strip().lower() not in ("submit", "button"):
        return False
    label = (node.get("value") or "") if tag == "input" else (short_text(node, 40) or "")
    label = label.casefold()
    return any(word in label for word in SUBSCRIBE_BUTTONS)


def _has_subscription_controls(node: HtmlElement) -> bool:
    if next(node.iter("textarea", "select"), None) is not None:
        return False  # a comment, contact or search form asks for more than an address
    return any(_is_email_field(field) for field in node.iter("input")) or any(
        _is_subscribe_button(button) for button in node.iter("button", "input")
    )


def _is_leftover(node: HtmlElement) -> bool:
    """A line next to a form that only talks about subscribing ("No spam. Unsubscribe")."""
    if tag_of(node) in NEVER_REMOVED or has_media(node) or holds_protected(node):
        return False
    if next(node.iter(*_CONTROL_TAGS), None) is not None:
        return False  # another form: a candidate of its own
    text = visible_text(node, LEFTOVER_MAX)
    if text is None or is_blank(text):
        return False
    folded = text.casefold()
    return any(word in folded for word in LEFTOVER_WORDS)


LEFTOVER_SIBLINGS = 3  # leftover lines taken on each side of a form, at most


def _leftover_run(node: HtmlElement, *, backwards: bool) -> list[HtmlElement]:
    """The leftover lines right before (or after) node, with no other text between."""
    run: list[HtmlElement] = []
    current = node
    for _ in range(LEFTOVER_SIBLINGS):
        sibling = current.getprevious() if backwards else current.getnext()
        if sibling is None or not isinstance(sibling.tag, str):
            break
        if not is_blank(sibling.tail if backwards else current.tail) or not _is_leftover(sibling):
            break
        run.append(sibling)
        current = sibling
    return run


def _text_leftover(text: str | None) -> bool:
    if is_blank(text):
        return True
    assert text is not None
    folded = text.casefold()
    return len(text.strip()) <= LEFTOVER_MAX and any(w in folded for w in LEFTOVER_WORDS)


def _only_leftovers_besides(parent: HtmlElement, child: HtmlElement) -> bool:
    if not _text_leftover(parent.text):
        return False
    for sibling in parent:
        if not _text_leftover(sibling.tail):
            return False
        if sibling is not child and isinstance(sibling.tag, str) and not _is_leftover(sibling):
            return False
    return True


def _fits(node: HtmlElement) -> bool:
    return visible_text(node, FORM_TEXT_MAX) is not None and not holds_protected(node)


_FORM_CANDIDATES = etree.XPath(
    "descendant::form | descendant::*[@class or @id][.//input or .//button]"
)


@item_rule(PACK, "subscription_forms")
def remove_subscription_forms(root: HtmlElement) -> None:
    """A newsletter signup form's whole container, with its "Enter your email" leftovers."""
    if next(root.iter("form", "input", "button"), None) is None:
        return
    item: Item | None = None
    for node in _FORM_CANDIDATES(root):
        if node is root or not is_attached(node, root) or inside_protected(node):
            continue
        if tag_of(node) != "form" and (
            tag_of(node) not in _CONTAINER_TAGS or not _subscription_named(node)
        ):
            continue
        if not _fits(node) or not _has_subscription_controls(node):
            continue
        # Up through wrappers holding only the form and its leftover lines.
        while (
            (parent := node.getparent()) is not None
            and parent is not root
            and tag_of(parent) in _CONTAINER_TAGS
            and _fits(parent)
            and _only_leftovers_besides(parent, node)
        ):
            node = parent
        group = [node, *_leftover_run(node, backwards=True), *_leftover_run(node, backwards=False)]
        item = item or Item(root)
        characters = sum(shown_characters(n) for n in group)
        media = sum(media_count(n) for n in group)
        if len(group) > 1 and not item.leaves_something(characters, media):
            group = [node]  # its leftover lines are all the item has: they stay
            characters, media = shown_characters(node), media_count(node)
        if not item.leaves_something(characters, media):
            continue
        for member in group:
            item.remove(member, shown_characters(member), media_count(member))
