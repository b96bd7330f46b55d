"""The `pixels` pack: tracking images. Part of the clean stage; does no I/O."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean.nodes import LAZY_ATTRIBUTES, LAZY_SRC_ATTRIBUTES, class_tokens, drop, one_of
from proxy.clean.registry import declare_pack, item_rule
from proxy.clean.urls import domains_of, host_of, path_matches, split_url, unescape

PACK = declare_pack(
    "pixels",
    "1×1 images and images from tracker hosts (FeedBurner ~r, pixel.wp.com,"
    " stats.wordpress.com, medium.com/_/stat, …)",
)


# (domain, path prefix) of images that only count views; see urls.path_matches.
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

_NUMBER = re.compile(r"\d+(?:\.\d+)?")  # (fullmatch only: one class, one optional part)


def _pixels(value: str) -> float | None:
    """ "1", " 1px ", "0.5 PX" → the number; anything else (1em, 50%, auto) → None.

    By hand, not one regex: `\\s*(?:px)?\\s*` made a pattern backtrack cubically on a
    "width:1" followed by thousands of spaces (one item froze a server for 46 s).
    """
    value = value.strip().lower()
    if value.endswith("px"):
        value = value[:-2].rstrip()
    return float(value) if _NUMBER.fullmatch(value) else None


def _style_size(style: str, name: str) -> float | None:
    """The first `name: <number>[px] [!important]` declaration in a style attribute.

    Only the property itself: "max-width" and "border-width" are other properties.
    """
    for declaration in style.split(";"):
        prop, colon, value = declaration.partition(":")
        if not colon or prop.strip().lower() != name:
            continue
        value, bang, important = value.partition("!")
        if bang and important.strip().lower() != "important":
            continue
        size = _pixels(value)
        if size is not None:
            return size
    return None


def _size(node: HtmlElement, name: str) -> float | None:
    """The width or height of an image from its attribute, else from its style."""
    size = _pixels(node.get(name) or "")
    return size if size is not None else _style_size(node.get("style") or "", name)


# TRACKER_IMAGES by domain.
_TRACKERS: dict[str, tuple[str, ...]] = {}
for _domain, _prefix in TRACKER_IMAGES:
    _TRACKERS[_domain] = (*_TRACKERS.get(_domain, ()), _prefix)


# A WordPress media-library image: `wp-image-<attachment id>` (with size-large, aligncenter…).
_WP_ATTACHMENT = re.compile(r"wp-image-\d+")
# What a link to the full-size picture ends with (a lightbox or "click to enlarge" link).
IMAGE_FILE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp", ".tif", ".tiff")


def is_authored_image(node: HtmlElement) -> bool:
    """Evidence that an image is the author's own, whatever size its attributes state: a
    WordPress attachment (`wp-image-N`), or an image inside a link to an image file (the
    full-size picture). A tracker is neither: it is inserted by a platform, never uploaded
    to the media library nor linked to a bigger copy of itself. Editors do write a wrong
    width="1" height="1" (a real corpus item did, on a screenshot readers show whole)."""
    if any(_WP_ATTACHMENT.fullmatch(token) for token in class_tokens(node)):
        return True
    parent = node.getparent()
    if parent is None or parent.tag != "a":
        return False
    parts = split_url(parent.get("href"))
    return parts is not None and (parts.path or "").lower().endswith(IMAGE_FILE_SUFFIXES)


# Every tracker host holds one of TRACKER_IMAGES' domains, and the host is a lower-cased
# part of the URL as split_url reads it (unescaped, tabs and line breaks gone, as urlsplit
# drops them; common.url_matches rules URLs out the same way): one search before urlsplit.
_TRACKER_DOMAIN = re.compile(one_of(_TRACKERS))


def _may_be_on_tracker(url: str) -> bool:
    lowered = unescape(url).lower()
    if "\t" in lowered or "\n" in lowered or "\r" in lowered:
        lowered = lowered.replace("\t", "").replace("\n", "").replace("\r", "")
    return _TRACKER_DOMAIN.search(lowered) is not None


def is_tracking_pixel(node: HtmlElement) -> bool:
    """A 1×1 / 0×0 image (unless it is an authored one), or an image from a known tracker."""
    for name in ("src", *LAZY_SRC_ATTRIBUTES):
        value = node.get(name)
        if not value or not _may_be_on_tracker(value):
            continue  # (split_url(value) would be None, or its host on no tracker)
        parts = split_url(value)
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
    if width is None or height is None or width > 1 or height > 1:
        return False
    return not is_authored_image(node)  # (only here: a tracker host above is never authored)


@item_rule(PACK, "tracking_images")
def remove_tracking_pixels(root: HtmlElement) -> None:
    """Remove 1×1 (or 0×0) images and images from tracker hosts: they only report a view."""
    for image in [img for img in root.iter("img") if is_tracking_pixel(img)]:
        drop(image)
