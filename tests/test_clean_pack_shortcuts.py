"""The packs' shortcuts (issue 15.1) only skip work: each rule does what its plain form did.

- share.endpoint_links and share.widgets ask about a link or widget only while it is still
  in the item; the plain form picked every target first, then removed those still there.
- pixels rules out an image URL with one search for a tracker domain before urlsplit.
Both are compared with their plain forms here, on every item of tests/data that can hold
what they look for (the real corpus included) and on generated URLs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml.html import HtmlElement

from proxy.clean import parse_fragment, serialise
from proxy.clean.nodes import LAZY_SRC_ATTRIBUTES, is_attached
from proxy.clean.packs import pixels, share
from proxy.clean.urls import domains_of, host_of, path_matches, split_url
from tests import clean_inputs


def _plain_share_links(root: HtmlElement) -> None:
    """share.endpoint_links as it was: every share link found first."""
    targets = [a for a in root.iter("a") if a is not root and share.is_share_url(a.get("href"))]
    for node in targets:
        if is_attached(node, root):
            share._remove_with_leftovers(node, root)


def _plain_share_widgets(root: HtmlElement) -> None:
    """share.widgets as it was: every share element found first."""
    found = share._widget_candidates(root)
    targets = [node for node in found if node is not root and share.is_share_element(node)]
    for node in targets:
        if is_attached(node, root):
            share._remove_with_leftovers(node, root)


def _items_with(word: str) -> list[str]:
    return [html for _, htmls in clean_inputs.batches() for html in htmls if word in html.lower()]


@pytest.mark.parametrize(
    ("rule", "plain"),
    [
        (share.remove_share_links, _plain_share_links),
        (share.remove_share_widgets, _plain_share_widgets),
    ],
)
def test_the_share_rules_remove_what_their_plain_forms_removed(
    rule: Callable[[HtmlElement], None], plain: Callable[[HtmlElement], None]
) -> None:
    items = _items_with("share")
    changed = 0
    for html in items:
        fast, slow = parse_fragment(html), parse_fragment(html)
        before = serialise(fast)
        rule(fast)
        plain(slow)
        assert serialise(fast) == serialise(slow), html[:200]
        changed += serialise(fast) != before
    assert changed >= 3, changed  # (the comparison saw the rules remove something)


def _plain_tracker_host(value: str | None) -> bool:
    """is_tracking_pixel's host test as it was, for one URL: urlsplit first."""
    parts = split_url(value)
    if parts is None:
        return False
    host = host_of(parts)
    return bool(host) and any(
        path_matches(parts.path or "/", prefix)
        for domain in domains_of(host)
        for prefix in pixels._TRACKERS.get(domain, ())
    )


_URL_PIECES = st.sampled_from(
    [
        "https://",
        "//",
        "http:",
        "ftp://",
        "pixel.wp.com",
        "PIXEL.WP.com",
        "pixel.w&#112;.com",
        "pixel.w&amp;#112;.com",
        "pixel.wp\t.com",
        "pixel.wp\n.com",
        "stats.wordpress.com",
        "feeds.feedburner.com",
        "mc.yandex.ru",
        "facebook.com",
        "\u212a.com",
        "user@",
        ":443",
        "/",
        "/~r/x",
        "/watch",
        "/tr",
        "?a=1&amp;b=2",
        "#f",
        "x.",
        ".",
        " ",
        "%2F",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_URL_PIECES, max_size=8).map("".join))
def test_an_image_url_on_a_tracker_is_never_ruled_out(url: str) -> None:
    if _plain_tracker_host(url):
        assert pixels._may_be_on_tracker(url), url


def test_every_tracking_image_of_the_test_data_is_still_found() -> None:
    """On the items of tests/data: the same images are tracking pixels both ways."""
    seen = 0
    for html in _items_with("<img"):
        for image in parse_fragment(html).iter("img"):
            for name in ("src", *LAZY_SRC_ATTRIBUTES):
                value = image.get(name)
                plain = _plain_tracker_host(value)
                assert not plain or pixels._may_be_on_tracker(value or ""), value
                seen += plain
    assert seen >= 3, seen  # (the test data has tracker images)
