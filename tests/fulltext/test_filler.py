"""Full text against a real local upstream: article pages served on 127.0.0.1, diskcache in a
temp dir, the app's guarded session. Budgets are small (0.3 s) so the file stays fast."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from proxy import parse
from proxy.config import Settings
from proxy.fetch import new_session
from proxy.fulltext.filler import FAILURE_TTL, FullText
from proxy.fulltext.siteconfig import SiteConfig, SiteConfigs
from proxy.models import Entry, Feed, FetchResult
from proxy.output import convert as render
from proxy.pipeline import process
from proxy.rewrite import ImagePolicy
from proxy.store import DiskStore
from tests.fetch.test_client import FakeResolver
from tests.helpers import DATA, read_feed
from tests.upstream import Upstream

ARTICLES = DATA / "articles"
SITE_DIR = DATA / "siteconfig"
HTML = "text/html; charset=utf-8"
ARTICLE = (ARTICLES / "article.html").read_bytes()

MakeFullText = Callable[..., Awaitable[FullText]]


@pytest.fixture
async def make_fulltext(make_settings: Any) -> AsyncIterator[MakeFullText]:
    """FullText instances on one temp cache; sessions and background tasks closed afterwards."""
    made: list[tuple[FullText, aiohttp.ClientSession]] = []
    caches: dict[str, DiskStore] = {}

    async def build(
        resolver: FakeResolver | None = None,
        site_configs: SiteConfigs | None = None,
        **changes: Any,
    ) -> FullText:
        settings: Settings = make_settings(**changes)
        cache = caches.get(settings.cache_dir) or caches.setdefault(
            settings.cache_dir, DiskStore(settings.cache_dir)
        )
        session = new_session(settings, resolver=resolver)
        engine = FullText(settings, session, cache, site_configs)
        made.append((engine, session))
        return engine

    yield build
    for engine, session in made:
        await engine.close()
        await session.close()
    for cache in caches.values():
        await cache.close()


def item(n: int, link: str | None) -> Entry:
    return Entry(
        guid=f"item-{n}",
        guid_is_permalink=False,
        title=f"Item {n}",
        link=link,
        summary=f"FEED-SUMMARY {n}",
        content=f"<p>FEED-CONTENT {n}</p>",
    )


def feed_of(*links: str | None) -> Feed:
    return Feed(
        kind="rss",
        source_url="http://feeds.example.test/rss.xml",
        title="Test feed",
        link="http://feeds.example.test/",
        description="items that need full text",
        entries=tuple(item(n, link) for n, link in enumerate(links)),
    )


async def settle(engine: FullText, timeout: float = 5.0) -> None:
    """Wait until the background fetches are done."""
    deadline = time.monotonic() + timeout
    while engine.running and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert engine.running == 0


# --- the basic promise -------------------------------------------------------------------------


async def test_full_text_replaces_content_and_keeps_the_summary(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    links = [
        upstream.route(f"/travel/2024/trains-{n}.html", ARTICLE, content_type=HTML)
        for n in range(3)
    ]
    engine = await make_fulltext()
    result = await engine.fill(feed_of(*links), budget=5)
    assert result.pending == 0
    assert result.filled == frozenset(links)
    assert result.digest
    for n, entry in enumerate(result.feed.entries):
        assert entry.summary == f"FEED-SUMMARY {n}"
        assert entry.content is not None
        assert "MARKER-LEAD" in entry.content and "MARKER-END" in entry.content
        assert "FEED-CONTENT" not in entry.content
        for junk in ("SITE-FOOTER", "Most read", "main-nav", "<script", "newsletter"):
            assert junk not in entry.content, junk
        # Relative URLs are absolute already; base_url says where the content came from.
        base = upstream.url("")
        assert f'href="{base}/travel/timetable.html"' in entry.content
        assert f'src="{base}/media/train-front.jpg"' in entry.content
        assert entry.base_url == links[n]
        assert (entry.guid, entry.title, entry.link) == (f"item-{n}", f"Item {n}", links[n])


async def test_lazy_images_survive_extraction_and_noscript_fallbacks_are_kept(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/travel/lazy.html", ARTICLE, content_type=HTML)
    engine = await make_fulltext()
    content = (await engine.fill(feed_of(link), budget=5)).feed.entries[0].content or ""
    base = upstream.url("")
    # readability keeps data-* attributes; they come out absolute for the rewrite stage.
    assert f'data-src="{base}/media/cabin.jpg"' in content
    assert f"{base}/media/cabin@2x.jpg 2x" in content
    # The <noscript> copy of a lazy image is dropped (no duplicate)...
    assert content.count("/media/cabin.jpg") == 2  # data-src and data-srcset
    # ...while an image that only exists inside <noscript> is kept.
    assert f'src="{base}/media/map.png"' in content


async def test_items_without_an_http_link_are_left_alone(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/a.html", ARTICLE, content_type=HTML)
    engine = await make_fulltext()
    feed = feed_of(None, "mailto:someone@example.test", "/relative/link", link)
    result = await engine.fill(feed, budget=5)
    assert [e.content for e in result.feed.entries[:3]] == [e.content for e in feed.entries[:3]]
    assert result.filled == {link}


async def test_a_feed_without_links_needs_no_work(make_fulltext: MakeFullText) -> None:
    engine = await make_fulltext()
    feed = feed_of(None, None)
    result = await engine.fill(feed)
    assert result.feed == feed and result.pending == 0 and not result.filled
    assert result.digest == ""


async def test_through_the_pipeline_the_article_is_cleaned_like_feed_content(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/travel/clean.html", ARTICLE, content_type=HTML)
    rss = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
    <title>t</title><link>http://feeds.example.test/</link><description>d</description>
    <item><title>Trains</title><link>{link}</link><guid>g1</guid>
    <description>FEED-SUMMARY short teaser</description></item></channel></rss>"""
    feed = parse.parse(
        FetchResult(
            url="http://feeds.example.test/rss.xml",
            status=200,
            body=rss.encode(),
            content_type="application/rss+xml",
        )
    )
    engine = await make_fulltext()
    filled = (await engine.fill(feed, budget=5)).feed
    policy = ImagePolicy(mode="proxy", public_base="http://proxy.test", key=b"k")
    cleaned = process.transform(filled, policy=policy)
    content = cleaned.entries[0].content or ""
    assert "MARKER-LEAD" in content and "MARKER-END" in content
    assert "sharer" not in content and "intent/tweet" not in content  # share markup rule
    assert "<script" not in content and "data:image" not in content
    # The lazy image got its real URL back and goes through the image proxy.
    assert content.count('src="http://proxy.test/img/') >= 3
    assert cleaned.entries[0].summary == "FEED-SUMMARY short teaser"
    body = render.render(
        cleaned,
        "rss",
        self_url="http://proxy.test/feed",
        fallback_date=datetime(2024, 1, 1, tzinfo=UTC),
    )
    served = read_feed(body).entries[0]
    assert served.summary == "FEED-SUMMARY short teaser"
    assert "MARKER-END" in served.content[0].value


