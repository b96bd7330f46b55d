"""Helpers shared by the platform packs (wordpress, feedburner, medium, substack).

Part of the clean stage; does no I/O. Each rule is anchored on markup only the platform
writes (its class names, its hosts, the exact wording of its footer together with the links
it puts in it), so it is safe on any feed: an article that quotes the wording, links to the
platform or uses a similar class of its own keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml.html import HtmlElement

from proxy.clean.nodes import drop, is_attached, text_of
from proxy.clean.urls import domains_of, host_of, path_matches, split_url, unescape

URLRules = dict[str, tuple[str, ...]]  # domain -> path prefixes (see urls.path_matches)


def url_matches(url: str | None, rules: URLRules) -> bool:
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


def links_to(root: HtmlElement, rules: URLRules) -> list[HtmlElement]:
    """The links in root whose href matches rules."""
    return [a for a in root.iter("a") if url_matches(a.get("href"), rules)]


def images_from(root: HtmlElement, rules: URLRules) -> list[HtmlElement]:
    """The images in root whose src matches rules."""
    return [img for img in root.iter("img") if url_matches(img.get("src"), rules)]


def drop_all(root: HtmlElement, nodes: Iterable[HtmlElement]) -> None:
    for node in list(nodes):
        if node is not root and is_attached(node, root):
            drop(node)


def words(text: str) -> str:
    return " ".join(text.split())


def link_texts(node: HtmlElement) -> list[str]:
    return [words(text_of(a)) for a in node.iter("a") if a.get("href") is not None]


def leading_text(node: HtmlElement) -> str:
    """The first text in node, looking down through leading wrappers (`<p><span>The…`)."""
    text = node.text
    while (not text or text.isspace()) and len(node) and isinstance(node[0].tag, str):
        node = node[0]
        text = node.text
    return text or ""


def fill(template: str, post: str, site: str) -> str:
    """template with "{post}" and "{site}" replaced (link texts may hold braces)."""
    head, _, rest = template.partition("{post}")
    middle, _, tail = rest.partition("{site}")
    return head + post + middle + site + tail


def footer_paragraphs(
    root: HtmlElement,
    start: re.Pattern[str],
    templates: tuple[str, ...],
    *,
    after_link: bool = False,
) -> list[HtmlElement]:
    """<p>s whose whole text is a template ("The post {post} appeared first on {site}.", the
    final "." optional) filled with the texts of the paragraph's first and last links: a
    platform's generated footer, not a sentence that happens to use its words. start matches
    how the footer's text begins, or with after_link, the text right after its first link.

    A comparison with the filled template, not a regex with `(?P<post>.+) … (?P<site>.+?)`:
    that one was quadratic on a paragraph repeating the wording thousands of times.
    """
    found = []
    for p in root.iter("p"):
        if after_link:
            link = next(p.iter("a"), None)
            if link is None or not link.tail or not start.match(link.tail):
                continue
        elif not start.match(leading_text(p)):
            continue
        links = link_texts(p)
        if not links or not links[0] or not links[-1]:
            continue
        text = words(text_of(p))
        for template in templates:
            full = fill(template, links[0], links[-1])
            if text == full or (full.endswith(".") and text == full[:-1]):
                found.append(p)
                break
    return found
