"""referer: which Referer an image host gets, in what order, and the signed hint."""

from __future__ import annotations

import pytest

from proxy.images.referer import Attempt, Hint, attempts, known_referer, origin_of
from tests.helpers import DATA

KEY = b"k" * 32
PNG = (DATA / "images" / "red.png").read_bytes()


# --- referer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://wx1.sinaimg.cn/large/x.jpg", "https://weibo.com/"),
        ("https://tvax3.sinaimg.cn/x.jpg", "https://weibo.com/"),
        ("https://mmbiz.qpic.cn/mmbiz_jpg/x/640", "https://mp.weixin.qq.com/"),
        ("https://i.pximg.net/img-original/x.png", "https://www.pixiv.net/"),
        ("https://scontent-ams.cdninstagram.com/v/x.jpg", "https://www.instagram.com/"),
        ("https://sinaimg.cn.evil.example/x.jpg", None),
        ("https://evilsinaimg.cn/x.jpg", None),
        ("https://example.org/x.jpg", None),
    ],
)
def test_known_hosts(url: str, expected: str | None) -> None:
    assert known_referer(url) == expected


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Blog.Example/post/1?x#y", "https://blog.example"),
        ("http://a.test:8080/x", "http://a.test:8080"),
        ("http://[::1]:81/x", "http://[::1]:81"),
        ("mailto:a@b.test", ""),
        ("/relative", ""),
        ("http://[::1/x", ""),
        (None, ""),
    ],
)
def test_origin_of(url: str | None, origin: str) -> None:
    assert origin_of(url) == origin


def test_hint_round_trip_and_tolerance() -> None:
    for hint in (
        Hint(),
        Hint(origin=BLOG),
        Hint(policy="image"),
        Hint(media=True),
        Hint(policy="https://www.pixiv.net/", origin=BLOG, media=True),
    ):
        assert Hint.decode(hint.encode()) == hint
    assert Hint().encode() == ""  # nothing to say: an old-style link
    assert Hint.decode("bogus\njavascript:alert(1)") == Hint()
    assert Hint.decode("origin\nhttps://a.test/with/path\n\nfuture-field") == Hint(
        policy="origin", origin="https://a.test"
    )


BLOG = "https://blog.example"
IMG = "https://img.example/a.png"


@pytest.mark.parametrize(
    ("hint", "learned", "default", "url", "expected"),
    [
        (Hint(), None, "none", IMG, [("none", None), ("image", "https://img.example/")]),
        (
            Hint(origin=BLOG),
            None,
            "none",
            IMG,
            [("none", None), ("origin", BLOG + "/"), ("image", "https://img.example/")],
        ),
        (
            Hint(origin=BLOG),
            "image",
            "none",
            IMG,
            [("image", "https://img.example/"), ("none", None), ("origin", BLOG + "/")],
        ),
        (
            Hint(origin=BLOG, policy="origin"),
            None,
            "none",
            IMG,
            [("origin", BLOG + "/"), ("none", None), ("image", "https://img.example/")],
        ),
        (
            Hint(),
            None,
            "none",
            "https://wx1.sinaimg.cn/x.jpg",
            [
                ("https://weibo.com/", "https://weibo.com/"),
                ("none", None),
                ("image", "https://wx1.sinaimg.cn/"),
            ],
        ),
        (
            Hint(),
            None,
            "https://ref.example/",
            IMG,
            [
                ("https://ref.example/", "https://ref.example/"),
                ("none", None),
                ("image", "https://img.example/"),
            ],
        ),
        # The item's origin is the image's: one attempt, not two, for the same header.
        (
            Hint(origin="https://img.example"),
            None,
            "origin",
            IMG,
            [("origin", "https://img.example/"), ("none", None)],
        ),
        # A learned "origin" cannot apply to an item without a link: skipped.
        (Hint(), "origin", "none", IMG, [("none", None), ("image", "https://img.example/")]),
    ],
    ids=[
        "default",
        "with-origin",
        "learned-first",
        "feed-policy-first",
        "table",
        "default-url",
        "same-header-once",
        "origin-without-link",
    ],
)
def test_attempt_order(
    hint: Hint, learned: str | None, default: str, url: str, expected: list[tuple[str, str | None]]
) -> None:
    plan = attempts(url, hint, learned=learned, default=default)
    assert plan == [Attempt(policy, value) for policy, value in expected]


def test_a_non_ascii_fixed_referer_is_skipped() -> None:
    plan = attempts(IMG, Hint(policy="https://例子.test/"), learned=None, default="none")
    assert [a.policy for a in plan] == ["none", "image"]
