"""Cleaning rules over one lxml tree per item. Does no I/O.

The clean stage parses an item's HTML once (`parse_fragment`), runs the named rules over the
tree in order (`apply_rules`, or `clean_tree`, which never fails), and serialises once
(`serialise`). Between `clean_tree` and `serialise` the pipeline's rewrite stage changes
image URLs on the same tree; `proxy.sanitize.sanitize_html` is the last pass over the string.
"""

from __future__ import annotations

import html as html_lib
import logging
import threading
from collections.abc import Sequence

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import ItemHints, cleaning, html_parser
from proxy.clean.rules import RULES, Rule
from proxy.sanitize import drop_non_xml_chars, sanitize_html

__all__ = [
    "DEFAULT_RULES",
    "PACKS",
    "RULES",
    "apply_rules",
    "clean_html",
    "clean_tree",
    "parse_fragment",
    "serialise",
]

logger = logging.getLogger(__name__)

# Every built-in pack, in run order. Each is anchored on markers specific enough to be safe
# on any feed, so all of them are on by default. The platform packs come after `spans`
# (they read paragraph text, direct once bare spans are gone), `tracking` after every rule
# that removes links, `empty` after everything that can leave a container empty, and
# `separators` last, to trim what the footers left at the ends.
DEFAULT_RULES: tuple[str, ...] = tuple(RULES)

# One line per pack, for the documentation (README.md lists every one).
PACKS: dict[str, str] = {
    "feedx": "feedx.net's 获取更多RSS footer with its feedx links and the <br>/<hr> before it",
    "share": "share buttons and bars: share-endpoint links (Facebook, X, WhatsApp, AddToAny,"
    " ShareThis, Jetpack ?share=…), share widgets (sharedaddy, a2a_*, sharethis), labels",
    "pixels": "1×1 images and images from tracker hosts (FeedBurner ~r, pixel.wp.com,"
    " stats.wordpress.com, medium.com/_/stat, …)",
    "spans": "bare <span> wrappers without attributes, keeping their text",
    "wordpress": '"The post … appeared first on …", Jetpack sharedaddy/related posts/post'
    " flair, AddToAny, YARPP, WordPress.com share links and stats pixel",
    "feedburner": "FeedBurner's div.feedflare, its ~ff/~f/~a links and images, its ads and"
    " the ~r view pixel",
    "medium": 'Medium\'s "… was originally published in … on Medium …" footer and its'
    " _/stat view pixel",
    "substack": "Substack's subscribe widgets and Subscribe now / Share / Leave a comment buttons",
    "tracking": "utm_*, fbclid, gclid, mc_eid and other tracking parameters on links",
    "empty": "elements left with no text and no media (never table or list structure)",
    "separators": "<br>/<hr> and whitespace at the very start and end of the item",
}

# lxml parsers must not be shared between threads, and the pipeline may clean in a pool.
_parsers = threading.local()


def _parser() -> etree.HTMLParser:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        # Comments go at parse time (MS Word conditional comments, <!--more-->); libxml2's
        # default limits stay on (no huge_tree): nesting deeper than 256 is cut off there.
        parser = html_parser(remove_comments=True, remove_pis=True, no_network=True)
        _parsers.parser = parser
    return parser


def parse_fragment(html: str) -> HtmlElement:
    """Parse an item's HTML into a container <div> holding the fragment. Never raises.

    Parameters:
        html: the item HTML as text (a fragment, or a whole document whose body is used).

    Returns the container; empty for empty or unparseable input. Characters XML cannot
    carry (C0 controls, lone surrogates) are dropped first: the output must become XML,
    and lxml refuses them when a rule edits text. Content past libxml2's limits (nesting
    deeper than 256, a text node over 10 MB) is cut off and logged.
    """
    return _parse(drop_non_xml_chars(html))


def _parse(source: str) -> HtmlElement:
    parser = _parser()
    try:
        # Open <html><body> ourselves so that everything, including a leading <title>,
        # <meta> or <style>, lands in the body instead of an implied <head>.
        document = etree.fromstring("<html><body>" + source, parser)
    except (etree.LxmlError, ValueError, TypeError) as exc:
        logger.warning("clean: unparseable item HTML, using an empty item: %r", exc)
        return parser.makeelement("div")
    limits = [e.message for e in parser.error_log if e.type_name == "ERR_RESOURCE_LIMIT"]
    if limits:
        logger.warning("clean: item HTML hit a parser limit, rest dropped: %s", limits[0])
    container: HtmlElement = parser.makeelement("div")
    body = document.find("body") if document is not None else None
    if body is not None:
        container.text = body.text
        container.extend(list(body))  # moves the children, tails included
    return container


def _resolve(rule_names: Sequence[str]) -> list[tuple[str, Rule]]:
    unknown = [name for name in rule_names if name not in RULES]
    if unknown:
        raise ValueError(
            f"clean: unknown rule {', '.join(map(repr, unknown))}; known: {', '.join(RULES)}"
        )
    return [(name, RULES[name]) for name in rule_names]


def apply_rules(root: HtmlElement, rule_names: Sequence[str] = DEFAULT_RULES) -> None:
    """Run the named rules, in the order given, over root (mutated in place).

    Raises ValueError naming any unknown rule before running anything; exceptions from a
    rule propagate.
    """
    for _name, rule in _resolve(rule_names):
        rule(root)


def clean_tree(
    html: str, rule_names: Sequence[str] = DEFAULT_RULES, *, context: str = ""
) -> HtmlElement:
    """Parse html once and run the rules over it. Never raises.

    Parameters:
        html: the item HTML.
        rule_names: rules to run, in order (default: every built-in rule).
        context: what the item is (feed URL, item id), for the log line when a rule fails.

    If a rule raises, or a name is unknown, logs a warning and returns a fresh parse of
    html: the item is left as it was, never dropped and never half-cleaned.
    """
    source = drop_non_xml_chars(html)
    root = _parse(source)
    try:
        rules = _resolve(rule_names)
    except ValueError as exc:
        logger.warning("%s (context=%s); item left as it was", exc, context or "-")
        return root
    with cleaning(root, ItemHints(source)):
        for name, rule in rules:
            try:
                rule(root)
            except Exception as exc:  # any rule bug must leave the item as it was (DESIGN.md)
                logger.warning(
                    "clean: rule %r failed, item left as it was (context=%s): %r",
                    name,
                    context or "-",
                    exc,
                )
                return _parse(source)
    return root


def serialise(root: HtmlElement) -> str:
    """The inner HTML of the container: its text and children, without the wrapper <div>."""
    if root.tag == "div" and not root.attrib:
        # The container parse_fragment makes: serialise it whole and cut "<div>"/"</div>",
        # one call into libxml2 instead of one per child.
        whole = str(etree.tostring(root, method="html", encoding="unicode", with_tail=False))
        return whole[len("<div>") : -len("</div>")]
    parts = [html_lib.escape(root.text, quote=False)] if root.text else []
    parts.extend(
        str(etree.tostring(child, method="html", encoding="unicode", with_tail=True))
        for child in root
    )
    return "".join(parts)


def clean_html(html: str, rule_names: Sequence[str] = DEFAULT_RULES) -> str:
    """Clean and sanitise one item's HTML: sanitize_html(serialise(clean_tree(html))).

    For callers that do not rewrite images between the two; the pipeline calls the
    steps itself.
    """
    return sanitize_html(serialise(clean_tree(html, rule_names)))
