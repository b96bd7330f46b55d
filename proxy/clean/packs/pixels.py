"""The `pixels` pack: tracking images. Part of the clean stage; does no I/O."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean.nodes import (
    LAZY_ATTRIBUTES,
    LAZY_SRC_ATTRIBUTES,
    domains_of,
    drop,
    host_of,
    path_matches,
    split_url,
)
from proxy.clean.registry import declare_pack, item_rule

PACK = declare_pack(
    "pixels",
    "1×1 images and images from tracker hosts (FeedBurner ~r, pixel.wp.com,"
    " stats.wordpress.com, medium.com/_/stat, …)",
)


# (domain, path prefix) of images that only count views; see nodes.path_matches.
TRACKER_IMAGES: tuple[tuple[str, str], ...] = (
    ("feeds.feedburner.com", "/~r"),
    ("feeds.feedburner.com", "/~ff"),
    ("feeds.feedburner.com", "/~f"),
    ("feedproxy.google.com", "/~r"),
    ("pixel.wp.com", "/"),
    ("stats.wordpress.com", "/"),
    ("medium.com", "/_/stat"),
    ("hm.baidu.com", "/"),
    ("feedsportal.com", "/"),
    ("pheedo.com", "/"),
    ("tags.bluekai.com", "/"),
    ("insight.adsrvr.org", "/"),
    ("track.hubspot.com", "/"),
    ("google-analytics.com", "/"),
    ("scorecardresearch.com", "/"),
    ("pixel.quantserve.com", "/"),
    ("c.statcounter.com", "/"),
    ("cnzz.com", "/"),
    ("mc.yandex.ru", "/watch"),
    ("facebook.com", "/tr"),
)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$", re.IGNORECASE)
# `(?<![\w-])` so that "border-width: 0px" is not read as a width.
_STYLE_SIZE = {
    name: re.compile(
        rf"(?<![\w-]){name}\s*:\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*(?:!\s*important)?\s*(?:;|$)",
        re.IGNORECASE,
    )
    for name in ("width", "height")
}


def _size(node: HtmlElement, name: str) -> float | None:
    """The width or height of an image from its attribute, else from its style."""
    match = _SIZE.match(node.get(name) or "") or _STYLE_SIZE[name].search(node.get("style") or "")
    return float(match.group(1)) if match else None


# TRACKER_IMAGES by domain.
_TRACKERS: dict[str, tuple[str, ...]] = {}
for _domain, _prefix in TRACKER_IMAGES:
    _TRACKERS[_domain] = (*_TRACKERS.get(_domain, ()), _prefix)


def is_tracking_pixel(node: HtmlElement) -> bool:
    """A 1×1 / 0×0 image, or an image served by a known tracker."""
    for name in ("src", *LAZY_SRC_ATTRIBUTES):
        parts = split_url(node.get(name))
        if parts is None:
            continue
        host = host_of(parts)
        if host and any(
            path_matches(parts.path or "/", prefix)
            for domain in domains_of(host)
            for prefix in _TRACKERS.get(domain, ())
        ):
            return True
    if any(node.get(name) for name in LAZY_ATTRIBUTES):
        return False  # a lazy image's placeholder size says nothing about the real image
    width, height = _size(node, "width"), _size(node, "height")
    return width is not None and height is not None and width <= 1 and height <= 1


@item_rule(PACK, "tracking_images")
def remove_tracking_pixels(root: HtmlElement) -> None:
    """Remove 1×1 (or 0×0) images and images from tracker hosts: they only report a view."""
    for image in [img for img in root.iter("img") if is_tracking_pixel(img)]:
        drop(image)
