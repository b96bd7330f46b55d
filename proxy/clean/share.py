"""The `share` rule: social share links, their labels and containers. Part of the clean stage.

Only the URL decides whether a link is share markup: a link to a tweet or to a Facebook
group is content, a link to `twitter.com/intent/tweet` is a button. Labels ("分享 :",
"Share this:") go only when they stand alone in an element next to share markup or at the
very end of the item, because the bare word is ordinary prose in both languages.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from lxml.html import HtmlElement

from proxy.clean.nodes import (
    STRUCTURAL_TAGS,
    drop,
    elements,
    has_media,
    host_matches,
    host_of,
    is_attached,
    is_blank,
    path_matches,
    split_url,
    tag_of,
    text_of,
)

# (domain, path prefixes) of share endpoints; see nodes.path_matches for the prefix syntax.
SHARE_ENDPOINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("facebook.com", ("/sharer", "/sharer.php", "/share.php", "/dialog/share", "/dialog/feed")),
    ("twitter.com", ("/intent/tweet", "/intent/post", "/share")),
    ("x.com", ("/intent/tweet", "/intent/post", "/share")),
    ("api.whatsapp.com", ("/send",)),
    ("web.whatsapp.com", ("/send",)),
    ("t.me", ("/share",)),
    ("telegram.me", ("/share",)),
    ("service.weibo.com", ("/share",)),
    ("linkedin.com", ("/shareArticle", "/sharing/share-offsite", "/cws/share")),
    ("reddit.com", ("/submit",)),
    ("pinterest.com", ("/pin/create",)),
    ("social-plugins.line.me", ("/",)),
    ("lineit.line.me", ("/share",)),
    ("line.me", ("/R/msg", "/R/share")),
    ("vk.com", ("/share.php",)),
    ("addtoany.com", ("/add_to", "/share", "/share_save")),
    ("connect.qq.com", ("/widget/shareqq",)),
    ("sns.qzone.qq.com", ("/cgi-bin/qzshare",)),
    ("tumblr.com", ("/share", "/widgets/share")),
    ("news.ycombinator.com", ("/submitlink",)),
    # WordPress.com "gostumble", "godigg", "goreddit"… redirectors (empty anchors).
    ("feeds.wordpress.com", ("/1.0/go*",)),
)

# Schemes that only ever open an app's share sheet.
SHARE_SCHEMES = frozenset({"whatsapp", "fb-messenger"})

# Jetpack's sharing buttons link to the post itself with `?share=<service>`.
JETPACK_SHARE_SERVICES = frozenset(
    {
        "bluesky", "email", "facebook", "jetpack-whatsapp", "linkedin", "mastodon", "nextdoor",
        "pinterest", "pocket", "print", "reddit", "telegram", "threads", "tumblr", "twitter", "x",
    }
)

_LABEL = re.compile(
    r"""^(?:
        分享(?:到|至|给朋友|本文|此文)?
      | share(?:\s+this(?:\s+(?:article|post|story|page))?|\s+on|\s+via)?
      | sharing(?:\s+is\s+caring)?
    )\s*[:：!！]?$""",
    re.IGNORECASE | re.VERBOSE,
)
# Cheap pre-filter: a label has to contain one of these in some text node.
_LABEL_HINT = re.compile(r"分享|share|sharing", re.IGNORECASE)


def is_share_url(href: str | None) -> bool:
    """Whether a link URL is a share endpoint (after unescaping `&amp;` / `&#038;`)."""
    parts = split_url(href)
    if parts is None:
        return False
    scheme = parts.scheme.lower()
    if scheme in SHARE_SCHEMES:
        return True
    if scheme == "mailto":
        # "mailto:?subject=…&body=<url>" is a share button; "mailto:someone@x" is an address.
        return is_blank(parts.path)
    if scheme not in ("http", "https", ""):
        return False
    host = host_of(parts)
    if not host:
        return False
    query = parse_qs(parts.query)
    if any(service in JETPACK_SHARE_SERVICES for service in query.get("share", ())):
        return True
    path = parts.path or "/"
    if host_matches(host, "wa.me"):
        # wa.me/?text=… shares; wa.me/<number> is a "write to us" link, which is content.
        return path == "/"
    if (host_matches(host, "twitter.com") or host_matches(host, "x.com")) and (
        path in ("/", "/home") and "status" in query
    ):
        return True  # the old twitter.com/home?status=… share form (Slashdot)
    return any(
        host_matches(host, domain) and any(path_matches(path, p) for p in prefixes)
        for domain, prefixes in SHARE_ENDPOINTS
    )


def is_share_element(node: HtmlElement) -> bool:
    """Custom share widgets (<share-button>, <share-modal>) and self-promotion slots."""
    tag = tag_of(node)
    if "-" in tag and "share" in tag.split("-"):
        return True
    return any(
        name == "data-root-share" or name.startswith("data-selfpromo")
        for name in node.attrib
    )


def remove_share_markup(root: HtmlElement) -> None:
    """Remove share links, custom share widgets, their labels and the containers they empty.

    They only send the reader to a social network's share dialog; none of it is article text.
    """
    targets = [
        node
        for node in elements(root)
        if node is not root
        and (
            (tag_of(node) == "a" and is_share_url(node.get("href"))) or is_share_element(node)
        )
    ]
    for node in targets:
        if not is_attached(node, root):
            continue  # inside a target removed earlier
        _remove_with_leftovers(node, root)
    for label in _trailing_labels(root):
        if is_attached(label, root):
            _remove_with_leftovers(label, root)


def _remove_with_leftovers(node: HtmlElement, root: HtmlElement) -> None:
    """Remove node, a label right before it, then every ancestor left with nothing else."""
    while True:
        parent = node.getparent()
        previous = node.getprevious()
        drop(node)
        if previous is not None and _is_label(previous):
            drop(previous)
        if parent is None or parent is root or not _is_leftover(parent):
            return
        node = parent


def _is_leftover(node: HtmlElement) -> bool:
    """A container holding nothing but whitespace or a share label once share links are gone."""
    if tag_of(node) in STRUCTURAL_TAGS - {"li"} or has_media(node):
        return False  # never take table structure apart; lists of share buttons may go
    text = text_of(node).strip()
    return not text or (_LABEL.match(text) is not None and _has_no_links(node))


def _is_label(node: HtmlElement) -> bool:
    """An element whose whole text is a share label ("分享 :", "Share this:")."""
    if tag_of(node) in STRUCTURAL_TAGS or tag_of(node) == "" or has_media(node):
        return False
    return _LABEL.match(text_of(node).strip()) is not None and _has_no_links(node)


def _has_no_links(node: HtmlElement) -> bool:
    return all(a.get("href") is None for a in node.iter("a"))


def _trailing_labels(root: HtmlElement) -> list[HtmlElement]:
    """Label elements with nothing after them in the item: the end of a share bar."""
    found: list[HtmlElement] = []
    for node in elements(root):
        if node is root or not _has_label_hint(node) or not _is_label(node):
            continue
        while (up := node.getparent()) is not None and up is not root and _is_label(up):
            node = up  # take the outermost element that holds only the label
        if node not in found and _nothing_after(node, root):
            found.append(node)
    return found


def _has_label_hint(node: HtmlElement) -> bool:
    if node.text and _LABEL_HINT.search(node.text):
        return True
    return any(child.tail and _LABEL_HINT.search(child.tail) for child in node)


def _nothing_after(node: HtmlElement, root: HtmlElement) -> bool:
    """No text and no media follow node anywhere in the item."""
    while node is not root:
        if not is_blank(node.tail):
            return False
        for sibling in node.itersiblings():
            if not is_blank(sibling.tail) or not is_blank(text_of(sibling)) or has_media(sibling):
                return False
        node = node.getparent()
    return True