# --- time budget, background filling, cache -----------------------------------------------------


async def test_budget_serves_partial_results_then_fills_in_the_background(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    fast = [upstream.route(f"/fast/{n}.html", ARTICLE, content_type=HTML) for n in range(2)]
    slow = [
        upstream.route(f"/slow/{n}.html", ARTICLE, content_type=HTML, delay=0.8) for n in range(2)
    ]
    feed = feed_of(fast[0], slow[0], fast[1], slow[1])
    engine = await make_fulltext()

    started = time.monotonic()
    first = await engine.fill(feed, budget=0.3)
    assert time.monotonic() - started < 0.75  # the reader did not wait for the slow pages
    assert first.filled == frozenset(fast)
    assert first.pending == 2
    contents = [e.content or "" for e in first.feed.entries]
    assert "MARKER-LEAD" in contents[0] and "MARKER-LEAD" in contents[2]
    assert contents[1] == "<p>FEED-CONTENT 1</p>" and contents[3] == "<p>FEED-CONTENT 3</p>"
    assert len(first.feed.entries) == 4  # never truncated

    await settle(engine)
    second = await engine.fill(feed, budget=0.3)
    assert second.pending == 0
    assert second.filled == frozenset(fast + slow)
    assert second.digest != first.digest
    # Everything came from the cache: one upstream request per article, ever.
    for link in fast + slow:
        assert upstream.hits[link.removeprefix(upstream.base_url)] == 1


async def test_zero_budget_answers_at_once(upstream: Upstream, make_fulltext: MakeFullText) -> None:
    link = upstream.route("/a.html", ARTICLE, content_type=HTML, delay=0.2)
    engine = await make_fulltext(fulltext_budget=0.0)
    result = await engine.fill(feed_of(link))
    assert result.pending == 1 and not result.filled
    await settle(engine)
    assert (await engine.fill(feed_of(link))).filled == {link}


async def test_default_budget_comes_from_settings(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/slow.html", ARTICLE, content_type=HTML, delay=1.0)
    engine = await make_fulltext(fulltext_budget=0.2)
    started = time.monotonic()
    result = await engine.fill(feed_of(link))
    assert time.monotonic() - started < 0.7
    assert result.pending == 1


async def test_cached_articles_are_not_fetched_again_even_after_a_restart(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    links = [upstream.route(f"/c/{n}.html", ARTICLE, content_type=HTML) for n in range(3)]
    feed = feed_of(*links)
    engine = await make_fulltext()
    first = await engine.fill(feed, budget=5)
    again = await engine.fill(feed, budget=5)
    restarted = await make_fulltext()  # a new app on the same cache directory
    third = await restarted.fill(feed, budget=5)
    assert first.filled == again.filled == third.filled == frozenset(links)
    assert first.digest == again.digest == third.digest
    assert sum(upstream.hits.values()) == 3


async def test_concurrent_fills_share_one_fetch_per_article(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/shared.html", ARTICLE, content_type=HTML, delay=0.2)
    engine = await make_fulltext()
    results = await asyncio.gather(*(engine.fill(feed_of(link), budget=5) for _ in range(10)))
    assert all(r.filled == {link} for r in results)
    assert upstream.hits["/shared.html"] == 1


async def test_articles_expire_after_the_ttl(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/ttl.html", ARTICLE, content_type=HTML)
    engine = await make_fulltext(fulltext_ttl=100)
    await engine.fill(feed_of(link), budget=5)
    now = time.time()
    engine.clock = lambda: now + 50
    await engine.fill(feed_of(link), budget=5)
    assert upstream.hits["/ttl.html"] == 1
    engine.clock = lambda: now + 101
    assert (await engine.fill(feed_of(link), budget=5)).filled == {link}
    assert upstream.hits["/ttl.html"] == 2


async def test_a_new_selector_extracts_again(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/comic/42", (ARTICLES / "comic.html").read_bytes(), content_type=HTML)
    engine = await make_fulltext()
    await engine.fill(feed_of(link), budget=5)
    await engine.fill(feed_of(link), selector="#comic", budget=5)
    assert upstream.hits["/comic/42"] == 2


# --- failures keep the feed's content ----------------------------------------------------------


FAILURES = {
    "404": {
        "body": b"<html><body><p>Not found</p></body></html>",
        "status": 404,
        "content_type": HTML,
    },
    "500": {"body": b"oops", "status": 500, "content_type": "text/plain"},
    "empty page": {"body": b"", "content_type": HTML},
    "whitespace page": {"body": b"  \n\t ", "content_type": HTML},
    "too short": {"body": (ARTICLES / "short.html").read_bytes(), "content_type": HTML},
    "json": {"body": b'{"article": "<p>no</p>"}', "content_type": "application/json"},
    "image": {"body": (DATA / "images" / "red.png").read_bytes(), "content_type": "image/png"},
    "pdf": {"body": b"%PDF-1.4 " + b"x" * 500, "content_type": "application/pdf"},
    "binary without a type": {"body": b"\x00\x01\x02" * 200, "content_type": ""},
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_failed_extraction_keeps_the_feed_content(
    upstream: Upstream, make_fulltext: MakeFullText, case: str
) -> None:
    bad = upstream.route("/bad", **FAILURES[case])  # type: ignore[arg-type]
    good = upstream.route("/good.html", ARTICLE, content_type=HTML)
    engine = await make_fulltext()
    feed = feed_of(bad, good)
    result = await engine.fill(feed, budget=5)
    assert result.pending == 0
    assert result.filled == {good}
    assert result.feed.entries[0] == feed.entries[0]
    assert "MARKER-LEAD" in (result.feed.entries[1].content or "")
    # The failure is remembered for a while: no refetch on the next request...
    await engine.fill(feed, budget=5)
    assert upstream.hits["/bad"] == 1
    # ...and retried after FAILURE_TTL.
    now = time.time()
    engine.clock = lambda: now + FAILURE_TTL + 1
    await engine.fill(feed, budget=5)
    assert upstream.hits["/bad"] == 2


async def test_unreachable_upstream_keeps_the_feed_content(
    make_fulltext: MakeFullText, unused_tcp_port: int
) -> None:
    engine = await make_fulltext()
    feed = feed_of(f"http://127.0.0.1:{unused_tcp_port}/gone.html")
    result = await engine.fill(feed, budget=5)
    assert result.feed == feed and result.pending == 0 and not result.filled


async def test_private_address_link_is_refused(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/internal.html", ARTICLE, content_type=HTML)  # on 127.0.0.1
    engine = await make_fulltext(allow_private=False)
    feed = feed_of(link, "http://localhost/admin", "http://10.0.0.1/", "http://[::1]/x")
    result = await engine.fill(feed, budget=5)
    assert result.feed == feed and not result.filled and result.pending == 0
    assert sum(upstream.hits.values()) == 0  # never connected


async def test_redirect_to_a_private_address_is_refused(
    make_fulltext: MakeFullText, aiohttp_server: Any, resolver: FakeResolver
) -> None:
    """A public-looking article that redirects inward is refused at the redirect."""
    from tests.fetch.test_client import policy_127_0_0_2_public

    inner = Upstream()
    inner_server = await aiohttp_server(inner.app, host="127.0.0.1")
    inner.route("/secret.html", ARTICLE, content_type=HTML)
    outer = Upstream()
    outer_server = await aiohttp_server(outer.app, host="127.0.0.2")
    resolver.add("public.test", [("127.0.0.2", outer_server.port)])
    outer.route(
        "/go", status=302, headers={"Location": f"http://127.0.0.1:{inner_server.port}/secret.html"}
    )
    settings_engine = await make_fulltext(allow_private=False)
    # A session whose guard treats 127.0.0.2 as public, like test_fetch's "guarded" session.
    session = new_session(
        settings_engine.settings, resolver=resolver, address_policy=policy_127_0_0_2_public
    )
    try:
        engine = FullText(settings_engine.settings, session, settings_engine.cache)
        feed = feed_of(f"http://public.test:{outer_server.port}/go")
        result = await engine.fill(feed, budget=5)
        await engine.close()
    finally:
        await session.close()
    assert result.feed == feed and not result.filled
    assert outer.hits["/go"] == 1 and inner.hits["/secret.html"] == 0


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


# --- selectors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "selector", ["#comic", "div#comic", "//div[@id='comic']", "//*[@id='comic']/img"]
)
async def test_fulltext_selector_overrides_readability(
    upstream: Upstream, make_fulltext: MakeFullText, selector: str
) -> None:
    link = upstream.route("/comic/42", (ARTICLES / "comic.html").read_bytes(), content_type=HTML)
    engine = await make_fulltext()
    by_readability = (await engine.fill(feed_of(link), budget=5)).feed.entries[0].content or ""
    assert "BLOG-POST" in by_readability and "strips/42.png" not in by_readability
    chosen = (await engine.fill(feed_of(link), selector=selector, budget=5)).feed.entries[0]
    assert chosen.content is not None
    assert f'src="{upstream.base_url}/strips/42.png"' in chosen.content  # an image alone counts
    assert "BLOG-POST" not in chosen.content and "Daily Strip" not in chosen.content


async def test_selector_matching_several_blocks_keeps_them_in_order(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/comic/42", (ARTICLES / "comic.html").read_bytes(), content_type=HTML)
    engine = await make_fulltext()
    content = (
        (await engine.fill(feed_of(link), selector="#comic, #footer", budget=5))
        .feed.entries[0]
        .content
    )
    assert content is not None and content.startswith("<div>")
    assert content.index("strips/42.png") < content.index("Daily Strip footer")


async def test_selector_that_matches_nothing_falls_back_to_readability(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/a.html", ARTICLE, content_type=HTML)
    engine = await make_fulltext()
    content = (
        (await engine.fill(feed_of(link), selector=".no-such-block", budget=5))
        .feed.entries[0]
        .content
    )
    assert content is not None and "MARKER-LEAD" in content


# --- site configs ------------------------------------------------------------------------------


@pytest.fixture
async def named_upstream(upstream: Upstream, resolver: FakeResolver) -> Upstream:
    """The same upstream, also reachable as www.example.test / news.example.test."""
    port = int(upstream.base_url.rsplit(":", 1)[1])
    for host in ("www.example.test", "news.example.test", "example.test"):
        resolver.add(host, [("127.0.0.1", port)])
    return upstream


async def test_site_config_rules_and_headers_are_applied(
    named_upstream: Upstream, make_fulltext: MakeFullText, resolver: FakeResolver
) -> None:
    up = named_upstream
    port = up.base_url.rsplit(":", 1)[1]
    up.route("/story.html", (ARTICLES / "sited.html").read_bytes(), content_type=HTML)
    engine = await make_fulltext(resolver=resolver, site_config_dir=str(SITE_DIR))
    link = f"http://www.example.test:{port}/story.html"
    result = await engine.fill(feed_of(link), user_agent="FeedOwnAgent/1", budget=5)
    content = result.feed.entries[0].content or ""
    assert "SITE-BODY" in content and "SITE-END" in content
    assert "COMMENTS" not in content  # body: chose the story over the bigger comment block
    assert "KICKER-LINE" not in content  # strip:
    assert "RELATED-BLOCK" not in content  # strip_id_or_class:
    assert "/ads/banner.gif" not in content and "/media/photo.jpg" in content  # strip_image_src:
    assert "WILDCARD-JUNK" in content  # only the wildcard file strips that
    sent = up.last_request("/story.html").headers
    assert sent["User-Agent"] == "FeedscrubSiteRule/1.0 (+test)"  # beats the feed's own
    assert sent["Referer"] == "https://referer.example.test/"


async def test_wildcard_site_config_applies_to_subdomains(
    named_upstream: Upstream, make_fulltext: MakeFullText, resolver: FakeResolver
) -> None:
    up = named_upstream
    port = up.base_url.rsplit(":", 1)[1]
    up.route("/story.html", (ARTICLES / "sited.html").read_bytes(), content_type=HTML)
    engine = await make_fulltext(resolver=resolver, site_config_dir=str(SITE_DIR))
    result = await engine.fill(
        feed_of(f"http://news.example.test:{port}/story.html"),
        user_agent="FeedOwnAgent/1",
        budget=5,
    )
    content = result.feed.entries[0].content or ""
    assert "SITE-BODY" in content and "COMMENTS" not in content
    assert "WILDCARD-JUNK" not in content
    assert "KICKER-LINE" in content  # the exact file's rules do not apply here
    sent = up.last_request("/story.html").headers
    assert sent["User-Agent"] == "FeedOwnAgent/1"  # no site header: the feed's own agent
    assert "Referer" not in sent


async def test_site_body_that_matches_nothing_falls_back_to_readability(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/a.html", ARTICLE, content_type=HTML)
    site = SiteConfig(body=("//div[@id='nope']",), strip=("//figure",))

    class One(SiteConfigs):
        def for_url(self, url: str) -> SiteConfig | None:
            return site

    engine = await make_fulltext(site_configs=One(""))
    content = (await engine.fill(feed_of(link), budget=5)).feed.entries[0].content or ""
    assert "MARKER-LEAD" in content
    assert "train-front.jpg" not in content  # strip still applied before readability


# --- concurrency -------------------------------------------------------------------------------


class Gauge:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(0.1)
        finally:
            self.now -= 1
        return web.Response(body=ARTICLE, content_type="text/html")


@pytest.mark.parametrize(
    ("changes", "limit"),
    [({"fulltext_per_host": 2}, 2), ({"fulltext_per_host": 8, "fulltext_concurrency": 3}, 3)],
    ids=["per host", "overall"],
)
async def test_fetches_are_bounded(
    upstream: Upstream, make_fulltext: MakeFullText, changes: dict[str, int], limit: int
) -> None:
    gauge = Gauge()
    links = [upstream.route(f"/g/{n}.html", handler=gauge.handler) for n in range(8)]
    engine = await make_fulltext(**changes)
    result = await engine.fill(feed_of(*links), budget=5)
    assert result.filled == frozenset(links)
    assert gauge.peak == limit


async def test_close_cancels_background_fetches(
    upstream: Upstream, make_fulltext: MakeFullText
) -> None:
    link = upstream.route("/forever.html", ARTICLE, content_type=HTML, delay=30)
    engine = await make_fulltext()
    assert (await engine.fill(feed_of(link), budget=0.05)).pending == 1
    started = time.monotonic()
    await engine.close()
    assert time.monotonic() - started < 1 and engine.running == 0
    # After shutdown, fill only reads the cache; it starts nothing.
    result = await engine.fill(feed_of(link), budget=0.05)
    assert result.pending == 0 and not result.filled and engine.running == 0


# --- encodings ---------------------------------------------------------------------------------


GBK_PAGE = (ARTICLES / "article-gbk.html").read_bytes()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", GBK_PAGE),  # <meta http-equiv> says gbk
        ("text/html; charset=GBK", GBK_PAGE.replace(b"; charset=gbk", b"")),  # header only
        ("text/html; charset=gb2312", GBK_PAGE),  # a narrower label: decoded as the superset
        ("text/html; charset=utf-8", GBK_PAGE),  # a wrong server default: the page's meta wins
    ],
    ids=["meta", "header", "gb2312 label", "wrong header"],
)
async def test_gbk_article_is_decoded(
    upstream: Upstream, make_fulltext: MakeFullText, content_type: str, body: bytes
) -> None:
    link = upstream.route("/zh.html", body, content_type=content_type)
    engine = await make_fulltext()
    content = (await engine.fill(feed_of(link), budget=5)).feed.entries[0].content or ""
    assert "中文标记" in content and "结尾标记" in content
    assert "\ufffd" not in content and "首页" not in content


async def test_article_records_are_bytes_not_pickles(tmp_path: Any) -> None:
    """Articles go into diskcache as packed bytes (research §E3), failures included."""
    from proxy.store import StoredArticle

    cache = DiskStore(str(tmp_path / "cache"))
    try:
        ok = StoredArticle(
            url="https://a.test/1",
            final_url="https://a.test/1?x",
            html="<p>中文 ✓</p>",
            recipe="r1",
            fetched_at=1.5,
            digest="d",
        )
        failed = StoredArticle(
            url="https://a.test/2",
            final_url="https://a.test/2",
            html=None,
            recipe="r1",
            fetched_at=2.0,
            reason="fetch: upstream answered 404 Not Found",
        )
        await cache.put_article(ok, expire=60)
        await cache.put_article(failed, expire=60)
        found = await cache.get_articles([ok.url, failed.url, "https://a.test/none"])
        assert found == {ok.url: ok, failed.url: failed}
        raw = cache._feeds.get("article:" + ok.url)
        assert isinstance(raw, bytes)
        cache._feeds.set("article:https://a.test/3", b"\x00\x00\x00\x02{}")  # foreign record
        assert await cache.get_articles(["https://a.test/3"]) == {}
    finally:
        await cache.close()
