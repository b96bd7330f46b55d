"""links: the only URL builder. Self links repeat the request and are signed where the key
guards what they point at."""

from __future__ import annotations

import dataclasses
from typing import Any

from proxy.clean import DEFAULT_RULESET
from proxy.config import Settings
from proxy.feedconfig import FeedOptions
from proxy.pipeline.jobs import FeedJob
from proxy.server import links
from proxy.server.auth import feed_signature, named_signature

KEY = "links-key-0123456789abcdef"
URL = "https://example.org/feed?a=1&b=2"


def job(**changes: Any) -> FeedJob:
    made = FeedJob(
        url=URL, fmt=None, public_base="http://p", options=FeedOptions(), ruleset=DEFAULT_RULESET
    )
    return dataclasses.replace(made, **changes)


def test_ad_hoc_self_links_repeat_the_request() -> None:
    path = links.self_path(Settings())
    assert path(job()) == "/feed?url=https%3A%2F%2Fexample.org%2Ffeed%3Fa%3D1%26b%3D2"
    assert path(job(fmt="atom", limit=5, fulltext=True)).endswith("&format=atom&limit=5&fulltext=1")


def test_self_links_are_signed_where_the_key_guards() -> None:
    guarded = links.self_path(Settings(access_key=KEY))
    assert f"&sig={feed_signature(URL, KEY)}" in guarded(job())
    # Named feeds are signed only when they are protected too.
    assert guarded(job(name="rfi", fmt="rss")) == "/feeds/rfi.rss"
    protected = links.self_path(Settings(access_key=KEY, protect_named=True))
    assert protected(job(name="rfi")) == f"/feeds/rfi?sig={named_signature('rfi', KEY)}"


def test_signed_and_listed_links_share_the_shapes() -> None:
    assert links.sign_feed_url(URL, KEY) == links.feed_path(URL, key=KEY)
    assert links.sign_named_feed("rfi", KEY) == links.named_path("rfi", key=KEY)
    open_instance = Settings(access_key=KEY)
    assert links.named_feed_link(open_instance, "http://p", "rfi") == "http://p/feeds/rfi"
    protected = Settings(access_key=KEY, protect_named=True)
    assert links.named_feed_link(protected, "http://p", "rfi") == "http://p" + (
        links.sign_named_feed("rfi", KEY)
    )
