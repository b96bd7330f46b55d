"""Packs for what blog platforms add to every item: WordPress, FeedBurner, Medium, Substack.

Part of the clean stage; does no I/O. Each rule is anchored on markup only the platform
writes (its class names, its hosts, the exact wording of its footer together with the links
it puts in it), so it is safe on any feed: an article that quotes the wording, links to the
platform or uses a similar class of its own keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    SEPARATOR_TAGS,
    class_tokens,
    domains_of,
    drop,
    host_of,
    is_attached,
    is_blank,
    path_matches,
    query_values,
    split_url,
    tag_of,
    text_of,
    unescape,
)

URLRules = dict[str, tuple[str, ...]]  # domain -> path prefixes (see nodes.path_matches)


def _url_matches(url: str | None, rules: URLRules) -> bool:
    """Whether url is on one of the domains (or a subdomain) under one of its path prefixes."""
    if not url:
        return False
    lowered = unescape(url).lower()
    if "\t" in lowered or "\n" in lowered or "\r" in lowered:  # urlsplit drops these
        lowered = lowered.replace("\t", "").replace("\n", "").replace("\r", "")
    if not any(domain in lowered for domain in rules):
        return False  # the host is a lower-cased part of the URL: skip parsing it
    parts = split_url(url)
    if parts is None or parts.scheme.lower() not in ("http", "https", ""):
        return False
    host = host_of(parts)
    path = parts.path or "/"
    return bool(host) and any(
        path_matches(path, prefix)
        for domain in domains_of(host)
        for prefix in rules.get(domain, ())
    )


def _drop_all(root: HtmlElement, nodes: Iterable[HtmlElement]) -> None:
    for node in list(nodes):
        if node is not root and is_attached(node, root):
            drop(node)


def _words(text: str) -> str:
    return " ".join(text.split())


def _link_texts(node: HtmlElement) -> list[str]:
    return [_words(text_of(a)) for a in node.iter("a") if a.get("href") is not None]


def _leading_text(node: HtmlElement) -> str:
    """The first text in node, looking down through leading wrappers (`<p><span>The…`)."""
    text = node.text
    while (not text or text.isspace()) and len(node) and isinstance(node[0].tag, str):
        node = node[0]
        text = node.text
    return text or ""


def _footer_paragraphs(
    root: HtmlElement,
    start: re.Pattern[str],
    patterns: tuple[re.Pattern[str], ...],
    *,
    after_link: bool = False,
) -> list[HtmlElement]:
    """<p>s whose whole text matches a pattern whose `post` and `site` groups are the texts
    of the paragraph's first and last links: a platform's generated footer, not a sentence
    that happens to use its words. start matches how the footer's text begins, or with
    after_link, the text right after its first link."""
    found = []
    for p in root.iter("p"):
        if after_link:
            link = next(p.iter("a"), None)
            if link is None or not link.tail or not start.match(link.tail):
                continue
        elif not start.match(_leading_text(p)):
            continue
        text = _words(text_of(p))
        links = _link_texts(p)
        for pattern in patterns:
            match = pattern.fullmatch(text)
            if match and links and match["post"] == links[0] and match["site"] == links[-1]:
                found.append(p)
                break
    return found


# --- wordpress --------------------------------------------------------------------------

# Yoast SEO's RSS footer ("The post %%POSTLINK%% appeared first on %%BLOGLINK%%.") and the
# wordings of other footer plugins and translations.
WORDPRESS_FOOTERS = (
    re.compile(r"The post (?P<post>.+) (?:appeared first|first appeared) on (?P<site>.+?)\.?"),
    re.compile(r"Der Beitrag (?P<post>.+) erschien zuerst auf (?P<site>.+?)\.?"),
    re.compile(r"L[’']article (?P<post>.+) est apparu en premier sur (?P<site>.+?)\.?"),
    re.compile(r"La entrada (?P<post>.+) se publicó primero en (?P<site>.+?)\.?"),
)
_WORDPRESS_FOOTER_START = re.compile(r"\s*(?:The post|Der Beitrag|L[’']article|La entrada)\s")

# Blocks that plugins append (whole class names): Jetpack sharing and likes (`sharedaddy`),
# Jetpack related posts and post flair, AddToAny, YARPP, Contextual Related Posts, Related
# Posts for WordPress. An author's own "related posts" list has none of these names.
WORDPRESS_WIDGET_CLASS = re.compile(
    r"""sharedaddy | jp-relatedposts | jp-post-flair
      | a2a_kit | addtoany_share_save_container | addtoany_list
      | yarpp-related(?:-rss|-widget|-shortcode)? | crp_related | rp4wp-related-posts""",
    re.VERBOSE,
)
WORDPRESS_WIDGET_IDS = frozenset({"jp-post-flair", "jp-relatedposts"})
_WORDPRESS_WIDGETS = etree.XPath(
    "descendant::*/@class[contains(., 'sharedaddy') or contains(., 'jp-') or contains(., 'a2a_')"
    " or contains(., 'addtoany_') or contains(., 'yarpp-related') or contains(., 'crp_related')"
    " or contains(., 'rp4wp')]/.."
    " | descendant::*/@id[. = 'jp-post-flair' or . = 'jp-relatedposts']/.."
)
# WordPress.com's share redirectors (empty links to feeds.wordpress.com/1.0/gofacebook/…,
# …/gocomments/… with a comment-count image) and its stats pixel.
WORDPRESS_LINKS: URLRules = {"feeds.wordpress.com": ("/1.0/go*",)}
WORDPRESS_IMAGES: URLRules = {
    "pixel.wp.com": ("/",),
    "stats.wordpress.com": ("/",),
    "feeds.wordpress.com": ("/1.0/comments",),
}


def is_wordpress_widget(node: HtmlElement) -> bool:
    return node.get("id") in WORDPRESS_WIDGET_IDS or any(
        WORDPRESS_WIDGET_CLASS.fullmatch(token) for token in class_tokens(node)
    )


def remove_wordpress_junk(root: HtmlElement) -> None:
    """Remove WordPress's "The post … appeared first on …" footer and plugin blocks.

    The blocks: Jetpack sharing, likes, related posts and post flair, AddToAny, YARPP and
    other related-posts plugins; also WordPress.com's share links and stats pixel. The
    footer advertises the blog the item came from; the blocks are buttons and teasers.
    """
    _drop_all(root, [node for node in _WORDPRESS_WIDGETS(root) if is_wordpress_widget(node)])
    _drop_all(root, _footer_paragraphs(root, _WORDPRESS_FOOTER_START, WORDPRESS_FOOTERS))
    _drop_all(root, [a for a in root.iter("a") if _url_matches(a.get("href"), WORDPRESS_LINKS)])
    _drop_all(
        root, [img for img in root.iter("img") if _url_matches(img.get("src"), WORDPRESS_IMAGES)]
    )


# --- feedburner -------------------------------------------------------------------------

# FeedFlare links and images (/~ff/, /~f/, /~a/), the view pixel (/~r/ images only: a /~r/
# link is FeedBurner's redirect to the article) and FeedBurner's ads (feedads, /~a…).
FEEDBURNER_LINKS: URLRules = {
    "feeds.feedburner.com": ("/~ff", "/~f", "/~a"),
    "feedproxy.google.com": ("/~ff", "/~f", "/~a"),
    "feedads.g.doubleclick.net": ("/~a*",),
}
FEEDBURNER_IMAGES: URLRules = {
    "feeds.feedburner.com": ("/~ff", "/~f", "/~a", "/~r"),
    "feedproxy.google.com": ("/~ff", "/~f", "/~a", "/~r"),
    "feedads.g.doubleclick.net": ("/~a*",),
}


def remove_feedburner_junk(root: HtmlElement) -> None:
    """Remove FeedBurner's FeedFlare block, flare links and images, ads and `~r` pixel.

    FeedFlare (`div.feedflare`) is a row of "Email this", "Add to del.icio.us" buttons, the
    1×1 `~r` image only reports the view; none of it is article.
    """
    _drop_all(root, [div for div in root.iter("div") if "feedflare" in class_tokens(div)])
    _drop_all(root, [a for a in root.iter("a") if _url_matches(a.get("href"), FEEDBURNER_LINKS)])
    _drop_all(
        root, [img for img in root.iter("img") if _url_matches(img.get("src"), FEEDBURNER_IMAGES)]
    )


# --- medium -----------------------------------------------------------------------------

MEDIUM_FOOTER = re.compile(
    r"(?P<post>.+) was originally published in (?P<site>.+?) on Medium, where people are"
    r" continuing the conversation by highlighting and responding to this story\.?"
)
_MEDIUM_FOOTER_START = re.compile(r"\s*was originally published in\s")
MEDIUM_IMAGES: URLRules = {"medium.com": ("/_/stat",)}


def remove_medium_junk(root: HtmlElement) -> None:
    """Remove Medium's "… was originally published in … on Medium" footer and stat pixel.

    The footer ("…, where people are continuing the conversation by highlighting and
    responding to this story.") asks readers to go and comment on Medium; the <hr> before it
    goes too. The `_/stat` pixel only reports the view.
    """
    footers = _footer_paragraphs(root, _MEDIUM_FOOTER_START, (MEDIUM_FOOTER,), after_link=True)
    for footer in footers:
        previous = footer.getprevious()
        if previous is not None and tag_of(previous) in SEPARATOR_TAGS and is_blank(previous.tail):
            drop(previous)  # the <hr> Medium puts between the story and the footer
    _drop_all(root, footers)
    _drop_all(
        root, [img for img in root.iter("img") if _url_matches(img.get("src"), MEDIUM_IMAGES)]
    )


# --- substack ---------------------------------------------------------------------------

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
