"""The `feedburner` pack: FeedBurner's FeedFlare, ads and view pixel. Does no I/O."""

from __future__ import annotations

from lxml.html import HtmlElement

from proxy.clean.nodes import (
    class_tokens,
)
from proxy.clean.packs.common import URLRules, drop_all, images_from, links_to
from proxy.clean.registry import Needs, declare_pack, item_rule

PACK = declare_pack(
    "feedburner",
    "FeedBurner's div.feedflare, its ~ff/~f/~a links and images, its ads and the ~r view pixel",
)


@item_rule(PACK, "feedflare", needs=Needs(markup=("feedflare",)))  # (a class token)
def remove_feedflare(root: HtmlElement) -> None:
    """FeedFlare (`div.feedflare`) is a row of "Email this", "Add to del.icio.us" buttons."""
    drop_all(root, [div for div in root.iter("div") if "feedflare" in class_tokens(div)])


# FeedFlare links (/~ff/, /~f/, /~a/) and FeedBurner's ads (feedads, /~a…).
FEEDBURNER_LINKS: URLRules = {
    "feeds.feedburner.com": ("/~ff", "/~f", "/~a"),
    "feedproxy.google.com": ("/~ff", "/~f", "/~a"),
    "feedads.g.doubleclick.net": ("/~a*",),
}


@item_rule(PACK, "flare_links", needs=Needs(hosts=tuple(FEEDBURNER_LINKS)))  # (url_matches)
def remove_feedburner_links(root: HtmlElement) -> None:
    """FeedBurner's flare and ad links (/~ff/, /~f/, /~a/) are buttons and ads."""
    drop_all(root, links_to(root, FEEDBURNER_LINKS))


# The same as images, and the view pixel: /~r/ images only (a /~r/ link is FeedBurner's
# redirect to the article).
FEEDBURNER_IMAGES: URLRules = {
    "feeds.feedburner.com": ("/~ff", "/~f", "/~a", "/~r"),
    "feedproxy.google.com": ("/~ff", "/~f", "/~a", "/~r"),
    "feedads.g.doubleclick.net": ("/~a*",),
}


@item_rule(PACK, "flare_images", needs=Needs(hosts=tuple(FEEDBURNER_IMAGES)))
def remove_feedburner_images(root: HtmlElement) -> None:
    """FeedBurner's flare and ad images and its 1×1 `~r` image (it only reports the view)."""
    drop_all(root, images_from(root, FEEDBURNER_IMAGES))
