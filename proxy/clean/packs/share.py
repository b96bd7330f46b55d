"""The `share` rule: social share links, widgets, their labels and containers. Part of the
clean stage.

Only the URL decides whether a link is share markup: a link to a tweet or to a Facebook
group is content, a link to `twitter.com/intent/tweet` is a button. Widgets are known by
their own tag, class or attribute names (Jetpack's `sharedaddy`, AddToAny's `a2a_kit`,
ShareThis, `<share-button>`). Labels ("分享 :", "Share this:") go only when they stand
alone in an element next to share markup or at the very end of the item, because the bare
word is ordinary prose in both languages.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    STRUCTURAL_TAGS,
    class_tokens,
    drop,
    has_media,
    has_text,
    hints_for,
    in_document_order,
    is_attached,
    is_blank,
    iter_tags,
    one_of,
    short_text,
    tag_of,
)
from proxy.clean.registry import declare_pack, item_rule
from proxy.clean.urls import domains_of, host_of, path_matches, query_values, unescape

PACK = declare_pack(
    "share",
    "share buttons and bars: share-endpoint links (Facebook, X, WhatsApp, AddToAny,"
    " ShareThis, Jetpack ?share=…), share widgets (sharedaddy, a2a_*, sharethis), labels",
)

# (domain, path prefixes) of share endpoints; see urls.path_matches for the prefix syntax.
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
    ("sharethis.com", ("/share",)),
    ("connect.qq.com", ("/widget/shareqq",)),
    ("sns.qzone.qq.com", ("/cgi-bin/qzshare",)),
    ("tumblr.com", ("/share", "/widgets/share")),
    ("news.ycombinator.com", ("/submitlink",)),
    # WordPress.com "gostumble", "godigg", "goreddit"… redirectors (empty anchors).
    ("feeds.wordpress.com", ("/1.0/go*",)),
)

# SHARE_ENDPOINTS by domain.
_ENDPOINTS: dict[str, tuple[str, ...]] = {}
for _domain, _prefixes in SHARE_ENDPOINTS:
    _ENDPOINTS[_domain] = _ENDPOINTS.get(_domain, ()) + _prefixes

# Schemes that only ever open an app's share sheet.
SHARE_SCHEMES = frozenset({"whatsapp", "fb-messenger"})

# Jetpack's sharing buttons link to the post itself with `?share=<service>` (custom
# services are `custom-<id>`).
JETPACK_SHARE_SERVICES = frozenset(
    {
        "bluesky",
        "email",
        "facebook",
        "google-plus-1",
        "jetpack-whatsapp",
        "linkedin",
        "mastodon",
        "nextdoor",
        "pinterest",
        "pocket",
        "press-this",
        "print",
        "reddit",
        "skype",
        "telegram",
        "threads",
        "tumblr",
        "twitter",
        "x",
    }
)
_JETPACK_CUSTOM_SERVICE = re.compile(r"custom-\d+")

# Class names (whole tokens) of share widgets: Jetpack's `sharedaddy` block (share buttons,
# "Like this"), AddToAny (`a2a_kit`, `a2a_button_facebook`, `addtoany_share_save_container`…)
# and ShareThis (`sharethis-inline-share-buttons`, the older `st_facebook_large` spans).
SHARE_WIDGET_CLASS = re.compile(
    r"""\A(?:sharedaddy
      | a2a_[\w-]++ | addtoany_[\w-]++
      | st_(?:sharethis|facebook|fblike|twitter|email|linkedin|pinterest|googleplus|plusone
            |tumblr|reddit|whatsapp|print|digg|stumbleupon|delicious|messenger|wechat|weibo)
        (?:_[\w-]++)?)\Z""",
    re.VERBOSE,
)

# Any other token holding "sharethis" (`sharethis-inline-share-buttons`), tested as a
# substring: `[\w-]*sharethis[\w-]*` backtracks quadratically on a long token.
_WORD_TOKEN = re.compile(r"[\w-]+")


def _is_share_widget_class(token: str) -> bool:
    if "sharethis" in token:
        return _WORD_TOKEN.fullmatch(token) is not None
    return SHARE_WIDGET_CLASS.fullmatch(token) is not None


_LABEL = re.compile(
    r"""^(?:
        分享(?:到|至|给朋友|本文|此文)?
      | share(?:\s++this(?:\s++(?:article|post|story|page))?|\s++on|\s++via)?
      | sharing(?:\s++is\s++caring)?
    )\s*+[:：!！]?$""",
    re.IGNORECASE | re.VERBOSE,
)
# Cheap pre-filter: a label has to contain one of these in some text node.
_LABEL_HINT = re.compile(r"分享|share|sharing", re.IGNORECASE)


# Every way is_share_url can say yes needs one of these in the URL (unescaped, lower-cased,
# tabs and line breaks gone, as urlsplit drops them): a share scheme, the host's domain, or
# the Jetpack query key (ASCII: it is "share" in the URL itself, or "share" once
# percent-decoded, which an ASCII character always decodes to whatever surrounds it).
_SHARE_URL_WORDS = (*SHARE_SCHEMES, "mailto", *_ENDPOINTS, "wa.me", "twitter.com", "x.com", "share")
_SHARE_URL_WORD = re.compile(one_of(_SHARE_URL_WORDS))  # (one pass: 2-3x `any(w in url)`)


def _may_be_share_url(unescaped: str) -> bool:
    lowered = unescaped.lower()
    if "\t" in lowered or "\n" in lowered or "\r" in lowered:
        lowered = lowered.replace("\t", "").replace("\n", "").replace("\r", "")
    if _SHARE_URL_WORD.search(lowered):
        return True
    return "%" in lowered and "share" in unquote(lowered)


def is_share_url(href: str | None) -> bool:
    """Whether a link URL is a share endpoint (after unescaping `&amp;` / `&#038;`)."""
    if not href:
        return False
    unescaped = unescape(href)  # (once, for both: split_url is urlsplit(unescape(href).strip()))
    if not _may_be_share_url(unescaped):
        return False  # (a substring test instead of urlsplit for most links of an item)
    try:
        parts = urlsplit(unescaped.strip())
    except ValueError:  # as split_url: not a URL any rule cares about
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
    path = parts.path or "/"
    domains = domains_of(host)
    for domain in domains:
        if any(path_matches(path, prefix) for prefix in _ENDPOINTS.get(domain, ())):
            return True  # (no endpoint is on wa.me, so the order of these tests does not matter)
    if any(
        service in JETPACK_SHARE_SERVICES or _JETPACK_CUSTOM_SERVICE.fullmatch(service)
        for service in query_values(parts.query, "share")
    ):
        return True
    if "wa.me" in domains:
        # wa.me/?text=… shares; wa.me/<number> is a "write to us" link, which is content.
        return path == "/"
    # The old twitter.com/home?status=… share form (Slashdot).
    return ("twitter.com" in domains or "x.com" in domains) and (
        path in ("/", "/home") and bool(query_values(parts.query, "status"))
    )


def is_share_element(node: HtmlElement) -> bool:
    """Share widgets and self-promotion slots, known by their tag, class or attributes.

    Custom elements (<share-button>, <share-modal>), `data-root-share` and `data-selfpromo-*`
    holders, and the widgets of SHARE_WIDGET_CLASS; a ShareThis `st-btn` counts when it names
    its network (`data-network`).
    """
    tag = tag_of(node)
    if "-" in tag and "share" in tag.split("-"):
        return True
    if any(name == "data-root-share" or name.startswith("data-selfpromo") for name in node.attrib):
        return True
    tokens = class_tokens(node)
    return any(_is_share_widget_class(token) for token in tokens) or (
        "st-btn" in tokens and node.get("data-network") is not None
    )


# Where share widgets can be: elements whose class or attributes may make is_share_element
# true, and elements named after share widgets (added per item). (Not every link: a link is
# a share element only by its class or attributes, which these paths find.)
_CLASS_WIDGETS = (
    "descendant::*/@class[contains(., 'sharedaddy') or contains(., 'a2a_')"
    " or contains(., 'addtoany_') or contains(., 'sharethis') or contains(., 'st_')"
    " or contains(., 'st-btn')]/.."
)
_ATTRIBUTE_WIDGETS = (
    "descendant::*/@*[name() = 'data-root-share' or starts-with(name(), 'data-selfpromo')]/.."
)
# Tag names an XPath name test can spell (no prefix, nothing a name cannot hold).
_XPATH_NAME = re.compile(r"[a-z_][a-z0-9._-]*")


@functools.lru_cache(maxsize=256)
def _candidates(names: tuple[str, ...], attributes: bool) -> etree.XPath:
    """One XPath for all of an item's candidates: one call, results in document order."""
    paths = [_CLASS_WIDGETS, *(f"descendant::{name}" for name in names)]
    if attributes:
        paths.append(_ATTRIBUTE_WIDGETS)
    return etree.XPath(" | ".join(paths))


