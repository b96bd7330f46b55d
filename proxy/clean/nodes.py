"""Small helpers over lxml nodes and URLs, shared by the cleaning rules. Does no I/O."""

from __future__ import annotations

import html
from urllib.parse import SplitResult, urlsplit

from lxml import etree
from lxml.html import HtmlElement

# Elements that show something without any text. An <img> counts even with only a lazy
# `data-src`: the rewrite stage turns that into a real src after cleaning.
MEDIA_TAGS = frozenset(
    {"img", "video", "audio", "iframe", "picture", "svg", "object", "embed", "source"}
)

# Table and list structure: removing an empty cell or item would shift the columns or the
# numbering, so no rule ever removes these because they are empty.
STRUCTURAL_TAGS = frozenset(
    {
        "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th",
        "li", "dt", "dd",
    }
)

VOID_TAGS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
        "param", "source", "track", "wbr",
    }
)

SEPARATOR_TAGS = frozenset({"br", "hr"})

# Lazy-loading attributes the rewrite stage reads; rules treat them like `src`.
LAZY_SRC_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "data-actualsrc")


def tag_of(node: HtmlElement) -> str:
    """The lower-case tag name, or "" for comments and processing instructions."""
    tag = node.tag
    return tag.lower() if isinstance(tag, str) else ""


def is_blank(text: str | None) -> bool:
    """True for None and for text that is only whitespace (str.strip also removes NBSP)."""
    return not text or not text.strip()


def elements(root: HtmlElement) -> list[HtmlElement]:
    """Every element under root (root included) in document order, without comments."""
    return list(root.iter(etree.Element))


def has_media(node: HtmlElement) -> bool:
    return next(node.iter(*MEDIA_TAGS), None) is not None


def text_of(node: HtmlElement) -> str:
    return str(node.text_content())


def is_attached(node: HtmlElement, root: HtmlElement) -> bool:
    """Whether node is still inside root (an earlier removal may have taken it out)."""
    return node is root or any(ancestor is root for ancestor in node.iterancestors())


def drop(node: HtmlElement) -> None:
    """Remove node and its content; its tail text stays where it was."""
    node.drop_tree()


def split_url(value: str | None) -> SplitResult | None:
    """Split an attribute URL after undoing a second level of escaping (`&amp;#038;`).

    lxml has already decoded the attribute once; feeds that escape twice still carry
    `&amp;` or `&#038;` at this point.
    """
    if not value:
        return None
    try:
        return urlsplit(html.unescape(value).strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a URL any rule cares about
        return None


def host_of(parts: SplitResult) -> str:
    try:
        return (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def host_matches(host: str, domain: str) -> bool:
    """`host` is `domain` or one of its subdomains (www., m., …)."""
    return host == domain or host.endswith("." + domain)


def path_matches(path: str, prefix: str) -> bool:
    """Segment-aware prefix test: "/share" matches "/share" and "/share/url", not "/shared".

    A prefix ending in "*" is a plain string prefix; "/" matches every path.
    """
    path = path.lower()
    prefix = prefix.lower()
    if prefix == "/":
        return True
    if prefix.endswith("*"):
        return path.startswith(prefix[:-1])
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")
