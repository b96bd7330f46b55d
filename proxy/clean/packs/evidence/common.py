"""What the evidence rules share: the pack, what a block must not be or hold, shown text."""

from __future__ import annotations

from collections.abc import Iterator

from lxml.html import HtmlElement

from proxy.clean.nodes import MEDIA_TAGS, STRUCTURAL_TAGS, drop, is_blank, tag_of
from proxy.clean.registry import declare_pack

PACK = declare_pack(
    "evidence",
    "generic junk evidence: ad/sponsor/promo/newsletter/share/related widget class names on"
    " short blocks, ad labels in many languages, subscription forms, tracker URL shapes,"
    " related-article lists, views/rights notices and download-our-app lines at an item's edge",
)

# --- what a block must not be or hold ------------------------------------------------------

# Content that no widget rule ever removes, nor anything holding it.
# Headings and captions are protected where they stand; the rest also protects what holds them.
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6", "figcaption"])
PROTECTED_TAGS = (
    frozenset(
        [
            "pre",
            "code",
            "kbd",
            "samp",
            "table",
            "blockquote",
            "figure",
            "math",
            "video",
            "audio",
            "iframe",
            "picture",
        ]
    )
    | _HEADINGS
)
_PROTECTED_INSIDE = tuple(sorted(PROTECTED_TAGS - _HEADINGS))
NEVER_REMOVED = STRUCTURAL_TAGS | MEDIA_TAGS | PROTECTED_TAGS | {"html", "body"}


def holds_protected(node: HtmlElement) -> bool:
    return next(node.iter(*_PROTECTED_INSIDE), None) is not None


def inside_protected(node: HtmlElement) -> bool:
    """node is part of code, a table, a quote, a figure, a formula or a heading."""
    return any(tag_of(ancestor) in PROTECTED_TAGS for ancestor in node.iterancestors())


# Elements whose text is not shown: a script inside an ad slot is not the slot's text.
HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript"})


def _visible_pieces(node: HtmlElement) -> Iterator[str]:
    """The pieces of node's shown text (not inside scripts, styles or comments), in order."""
    stack: list[tuple[HtmlElement, bool]] = [(node, False)]
    while stack:
        element, done = stack.pop()
        if done:
            if element is not node and element.tail:
                yield element.tail
            continue
        stack.append((element, True))
        tag = tag_of(element)
        if tag and tag not in HIDDEN_TAGS:  # (a comment: only its tail)
            if element.text:
                yield element.text
            stack.extend((child, False) for child in reversed(element))


def visible_text(node: HtmlElement, limit: int | None = None) -> str | None:
    """node's shown text, or None once it has more than limit non-whitespace characters."""
    pieces: list[str] = []
    count = 0
    for piece in _visible_pieces(node):
        pieces.append(piece)
        if limit is not None:
            count += sum(map(len, piece.split()))
            if count > limit:
                return None
    return "".join(pieces)


def shown_characters(node: HtmlElement) -> int:
    """Non-whitespace characters of node's shown text."""
    return sum(sum(map(len, piece.split())) for piece in _visible_pieces(node))


def media_count(node: HtmlElement) -> int:
    return sum(1 for _ in node.iter(*MEDIA_TAGS))


def in_running_text(node: HtmlElement) -> bool:
    """node sits inside a sentence: text right before or after it in its parent."""
    if not is_blank(node.tail):
        return True
    previous = node.getprevious()
    if previous is not None:
        return not is_blank(previous.tail)
    parent = node.getparent()
    return parent is not None and not is_blank(parent.text)


class Item:
    """How much text and media the item holds, to never remove its only content."""

    __slots__ = ("characters", "media")

    def __init__(self, root: HtmlElement) -> None:
        self.characters = shown_characters(root)
        self.media = media_count(root)

    def leaves_something(self, characters: int, media: int) -> bool:
        return self.characters > characters or self.media > media

    def remove(self, node: HtmlElement, characters: int, media: int) -> None:
        drop(node)
        self.characters -= characters
        self.media -= media