def _widget_candidates(root: HtmlElement) -> list[HtmlElement]:
    """Every element under root that can be a share element (is_share_element decides), in
    document order."""
    hints = hints_for(root)
    # A tag is share markup when "share" is one of its dash-separated parts (is_share_element):
    # next to a dash. (Other names holding "share" are no candidates; fewer places to read.)
    # Both words hold "share", which data-root-share holds too: one question for the names
    # and the attribute (tag_names_with reads the whole source, 0.2M instructions on a CJK
    # item, so not for a "share" in a link's URL).
    dashed = hints.may_contain("share-", "-share")
    names = (
        sorted(hints.tag_names_with("share-") | hints.tag_names_with("-share")) if dashed else []
    )
    attributes = (dashed and hints.may_contain("data-root-share")) or hints.may_contain(
        "data-selfpromo"
    )
    odd_names = [name for name in names if not _XPATH_NAME.fullmatch(name)]
    found: list[HtmlElement] = _candidates(
        tuple(n for n in names if n not in odd_names), attributes
    )(root)
    if odd_names:  # found by iter() instead, and merged into document order
        unique = {id(node): node for node in [*found, *root.iter(*odd_names)]}
        found = in_document_order(unique.values())
    return found


@item_rule(PACK, "endpoint_links")
def remove_share_links(root: HtmlElement) -> None:
    """Links to a social network's share dialog send the reader away; no article text.

    Their labels and the containers they leave empty go with them.
    """
    # Each link's URL is read only while the link is still in the item: most share links
    # sit in one bar, which goes whole with the first of them (the same links go, in the
    # same order: a removal never changes another link's href).
    for node in list(root.iter("a")):
        if node is not root and is_attached(node, root) and is_share_url(node.get("href")):
            _remove_with_leftovers(node, root)


