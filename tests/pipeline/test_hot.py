"""The hot copies of rendered outputs (``Freshness.hot``) and the job they are keyed by.

``hot`` reuses its answer while Age and ttl stay the same and ``FeedJob`` keeps its hash
(both for the speed of cached requests, issue 15.4): these tests make sure the answer is
what it was, changes when it must, and that jobs stay the keys they were.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from proxy.feedconfig import FeedOptions, FeedsConfig
from proxy.models import Rendered
from proxy.pipeline.freshness import BodyState, Freshness
from proxy.pipeline.jobs import FeedJob
from proxy.reload import compile_feeds
from proxy.store import DiskStore, StoredFeed


def _every_field_set() -> Rendered:
    """A Rendered whose every field differs from its default."""
    return Rendered(
        body=b"<rss/>",
        content_type="application/rss+xml; charset=utf-8",
        etag='"e"',
        last_modified=123.0,
        gzip_body=b"gz",
        revalidating=True,
        fetched=True,
        stale=True,
        age=7,
        stale_reason="upstream failed",
        ttl=9,
        fresh_for=600,
    )


async def test_hot_keeps_every_field_and_moves_age_and_ttl(tmp_path: Path) -> None:
    rendered = _every_field_set()
    defaults = {f.name: f.default for f in dataclasses.fields(Rendered)}
    assert all(
        getattr(rendered, name) != default
        for name, default in defaults.items()
        if default is not dataclasses.MISSING
    ), "the test must set every field"
    store = DiskStore(str(tmp_path / "cache"))
    try:
        freshness = Freshness(store, stale_while_revalidate=0, negative_ttl=0)
        now = 1_000_000.0
        freshness.clock = lambda: now
        stored = StoredFeed(
            url="https://feeds.test/rss",
            final_url="https://feeds.test/rss",
            body=b"<rss/>",
            content_type="application/rss+xml",
            kind="rss",
            etag=None,
            last_modified=None,
            fetched_at=now - 30,
            checked_at=now - 30,
        )
        # Not revalidating and not stale in the state, so the copy stays hot for the TTL.
        freshness.remember("key", rendered, BodyState(stored), ttl=100, pending=False)
        hot = freshness.hot("key")
        # Every field kept but the three that are per request.
        assert hot == dataclasses.replace(rendered, age=30, fetched=False, ttl=70)
        assert freshness.hot("key") is hot  # the same Age and ttl: the same answer
        now += 0.5  # both are truncated: ttl 69.5 says 69, Age 30.5 still 30
        later = freshness.hot("key")
        assert later == dataclasses.replace(rendered, age=30, fetched=False, ttl=69)
        assert freshness.hot("key") is later
        now += 0.5
        assert freshness.hot("key") == dataclasses.replace(
            rendered, age=31, fetched=False, ttl=69
        )
        now += 69
        assert freshness.hot("key") is None  # past its freshness
    finally:
        await store.close()


def _job(**changes: object) -> FeedJob:
    loaded = compile_feeds(FeedsConfig())
    job = FeedJob(
        url="https://feeds.test/rss",
        fmt=None,
        public_base="http://proxy.test",
        options=FeedOptions(),
        ruleset=loaded.defaults,
    )
    return dataclasses.replace(job, **changes)  # type: ignore[arg-type]


def test_equal_jobs_are_one_key() -> None:
    first, second = _job(), _job()
    assert first is not second and first == second and hash(first) == hash(second)
    assert {first: 1}[second] == 1


def test_jobs_that_differ_are_other_keys() -> None:
    base = _job()
    variants = [
        _job(url="https://feeds.test/other"),
        _job(fmt="atom"),
        _job(public_base="http://other.test"),
        _job(options=FeedOptions(ttl=60)),
        _job(limit=3),
        _job(name="named"),
        _job(fulltext=True),
        _job(opencc="s2t"),
    ]
    kept = {base: "base"}
    for variant in variants:
        assert variant != base
        assert variant not in kept, variant
    assert "_hash" not in repr(base)  # the cache is no part of what a job says it is