@item_rule(PACK, "widgets")
def remove_share_widgets(root: HtmlElement) -> None:
    """Share widgets (sharedaddy, AddToAny, ShareThis, <share-button>) are buttons, not text.

    Their labels and the containers they leave empty go with them.
    """
    # (is_share_element reads only the node's own tag and attributes, which no removal
    # changes: asked only of candidates still in the item, the same nodes go, in order)
    for node in _widget_candidates(root):
        if node is not root and is_attached(node, root) and is_share_element(node):
            _remove_with_leftovers(node, root)  # (not inside a widget removed earlier)


@item_rule(PACK, "labels")
def remove_share_labels(root: HtmlElement) -> None:
    """A share label ("Share this:", "分享 :") left alone at the end of the item."""
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
    if tag_of(node) in STRUCTURAL_TAGS - {"li"}:
        return False  # never take table structure apart; lists of share buttons may go
    text = short_text(node, _LABEL_MAX_CHARACTERS)
    if text is None or has_media(node):
        return False  # (text first: it stops early on an article, has_media does not)
    text = text.strip()
    return not text or (_LABEL.match(" ".join(text.split())) is not None and _has_no_links(node))


# No label has more characters than this besides whitespace ("sharethisarticle:").
_LABEL_MAX_CHARACTERS = 17


def _is_label(node: HtmlElement) -> bool:
    """An element whose whole text is a share label ("分享 :", "Share this:")."""
    tag = tag_of(node)
    if tag in STRUCTURAL_TAGS or tag == "":
        return False
    text = short_text(node, _LABEL_MAX_CHARACTERS)
    return (
        text is not None
        and _LABEL.match(" ".join(text.split())) is not None
        and not has_media(node)
        and _has_no_links(node)
    )


def _has_no_links(node: HtmlElement) -> bool:
    return all(a.get("href") is None for a in iter_tags(node, "a"))


def _trailing_labels(root: HtmlElement) -> list[HtmlElement]:
    """Label elements with nothing after them in the item: the end of a share bar."""
    # A label with nothing after it holds the item's last text, so it is one of the
    # elements around that text; every element inside the highest such label is looked at.
    highest = None
    node = _last_text_holder(root)
    while node is not None and node is not root:
        if (
            short_text(node, _LABEL_MAX_CHARACTERS) is None
            or has_media(node)
            or not _has_no_links(node)
        ):
            break  # and so is every element further up, which holds all of this one
        if _is_label(node):
            highest = node
        node = node.getparent()
    if highest is None:
        return []
    found: list[HtmlElement] = []
    for node in highest.iter(etree.Element):
        if not _has_label_hint(node) or not _is_label(node):
            continue
        while (up := node.getparent()) is not None and up is not root and _is_label(up):
            node = up  # take the outermost element that holds only the label
        if node not in found and _nothing_after(node, root):
            found.append(node)
    return found


def _last_text_holder(root: HtmlElement) -> HtmlElement | None:
    """The element whose content (not its tail) holds the item's last non-blank text."""
    stack = [(root, reversed(root))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if not is_blank(node.text):
                return node
        elif not is_blank(child.tail):
            return node
        elif isinstance(child.tag, str):  # not into comments: their text is not content
            stack.append((child, reversed(child)))
    return None


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
            if not is_blank(sibling.tail) or has_text(sibling) or has_media(sibling):
                return False
        node = node.getparent()
    return True
